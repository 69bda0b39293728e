import type { LightCurve } from '../datasets/index.ts';
import { logNormalCdf, ordinaryLeastSquares, ppf, sortedMedian, weightedLeastSquares } from './lightCurveStats.ts';

/**
 * The 25 light-curve features Fink's anomaly-detection module feeds its isolation forests
 * (fink_science anomaly_detection MODEL_COLUMNS), in Fink's order, with the definitions of the
 * `light-curve` package that Fink's ad_features processor calls. Computed per band on PSF magnitudes
 * of detections, sorted by time.
 */
export const ANOMALY_FEATURE_NAMES = [
  'amplitude', 'anderson_darling_normal', 'beyond_1_std', 'chi2', 'cusum', 'kurtosis', 'linear_fit_slope',
  'linear_fit_slope_sigma', 'linear_trend_noise', 'linear_trend_sigma', 'magnitude_percentage_ratio_20_10',
  'magnitude_percentage_ratio_40_5', 'maximum_slope', 'median', 'median_absolute_deviation',
  'median_buffer_range_percentage_10', 'skew', 'stetson_K', 'percent_amplitude', 'linear_fit_reduced_chi2',
  'inter_percentile_range_10', 'linear_trend', 'standard_deviation', 'weighted_mean', 'mean',
] as const;

export type AnomalyFeatureName = (typeof ANOMALY_FEATURE_NAMES)[number];

/**
 * Scratch buffers reused across calls so that extraction allocates nothing per light curve once warm.
 */
export class AnomalyScratch {
  t = new Float64Array(64);
  m = new Float64Array(64);
  s = new Float64Array(64);
  sorted = new Float64Array(64);
  dev = new Float64Array(64);
  order = new Int32Array(64);
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const size = Math.max(n, this.t.length * 2);
    this.t = new Float64Array(size);
    this.m = new Float64Array(size);
    this.s = new Float64Array(size);
    this.sorted = new Float64Array(size);
    this.dev = new Float64Array(size);
    this.order = new Int32Array(size);
  }
}

/**
 * The 25 features of one band from time-sorted arrays (t, m, sigma) of length n, written to out[offset..].
 * Values the package cannot compute (too few points, zero variance) are NaN, as Fink's fill_value.
 */
export function anomalyFeaturesFromArrays(
  t: Float64Array, m: Float64Array, sigma: Float64Array, n: number,
  out: Float64Array, offset: number, scratch: AnomalyScratch,
): void {
  for (let k = 0; k < ANOMALY_FEATURE_NAMES.length; k++) out[offset + k] = NaN;
  if (n < 1) return;
  scratch.ensure(n);
  const sorted = scratch.sorted;
  for (let i = 0; i < n; i++) sorted[i] = m[i];
  sorted.subarray(0, n).sort();
  const min = sorted[0];
  const max = sorted[n - 1];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += m[i];
  const mean = sum / n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = m[i] - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const std = n > 1 ? Math.sqrt(m2 / (n - 1)) : NaN;
  const median = sortedMedian(sorted, n);
  let wsum = 0;
  let wmsum = 0;
  for (let i = 0; i < n; i++) {
    const w = 1 / (sigma[i] * sigma[i]);
    wsum += w;
    wmsum += w * m[i];
  }
  const wmean = wmsum / wsum;

  out[offset + 24] = mean; // mean
  out[offset + 23] = wmean; // weighted_mean
  out[offset + 13] = median; // median
  out[offset + 0] = 0.5 * (max - min); // amplitude
  out[offset + 18] = Math.max(max - median, median - min); // percent_amplitude
  out[offset + 20] = ppf(sorted, n, 0.9) - ppf(sorted, n, 0.1); // inter_percentile_range_10
  out[offset + 11] = percentageRatio(sorted, n, 0.4, 0.05); // magnitude_percentage_ratio_40_5
  out[offset + 10] = percentageRatio(sorted, n, 0.2, 0.1); // magnitude_percentage_ratio_20_10
  out[offset + 14] = medianAbsoluteDeviation(sorted, n, median, scratch.dev); // median_absolute_deviation
  const buffer = 0.1 * 0.5 * (max - min);
  let inBuffer = 0;
  for (let i = 0; i < n; i++) if (Math.abs(m[i] - median) < buffer) inBuffer++;
  out[offset + 15] = inBuffer / n; // median_buffer_range_percentage_10

  if (n >= 2) {
    out[offset + 22] = std; // standard_deviation
    let maxSlope = 0;
    for (let i = 1; i < n; i++) {
      const s = Math.abs((m[i] - m[i - 1]) / (t[i] - t[i - 1]));
      if (s > maxSlope || Number.isNaN(s)) maxSlope = s;
    }
    out[offset + 12] = maxSlope; // maximum_slope
    let chi2 = 0;
    let absSum = 0;
    for (let i = 0; i < n; i++) {
      const r = (m[i] - wmean) / sigma[i];
      chi2 += r * r;
      absSum += Math.abs(r);
    }
    out[offset + 3] = chi2 / (n - 1); // chi2
    out[offset + 17] = chi2 > 0 ? absSum / Math.sqrt(n * chi2) : NaN; // stetson_K
    if (std > 0) {
      let beyond = 0;
      for (let i = 0; i < n; i++) if (Math.abs(m[i] - mean) > std) beyond++;
      out[offset + 2] = beyond / n; // beyond_1_std
      let s = 0;
      let sMin = 0;
      let sMax = 0;
      for (let i = 0; i < n; i++) {
        s += m[i] - mean;
        const v = s / (n * std);
        if (i === 0 || v < sMin) sMin = v;
        if (i === 0 || v > sMax) sMax = v;
      }
      out[offset + 4] = sMax - sMin; // cusum
    }
  }
  if (n >= 3) {
    const var3 = (m2 / (n - 1)) ** 1.5;
    if (var3 > 0) out[offset + 16] = ((n / ((n - 1) * (n - 2))) * m3) / var3; // skew
    // Ordinary least squares: slope, its standard error, and the residual scatter.
    const { slope, sxx, rss } = ordinaryLeastSquares(t, m, n, mean);
    const noise2 = rss / (n - 2);
    out[offset + 21] = slope; // linear_trend
    out[offset + 9] = Math.sqrt(noise2 / sxx); // linear_trend_sigma
    out[offset + 8] = Math.sqrt(noise2); // linear_trend_noise
    // Weighted least squares with weights 1/sigma^2.
    const { slope: wslope, stt: swtt, chi2: wchi2 } = weightedLeastSquares(t, m, sigma, n);
    out[offset + 6] = wslope; // linear_fit_slope
    out[offset + 7] = Math.sqrt(1 / swtt); // linear_fit_slope_sigma
    out[offset + 19] = wchi2 / (n - 2); // linear_fit_reduced_chi2
  }
  if (n >= 4) {
    const var2 = (m2 / (n - 1)) ** 2;
    if (var2 > 0) {
      out[offset + 5] = ((n * (n + 1)) / ((n - 1) * (n - 2) * (n - 3))) * (m4 / var2) - (3 * (n - 1) ** 2) / ((n - 2) * (n - 3)); // kurtosis
    }
    if (std > 0) {
      let a2 = 0;
      for (let i = 0; i < n; i++) {
        // ln(1 - Phi(z)) as ln Phi(-z), which keeps its precision in the upper tail.
        a2 += (2 * i + 1) * (logNormalCdf((sorted[i] - mean) / std) + logNormalCdf(-(sorted[n - 1 - i] - mean) / std));
      }
      a2 = -n - a2 / n;
      out[offset + 1] = a2 * (1 + 4 / n - 25 / (n * n)); // anderson_darling_normal
    }
  }
}

/** (Q(1 - qn) - Q(qn)) / (Q(1 - qd) - Q(qd)); NaN when the denominator range is empty. */
function percentageRatio(sorted: Float64Array, n: number, qn: number, qd: number): number {
  const den = ppf(sorted, n, 1 - qd) - ppf(sorted, n, qd);
  return den === 0 ? NaN : (ppf(sorted, n, 1 - qn) - ppf(sorted, n, qn)) / den;
}

/**
 * Median of |m - median| without a second sort: the deviations of the sorted magnitudes below and above
 * the median are each already sorted, so a two-way merge from the middle outwards orders them in O(n).
 */
function medianAbsoluteDeviation(sorted: Float64Array, n: number, median: number, dev: Float64Array): number {
  let hi = 0;
  while (hi < n && sorted[hi] < median) hi++;
  let lo = hi - 1;
  for (let k = 0; k < n; k++) {
    const dLo = lo >= 0 ? median - sorted[lo] : Infinity;
    const dHi = hi < n ? sorted[hi] - median : Infinity;
    if (dLo <= dHi) {
      dev[k] = dLo;
      lo--;
    } else {
      dev[k] = dHi;
      hi++;
    }
  }
  return sortedMedian(dev, n);
}

export interface AnomalyFeatureParams {
  /** Bands, in output order; the columns get a `_<band>` suffix. */
  bands: readonly string[];
}

export const DEFAULT_ANOMALY_PARAMS: AnomalyFeatureParams = { bands: ['g', 'r'] };

export function anomalyColumnNames(params: AnomalyFeatureParams = DEFAULT_ANOMALY_PARAMS): string[] {
  return params.bands.flatMap((b) => ANOMALY_FEATURE_NAMES.map((n) => `${n}_${b}`));
}

/**
 * Fills t/m/s in scratch with one band's detections (finite magnitude and error), sorted by time; returns n.
 */
export function bandMagnitudes(lc: LightCurve, bandName: string, scratch: AnomalyScratch): number {
  const b = lc.bands.indexOf(bandName);
  if (b < 0) return 0;
  const total = lc.jd.length;
  scratch.ensure(total);
  const order = scratch.order;
  let n = 0;
  let sortedByTime = true;
  for (let i = 0; i < total; i++) {
    if (lc.band[i] !== b || !lc.detected[i] || !Number.isFinite(lc.mag[i]) || !Number.isFinite(lc.magErr[i])) continue;
    if (n > 0 && lc.jd[i] < lc.jd[order[n - 1]]) sortedByTime = false;
    order[n++] = i;
  }
  if (!sortedByTime) order.subarray(0, n).sort((p, q) => lc.jd[p] - lc.jd[q]);
  for (let k = 0; k < n; k++) {
    const i = order[k];
    scratch.t[k] = lc.jd[i];
    scratch.m[k] = lc.mag[i];
    scratch.s[k] = lc.magErr[i];
  }
  return n;
}

const sharedScratch = new AnomalyScratch();

/** 25 features per band (g then r by default), NaN where a band has too few detections. */
export function anomalyFeatures(
  lc: LightCurve,
  params: AnomalyFeatureParams = DEFAULT_ANOMALY_PARAMS,
  out: Float64Array = new Float64Array(params.bands.length * ANOMALY_FEATURE_NAMES.length),
  scratch: AnomalyScratch = sharedScratch,
): Float64Array {
  for (let k = 0; k < params.bands.length; k++) {
    const n = bandMagnitudes(lc, params.bands[k], scratch);
    anomalyFeaturesFromArrays(scratch.t, scratch.m, scratch.s, n, out, k * ANOMALY_FEATURE_NAMES.length, scratch);
  }
  return out;
}
