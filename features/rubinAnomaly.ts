import type { LightCurve } from '../datasets/index.ts';
import { logNormalCdf, ordinaryLeastSquares, sortedMedian, weightedLeastSquares } from './lightCurveStats.ts';

/**
 * The 26 features of Fink's Rubin anomaly module (fink_science/rubin/ad_features, create_extractor()), in
 * its order and with the light-curve package's names, on flux (nJy) per band.
 *
 * Definitions follow the package's pure-Python implementations (light_curve.light_curve_py), which the
 * reference values were computed with: each feature is evaluated on its own and becomes NaN when it raises
 * or is not finite (LinearTrend and LinearFit give three values each and fail together). That makes the
 * minimum point counts differ from the Rust crate used for ZTF (features/anomaly.ts): skew and the
 * Anderson-Darling statistic exist from 2 points, beyond_1_std from 1.
 *
 * Sums are numpy's pairwise sums and the formulas keep numpy's order of operations where a cancellation
 * would otherwise show (LinearFit's slope sigma uses E[t^2] - E[t]^2 on raw MJD).
 */
export const RUBIN_ANOMALY_FEATURE_NAMES = [
  'mean', 'weighted_mean', 'standard_deviation', 'median', 'amplitude', 'beyond_1_std', 'cusum',
  'inter_percentile_range_10', 'kurtosis', 'linear_trend', 'linear_trend_sigma', 'linear_trend_noise',
  'linear_fit_slope', 'linear_fit_slope_sigma', 'linear_fit_reduced_chi2', 'magnitude_percentage_ratio_40_5',
  'magnitude_percentage_ratio_20_10', 'maximum_slope', 'median_absolute_deviation',
  'median_buffer_range_percentage_10', 'percent_amplitude', 'mean_variance', 'anderson_darling_normal', 'chi2',
  'skew', 'stetson_K',
] as const;

export const RUBIN_BANDS = ['u', 'g', 'r', 'i', 'z', 'y'] as const;

const NF = RUBIN_ANOMALY_FEATURE_NAMES.length;

/** Reused buffers: extraction allocates nothing per light curve once warm. */
export class RubinAnomalyScratch {
  t = new Float64Array(64);
  f = new Float64Array(64);
  e = new Float64Array(64);
  a = new Float64Array(64);
  b = new Float64Array(64);
  sorted = new Float64Array(64);
  order = new Int32Array(64);
  keep = new Uint8Array(64);
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const size = Math.max(n, this.t.length * 2);
    this.t = new Float64Array(size);
    this.f = new Float64Array(size);
    this.e = new Float64Array(size);
    this.a = new Float64Array(size);
    this.b = new Float64Array(size);
    this.sorted = new Float64Array(size);
    this.order = new Int32Array(size);
    this.keep = new Uint8Array(size);
  }
}

/** numpy's pairwise summation of x[0..n) (what np.sum and np.mean do on a contiguous float64 array). */
export function pairwiseSum(x: Float64Array, start: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[start + i];
    return s;
  }
  if (n <= 128) {
    let r0 = x[start], r1 = x[start + 1], r2 = x[start + 2], r3 = x[start + 3];
    let r4 = x[start + 4], r5 = x[start + 5], r6 = x[start + 6], r7 = x[start + 7];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const j = start + i;
      r0 += x[j]; r1 += x[j + 1]; r2 += x[j + 2]; r3 += x[j + 3];
      r4 += x[j + 4]; r5 += x[j + 5]; r6 += x[j + 6]; r7 += x[j + 7];
    }
    let s = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
    for (; i < n; i++) s += x[start + i];
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(x, start, n2) + pairwiseSum(x, start + n2, n - n2);
}

/** scipy.stats.mstats.mquantiles with alphap = betap = 0.5 on an ascending array. */
function mquantile(sorted: Float64Array, n: number, p: number): number {
  if (n === 1) return sorted[0];
  const aleph = n * p + 0.5;
  const k = Math.floor(Math.min(Math.max(aleph, 1), n - 1));
  const gamma = Math.min(Math.max(aleph - k, 0), 1);
  return (1 - gamma) * sorted[k - 1] + gamma * sorted[k];
}

function percentageRatio(sorted: Float64Array, n: number, qn: number, qd: number): number {
  return (mquantile(sorted, n, 1 - qn) - mquantile(sorted, n, qn)) / (mquantile(sorted, n, 1 - qd) - mquantile(sorted, n, qd));
}

/** NaN unless finite: the package's fill rule. */
function finite(v: number): number {
  return Number.isFinite(v) ? v : NaN;
}

/**
 * The 26 features of one band from time-sorted arrays with unique times, written to out[offset..].
 */
export function rubinAnomalyFeaturesFromArrays(
  t: Float64Array, f: Float64Array, e: Float64Array, n: number,
  out: Float64Array, offset: number, scratch: RubinAnomalyScratch,
): void {
  for (let k = 0; k < NF; k++) out[offset + k] = NaN;
  if (n < 1) return;
  scratch.ensure(n);
  const { a, b, sorted } = scratch;

  const mean = pairwiseSum(f, 0, n) / n;
  for (let i = 0; i < n; i++) {
    const d = f[i] - mean;
    a[i] = d * d;
  }
  const m2sum = pairwiseSum(a, 0, n);
  const std = Math.sqrt(m2sum / (n - 1)); // NaN for n = 1, as numpy's ddof=1

  // np.average(f, weights=sigma**-2): sum(f * w) / sum(w)
  for (let i = 0; i < n; i++) {
    b[i] = Math.pow(e[i], -2);
    a[i] = f[i] * b[i];
  }
  const wsum = pairwiseSum(b, 0, n);
  const wmean = pairwiseSum(a, 0, n) / wsum;

  for (let i = 0; i < n; i++) sorted[i] = f[i];
  sorted.subarray(0, n).sort();
  const min = sorted[0];
  const max = sorted[n - 1];
  const median = sortedMedian(sorted, n);

  out[offset + 0] = finite(mean);
  out[offset + 1] = finite(wmean);
  out[offset + 2] = finite(std);
  out[offset + 3] = finite(median);
  out[offset + 4] = finite(0.5 * (max - min));

  // beyond_1_std: a NaN std compares false everywhere, so one point gives 0, as numpy does.
  let beyond = 0;
  for (let i = 0; i < n; i++) if (Math.abs(f[i] - mean) > std) beyond++;
  out[offset + 5] = beyond / n;

  if (std > 0) {
    let s = 0;
    let lo = Infinity;
    let hi = -Infinity;
    const scale = n * std;
    for (let i = 0; i < n; i++) {
      s += f[i] - mean;
      const v = s / scale;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    out[offset + 6] = finite(hi - lo);
  }

  out[offset + 7] = finite(mquantile(sorted, n, 1 - 0.1) - mquantile(sorted, n, 0.1));

  if (n >= 4) {
    let m4 = 0;
    for (let i = 0; i < n; i++) m4 += Math.pow(f[i] - mean, 4);
    const st4 = Math.pow(std, 4);
    out[offset + 8] = finite((n * (n + 1) * m4) / ((n - 1) * (n - 2) * (n - 3) * st4) - (3 * (n - 1) ** 2) / ((n - 2) * (n - 3)));
  }

  if (n >= 3) {
    linearTrend(t, f, n, out, offset + 9);
    linearFit(t, f, e, n, out, offset + 12, scratch);
  }

  out[offset + 15] = finite(percentageRatio(sorted, n, 0.4, 0.05));
  out[offset + 16] = finite(percentageRatio(sorted, n, 0.2, 0.1));

  if (n >= 2) {
    let maxSlope = -Infinity;
    for (let i = 1; i < n; i++) {
      const s = Math.abs((f[i] - f[i - 1]) / (t[i] - t[i - 1]));
      if (s > maxSlope || Number.isNaN(s)) maxSlope = s;
    }
    out[offset + 17] = finite(maxSlope);
  }

  for (let i = 0; i < n; i++) a[i] = Math.abs(f[i] - median);
  a.subarray(0, n).sort();
  out[offset + 18] = finite(sortedMedian(a, n));

  const buffer = (0.1 * (max - min)) / 2;
  let inBuffer = 0;
  for (let i = 0; i < n; i++) if (Math.abs(median - f[i]) < buffer) inBuffer++;
  out[offset + 19] = inBuffer / n;

  out[offset + 20] = finite(Math.max(max - median, median - min));
  out[offset + 21] = finite(std / mean);

  if (n >= 2 && std > 0) {
    // scipy.stats.anderson(f).statistic, with the package's small-sample factor
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const lower = logNormalCdf((sorted[i] - mean) / std);
      const upper = logNormalCdf(-(sorted[n - 1 - i] - mean) / std);
      a[i] = ((2 * (i + 1) - 1) / n) * (lower + upper);
    }
    s2 = pairwiseSum(a, 0, n);
    out[offset + 22] = finite((-n - s2) * (1 + 4 / n - 25 / n ** 2));
  }

  // chi2 (ReducedChi2) and stetson_K around the weighted mean
  let chi2 = 0;
  let absSum = 0;
  for (let i = 0; i < n; i++) {
    const r = (f[i] - wmean) / e[i];
    a[i] = r * r;
    b[i] = Math.abs(r);
  }
  chi2 = pairwiseSum(a, 0, n);
  absSum = pairwiseSum(b, 0, n);
  for (let i = 0; i < n; i++) {
    const d = f[i] - wmean;
    a[i] = d * d * Math.pow(e[i], -2);
  }
  out[offset + 23] = finite(pairwiseSum(a, 0, n) / (n - 1));
  out[offset + 25] = finite(absSum / Math.sqrt(n * chi2));

  out[offset + 24] = skew(f, n, mean, scratch);
}

/** scipy.stats.skew(f, bias=False) (scipy 1.10): NaN for a constant series, the biased value below 3 points. */
function skew(f: Float64Array, n: number, mean: number, scratch: RubinAnomalyScratch): number {
  const { a, b } = scratch;
  for (let i = 0; i < n; i++) {
    const d = f[i] - mean;
    a[i] = d * d;
    b[i] = d * d * d;
  }
  const m2 = pairwiseSum(a, 0, n) / n;
  const m3 = pairwiseSum(b, 0, n) / n;
  const resolution = 1e-15 * mean;
  if (m2 <= resolution * resolution) return NaN;
  const g = n > 2 ? ((Math.sqrt((n - 1) * n) / (n - 2)) * m3) / m2 ** 1.5 : m3 / m2 ** 1.5;
  return finite(g);
}

/** Ordinary least squares of f on t: slope, its standard error, and the residual scatter. */
function linearTrend(t: Float64Array, f: Float64Array, n: number, out: Float64Array, at: number): void {
  let sf = 0;
  for (let i = 0; i < n; i++) sf += f[i];
  const { slope, sxx, rss } = ordinaryLeastSquares(t, f, n, sf / n);
  const red = rss / (n - 2);
  const v0 = slope;
  const v1 = Math.sqrt(red / sxx);
  const v2 = Math.sqrt(red);
  if (Number.isFinite(v0) && Number.isFinite(v1) && Number.isFinite(v2)) {
    out[at] = v0;
    out[at + 1] = v1;
    out[at + 2] = v2;
  }
}

/** Weighted least squares (weights 1/sigma^2): slope, its sigma as the package writes it, reduced chi2. */
function linearFit(t: Float64Array, f: Float64Array, e: Float64Array, n: number, out: Float64Array, at: number, scratch: RubinAnomalyScratch): void {
  const { slope, chi2 } = weightedLeastSquares(t, f, e, n);
  // The package's sigma: sqrt(1 / ((avg_w(t^2) - avg_w(t)^2) * sum(1/sigma^2))), in numpy's arithmetic,
  // cancellation included, so that the values agree where raw MJDs make it lose digits.
  const { a, b } = scratch;
  for (let i = 0; i < n; i++) b[i] = Math.pow(e[i], -2);
  const wTotal = pairwiseSum(b, 0, n);
  for (let i = 0; i < n; i++) a[i] = t[i] * t[i] * b[i];
  const wt2 = pairwiseSum(a, 0, n) / wTotal;
  for (let i = 0; i < n; i++) a[i] = t[i] * b[i];
  const wt = (pairwiseSum(a, 0, n) / wTotal) ** 2;
  for (let i = 0; i < n; i++) a[i] = 1 / (e[i] * e[i]);
  const sigmaSum = pairwiseSum(a, 0, n);
  const v0 = slope;
  const v1 = Math.sqrt(1 / ((wt2 - wt) * sigmaSum));
  const v2 = chi2 / (n - 2);
  if (Number.isFinite(v0) && Number.isFinite(v1) && Number.isFinite(v2)) {
    out[at] = v0;
    out[at + 1] = v1;
    out[at + 2] = v2;
  }
}

export interface RubinAnomalyParams {
  /** Bands, in output order; columns are `<feature>_<band>`. */
  readonly bands: readonly string[];
}

export const DEFAULT_RUBIN_ANOMALY_PARAMS: RubinAnomalyParams = { bands: [...RUBIN_BANDS] };

export function rubinAnomalyColumnNames(params: RubinAnomalyParams = DEFAULT_RUBIN_ANOMALY_PARAMS): string[] {
  return params.bands.flatMap((band) => RUBIN_ANOMALY_FEATURE_NAMES.map((name) => `${name}_${band}`));
}

/**
 * Fink's Rubin light curve for these features: detections (prvDiaSources then diaSource), rows with a NaN
 * time, flux or error dropped, sorted by time, repeated times dropped across bands (first kept). Fills
 * scratch.order with the kept point indices in time order; returns how many.
 */
export function rubinDetectionOrder(lc: LightCurve, scratch: RubinAnomalyScratch): number {
  const total = lc.jd.length;
  scratch.ensure(total);
  const order = scratch.order;
  let n = 0;
  let sortedByTime = true;
  for (let i = 0; i < total; i++) {
    if (!lc.detected[i] || Number.isNaN(lc.jd[i]) || Number.isNaN(lc.fluxNanoJy[i]) || Number.isNaN(lc.fluxErrNanoJy[i])) continue;
    if (n > 0 && lc.jd[i] < lc.jd[order[n - 1]]) sortedByTime = false;
    order[n++] = i;
  }
  // Array.prototype.sort is stable: among equal times the first in the alert's order is kept.
  if (!sortedByTime) {
    const idx = Array.from(order.subarray(0, n)).sort((p, q) => lc.jd[p] - lc.jd[q]);
    for (let k = 0; k < n; k++) order[k] = idx[k];
  }
  let m = 0;
  for (let k = 0; k < n; k++) {
    if (m > 0 && lc.jd[order[k]] === lc.jd[order[m - 1]]) continue;
    order[m++] = order[k];
  }
  return m;
}

const sharedScratch = new RubinAnomalyScratch();
const MJD_OFFSET = 2400000.5;

/**
 * 26 features per band (u g r i z y by default) on flux in nJy against MJD; NaN for a band without
 * detections and for a feature undefined on the band's points.
 */
export function rubinAnomalyFeatures(
  lc: LightCurve,
  params: RubinAnomalyParams = DEFAULT_RUBIN_ANOMALY_PARAMS,
  out: Float64Array = new Float64Array(params.bands.length * NF),
  scratch: RubinAnomalyScratch = sharedScratch,
): Float64Array {
  const n = rubinDetectionOrder(lc, scratch);
  const { t, f, e, order } = scratch;
  // The per-band arrays live behind the ordered indices in the same buffers: copy each band out first.
  for (let k = 0; k < params.bands.length; k++) {
    const band = lc.bands.indexOf(params.bands[k]);
    let m = 0;
    for (let j = 0; j < n; j++) {
      const i = order[j];
      if (lc.band[i] !== band) continue;
      t[m] = lc.mjd ? lc.mjd[i] : lc.jd[i] - MJD_OFFSET;
      f[m] = lc.fluxNanoJy[i];
      e[m] = lc.fluxErrNanoJy[i];
      m++;
    }
    rubinAnomalyFeaturesFromArrays(t, f, e, band < 0 ? 0 : m, out, k * NF, scratch);
  }
  return out;
}
