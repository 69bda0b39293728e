import type { LightCurve } from '../datasets/index.ts';
import { rintHalfEven } from './numeric.ts';
import type { FitCurve } from './fitCurves.ts';
import { LSST_WAVELENGTH_ANGSTROM, rainbowFit, rainbowModel, rainbowReferenceTime, RainbowWorkspace, type RainbowFitResult } from './rainbow.ts';

/**
 * Fink's early SN Ia features for Rubin (fink_science/rubin/random_forest_snia, extract_features_rainbow,
 * with actsnfink.rainbow's selection) and the Rainbow fit alone, on the light curve Fink's Rubin modules
 * see: prvDiaSources then diaSource, rows with a NaN flux dropped, sorted by time.
 */

export const RAINBOW_FEATURE_NAMES = ['reference_time', 'amplitude', 'rise_time', 'Tmin', 'delta_T', 'k_sig', 'reduced_chi2', 'lc_max'] as const;
/** Fink's model input: [npoints] + the 7 Rainbow features (RAINBOW_FEATURES_NAMES of the Fink module). */
export const EARLY_SNIA_RUBIN_FEATURE_NAMES = ['npoints', 'amplitude', 'rise_time', 'Tmin', 'delta_T', 'k_sig', 'reduced_chi2', 'lc_max'] as const;

export interface RubinSniaParams {
  /** Fewer valid points than this: no fit (Fink's min_data_points). */
  readonly minPoints: number;
  /** Fluxes (nJy) below this are left out of the rising test (Fink's low_bound). */
  readonly lowBoundNanoJy: number;
  /** Effective wavelengths of the fit's bands, Angstrom. */
  readonly wavelengthsAngstrom: Readonly<Record<string, number>>;
}

export const DEFAULT_RUBIN_SNIA_PARAMS: RubinSniaParams = { minPoints: 7, lowBoundNanoJy: -10, wavelengthsAngstrom: LSST_WAVELENGTH_ANGSTROM };

/** The points a Rubin feature sees, in time order (stable: equal times keep the alert's order). */
export interface RubinPoints {
  n: number;
  mjd: Float64Array;
  flux: Float64Array;
  err: Float64Array;
  band: string[];
}

export function rubinPoints(lc: LightCurve): RubinPoints {
  const idx: number[] = [];
  for (let i = 0; i < lc.jd.length; i++) if (lc.detected[i] && !Number.isNaN(lc.fluxNanoJy[i])) idx.push(i);
  const time = (i: number): number => (lc.mjd ? lc.mjd[i] : lc.jd[i] - 2400000.5);
  idx.sort((p, q) => time(p) - time(q));
  const n = idx.length;
  const out: RubinPoints = { n, mjd: new Float64Array(n), flux: new Float64Array(n), err: new Float64Array(n), band: new Array<string>(n) };
  idx.forEach((i, k) => {
    out.mjd[k] = time(i);
    out.flux[k] = lc.fluxNanoJy[i];
    out.err[k] = lc.fluxErrNanoJy[i];
    out.band[k] = lc.bands[lc.band[i]];
  });
  return out;
}

/**
 * actsnfink's rising test for one band: its points with flux >= lowBound, averaged per night (MJD rounded
 * half to even, as pandas groups them), must never decrease from night to night. No point: not rising.
 */
export function bandIsRising(p: RubinPoints, band: string, lowBoundNanoJy: number): boolean {
  const nights = new Map<number, { sum: number; count: number }>();
  for (let i = 0; i < p.n; i++) {
    if (p.band[i] !== band || !(p.flux[i] >= lowBoundNanoJy)) continue;
    const night = rintHalfEven(p.mjd[i]);
    const s = nights.get(night);
    if (s) {
      s.sum += p.flux[i];
      s.count++;
    } else nights.set(night, { sum: p.flux[i], count: 1 });
  }
  if (nights.size === 0) return false;
  const means = [...nights.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s.sum / s.count);
  for (let k = 1; k < means.length; k++) if (!(means[k - 1] <= means[k])) return false;
  return true;
}

/**
 * Fink's selection: at least minPoints points, and more bands rising than max(2, min(3, bands present)).
 * Returns the number of rising bands and the threshold, for display.
 */
export function rubinSniaSelection(p: RubinPoints, params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS): { passes: boolean; rising: number; needed: number } {
  const present = new Set(p.band).size;
  const needed = Math.max(2, Math.min(3, present));
  if (p.n < params.minPoints) return { passes: false, rising: 0, needed };
  let rising = 0;
  for (const band of Object.keys(params.wavelengthsAngstrom)) if (bandIsRising(p, band, params.lowBoundNanoJy)) rising++;
  return { passes: rising > needed, rising, needed };
}

const sharedWorkspace = new RainbowWorkspace();

/** What Fink's recipe fits: flux and error divided by the maximum flux, each point's band wavelength (NaN: not a fit band). */
function fitInput(p: RubinPoints, params: RubinSniaParams): { flux: Float64Array; err: Float64Array; wave: Float64Array; lcMax: number } {
  let lcMax = -Infinity;
  for (let i = 0; i < p.n; i++) if (p.flux[i] > lcMax) lcMax = p.flux[i];
  const flux = new Float64Array(p.n);
  const err = new Float64Array(p.n);
  const wave = new Float64Array(p.n);
  for (let i = 0; i < p.n; i++) {
    flux[i] = p.flux[i] / lcMax;
    err[i] = p.err[i] / lcMax;
    wave[i] = params.wavelengthsAngstrom[p.band[i]] ?? NaN;
  }
  return { flux, err, wave, lcMax };
}

/** The Rainbow fit of Fink's recipe: flux and error divided by the maximum flux, every band of the alert. */
export function fitRubinPoints(p: RubinPoints, params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS, ws: RainbowWorkspace = sharedWorkspace): { fit: RainbowFitResult; lcMax: number } {
  const { flux, err, wave, lcMax } = fitInput(p, params);
  const fit = wave.some(Number.isNaN)
    ? { params: new Float64Array(6).fill(NaN), reducedChi2: NaN, failure: 'a band without a wavelength', evaluations: 0 }
    : rainbowFit(p.mjd, flux, err, wave, p.n, Object.values(params.wavelengthsAngstrom), ws);
  return { fit, lcMax };
}

/**
 * The `rainbow` values (reference_time ... lc_max) behind an `early-snia-rubin` row that holds a fit, to draw
 * it: the row's parameters with the one it lacks, reference_time, found from them (rainbowReferenceTime: a
 * fraction of a fit from every start); where that does not end at the row's own minimum, the fit again.
 */
export function rainbowDisplayValues(lc: LightCurve, row: ArrayLike<number>, params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS): Float64Array {
  const p = rubinPoints(lc);
  if (p.n >= params.minPoints) {
    const { flux, err, wave, lcMax } = fitInput(p, params);
    if (!wave.some(Number.isNaN)) {
      const known = Float64Array.of(NaN, row[1], row[2], row[3], row[4], row[5]);
      const t0 = rainbowReferenceTime(p.mjd, flux, err, wave, p.n, Object.values(params.wavelengthsAngstrom), known, row[6], sharedWorkspace);
      if (Number.isFinite(t0)) return Float64Array.of(t0, row[1], row[2], row[3], row[4], row[5], row[6], lcMax);
    }
  }
  return rainbowFeatures(lc, params);
}

/**
 * `rainbow`: reference_time, amplitude, rise_time, Tmin, delta_T, k_sig, reduced_chi2, lc_max for every
 * alert with at least minPoints points; NaN where there are fewer or the fit fails (the package raises).
 */
export function rainbowFeatures(lc: LightCurve, params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS, out: Float64Array = new Float64Array(8)): Float64Array {
  out.fill(NaN);
  const p = rubinPoints(lc);
  if (p.n < params.minPoints) return out;
  const { fit, lcMax } = fitRubinPoints(p, params);
  if (fit.failure) return out;
  out.set(fit.params, 0);
  out[6] = fit.reducedChi2;
  out[7] = lcMax;
  return out;
}

/**
 * `early-snia-rubin`: Fink's input vector [npoints, amplitude, rise_time, Tmin, delta_T, k_sig,
 * reduced_chi2, lc_max]; the seven fit values are 0 when the selection fails or the fit does, as Fink.
 */
export function earlySnIaRubinFeatures(lc: LightCurve, params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS, out: Float64Array = new Float64Array(8)): Float64Array {
  out.fill(0);
  const p = rubinPoints(lc);
  out[0] = p.n;
  if (!rubinSniaSelection(p, params).passes) return out;
  const { fit, lcMax } = fitRubinPoints(p, params);
  if (fit.failure) return out;
  for (let k = 1; k < 6; k++) out[k] = fit.params[k];
  out[6] = fit.reducedChi2;
  out[7] = lcMax;
  return out;
}

/**
 * The fitted Rainbow of each band the alert has, in nJy, over the span the fit saw, from the `rainbow`
 * values (reference_time ... lc_max).
 */
export function rainbowFitCurves(lc: LightCurve, values: ArrayLike<number>, params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS): FitCurve[] {
  if (!Number.isFinite(values[1])) return [];
  const p = rubinPoints(lc);
  if (p.n === 0) return [];
  const start = p.mjd[0];
  const end = p.mjd[p.n - 1];
  const bands = Object.values(params.wavelengthsAngstrom);
  const lcMax = values[7];
  const samples = 120;
  return [...new Set(p.band)].filter((b) => b in params.wavelengthsAngstrom).map((band) => {
    const jd = new Float64Array(samples);
    const fluxNanoJy = new Float64Array(samples);
    for (let k = 0; k < samples; k++) {
      const mjd = start + ((end - start) * k) / (samples - 1);
      jd[k] = mjd + 2400000.5;
      fluxNanoJy[k] = lcMax * rainbowModel(values, mjd, params.wavelengthsAngstrom[band], bands);
    }
    return { band, model: 'rainbow', jd, fluxNanoJy };
  });
}
