import { LightCurveBuilder } from '../lightcurve.ts';
import { MJD_OFFSET, magErrFromFluxNanoJy, magFromFluxNanoJy, NANOJY_ZERO_POINT } from '../photometry.ts';
import type { Alert, CandidateMeta } from '../types.ts';
import { LSST_BANDS } from '../types.ts';
import type { Random } from './random.ts';
import type { SimulatedClass, SimulatedSource } from './sources.ts';

/**
 * Rubin/LSST-like observations of the simulated sources: six bands, fluxes in nJy, a wide-fast-deep-like
 * cadence, difference-image detections and forced photometry.
 *
 * Figures used (Ivezic et al. 2019, ApJ 873, 111, "LSST: from science drivers to reference design", Tables 1
 * and 2; Bianco et al. 2022, ApJS 258, 1, on the WFD cadence):
 * - single-visit 5-sigma depths (dark sky, median seeing): u 23.9, g 25.0, r 24.7, i 24.0, z 23.3, y 22.1;
 *   scattered by 0.25 mag visit to visit, and brighter sky near full moon costs u 0.8, g 0.5, r 0.25 mag;
 * - share of WFD visits per band: u 6.8%, g 9.7%, r 22.3%, i 22.3%, z 19.4%, y 19.4% (56/80/184/184/160/160
 *   of ~825 visits per field in ten years);
 * - a field is revisited every ~3-4 nights in season, in pairs 15-40 min apart (in two bands, as the
 *   baseline strategy takes them), and is observable ~6.5 months a year; ~20% of nights are lost to weather;
 * - DIA sources are detections at 5 sigma; forced photometry is measured on every visit after the first
 *   detection (alerts carry up to 12 months of it).
 *
 * The sources are the ZTF simulator's class models (g and r); other bands follow a colour linear in 1/lambda
 * anchored on g and r, which keeps each class's temperature trend (a blue SN Ia at peak reddening after).
 */
export const LSST_DEPTH_5SIGMA: Readonly<Record<string, number>> = { u: 23.9, g: 25.0, r: 24.7, i: 24.0, z: 23.3, y: 22.1 };
const VISIT_SHARE = [0.068, 0.097, 0.223, 0.223, 0.194, 0.194];
const MOON_LOSS = [0.8, 0.5, 0.25, 0.12, 0.08, 0.05];
/** Effective wavelengths, Angstrom (the Rainbow features use the same). */
const WAVELENGTH = [3671, 4827, 6223, 7546, 8691, 9712];
const INV_G = 1 / 4827;
const INV_R = 1 / 6223;

const SYNODIC_MONTH = 29.530589;
const NEW_MOON_MJD = 60311.3; // 2024-01-11

/** The source's AB magnitude in an LSST band (index into LSST_BANDS) at a JD. */
export function lsstBandMag(source: SimulatedSource, band: number, jd: number): number {
  const g = source.magAt(0, jd);
  const r = source.magAt(1, jd);
  if (band === 1) return g;
  if (band === 2) return r;
  if (!Number.isFinite(g) || !Number.isFinite(r)) return Number.isFinite(r) ? r : g;
  // colour linear in inverse wavelength through g and r
  const slope = (g - r) / (INV_G - INV_R);
  return r + slope * (1 / WAVELENGTH[band] - INV_R);
}

function pickBand(rng: Random, except: number): number {
  let total = 0;
  for (let b = 0; b < 6; b++) if (b !== except) total += VISIT_SHARE[b];
  let u = rng.next() * total;
  for (let b = 0; b < 6; b++) {
    if (b === except) continue;
    u -= VISIT_SHARE[b];
    if (u < 0) return b;
  }
  return except === 5 ? 4 : 5;
}

/** WFD-like visits of one field over `days` nights from MJD `start`: times, bands, 5-sigma limits. */
export function lsstEpochs(rng: Random, startMjd: number, days: number, seasonPhase: number): { mjd: number[]; band: number[]; limit: number[] } {
  const mjd: number[] = [];
  const band: number[] = [];
  const limit: number[] = [];
  for (let night = 0; night < days; night++) {
    const t = startMjd + night;
    const yearPhase = ((((t - 60000) / 365.25 + seasonPhase) % 1) + 1) % 1;
    if (yearPhase > 200 / 365.25) continue;
    if (rng.next() < 0.2) continue; // weather
    if (rng.next() >= 0.3) continue; // not scheduled tonight: revisit every ~3.3 nights
    const moon = 0.5 * (1 - Math.cos((2 * Math.PI * (t - NEW_MOON_MJD)) / SYNODIC_MONTH));
    const first = pickBand(rng, -1);
    const second = pickBand(rng, first);
    let time = t + rng.uniform(0.05, 0.35);
    for (const b of [first, second]) {
      mjd.push(time);
      band.push(b);
      limit.push(rng.normal(LSST_DEPTH_5SIGMA[LSST_BANDS[b]] - MOON_LOSS[b] * moon, 0.25));
      time += rng.uniform(15, 40) / 1440;
    }
  }
  return { mjd, band, limit };
}

export interface LsstObservation {
  alert: Alert;
  /** Noise-free model magnitude at each epoch of the light curve. */
  modelMag: Float64Array;
}

/**
 * Observes a source with the LSST-like cadence and writes the alert of its last detection (or of the
 * night `cutMjd` when given, for early alerts). `rng` continues the object's stream.
 */
export function observeLsst(
  rng: Random, source: SimulatedSource, className: SimulatedClass, startMjd: number, days: number, seasonPhase: number,
  ids: { objectId: string; candid: bigint }, earlyAlertDays: number | null,
): LsstObservation {
  const ep = lsstEpochs(rng, startMjd, days, seasonPhase);
  const n = ep.mjd.length;
  const modelMag = new Float64Array(n);
  const flux = new Float64Array(n);
  const err = new Float64Array(n);
  const detected = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const m = lsstBandMag(source, ep.band[i], ep.mjd[i] + MJD_OFFSET);
    modelMag[i] = m;
    const fTrue = Number.isFinite(m) ? Math.pow(10, -0.4 * (m - NANOJY_ZERO_POINT)) : 0;
    const fLim = Math.pow(10, -0.4 * (ep.limit[i] - NANOJY_ZERO_POINT));
    const sigma = Math.hypot(fLim / 5, 0.005 * fTrue);
    flux[i] = fTrue + rng.normal(0, sigma);
    err[i] = sigma;
    // DIA detection: |flux| >= 5 sigma (negative excursions are detections too)
    detected[i] = Math.abs(flux[i]) >= 5 * sigma ? 1 : 0;
  }
  let keep = n;
  const first = detected.indexOf(1);
  if (earlyAlertDays !== null && first >= 0) {
    const cut = ep.mjd[first] + earlyAlertDays;
    while (keep > 0 && ep.mjd[keep - 1] > cut) keep--;
  }
  // the alert is issued on the last detection kept
  let last = -1;
  for (let i = 0; i < keep; i++) if (detected[i]) last = i;
  if (last >= 0) keep = last + 1;
  const b = new LightCurveBuilder(LSST_BANDS, 'nJy', false, true);
  const kept: number[] = [];
  for (let i = 0; i < keep; i++) {
    // forced photometry only from the first detection on, as Rubin measures it
    if (!detected[i] && (first < 0 || i < first)) continue;
    kept.push(i);
    b.addFlux({
      jd: ep.mjd[i] + MJD_OFFSET, mjd: ep.mjd[i], band: ep.band[i], fluxNanoJy: flux[i], fluxErrNanoJy: err[i],
      detected: detected[i] === 1, limitMag: magFromFluxNanoJy(5 * err[i]),
    });
  }
  const lc = b.build();
  const transientLike = className !== 'bogus';
  const reliability = transientLike ? rng.uniform(0.6, 1) : rng.uniform(0, 0.4);
  const extendedness = className === 'RR Lyrae' || className === 'eclipsing binary' || className === 'Cepheid/LPV' || className === 'microlensing' ? rng.uniform(0, 0.2) : rng.uniform(0, 1);
  const ra = rng.uniform(0, 360);
  const dec = (Math.asin(rng.uniform(-1, 0.2)) * 180) / Math.PI;
  const fl = last >= 0 ? flux[last] : NaN;
  const fe = last >= 0 ? err[last] : NaN;
  const nDet = lc.detected.reduce((s, d) => s + d, 0);
  const candidate: CandidateMeta = {
    jd: last >= 0 ? ep.mjd[last] + MJD_OFFSET : NaN,
    band: last >= 0 ? LSST_BANDS[ep.band[last]] : '',
    fid: last >= 0 ? ep.band[last] + 1 : 0,
    magpsf: magFromFluxNanoJy(Math.abs(fl)),
    sigmapsf: magErrFromFluxNanoJy(Math.abs(fl), fe),
    isdiffpos: last < 0 ? null : fl < 0 ? 'f' : 't',
    rb: reliability,
    drb: reliability,
    sgscore1: NaN,
    distpsnr1: NaN,
    ssdistnr: NaN,
    ndethist: nDet,
    classtar: NaN,
    diffmaglim: last >= 0 ? ep.limit[last] : NaN,
  };
  const alert: Alert = {
    survey: 'lsst',
    objectId: ids.objectId,
    candid: ids.candid,
    ra,
    dec,
    candidate,
    lightCurve: lc,
    cutouts: {},
    label: className,
    // Rubin's quality fields where cuts and the workbench find them after a round trip through a file
    extra: { simulated: true, reliability, extendedness },
    // the triggering diaSource as Rubin publishes it (the fields the workbench shows)
    raw: last < 0 ? {} : {
      diaSourceId: ids.candid.toString(), midpointMjdTai: ep.mjd[last], band: LSST_BANDS[ep.band[last]], psfFlux: fl, psfFluxErr: fe,
      snr: Math.abs(fl) / fe, reliability, extendedness, isNegative: fl < 0, trailLength: 0, ra, dec,
    },
  };
  return { alert, modelMag: Float64Array.from(kept, (i) => modelMag[i]) };
}
