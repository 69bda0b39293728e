import type { LightCurve } from '../datasets/index.ts';
import { logNormalCdf, ppf, sortedMedian, straightLineFit } from './lightCurveStats.ts';
import { numpyArgsortQuicksort } from './numeric.ts';

/**
 * The 25 light-curve features Fink's anomaly-detection module feeds its isolation forests
 * (fink_science anomaly_detection MODEL_COLUMNS), in Fink's order, as its ad_features processor computes
 * them in production: on the light curve of `finkAnomalyLightCurve` (DC magnitudes when a reference source
 * sits under the transient, one point per (jd, fid)), with the Rust crate's definitions (light-curve-feature:
 * its minimum lengths, its FlatTimeSeries rule, its straight-line fit) — not those of the package's pure-Python
 * implementations, which differ where a band has 1-3 points and in the slope's error.
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
  /** band index of each point of finkAnomalyLightCurve */
  fid = new Uint8Array(64);
  /** one DC magnitude and its error; a straight-line fit's three results */
  readonly dc = new Float64Array(3);
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const size = Math.max(n, this.t.length * 2);
    this.t = new Float64Array(size);
    this.m = new Float64Array(size);
    this.s = new Float64Array(size);
    this.sorted = new Float64Array(size);
    this.dev = new Float64Array(size);
    this.order = new Int32Array(size);
    this.fid = new Uint8Array(size);
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
  // the crate's minimum lengths, and FlatTimeSeries (all magnitudes equal) for the features that need variability
  const flat = min === max;
  if (n >= 2 && !flat) {
    out[offset + 11] = percentageRatio(sorted, n, 0.4, 0.05); // magnitude_percentage_ratio_40_5
    out[offset + 10] = percentageRatio(sorted, n, 0.2, 0.1); // magnitude_percentage_ratio_20_10
  }
  out[offset + 14] = medianAbsoluteDeviation(sorted, n, median, scratch.dev); // median_absolute_deviation
  const buffer = 0.1 * 0.5 * (max - min);
  let inBuffer = 0;
  for (let i = 0; i < n; i++) if (Math.abs(m[i] - median) < buffer) inBuffer++;
  out[offset + 15] = inBuffer / n; // median_buffer_range_percentage_10

  if (n >= 2) {
    out[offset + 22] = std; // standard_deviation
    // the largest finite |dm/dt| (points at the same time give none)
    let maxSlope = NaN;
    for (let i = 1; i < n; i++) {
      const s = Math.abs((m[i] - m[i - 1]) / (t[i] - t[i - 1]));
      if (Number.isFinite(s) && !(s <= maxSlope)) maxSlope = s;
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
    let beyond = 0;
    for (let i = 0; i < n; i++) if (Math.abs(m[i] - mean) > std) beyond++;
    out[offset + 2] = beyond / n; // beyond_1_std
    if (!flat) {
      out[offset + 17] = absSum / Math.sqrt(n * chi2); // stetson_K
      let s = 0;
      let sMin = Infinity;
      let sMax = -Infinity;
      for (let i = 0; i < n; i++) {
        s += m[i] - mean;
        if (s < sMin) sMin = s;
        if (s > sMax) sMax = s;
      }
      out[offset + 4] = (sMax - sMin) / (std * n); // cusum
    }
  }
  if (n >= 3) {
    if (!flat) out[offset + 16] = ((m3 / std ** 3) * n) / ((n - 1) * (n - 2)); // skew
    // the crate's straight-line fits: unweighted (LinearTrend), then with weights 1/sigma^2 (LinearFit)
    const fit = scratch.dc;
    straightLineFit(t, m, null, n, fit);
    out[offset + 21] = fit[0]; // linear_trend
    out[offset + 9] = Math.sqrt(fit[1]); // linear_trend_sigma
    out[offset + 8] = Math.sqrt(fit[2]); // linear_trend_noise
    straightLineFit(t, m, sigma, n, fit);
    out[offset + 6] = fit[0]; // linear_fit_slope
    out[offset + 7] = Math.sqrt(fit[1]); // linear_fit_slope_sigma
    out[offset + 19] = fit[2]; // linear_fit_reduced_chi2
  }
  if (n >= 4 && !flat) {
    const var2 = (m2 / (n - 1)) ** 2;
    out[offset + 5] = ((n * (n + 1)) / ((n - 1) * (n - 2) * (n - 3))) * (m4 / var2) - (3 * (n - 1) ** 2) / ((n - 2) * (n - 3)); // kurtosis
    let a2 = 0;
    for (let i = 0; i < n; i++) {
      // ln(1 - Phi(z)) as ln Phi(-z), which keeps its precision in the upper tail.
      a2 += (2 * i + 1) * (logNormalCdf((sorted[i] - mean) / std) + logNormalCdf(-(sorted[n - 1 - i] - mean) / std));
    }
    a2 = -n - a2 / n;
    out[offset + 1] = a2 * (1 + 4 / n - 25 / (n * n)); // anderson_darling_normal
  }
}

/** (Q(1 - qn) - Q(qn)) / (Q(1 - qd) - Q(qd)); NaN when both ranges are empty (the crate's FlatTimeSeries). */
function percentageRatio(sorted: Float64Array, n: number, qn: number, qd: number): number {
  const num = ppf(sorted, n, 1 - qn) - ppf(sorted, n, qn);
  const den = ppf(sorted, n, 1 - qd) - ppf(sorted, n, qd);
  return num === 0 && den === 0 ? NaN : num / den;
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

/** fink-utils is_source_behind on distnr alone: a reference-catalogue source within 1.5 pixels. */
export function isSourceBehind(distnrPx: number): boolean {
  return distnrPx >= 0 && distnrPx <= 1.5;
}

/**
 * fink-utils vect_dc_mag for one detection: the apparent (DC) magnitude of difference magnitude `mag` on a
 * reference source of magnitude `magnr` (NaN when magnr < 0), the difference flux added when the subtraction
 * was positive and subtracted otherwise. Written to out[0] (magnitude) and out[1] (error); NaN where the
 * summed flux is negative or an input is missing, +Infinity where it is zero, as numpy gives.
 */
export function dcMagnitude(
  mag: number, magErr: number, magnr: number, sigmagnr: number, positive: boolean, out: Float64Array,
): void {
  // numpy's order of operations, so that the values agree with Fink's to the last bits
  const diffFlux = 10 ** (-0.4 * mag);
  const diffSigFlux = (magErr / 1.0857) * diffFlux;
  const refFlux = 10 ** (-0.4 * (magnr < 0 ? NaN : magnr));
  const refSigFlux = (sigmagnr / 1.0857) * refFlux;
  const dcFlux = positive ? refFlux + diffFlux : refFlux - diffFlux;
  const dcSigFlux = Math.sqrt(diffSigFlux ** 2 + refSigFlux ** 2);
  out[0] = -2.5 * Math.log10(dcFlux);
  out[1] = (dcSigFlux / dcFlux) * 1.0857;
}

/**
 * Whether Fink's ad_features processor works on DC magnitudes for this light curve: some detection (any
 * band) has a reference source behind it. Light curves without the reference columns never do.
 */
export function finkUsesDcMagnitudes(lc: LightCurve): boolean {
  if (!lc.distnr) return false;
  for (let i = 0; i < lc.jd.length; i++) {
    if (lc.detected[i] && !Number.isNaN(lc.mag[i]) && !Number.isNaN(lc.magErr[i]) && isSourceBehind(lc.distnr[i])) return true;
  }
  return false;
}

/**
 * The light curve Fink's ad_features processor (fink_science ztf/ad_features extract_features_ad_raw) gives
 * the extractor, all bands together: detections (magnitude and error not NaN); when any of them has a
 * reference source behind it (0 <= distnr <= 1.5), every detection converted to its DC magnitude and those
 * left without one dropped; sorted by time as pandas sorts (numpy's quicksort), a second point at the same
 * (jd, fid) dropped. Fills scratch.t/m/s/fid in time order; returns the number of points.
 */
export function finkAnomalyLightCurve(lc: LightCurve, scratch: AnomalyScratch): number {
  const total = lc.jd.length;
  scratch.ensure(total);
  const { order, t, m, s, fid, dc } = scratch;
  let n = 0;
  for (let i = 0; i < total; i++) if (lc.detected[i] && !Number.isNaN(lc.mag[i]) && !Number.isNaN(lc.magErr[i])) order[n++] = i;
  const behind = finkUsesDcMagnitudes(lc);
  let kept = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    let mag = lc.mag[i];
    let err = lc.magErr[i];
    if (behind) {
      dcMagnitude(mag, err, lc.magnr![i], lc.sigmagnr![i], lc.isdiffpos![i] === 1, dc);
      mag = dc[0];
      err = dc[1];
      if (Number.isNaN(mag) || Number.isNaN(err)) continue;
    }
    t[kept] = lc.jd[i];
    m[kept] = mag;
    s[kept] = err;
    fid[kept] = lc.band[i];
    kept++;
  }
  // pandas' sort_values (numpy's unstable quicksort: with 17 points or more, which of two points at the
  // same time comes first is numpy's choice), then drop_duplicates on (jd, fid) keeps the first
  let increasing = true;
  for (let k = 1; k < kept && increasing; k++) if (!(t[k] > t[k - 1])) increasing = false;
  if (!increasing) {
    numpyArgsortQuicksort(t, kept, order);
    permute(t, order, kept, scratch.sorted);
    permute(m, order, kept, scratch.sorted);
    permute(s, order, kept, scratch.sorted);
    for (let k = 0; k < kept; k++) scratch.dev[k] = fid[order[k]];
    for (let k = 0; k < kept; k++) fid[k] = scratch.dev[k];
  }
  let out = 0;
  for (let k = 0; k < kept; k++) {
    let duplicate = false;
    for (let j = out - 1; j >= 0 && t[j] === t[k]; j--) if (fid[j] === fid[k]) duplicate = true;
    if (duplicate) continue;
    t[out] = t[k];
    m[out] = m[k];
    s[out] = s[k];
    fid[out] = fid[k];
    out++;
  }
  return out;
}

function permute(a: Float64Array, idx: Int32Array, n: number, tmp: Float64Array): void {
  for (let k = 0; k < n; k++) tmp[k] = a[idx[k]];
  for (let k = 0; k < n; k++) a[k] = tmp[k];
}

const sharedScratch = new AnomalyScratch();
const sharedBandScratch = new AnomalyScratch();

/**
 * 25 features per band (g then r by default) of Fink's ad_features light curve (`finkAnomalyLightCurve`), NaN
 * where a band has too few points.
 */
export function anomalyFeatures(
  lc: LightCurve,
  params: AnomalyFeatureParams = DEFAULT_ANOMALY_PARAMS,
  out: Float64Array = new Float64Array(params.bands.length * ANOMALY_FEATURE_NAMES.length),
  scratch: AnomalyScratch = sharedScratch,
  bandScratch: AnomalyScratch = sharedBandScratch,
): Float64Array {
  const n = finkAnomalyLightCurve(lc, scratch);
  bandScratch.ensure(n);
  for (let k = 0; k < params.bands.length; k++) {
    const b = lc.bands.indexOf(params.bands[k]);
    let m = 0;
    for (let j = 0; j < n; j++) {
      if (scratch.fid[j] !== b) continue;
      bandScratch.t[m] = scratch.t[j];
      bandScratch.m[m] = scratch.m[j];
      bandScratch.s[m] = scratch.s[j];
      m++;
    }
    anomalyFeaturesFromArrays(bandScratch.t, bandScratch.m, bandScratch.s, m, out, k * ANOMALY_FEATURE_NAMES.length, bandScratch);
  }
  return out;
}
