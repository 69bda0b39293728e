/**
 * Light-curve statistics as the `light-curve` package (SNAD, light-curve-feature crate) defines them, on
 * one band's time-sorted magnitudes. Every function works on typed-array slices (t, m, sigma, n) and
 * returns a number; NaN where the package returns an error (too few points, zero spread).
 */

/** R-5 quantile (Hyndman & Fan type 5), the package's `ppf`, on an ascending array. */
export function ppf(sorted: Float64Array, n: number, q: number): number {
  // The package keeps quantiles as f32; 0.1 and friends are rounded the same way here.
  const qf = Math.fround(q);
  const h = n * qf + 0.5; // 1-based position
  if (h <= 1) return sorted[0];
  if (h >= n) return sorted[n - 1];
  const lo = Math.floor(h);
  const frac = h - lo;
  return sorted[lo - 1] + frac * (sorted[lo] - sorted[lo - 1]);
}

export function sortedMedian(sorted: Float64Array, n: number): number {
  const i = (n - 1) >> 1;
  return n % 2 === 0 ? 0.5 * (sorted[i] + sorted[i + 1]) : sorted[i];
}

/**
 * Standard normal CDF, accurate to ~1e-15 relative in both tails: Phi(x) = erfc(-x / sqrt 2) / 2 with
 * erfc from the all-positive series of erf (no cancellation) for |x| < 3 and a Lentz continued fraction
 * beyond.
 */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)). */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  const x2 = x * x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

/** erfc(x) for x >= 3: exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))) by modified Lentz. */
function erfcContinuedFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 500; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x >= 3) return erfcContinuedFraction(x);
  if (x <= -3) return 2 - erfcContinuedFraction(-x);
  return 1 - erfSeries(x);
}

/**
 * log Phi(z). For -8 <= z <= 0 a cubic Hermite interpolation of log Phi on a 0.005 grid (values and exact
 * derivatives phi/Phi precomputed with erfc above): ~1e-12 accurate and ~20x faster than the series,
 * which matters because the Anderson-Darling statistic needs two of these per point. Outside, direct.
 */
const LOG_PHI_STEP = 0.005;
const LOG_PHI_MIN = -8;
const LOG_PHI_N = Math.round(-LOG_PHI_MIN / LOG_PHI_STEP) + 1;
const LOG_PHI_VALUE = new Float64Array(LOG_PHI_N);
const LOG_PHI_SLOPE = new Float64Array(LOG_PHI_N);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
for (let i = 0; i < LOG_PHI_N; i++) {
  const z = LOG_PHI_MIN + i * LOG_PHI_STEP;
  const phi = normalCdf(z);
  LOG_PHI_VALUE[i] = Math.log(phi);
  LOG_PHI_SLOPE[i] = (INV_SQRT_2PI * Math.exp(-0.5 * z * z)) / phi;
}

function logNormalCdfNonPositive(z: number): number {
  if (z < LOG_PHI_MIN) return Math.log(normalCdf(z));
  const x = (z - LOG_PHI_MIN) / LOG_PHI_STEP;
  let i = Math.floor(x);
  if (i >= LOG_PHI_N - 1) i = LOG_PHI_N - 2;
  const u = x - i;
  const h = LOG_PHI_STEP;
  const y0 = LOG_PHI_VALUE[i];
  const y1 = LOG_PHI_VALUE[i + 1];
  const d0 = LOG_PHI_SLOPE[i] * h;
  const d1 = LOG_PHI_SLOPE[i + 1] * h;
  const u2 = u * u;
  const u3 = u2 * u;
  return (2 * u3 - 3 * u2 + 1) * y0 + (u3 - 2 * u2 + u) * d0 + (-2 * u3 + 3 * u2) * y1 + (u3 - u2) * d1;
}

export function logNormalCdf(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z <= 0) return logNormalCdfNonPositive(z);
  return Math.log1p(-Math.exp(logNormalCdfNonPositive(-z)));
}

/**
 * Ordinary least squares of m on t around the means (`mMean` given: the caller's mean of m): slope, the
 * sum of squared time deviations and the residual sum of squares.
 */
export function ordinaryLeastSquares(t: Float64Array, m: Float64Array, n: number, mMean: number): { slope: number; sxx: number; rss: number } {
  let st = 0;
  for (let i = 0; i < n; i++) st += t[i];
  const tMean = st / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dt = t[i] - tMean;
    sxx += dt * dt;
    sxy += dt * (m[i] - mMean);
  }
  const slope = sxy / sxx;
  let rss = 0;
  for (let i = 0; i < n; i++) {
    const r = m[i] - mMean - slope * (t[i] - tMean);
    rss += r * r;
  }
  return { slope, sxx, rss };
}

/**
 * Weighted least squares of m on t with weights 1/sigma^2, around the weighted means: slope, the weighted
 * sum of squared time deviations (1 / slope variance) and the chi2 of the residuals.
 */
export function weightedLeastSquares(t: Float64Array, m: Float64Array, sigma: Float64Array, n: number): { slope: number; stt: number; chi2: number } {
  let sw = 0;
  let swt = 0;
  let swm = 0;
  for (let i = 0; i < n; i++) {
    const w = 1 / (sigma[i] * sigma[i]);
    sw += w;
    swt += w * t[i];
    swm += w * m[i];
  }
  const tw = swt / sw;
  const mw = swm / sw;
  let stt = 0;
  let stm = 0;
  for (let i = 0; i < n; i++) {
    const w = 1 / (sigma[i] * sigma[i]);
    const dt = t[i] - tw;
    stt += w * dt * dt;
    stm += w * dt * (m[i] - mw);
  }
  const slope = stm / stt;
  let chi2 = 0;
  for (let i = 0; i < n; i++) {
    const r = (m[i] - mw - slope * (t[i] - tw)) / sigma[i];
    chi2 += r * r;
  }
  return { slope, stt, chi2 };
}

/**
 * The straight-line fit of the light-curve crate (light-curve-feature `fit_straight_line`, after Press et
 * al. 15.2), in its order of operations: time centred on the (weighted) mean time but magnitudes not
 * centred, the intercept taken back to t = 0. On ZTF's Julian dates (~2.46e6) that order loses a few 1e-6
 * of the slope of a flat light curve, and Fink's production values carry that loss. With `sigma` the
 * weights are 1/sigma^2 and the slope variance is 1/Stt; without, unit weights and Stt scaled by the
 * reduced chi2. Results are written to out: [slope, slope variance, reduced chi2].
 */
export function straightLineFit(t: Float64Array, m: Float64Array, sigma: Float64Array | null, n: number, out: Float64Array): void {
  let s = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    const w = sigma ? 1 / (sigma[i] * sigma[i]) : 1;
    s += w;
    sx += w * t[i];
    sy += w * m[i];
  }
  if (!sigma) s = n;
  const tMean = sx / s;
  let stt = 0;
  let sty = 0;
  for (let i = 0; i < n; i++) {
    const w = sigma ? 1 / (sigma[i] * sigma[i]) : 1;
    const dt = t[i] - tMean;
    stt += w * (dt * dt);
    sty += w * dt * m[i];
  }
  const slope = sty / stt;
  const intercept = (sy - sx * slope) / s;
  let chi2 = 0;
  for (let i = 0; i < n; i++) {
    const w = sigma ? 1 / (sigma[i] * sigma[i]) : 1;
    const r = m[i] - intercept - slope * t[i];
    chi2 += r * r * w;
  }
  const reducedChi2 = chi2 / (n - 2);
  out[0] = slope;
  out[1] = sigma ? 1 / stt : (1 / stt) * reducedChi2;
  out[2] = reducedChi2;
}
