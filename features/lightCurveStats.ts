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

/** Standard normal CDF via erfc with ~1e-15 relative accuracy (W. J. Cody's rational approximations). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

function erfc(x: number): number {
  const ax = Math.abs(x);
  let r: number;
  if (ax < 0.5) {
    // erf series region
    const t = x * x;
    const top = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    const bot = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    return 1 - (x * top) / bot;
  }
  if (ax < 4) {
    const top = (((((((0.564188496988670089 * ax + 8.88314979438837594) * ax + 66.1191906371416295) * ax + 298.635138197400131) * ax + 881.952221241769090) * ax + 1712.04761263407058) * ax + 2051.07837782607147) * ax + 1230.33935479799725) * ax + 2.15311535474403846e-8;
    const bot = (((((((ax + 15.7449261107098347) * ax + 117.693950891312499) * ax + 537.181101862009858) * ax + 1621.38957456669019) * ax + 3290.79923573345963) * ax + 4362.61909014324716) * ax + 3439.36767414372164) * ax + 1230.33935480374942;
    r = Math.exp(-ax * ax) * (top / bot);
  } else {
    const z = 1 / (ax * ax);
    const top = ((((0.0163153871373020978 * z + 0.305326634961232344) * z + 0.360344899949804439) * z + 0.125781726111229246) * z + 0.0160837851487422766) * z + 6.58749161529837803e-4;
    const bot = ((((z + 2.56852019228982242) * z + 1.87295284992346725) * z + 0.527905102951428412) * z + 0.0605183413124413191) * z + 2.33520497626869185e-3;
    r = (Math.exp(-ax * ax) / ax) * (1 / Math.sqrt(Math.PI) - (z * top) / bot);
  }
  return x < 0 ? 2 - r : r;
}
