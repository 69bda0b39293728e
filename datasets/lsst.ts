import { LightCurveBuilder } from './lightcurve.ts';
import { MJD_OFFSET, magErrFromFluxNanoJy, magFromFluxNanoJy } from './photometry.ts';
import type { Alert, CandidateMeta, Cutout } from './types.ts';
import { LSST_BANDS } from './types.ts';
import { asBytes, bigId, isRecord, num, requiredNum, scalarFields, type RawRecord } from './values.ts';

const PACKET_FIELDS = new Set([
  'alertId', 'prvDiaNondetectionLimits', 'diaSource', 'prvDiaSources', 'prvDiaForcedSources', 'diaObject', 'ssSource', 'mpc_orbits',
  'cutoutDifference', 'cutoutScience', 'cutoutTemplate', 'lc_features', 'clf', 'xm', 'pred',
]);

/**
 * Field names of a DIA source in the two generations of Rubin alerts: the Rubin schemas (7.x onwards:
 * midpointMjdTai, band, psfFlux) and the ELAsTiCC-era DPDD (midPointTai, filterName with 'Y', psFlux).
 */
interface SourceFields {
  readonly mjd: string;
  readonly band: string;
  readonly flux: string;
  readonly fluxErr: string;
  readonly dec: string;
}
const RUBIN_FIELDS: SourceFields = { mjd: 'midpointMjdTai', band: 'band', flux: 'psfFlux', fluxErr: 'psfFluxErr', dec: 'dec' };
const ELASTICC_FIELDS: SourceFields = { mjd: 'midPointTai', band: 'filterName', flux: 'psFlux', fluxErr: 'psFluxErr', dec: 'decl' };

function sourceFields(src: RawRecord): SourceFields {
  return 'midPointTai' in src || 'filterName' in src ? ELASTICC_FIELDS : RUBIN_FIELDS;
}

function lsstBand(v: unknown, where: string): number {
  // ELAsTiCC writes the y band upper-case; Fink's Rubin modules lower-case every band.
  const i = typeof v === 'string' ? LSST_BANDS.indexOf(v.toLowerCase() as (typeof LSST_BANDS)[number]) : -1;
  if (i < 0) throw new TypeError(`${where}: band '${String(v)}' is not an LSST band (ugrizy)`);
  return i;
}

/** 5-sigma limiting magnitude implied by a flux error in nJy. */
function limitFromFluxErr(fluxErrNanoJy: number): number {
  return magFromFluxNanoJy(5 * fluxErrNanoJy);
}

function cutout(v: unknown, name: string): Cutout | undefined {
  const bytes = asBytes(v);
  return bytes && bytes.length > 0 ? { fileName: name, bytes } : undefined;
}

/**
 * Maps a Rubin/LSST alert as Fink's LSST stream delivers it (diaSource, prvDiaSources,
 * prvDiaForcedSources, diaObject, cutouts, Fink's added columns), in Rubin's schemas or ELAsTiCC's, into
 * the common Alert type. Fluxes stay in nJy and are the native photometry; magnitudes are derived (AB,
 * zero point 31.4). candid is the alert's id: alertId where the packet has one, else the diaSourceId.
 */
export function alertFromLsstPacket(packet: RawRecord): Alert {
  const src = packet.diaSource;
  if (!isRecord(src)) throw new TypeError("missing field 'diaSource'");
  const f = sourceFields(src);
  const obj = isRecord(packet.diaObject) ? packet.diaObject : undefined;
  const candid = packet.alertId !== undefined && packet.alertId !== null ? bigId(packet, 'alertId') : bigId(src, 'diaSourceId');
  // Solar-system sources carry no diaObject (its id is null or 0); they are keyed by their ssObjectId.
  // The diaSource's copy first: Fink's Parquet may hold the diaObject's ids as float64 (rounded above 2^53)
  const srcId = src.diaObjectId;
  const srcExact = typeof srcId === 'bigint' || (typeof srcId === 'number' && Number.isSafeInteger(srcId)) || (typeof srcId === 'string' && /^\d+$/.test(srcId));
  const diaObjectId = srcExact ? bigId(src, 'diaObjectId') : obj && obj.diaObjectId !== null && obj.diaObjectId !== undefined ? bigId(obj, 'diaObjectId') : bigId(src, 'diaObjectId');
  const solarSystem = diaObjectId === 0n;
  const objectId = solarSystem ? `ss${bigId(src, 'ssObjectId').toString()}` : diaObjectId.toString();

  const b = new LightCurveBuilder(LSST_BANDS, 'nJy', false, true);
  const detectedVisits = new Set<string>();
  const addSource = (s: RawRecord, where: string) => {
    // A history row may lack a flux (Fink's features drop such rows); the triggering source may not.
    const flux = where === 'diaSource' ? requiredNum(s, f.flux) : num(s, f.flux);
    const fluxErr = where === 'diaSource' ? requiredNum(s, f.fluxErr) : num(s, f.fluxErr);
    const mjd = requiredNum(s, f.mjd);
    b.addFlux({
      jd: mjd + MJD_OFFSET,
      mjd,
      band: lsstBand(s[f.band], where),
      fluxNanoJy: flux,
      fluxErrNanoJy: fluxErr,
      detected: true,
      limitMag: limitFromFluxErr(fluxErr),
    });
    const visit = s.visit ?? s.ccdVisitId;
    // ELAsTiCC writes ccdVisitId -1 for every source: not a visit to match forced photometry on.
    if (visit !== undefined && visit !== null && String(visit) !== '-1') detectedVisits.add(String(visit));
  };
  const prv = packet.prvDiaSources;
  if (Array.isArray(prv)) prv.forEach((s, i) => {
    if (!isRecord(s)) throw new TypeError(`prvDiaSources[${i}] is not a record`);
    addSource(s, `prvDiaSources[${i}]`);
  });
  addSource(src, 'diaSource');
  // Forced photometry at epochs without a detection: measured flux, but below the detection threshold.
  const forced = packet.prvDiaForcedSources;
  if (Array.isArray(forced)) forced.forEach((s, i) => {
    if (!isRecord(s)) throw new TypeError(`prvDiaForcedSources[${i}] is not a record`);
    const ff = sourceFields(s);
    const visit = s.visit ?? s.ccdVisitId;
    if (visit !== undefined && visit !== null && detectedVisits.has(String(visit))) return;
    const flux = num(s, ff.flux);
    const fluxErr = num(s, ff.fluxErr);
    const mjd = requiredNum(s, ff.mjd);
    b.addFlux({
      jd: mjd + MJD_OFFSET,
      mjd,
      band: lsstBand(s[ff.band], `prvDiaForcedSources[${i}]`),
      fluxNanoJy: flux,
      fluxErrNanoJy: fluxErr,
      detected: false,
      limitMag: limitFromFluxErr(fluxErr),
    });
  });

  const flux = requiredNum(src, f.flux);
  const fluxErr = requiredNum(src, f.fluxErr);
  const bandIdx = lsstBand(src[f.band], 'diaSource');
  const reliability = num(src, 'reliability');
  const candidate: CandidateMeta = {
    jd: requiredNum(src, f.mjd) + MJD_OFFSET,
    band: LSST_BANDS[bandIdx],
    fid: bandIdx + 1,
    // Like ZTF's magpsf, the magnitude of the absolute difference flux; isdiffpos carries the sign.
    magpsf: magFromFluxNanoJy(Math.abs(flux)),
    sigmapsf: magErrFromFluxNanoJy(Math.abs(flux), fluxErr),
    isdiffpos: src.isNegative === true ? 'f' : 't',
    rb: reliability,
    drb: reliability,
    sgscore1: NaN,
    distpsnr1: NaN,
    ssdistnr: NaN,
    ndethist: (Array.isArray(prv) ? prv.length : 0) + 1,
    classtar: NaN,
    diffmaglim: limitFromFluxErr(fluxErr),
  };
  return {
    survey: 'lsst',
    objectId,
    candid,
    ra: requiredNum(src, 'ra'),
    dec: requiredNum(src, f.dec),
    candidate,
    lightCurve: b.build(),
    cutouts: {
      science: cutout(packet.cutoutScience, 'cutoutScience'),
      template: cutout(packet.cutoutTemplate, 'cutoutTemplate'),
      difference: cutout(packet.cutoutDifference, 'cutoutDifference'),
    },
    extra: { ...scalarFields(packet, PACKET_FIELDS), ...diaObjectSummary(obj), solar_system: solarSystem },
    raw: src,
  };
}

/**
 * The diaObject's summary a Rubin expert reads first, as `diaObject.<field>`: its number of sources, first and
 * last detection, and per band the mean PSF flux and how many sources it averages (ELAsTiCC: the host's
 * redshift and the Milky Way extinction instead).
 */
function diaObjectSummary(obj: RawRecord | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!obj) return out;
  const fields = ['nDiaSources', 'firstDiaSourceMjdTai', 'lastDiaSourceMjdTai', 'z_final', 'z_final_err', 'hostgal_zphot', 'hostgal_snsep', 'mwebv'];
  for (const b of LSST_BANDS) fields.push(`${b}_psfFluxMean`, `${b}_psfFluxNdata`);
  for (const f of fields) {
    const v = obj[f];
    if (typeof v === 'number' && Number.isFinite(v)) out[`diaObject.${f}`] = v;
    else if (typeof v === 'bigint') out[`diaObject.${f}`] = Number(v);
  }
  return out;
}

/** True when a decoded record looks like an LSST alert rather than a ZTF packet. */
export function isLsstPacket(packet: RawRecord): boolean {
  return isRecord(packet.diaSource);
}
