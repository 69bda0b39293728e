import type { Alert, LightCurve, Survey } from './types.ts';
import { LSST_BANDS, ZTF_BANDS } from './types.ts';
import { candidateFromLightCurve } from './lightcurve.ts';
import { fluxErrNanoJyFromMag, fluxNanoJyFromMag } from './photometry.ts';
import { bigId, isRecord, requiredNum, requiredString, scalarFields, type RawRecord } from './values.ts';

/**
 * Sieve's own line format for light curves that are not broker packets (simulations, converted tables):
 * one JSON object per line, columns as arrays, `null` for NaN.
 */
export const SIEVE_FORMAT = 'sieve-lightcurve/1';

export interface SieveLightCurveRecord {
  format: typeof SIEVE_FORMAT;
  survey: Survey;
  objectId: string;
  candid: string | null;
  ra: number;
  dec: number;
  label?: string;
  lc: {
    bands: string[];
    jd: number[];
    band: number[];
    detected: number[];
    mag: Array<number | null>;
    magErr: Array<number | null>;
    /** Present for flux-native surveys only; derived from magnitudes otherwise. */
    fluxNanoJy?: Array<number | null>;
    fluxErrNanoJy?: Array<number | null>;
    limitMag: Array<number | null>;
    nativeUnit: 'mag' | 'nJy';
    /** Rubin: the exact MJD of each point. */
    mjd?: number[];
    /**
     * ZTF: the reference-source columns of each point (isdiffpos +1 / -1 / 0 unknown; distnr in pixels, magnr,
     * sigmagnr), which Fink's anomaly features need for DC magnitudes. Absent in files written before them.
     */
    isdiffpos?: number[];
    distnr?: Array<number | null>;
    magnr?: Array<number | null>;
    sigmagnr?: Array<number | null>;
  };
  /** Noise-free model magnitude at each epoch (simulations only). */
  modelMag?: Array<number | null>;
  extra?: Record<string, string | number | boolean | null>;
  /**
   * The scalar fields of the survey's own record of the alert (Alert.raw: a ZTF candidate's ndethist,
   * jdstarthist, ..., a Rubin diaSource), which module cuts read. Absent in files written before it.
   */
  raw?: Record<string, string | number | boolean | null>;
}

function roundOrNull(x: number, digits: number): number | null {
  if (!Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

function column(a: Float64Array, digits: number): Array<number | null> {
  const out = new Array<number | null>(a.length);
  for (let i = 0; i < a.length; i++) out[i] = roundOrNull(a[i], digits);
  return out;
}

/** Serialises an alert's light curve; digits are chosen far below the photometric errors. */
export function toSieveRecord(alert: Alert, modelMag?: Float64Array): SieveLightCurveRecord {
  const lc = alert.lightCurve;
  return {
    format: SIEVE_FORMAT,
    survey: alert.survey,
    objectId: alert.objectId,
    candid: alert.candid === null ? null : alert.candid.toString(),
    ra: alert.ra,
    dec: alert.dec,
    ...(alert.label !== undefined ? { label: alert.label } : {}),
    lc: {
      bands: [...lc.bands],
      // 1e-5 d is under a second; 1 mmag is far below any photometric error.
      jd: column(lc.jd, 5) as number[],
      band: Array.from(lc.band),
      detected: Array.from(lc.detected),
      mag: column(lc.mag, 3),
      magErr: column(lc.magErr, 3),
      ...(lc.nativeUnit === 'nJy' ? { fluxNanoJy: column(lc.fluxNanoJy, 3), fluxErrNanoJy: column(lc.fluxErrNanoJy, 3) } : {}),
      limitMag: column(lc.limitMag, 2),
      nativeUnit: lc.nativeUnit,
      // Rubin's MJD as given (the features that Fink computes on MJD see it unrounded)
      ...(lc.mjd ? { mjd: Array.from(lc.mjd) } : {}),
      // as the alert gives them: a DC magnitude amplifies any rounding of the reference magnitude
      ...(lc.isdiffpos ? {
        isdiffpos: Array.from(lc.isdiffpos),
        distnr: exactColumn(lc.distnr!),
        magnr: exactColumn(lc.magnr!),
        sigmagnr: exactColumn(lc.sigmagnr!),
      } : {}),
    },
    ...(modelMag ? { modelMag: column(modelMag, 3) } : {}),
    ...(Object.keys(alert.extra).length ? { extra: { ...alert.extra } } : {}),
    ...(alert.raw ? { raw: scalarFields(alert.raw as RawRecord, NO_FIELDS) } : {}),
  };
}

function exactColumn(a: Float64Array): Array<number | null> {
  return Array.from(a, (x) => (Number.isFinite(x) ? x : null));
}

function floatColumn(rec: RawRecord, field: string, n: number): Float64Array {
  const v = rec[field];
  if (!Array.isArray(v)) throw new TypeError(`missing array field 'lc.${field}'`);
  if (v.length !== n) throw new TypeError(`field 'lc.${field}' has ${v.length} entries, expected ${n}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = v[i] === null ? NaN : Number(v[i]);
  return out;
}

function referenceColumns(lcRec: RawRecord, n: number): Pick<LightCurve, 'isdiffpos' | 'distnr' | 'magnr' | 'sigmagnr'> {
  const sign = floatColumn(lcRec, 'isdiffpos', n);
  const isdiffpos = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    if (sign[i] !== 1 && sign[i] !== -1 && sign[i] !== 0) throw new TypeError(`lc.isdiffpos[${i}] = ${sign[i]} is not 1, -1 or 0`);
    isdiffpos[i] = sign[i];
  }
  return { isdiffpos, distnr: floatColumn(lcRec, 'distnr', n), magnr: floatColumn(lcRec, 'magnr', n), sigmagnr: floatColumn(lcRec, 'sigmagnr', n) };
}

export function isSieveRecord(rec: RawRecord): boolean {
  return rec.format === SIEVE_FORMAT;
}

const NO_FIELDS: ReadonlySet<string> = new Set();

/** Reads one Sieve light-curve record back into an Alert; the candidate is its last detection. */
export function alertFromSieveRecord(rec: RawRecord): Alert {
  const objectId = requiredString(rec, 'objectId');
  const survey = rec.survey === 'lsst' ? 'lsst' : 'ztf';
  const lcRec = rec.lc;
  if (!isRecord(lcRec)) throw new TypeError("missing field 'lc'");
  const jdRaw = lcRec.jd;
  if (!Array.isArray(jdRaw)) throw new TypeError("missing array field 'lc.jd'");
  const n = jdRaw.length;
  const bands = Array.isArray(lcRec.bands) ? (lcRec.bands as string[]) : [...(survey === 'lsst' ? LSST_BANDS : ZTF_BANDS)];
  const nativeUnit = lcRec.nativeUnit === 'nJy' ? 'nJy' : 'mag';
  const mag = floatColumn(lcRec, 'mag', n);
  const magErr = floatColumn(lcRec, 'magErr', n);
  let fluxNanoJy: Float64Array;
  let fluxErrNanoJy: Float64Array;
  if (nativeUnit === 'nJy') {
    fluxNanoJy = floatColumn(lcRec, 'fluxNanoJy', n);
    fluxErrNanoJy = floatColumn(lcRec, 'fluxErrNanoJy', n);
  } else {
    fluxNanoJy = new Float64Array(n);
    fluxErrNanoJy = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      fluxNanoJy[i] = fluxNanoJyFromMag(mag[i]);
      fluxErrNanoJy[i] = fluxErrNanoJyFromMag(mag[i], magErr[i]);
    }
  }
  const lc: LightCurve = {
    bands,
    jd: floatColumn(lcRec, 'jd', n),
    band: Uint8Array.from(floatColumn(lcRec, 'band', n)),
    detected: Uint8Array.from(floatColumn(lcRec, 'detected', n)),
    mag,
    magErr,
    fluxNanoJy,
    fluxErrNanoJy,
    limitMag: floatColumn(lcRec, 'limitMag', n),
    nativeUnit,
    ...(Array.isArray(lcRec.mjd) ? { mjd: floatColumn(lcRec, 'mjd', n) } : {}),
    ...(Array.isArray(lcRec.isdiffpos) ? referenceColumns(lcRec, n) : {}),
  };
  for (let i = 0; i < n; i++) {
    if (lc.band[i] >= bands.length) throw new TypeError(`lc.band[${i}] = ${lc.band[i]} is not one of ${bands.length} bands`);
  }
  const candidate = candidateFromLightCurve(lc);
  const candid = rec.candid === null || rec.candid === undefined ? null : bigId(rec, 'candid');
  return {
    survey,
    objectId,
    candid,
    ra: requiredNum(rec, 'ra'),
    dec: requiredNum(rec, 'dec'),
    candidate,
    lightCurve: lc,
    cutouts: {},
    ...(typeof rec.label === 'string' ? { label: rec.label } : {}),
    // scalars only, a 64-bit integer as its decimal text (as every reader gives `extra`)
    extra: isRecord(rec.extra) ? scalarFields(rec.extra, NO_FIELDS) : {},
    ...(isRecord(rec.raw) ? { raw: scalarFields(rec.raw, NO_FIELDS) } : {}),
  };
}
