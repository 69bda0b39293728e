import { fluxcalErrFromMag, fluxcalFromMag, FLUXCAL_PER_NANOJY } from '../datasets/index.ts';
import type { Alert, LightCurve } from '../datasets/index.ts';
import { rintHalfEven, roundDecimals } from './numeric.ts';
import { trfLeastSquares, type TrfResult } from './trf.ts';

/**
 * Fink's early SN Ia features (actsnfink get_sigmoid_features_dev, as called by Fink's
 * random_forest_snia processor with min_rising_points=2, min_data_points=4, rising_criteria='ewma'):
 * per band (g, r) the detections are averaged per night, points with FLUXCAL < -10 dropped, and if every
 * remaining point is on the rise (the first difference of an EWMA with com=3 is never negative), a
 * sigmoid c / (1 + exp(-a (t - b))) is fitted to FLUXCAL against days since the first point.
 */
export const SIGMOID_FEATURE_NAMES = [
  'a_g', 'b_g', 'c_g', 'snratio_g', 'mse_g', 'nrise_g',
  'a_r', 'b_r', 'c_r', 'snratio_r', 'mse_r', 'nrise_r',
] as const;

export interface SigmoidParams {
  minRisingPoints: number;
  minDataPoints: number;
  ewmaCom: number;
  /** Nightly means below this FLUXCAL are dropped. */
  lowFluxBound: number;
  bands: readonly [string, string];
  /** Selection cuts (apply_selection_cuts_ztf). */
  cutMinPoints: number;
  cutMaxNdethist: number;
}

export const DEFAULT_SIGMOID_PARAMS: SigmoidParams = {
  minRisingPoints: 2,
  minDataPoints: 4,
  ewmaCom: 3,
  lowFluxBound: -10,
  bands: ['g', 'r'],
  cutMinPoints: 4,
  cutMaxNdethist: 20,
};

/** Fink's placeholder for a band that cannot be fitted: a=b=c=0, snratio=0.1, mse=1e8, nrise=0. */
const PLACEHOLDER = [0, 0, 0, 0.1, 1e8, 0] as const;

/** fink_utils return_list_of_eg_host(): SIMBAD types that do not exclude a supernova host. */
export const FINK_EXTRAGALACTIC_CDSXMATCH: ReadonlySet<string> = new Set([
  'Unknown', 'Candidate_SN*', 'SN', 'Transient', 'Fail', 'Fail 504', 'SN*_Candidate',
  'galaxy', 'Galaxy', 'EmG', 'Seyfert', 'Seyfert_1', 'Seyfert_2', 'BlueCompG', 'StarburstG', 'LSB_G', 'HII_G',
  'High_z_G', 'GinPair', 'GinGroup', 'BClG', 'GinCl', 'PartofG', 'Compact_Gr_G', 'IG', 'PairG', 'GroupG', 'ClG',
  'SuperClG', 'Void',
]);

export function sigmoid(t: number, a: number, b: number, c: number): number {
  return c / (1 + Math.exp(-a * (t - b)));
}

/**
 * Fink's selection cuts for the early SN Ia module: at least 4 detections in the light curve, ndethist
 * <= 20, and a SIMBAD cross-match that is extragalactic or unknown (`Unknown` when the alert has none).
 */
export function passesEarlySnIaCuts(alert: Alert, params: SigmoidParams = DEFAULT_SIGMOID_PARAMS): boolean {
  const lc = alert.lightCurve;
  let nDet = 0;
  for (let i = 0; i < lc.mag.length; i++) if (lc.detected[i] && !Number.isNaN(lc.mag[i])) nDet++;
  if (nDet < params.cutMinPoints) return false;
  if (!(alert.candidate.ndethist <= params.cutMaxNdethist)) return false;
  const xm = alert.extra.cdsxmatch;
  return FINK_EXTRAGALACTIC_CDSXMATCH.has(typeof xm === 'string' ? xm : 'Unknown');
}

/** FLUXCAL (zero point 27.5) points of one band: detections with finite flux, in light-curve order. */
export interface BandFlux {
  jd: Float64Array;
  flux: Float64Array;
  fluxErr: Float64Array;
  n: number;
}

export function bandFluxcal(lc: LightCurve, bandName: string, scratch?: BandFlux): BandFlux {
  const b = lc.bands.indexOf(bandName);
  const n0 = lc.jd.length;
  const reuse = scratch && scratch.jd.length >= n0;
  const jd = reuse ? scratch.jd : new Float64Array(n0);
  const flux = reuse ? scratch.flux : new Float64Array(n0);
  const fluxErr = reuse ? scratch.fluxErr : new Float64Array(n0);
  let n = 0;
  if (b < 0) return { jd, flux, fluxErr, n };
  const fromMag = lc.nativeUnit === 'mag';
  for (let i = 0; i < n0; i++) {
    if (lc.band[i] !== b || !lc.detected[i]) continue;
    const f = fromMag ? fluxcalFromMag(lc.mag[i]) : lc.fluxNanoJy[i] * FLUXCAL_PER_NANOJY;
    const e = fromMag ? fluxcalErrFromMag(lc.mag[i], lc.magErr[i]) : lc.fluxErrNanoJy[i] * FLUXCAL_PER_NANOJY;
    // Fink drops NaN fluxes (and rows with a NaN error) before fitting.
    if (Number.isNaN(f) || Number.isNaN(e)) continue;
    jd[n] = lc.jd[i];
    flux[n] = f;
    fluxErr[n] = e;
    n++;
  }
  return { jd, flux, fluxErr, n };
}

/** Reusable buffers for the hot path (one light curve at a time per thread). */
class SigmoidScratch {
  band: BandFlux = { jd: new Float64Array(256), flux: new Float64Array(256), fluxErr: new Float64Array(256), n: 0 };
  order = new Int32Array(256);
  night = new Float64Array(256);
  ensure(n: number): void {
    if (this.order.length >= n) return;
    const size = Math.max(n, 2 * this.order.length);
    this.band = { jd: new Float64Array(size), flux: new Float64Array(size), fluxErr: new Float64Array(size), n: 0 };
    this.order = new Int32Array(size);
    this.night = new Float64Array(size);
  }
}
const scratch = new SigmoidScratch();

/** Fink's initial guess (actsnfink fit_sigmoid): slope from argmin/argmax indices, c = max, b from f0. */
export function sigmoidInitialGuess(t: Float64Array, flux: Float64Array, n: number): [number, number, number] {
  let iMax = 0;
  let iMin = 0;
  for (let i = 1; i < n; i++) {
    if (flux[i] > flux[iMax]) iMax = i;
    if (flux[i] < flux[iMin]) iMin = i;
  }
  const t0 = t[iMax] - t[0];
  const slope = t0 > 0 ? (iMax - iMin) / (t[iMax] - t[iMin]) : 1;
  const f0 = flux[0];
  const a = slope;
  const c = flux[iMax];
  const b = f0 !== 0 && c / f0 !== 1 ? Math.log(c / f0 - 1) / a : 1;
  return [a, b, c];
}

/**
 * Least-squares sigmoid fit exactly as actsnfink (residual |f - model|, scipy TRF defaults): a, b, c in x,
 * and scipy's status (0: stopped by its 300-evaluation limit, not at a minimum).
 */
export function fitSigmoid(t: Float64Array, flux: Float64Array, n: number): TrfResult {
  const guess = sigmoidInitialGuess(t, flux, n);
  return trfLeastSquares(
    (x, out) => {
      const a = x[0];
      const b = x[1];
      const c = x[2];
      for (let i = 0; i < n; i++) out[i] = Math.abs(flux[i] - c / (1 + Math.exp(-a * (t[i] - b))));
    },
    guess,
    n,
  );
}

/** The nightly-averaged points a band's sigmoid is fitted to, time in days since the first night. */
export interface RisingPoints {
  /** Days since t0Jd, the first fitted night (the sigmoid's time origin). */
  t: Float64Array;
  t0Jd: number;
  flux: Float64Array;
  fluxErr: Float64Array;
  n: number;
}

/**
 * Fink's selection of the points to fit: nightly means (keyed by round(jd), numpy's half-to-even), means
 * below the low-flux bound dropped, at least minDataPoints nights, and every night "rising" (the first
 * difference of the EWMA never negative). Null when the band cannot be fitted.
 */
export function risingPoints(points: BandFlux, params: SigmoidParams = DEFAULT_SIGMOID_PARAMS): RisingPoints | null {
  const { jd, flux, fluxErr, n } = points;
  if (n < params.minDataPoints || n < params.minRisingPoints) return null; // cannot reach enough nights
  scratch.ensure(n);
  const order = scratch.order;
  const night = scratch.night;
  let ordered = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    night[i] = rintHalfEven(jd[i]);
    if (i > 0 && night[i] < night[i - 1]) ordered = false;
  }
  // pandas groupby sorts by night; a stable sort keeps same-night points in alert order.
  if (!ordered) order.subarray(0, n).sort((p, q) => night[p] - night[q] || p - q);
  const t = new Float64Array(n);
  const f = new Float64Array(n);
  const e = new Float64Array(n);
  let m = 0;
  for (let k = 0; k < n; ) {
    const key = night[order[k]];
    let sf = 0;
    let se = 0;
    let c = 0;
    while (k < n && night[order[k]] === key) {
      sf += flux[order[k]];
      se += fluxErr[order[k]];
      c++;
      k++;
    }
    const mf = sf / c;
    if (mf < params.lowFluxBound) continue;
    t[m] = key;
    f[m] = mf;
    e[m] = se / c;
    m++;
  }
  if (m < params.minDataPoints || m < params.minRisingPoints) return null;
  // EWMA (pandas adjust=True, alpha = 1/(1+com)) and its first difference.
  const decay = 1 - 1 / (1 + params.ewmaCom);
  let weighted = f[0];
  let oldWeight = 1;
  let previous = weighted;
  for (let i = 1; i < m; i++) {
    oldWeight *= decay;
    weighted = (oldWeight * weighted + f[i]) / (oldWeight + 1);
    oldWeight += 1;
    if (weighted - previous < 0) return null;
    previous = weighted;
  }
  const t0 = t[0];
  for (let i = 0; i < m; i++) t[i] -= t0;
  return { t, t0Jd: t0, flux: f, fluxErr: e, n: m };
}

/** Least-squares cost 0.5 * sum (f - sigmoid)^2 of parameters on a band's rising points. */
export function sigmoidCost(p: RisingPoints, a: number, b: number, c: number): number {
  let s = 0;
  for (let i = 0; i < p.n; i++) {
    const d = p.flux[i] - sigmoid(p.t[i], a, b, c);
    s += d * d;
  }
  return 0.5 * s;
}

/**
 * The 6 features of one band, written into out[offset..offset+5].
 */
export function bandSigmoidFeatures(points: BandFlux, params: SigmoidParams, out: Float64Array, offset: number): void {
  const rising = risingPoints(points, params);
  if (!rising) {
    out.set(PLACEHOLDER, offset);
    return;
  }
  const { t, flux: f, fluxErr: e, n: m } = rising;
  let snr = 0;
  for (let i = 0; i < m; i++) snr += f[i] / e[i];
  snr /= m;
  const guess = sigmoidInitialGuess(t, f, m);
  if (!guess.every(Number.isFinite)) {
    // A first nightly flux in (-10, 0] makes Fink's guess log(c/f0 - 1) NaN and scipy raise, failing the
    // whole batch; Sieve gives the band the placeholder instead.
    out.set(PLACEHOLDER, offset);
    return;
  }
  const [a, b, c] = fitSigmoid(t, f, m).x;
  // actsnfink rounds the prediction to 4 decimals and replaces exact zeros by 1e-5 before normalising.
  let sumF = 0;
  let sumP = 0;
  const pred = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    let p = roundDecimals(sigmoid(t[i], a, b, c), 4);
    if (p === 0) p = 0.00001;
    pred[i] = p;
    sumF += f[i];
    sumP += p;
  }
  let mse = 0;
  for (let i = 0; i < m; i++) {
    const d = f[i] / sumF - pred[i] / sumP;
    mse += d * d;
  }
  mse /= m;
  out[offset] = a;
  out[offset + 1] = b;
  out[offset + 2] = c;
  out[offset + 3] = snr;
  out[offset + 4] = mse;
  out[offset + 5] = m;
}

/** The 12 features in Fink's order for one light curve. */
export function sigmoidFeatures(lc: LightCurve, params: SigmoidParams = DEFAULT_SIGMOID_PARAMS, out: Float64Array = new Float64Array(12)): Float64Array {
  scratch.ensure(lc.jd.length);
  bandSigmoidFeatures(bandFluxcal(lc, params.bands[0], scratch.band), params, out, 0);
  bandSigmoidFeatures(bandFluxcal(lc, params.bands[1], scratch.band), params, out, 6);
  return out;
}
