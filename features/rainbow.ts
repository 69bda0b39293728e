/**
 * Rainbow (Russeil et al. 2024): a multi-band light curve as a blackbody whose bolometric flux rises as a
 * sigmoid and whose temperature moves as a sigmoid, fitted to every band at once. The definition is the
 * light-curve package's RainbowFit (light_curve_py, bolometric='sigmoid', temperature='sigmoid', Planck
 * spectrum, no baseline) as Fink's Rubin early SN Ia module calls it:
 *
 * - times are shifted by their mean and scaled by their standard deviation, fluxes scaled by theirs;
 * - the model is flux(t, band) = B(t) * planck(nu_band, T(t)) / (sigma_SB T(t)^4 / pi / mean nu), with
 *   B(t) = amplitude / (1 + exp(-(t - t0) / rise_time)) and T(t) = T (1 + T_amplitude (2 s - 1)),
 *   s = 1 / (1 + exp((t - t0) / t_color)), both saturated beyond 100 time constants as the package does;
 * - the cost is the package's MaximumLikelihood: chi2 / 2, plus a soft barrier 1e-4 * scale / distance to
 *   each bound, plus a N(0, 0.25) prior on T_amplitude; its initial values and bounds are the package's;
 * - the reduced chi2 is (cost - prior) / (n - 6), as the package reports it.
 *
 * The package minimises that cost with iminuit's Migrad from one start. Migrad stops where its estimate
 * of the distance to the minimum drops below 1e-4, and which of the cost's several local minima it
 * reaches changes with the last bits of the input. Sieve minimises the same cost with Newton steps from
 * a fixed set of starts (the package's first) and keeps the lowest minimum, so its cost is not above the
 * one Fink's fit stops at, and the features are the same function of the light curve on every machine.
 *
 * Parameter names follow Fink's columns: Fink calls T, T_amplitude and t_color "Tmin", "delta_T" and
 * "k_sig" (names from an older RainbowFit); the values are the package's T, T_amplitude and t_color.
 */

import { pairwiseSum } from './rubinAnomaly.ts';

const PLANCK = 6.62607004e-27; // erg s (the package's constant)
const LIGHT = 2.99792458e10; // cm/s
const BOLTZMANN = 1.380649e-16; // erg/K
const STEFAN_BOLTZMANN = 5.6703744191844314e-5; // erg/(cm^2 s K^4)
const BARRIER = 1e-4;
const PRIOR_INV_VAR = 1 / 0.25 ** 2; // T_amplitude ~ N(0, 0.25)

const NP = 6; // reference_time, amplitude, rise_time, T, T_amplitude, t_color (RainbowFitResult.params)

/** Effective wavelengths (Angstrom) of the LSST bands, as Fink's Rubin early SN Ia module gives them. */
export const LSST_WAVELENGTH_ANGSTROM: Readonly<Record<string, number>> = { u: 3671, g: 4827, r: 6223, i: 7546, z: 8691, y: 9712 };

export interface RainbowFitResult {
  /** reference_time (MJD), amplitude (flux units of the input), rise_time (d), T (K), T_amplitude, t_color (d). */
  readonly params: Float64Array;
  readonly reducedChi2: number;
  /** Why there is no fit (the package raises): too few points, repeated times, no finite cost. */
  readonly failure: string | null;
  /** Cost evaluations, over all starts. */
  readonly evaluations: number;
}

/** Reused buffers, so that a fit allocates nothing per light curve once warm. */
export class RainbowWorkspace {
  t = new Float64Array(64);
  y = new Float64Array(64);
  invErr = new Float64Array(64);
  /** h nu / k: the Planck exponent is this over T. */
  xOverT = new Float64Array(64);
  /** (2 h / c^2) nu^3 pi mean-nu / sigma_SB: the normalised blackbody is this / (T^4 expm1(x)). */
  sedScale = new Float64Array(64);
  err = new Float64Array(64);
  sorted = new Float64Array(64);
  sq = new Float64Array(64);
  r = new Float64Array(64);
  // what the last value pass left per point, for the derivative pass
  sBol = new Float64Array(64);
  sbBol = new Float64Array(64);
  w = new Float64Array(64);
  sbT = new Float64Array(64);
  invTemp = new Float64Array(64);
  invEm1 = new Float64Array(64);
  sed = new Float64Array(64);
  res = new Float64Array(64);
  lo = new Float64Array(NP);
  hi = new Float64Array(NP);
  start = new Float64Array(NP);
  // the minimiser's state: point (p and its logit u), gradient and Hessian in u
  p = new Float64Array(NP);
  u = new Float64Array(NP);
  g = new Float64Array(NP);
  h = new Float64Array(NP * NP);
  trialP = new Float64Array(NP);
  trialU = new Float64Array(NP);
  chol = new Float64Array(NP * NP);
  step = new Float64Array(NP);
  best = new Float64Array(NP);
  /** The first point's time (scaled). */
  tFirst = 0;
  /** The logit points the earlier starts of this fit stepped through (NP per point), and how many. */
  visited = new Float64Array(NP * 256);
  nVisited = 0;
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const size = Math.max(n, this.t.length * 2);
    for (const key of ['t', 'y', 'invErr', 'xOverT', 'sedScale', 'err', 'sorted', 'sq', 'r', 'sBol', 'sbBol', 'w', 'sbT', 'invTemp', 'invEm1', 'sed', 'res'] as const) {
      this[key] = new Float64Array(size);
    }
  }
}

/** numpy's mean and std (ddof 0) of x[0..n), with its pairwise sums; sq is scratch. */
function meanStd(x: ArrayLike<number>, n: number, sq: Float64Array): [number, number] {
  for (let i = 0; i < n; i++) sq[i] = x[i];
  const mean = pairwiseSum(sq, 0, n) / n;
  for (let i = 0; i < n; i++) sq[i] = (x[i] - mean) ** 2;
  return [mean, Math.sqrt(pairwiseSum(sq, 0, n) / n)];
}

/**
 * The width the package bounds rise_time and t_color with: around the (m / sigma)-weighted centroid of the
 * points above the median, the spread of time weighted by (m - min m) / sigma.
 */
function centroidWidth(ws: RainbowWorkspace, n: number): number {
  const { t, y, err: e, sorted, sq, r } = ws;
  for (let i = 0; i < n; i++) sorted[i] = y[i];
  sorted.subarray(0, n).sort();
  const median = n % 2 === 1 ? sorted[(n - 1) >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const min = sorted[0];
  let k = 0;
  for (let i = 0; i < n; i++) {
    if (!(y[i] > median)) continue;
    sq[k] = (t[i] * y[i]) / e[i];
    r[k] = y[i] / e[i];
    k++;
  }
  const t0 = pairwiseSum(sq, 0, k) / pairwiseSum(r, 0, k);
  k = 0;
  for (let i = 0; i < n; i++) {
    if (!(y[i] > median)) continue;
    const mc = y[i] - min;
    sq[k] = ((t[i] - t0) ** 2 * mc) / e[i];
    r[k] = mc / e[i];
    k++;
  }
  return Math.sqrt(pairwiseSum(sq, 0, k) / pairwiseSum(r, 0, k));
}

/** The per-point constants of the normalised blackbody at point i. */
function setBand(ws: RainbowWorkspace, i: number, waveAngstrom: number, averageNu: number): void {
  const nu = LIGHT / (1e-8 * waveAngstrom);
  ws.xOverT[i] = (PLANCK * nu) / BOLTZMANN;
  ws.sedScale[i] = (((2 * PLANCK) / LIGHT ** 2) * nu ** 3 * Math.PI * averageNu) / STEFAN_BOLTZMANN;
}

/** The scaled problem: its scalers (the start and bounds are in the workspace). */
interface Prepared {
  readonly n: number;
  readonly tMean: number;
  readonly tScale: number;
  readonly fScale: number;
}

/** The package's scalings, start and bounds into ws, or why the package raises. */
function prepare(
  mjd: ArrayLike<number>, flux: ArrayLike<number>, fluxErr: ArrayLike<number>, waveAngstrom: ArrayLike<number>, n: number,
  bandWavelengthsAngstrom: readonly number[], ws: RainbowWorkspace,
): Prepared | string {
  if (n <= NP) return `${n} points for ${NP} parameters`;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(mjd[i]) || !Number.isFinite(flux[i])) return 'non-finite time or flux';
    if (Number.isNaN(fluxErr[i])) return 'NaN flux error';
    if (i > 0 && !(mjd[i] > mjd[i - 1])) return mjd[i] === mjd[i - 1] ? 't must be unique' : 't must be sorted';
  }
  ws.ensure(n);
  const { t, y, invErr, err } = ws;
  // scalers: time by mean and std, flux by std (no shift without baseline)
  const [tMean, tStd] = meanStd(mjd, n, ws.sq);
  const tScale = tStd === 0 ? 1 : tStd;
  const fStd = meanStd(flux, n, ws.sq)[1];
  const fScale = fStd === 0 ? 1 : fStd;
  const waves = new Float64Array(bandWavelengthsAngstrom.length);
  for (let b = 0; b < waves.length; b++) waves[b] = 1e-8 * bandWavelengthsAngstrom[b];
  const averageNu = LIGHT / (pairwiseSum(waves, 0, waves.length) / waves.length);
  let tMin = Infinity;
  let tMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  let iMax = 0;
  for (let i = 0; i < n; i++) {
    t[i] = (mjd[i] - tMean) / tScale;
    y[i] = flux[i] / fScale;
    err[i] = fluxErr[i] / fScale;
    invErr[i] = 1 / err[i];
    setBand(ws, i, waveAngstrom[i], averageNu);
    if (t[i] < tMin) tMin = t[i];
    if (t[i] > tMax) tMax = t[i];
    if (y[i] < yMin) yMin = y[i];
    if (y[i] > yMax) {
      yMax = y[i];
      iMax = i;
    }
  }
  ws.tFirst = tMin;
  const tSpan = tMax - tMin;
  const ySpan = yMax - yMin;
  const width = centroidWidth(ws, n);
  ws.start.set([t[iMax], ySpan, 1, 10000, 0, 2 * width]);
  ws.lo.set([tMin - 10 * tSpan, 0, width / 100, 1e3, -0.99, width / 3]);
  ws.hi.set([tMax + 10 * tSpan, 20 * ySpan, 10 * tSpan, 2e6, 0.99, 10 * tSpan]);
  for (let k = 0; k < NP; k++) if (!(ws.lo[k] < ws.hi[k])) return 'empty parameter range';
  return { n, tMean, tScale, fScale };
}

/**
 * The package's cost at q (scaled units): chi2 / 2 + barrier + prior; Infinity outside the bounds, as the
 * package's barrier. Leaves per point what `derivatives` needs.
 */
function costAt(ws: RainbowWorkspace, n: number, q: Float64Array): number {
  const { lo, hi } = ws;
  let barrier = 0;
  for (let k = 0; k < NP; k++) {
    const below = q[k] - lo[k];
    const above = hi[k] - q[k];
    if (!(below > 0 && above > 0)) return q[k] === q[k] ? Infinity : NaN;
    const scale = hi[k] - lo[k];
    barrier += scale / below + scale / above;
  }
  const t0 = q[0];
  const amp = q[1];
  const invRise = 1 / q[2];
  const temp0 = q[3];
  const tAmp = q[4];
  const invColor = 1 / q[5];
  const bolFrom = -100 * q[2];
  const colorSpan = 100 * q[5];
  const { t, y, invErr, xOverT, sedScale, sBol, sbBol, w, sbT, invTemp, invEm1, sed, res } = ws;
  let chi2 = 0;
  for (let i = 0; i < n; i++) {
    const dt = t[i] - t0;
    // bolometric sigmoid, zero (and flat) far before t0
    if (dt > bolFrom) {
      const e = Math.exp(-dt * invRise);
      const s = 1 / (e + 1);
      sBol[i] = s;
      sbBol[i] = e * s * s;
    } else {
      sBol[i] = 0;
      sbBol[i] = 0;
    }
    // temperature sigmoid, saturated beyond 100 t_color
    if (dt <= -colorSpan) {
      w[i] = 1;
      sbT[i] = 0;
    } else if (dt >= colorSpan) {
      w[i] = -1;
      sbT[i] = 0;
    } else {
      const e = Math.exp(dt * invColor);
      const s = 1 / (1 + e);
      w[i] = 2 * s - 1;
      sbT[i] = e * s * s;
    }
    const it = 1 / (temp0 * (1 + tAmp * w[i]));
    invTemp[i] = it;
    const ie = 1 / Math.expm1(xOverT[i] * it);
    invEm1[i] = ie;
    const it2 = it * it;
    const v = sedScale[i] * it2 * it2 * ie;
    sed[i] = v;
    const r = (y[i] - amp * sBol[i] * v) * invErr[i];
    res[i] = r;
    chi2 += r * r;
  }
  return chi2 / 2 + BARRIER * barrier + 0.5 * PRIOR_INV_VAR * tAmp * tAmp;
}

/**
 * Gradient and exact Hessian (6 x 6, full) of chi2 / 2 + prior at the point of the last `costAt`, from
 * the values it left: the model's analytic first and second derivatives through the bolometric sigmoid,
 * the temperature sigmoid and the Planck spectrum. The barrier is added in logit coordinates.
 */
function derivatives(ws: RainbowWorkspace, n: number, q: Float64Array, g: Float64Array, h: Float64Array): void {
  const t0 = q[0];
  const amp = q[1];
  const rise = q[2];
  const temp0 = q[3];
  const tAmp = q[4];
  const tColor = q[5];
  const invRise = 1 / rise;
  const invColor = 1 / tColor;
  const { t, invErr, xOverT, sBol, sbBol, w: ws2m1, sbT, invTemp, invEm1, sed, res } = ws;
  let g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0;
  let h00 = 0, h01 = 0, h02 = 0, h03 = 0, h04 = 0, h05 = 0;
  let h11 = 0, h12 = 0, h13 = 0, h14 = 0, h15 = 0;
  let h22 = 0, h23 = 0, h24 = 0, h25 = 0;
  let h33 = 0, h34 = 0, h35 = 0;
  let h44 = 0, h45 = 0;
  let h55 = 0;
  for (let i = 0; i < n; i++) {
    const s = sed[i];
    const sb = sBol[i];
    if (s === 0 || sb === 0) continue; // no flux: no derivative
    const r = res[i];
    const ie = invErr[i];
    const dt = t[i] - t0;
    const q = sbBol[i]; // s (1 - s) of the bolometric sigmoid
    const w = ws2m1[i];
    const st = sbT[i];
    const it = invTemp[i];
    const x = xOverT[i] * it;
    const rho = 1 + invEm1[i]; // e^x / (e^x - 1)
    const f = x * rho - 4;
    const bol = amp * sb;
    // the bolometric part: B and its derivatives in (t0, amp, rise)
    const u = dt * invRise;
    const bd0 = -amp * q * invRise;
    const bd1 = sb;
    const bd2 = bd0 * u;
    // the temperature: T(t) and its derivatives in (t0, T, T_amplitude, t_color)
    const v = dt * invColor;
    const wt0 = 2 * st * invColor;
    const wc = wt0 * v;
    const td0 = temp0 * tAmp * wt0;
    const td3 = 1 + tAmp * w;
    const td4 = temp0 * w;
    const td5 = td0 * v;
    // the normalised blackbody S(T) and its derivatives
    const sT = s * f * it;
    const sTT = s * (f * f - f - x * rho * (1 - x * invEm1[i])) * it * it;
    // residual derivatives j = -d model / dp / sigma
    const bsT = bol * sT;
    const j0 = -ie * (bd0 * s + bsT * td0);
    const j1 = -ie * bd1 * s;
    const j2 = -ie * bd2 * s;
    const j3 = -ie * bsT * td3;
    const j4 = -ie * bsT * td4;
    const j5 = -ie * bsT * td5;
    g0 += j0 * r; g1 += j1 * r; g2 += j2 * r; g3 += j3 * r; g4 += j4 * r; g5 += j5 * r;
    // Hessian: j j' - (r / sigma) d2 model / dp dp
    const c = -r * ie;
    const om = 1 - 2 * sb;
    const ir2 = invRise * invRise;
    const b00 = amp * q * om * ir2;
    const b01 = -q * invRise;
    const b02 = amp * q * (om * u + 1) * ir2;
    const b12 = b01 * u;
    const b22 = amp * q * u * (om * u + 2) * ir2;
    const ic2 = invColor * invColor;
    const wt0t0 = -2 * st * w * ic2;
    const wt0c = -2 * st * (w * v + 1) * ic2;
    const wcc = -2 * st * v * (w * v + 2) * ic2;
    const bsTT = bol * sTT;
    const sd0 = sT * td0;
    h00 += j0 * j0 + c * (b00 * s + 2 * bd0 * sd0 + bsTT * td0 * td0 + bsT * temp0 * tAmp * wt0t0);
    h01 += j0 * j1 + c * (b01 * s + bd1 * sd0);
    h02 += j0 * j2 + c * (b02 * s + bd2 * sd0);
    h03 += j0 * j3 + c * (sT * bd0 * td3 + bsTT * td0 * td3 + bsT * tAmp * wt0);
    h04 += j0 * j4 + c * (sT * bd0 * td4 + bsTT * td0 * td4 + bsT * temp0 * wt0);
    h05 += j0 * j5 + c * (sT * bd0 * td5 + bsTT * td0 * td5 + bsT * temp0 * tAmp * wt0c);
    h11 += j1 * j1;
    h12 += j1 * j2 + c * b12 * s;
    h13 += j1 * j3 + c * sT * bd1 * td3;
    h14 += j1 * j4 + c * sT * bd1 * td4;
    h15 += j1 * j5 + c * sT * bd1 * td5;
    h22 += j2 * j2 + c * b22 * s;
    h23 += j2 * j3 + c * sT * bd2 * td3;
    h24 += j2 * j4 + c * sT * bd2 * td4;
    h25 += j2 * j5 + c * sT * bd2 * td5;
    h33 += j3 * j3 + c * bsTT * td3 * td3;
    h34 += j3 * j4 + c * (bsTT * td3 * td4 + bsT * w);
    h35 += j3 * j5 + c * (bsTT * td3 * td5 + bsT * tAmp * wc);
    h44 += j4 * j4 + c * bsTT * td4 * td4;
    h45 += j4 * j5 + c * (bsTT * td4 * td5 + bsT * temp0 * wc);
    h55 += j5 * j5 + c * (bsTT * td5 * td5 + bsT * temp0 * tAmp * wcc);
  }
  g[0] = g0; g[1] = g1; g[2] = g2; g[3] = g3; g[4] = g4 + PRIOR_INV_VAR * tAmp; g[5] = g5;
  h[0] = h00; h[1] = h01; h[2] = h02; h[3] = h03; h[4] = h04; h[5] = h05;
  h[7] = h11; h[8] = h12; h[9] = h13; h[10] = h14; h[11] = h15;
  h[14] = h22; h[15] = h23; h[16] = h24; h[17] = h25;
  h[21] = h33; h[22] = h34; h[23] = h35;
  h[28] = h44 + PRIOR_INV_VAR; h[29] = h45;
  h[35] = h55;
  for (let a = 1; a < NP; a++) for (let b = 0; b < a; b++) h[a * NP + b] = h[b * NP + a];
}

/**
 * p = lo + (hi - lo) / (1 + e^-u): the minimiser moves u, so that every step stays inside the bounds and
 * the barrier, 1e-4 (2 + e^u + e^-u) per parameter in u, is smooth.
 */
function fromLogit(ws: RainbowWorkspace, u: Float64Array, p: Float64Array): void {
  for (let k = 0; k < NP; k++) p[k] = ws.lo[k] + (ws.hi[k] - ws.lo[k]) / (1 + Math.exp(-u[k]));
}

function toLogit(ws: RainbowWorkspace, p: Float64Array, u: Float64Array): void {
  for (let k = 0; k < NP; k++) u[k] = Math.log((p[k] - ws.lo[k]) / (ws.hi[k] - p[k]));
}

/** Gradient and Hessian in p (chi2 / 2 + prior) to the whole cost's in u. */
function chainToLogit(ws: RainbowWorkspace, p: Float64Array, g: Float64Array, h: Float64Array): void {
  const d = ws.step; // dp/du (scratch)
  for (let k = 0; k < NP; k++) {
    const scale = ws.hi[k] - ws.lo[k];
    const s = (p[k] - ws.lo[k]) / scale;
    d[k] = scale * s * (1 - s);
  }
  for (let a = 0; a < NP; a++) for (let b = 0; b < NP; b++) h[a * NP + b] *= d[a] * d[b];
  for (let k = 0; k < NP; k++) {
    const s = (p[k] - ws.lo[k]) / (ws.hi[k] - ws.lo[k]);
    const eu = s / (1 - s);
    h[k * NP + k] += g[k] * d[k] * (1 - 2 * s) + BARRIER * (eu + 1 / eu);
    g[k] = g[k] * d[k] + BARRIER * (eu - 1 / eu);
  }
}

/**
 * Solves (h + lambda I) x = -g by Cholesky into x; false if that matrix is not positive definite (the
 * exact Hessian can be indefinite away from a minimum).
 */
function dampedStep(h: Float64Array, g: Float64Array, lambda: number, l: Float64Array, x: Float64Array): boolean {
  for (let i = 0; i < NP; i++) {
    for (let j = 0; j <= i; j++) {
      let s = h[i * NP + j];
      if (i === j) s += lambda;
      for (let k = 0; k < j; k++) s -= l[i * NP + k] * l[j * NP + k];
      if (i === j) {
        if (!(s > 0)) return false;
        l[i * NP + i] = Math.sqrt(s);
      } else l[i * NP + j] = s / l[j * NP + j];
    }
  }
  for (let i = 0; i < NP; i++) {
    let s = -g[i];
    for (let k = 0; k < i; k++) s -= l[i * NP + k] * x[k];
    x[i] = s / l[i * NP + i];
  }
  for (let i = NP - 1; i >= 0; i--) {
    let s = x[i];
    for (let k = i + 1; k < NP; k++) s -= l[k * NP + i] * x[k];
    x[i] = s / l[i * NP + i];
  }
  return true;
}

/**
 * Distance (logit units, where every parameter's range has unit scale) under which a start that reaches a
 * point an earlier start stepped through is taken to follow it to the same minimum, and is dropped. 0.1 drops
 * no start whose minimum is the lowest on the reference light curves; 0.2 drops four.
 */
const SAME_PATH = 0.1;

/** Has u come within SAME_PATH of a point of an earlier start (the first `earlier` points of ws.visited)? */
function joinsEarlierPath(ws: RainbowWorkspace, u: Float64Array, earlier: number): boolean {
  const v = ws.visited;
  const limit = SAME_PATH * SAME_PATH;
  for (let q = 0, o = 0; q < earlier; q++, o += NP) {
    const d0 = v[o] - u[0], d1 = v[o + 1] - u[1], d2 = v[o + 2] - u[2], d3 = v[o + 3] - u[3], d4 = v[o + 4] - u[4], d5 = v[o + 5] - u[5];
    if (d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 + d4 * d4 + d5 * d5 < limit) return true;
  }
  return false;
}

function remember(ws: RainbowWorkspace, u: Float64Array): void {
  if (ws.nVisited * NP === ws.visited.length) {
    const grown = new Float64Array(ws.visited.length * 2);
    grown.set(ws.visited);
    ws.visited = grown;
  }
  ws.visited.set(u, ws.nVisited * NP);
  ws.nVisited++;
}

/** Steps a start may take. */
const MAX_STEPS = 500;

/**
 * Newton's method on the package's cost in logit coordinates, with Levenberg's damping (lambda added to
 * the Hessian's diagonal: the logit coordinates all have unit scale), from ws.p to the minimum it leads
 * to. Stops when a step lowers the cost by less than 1e-10 and the model promised less than 1e-9
 * (Migrad's goal is 1e-4), or returns Infinity once it steps onto the path of an earlier start (the first
 * `earlier` points of ws.visited: SAME_PATH). No start is cut short for its cost: on light curves that do
 * not look like Rainbow's model, a start whose cost is still far above the best so far, at a point where the
 * Hessian is positive definite, often goes on to the lowest minimum of all. Leaves the point in ws.p;
 * `calls` counts cost evaluations.
 */
function minimise(ws: RainbowWorkspace, n: number, calls: { n: number }, earlier: number): number {
  const { p, u, g, h, trialP, trialU, chol, step } = ws;
  let cost = costAt(ws, n, p);
  calls.n++;
  if (!Number.isFinite(cost)) return cost;
  derivatives(ws, n, p, g, h);
  toLogit(ws, p, u);
  chainToLogit(ws, p, g, h);
  let lambda = 0.1;
  let grow = 2;
  for (let it = 0; it < MAX_STEPS; it++) {
    let predicted = 0; // -(g'd + d'Hd / 2)
    if (dampedStep(h, g, lambda, chol, step)) {
      for (let a = 0; a < NP; a++) {
        let hd = 0;
        for (let b = 0; b < NP; b++) hd += h[a * NP + b] * step[b];
        predicted -= g[a] * step[a] + 0.5 * step[a] * hd;
      }
    }
    if (!(predicted > 0)) {
      // not positive definite at this damping (the exact Hessian away from a minimum): damp more
      lambda = Math.max(lambda, 1e-6) * grow;
      grow *= 2;
      continue;
    }
    for (let k = 0; k < NP; k++) trialU[k] = u[k] + step[k];
    fromLogit(ws, trialU, trialP);
    const next = costAt(ws, n, trialP);
    calls.n++;
    if (!(next < cost)) {
      if (predicted < 1e-12) break;
      lambda *= grow;
      grow *= 2;
      continue;
    }
    const gain = cost - next;
    const rho = gain / predicted;
    p.set(trialP);
    u.set(trialU);
    cost = next;
    if (joinsEarlierPath(ws, u, earlier)) return Infinity;
    remember(ws, u);
    derivatives(ws, n, p, g, h);
    chainToLogit(ws, p, g, h);
    if (gain < 1e-10 && predicted < 1e-9) break;
    if (rho > 0.75) lambda *= 0.3;
    else if (rho < 0.25) lambda *= 2;
    grow = 2;
  }
  return cost;
}

/**
 * The starts: the package's own first, then the time of the peak or of the first point for reference_time,
 * T_amplitude, t_color as a multiple of the package's start, rise time (in standard deviations of time) and
 * T (K): a temperature that falls or rises, a flux that rises over the whole light curve, before the first
 * point (a light curve found near its peak) or in a step, a cooler or hotter source.
 *
 * Chosen greedily (most light curves newly matched per unit of work) from a grid of 216 (reference_time at
 * the peak or the first point; T_amplitude 0, +-0.4; t_color x0.1, 1, 10; rise 0.01, 0.1, 1, 10; T 5000,
 * 10000, 20000 K), each run to its minimum, on the 399 reference light curves (../shared/data/rubin/
 * reference, Fink's fits and its one-ulp reruns) and on half of 1,135 simulated Rubin light curves
 * (`sieve simulate --survey lsst --n 1500 --seed 424242`, even rows) fitted by light-curve's Python code:
 * every minimum Fink's code reached there is matched or beaten from one of these six. On the other half,
 * which the choice did not see, one light curve of 571 ends above the Python fit's cost (by 0.4%).
 */
const STARTS: ReadonlyArray<{ readonly fromFirstPoint: boolean; readonly tAmp: number; readonly colorFactor: number; readonly rise: number; readonly temp: number }> = [
  { fromFirstPoint: false, tAmp: 0, colorFactor: 1, rise: 1, temp: 10000 },
  { fromFirstPoint: true, tAmp: 0.4, colorFactor: 1, rise: 0.01, temp: 5000 },
  { fromFirstPoint: true, tAmp: -0.4, colorFactor: 1, rise: 10, temp: 10000 },
  { fromFirstPoint: false, tAmp: 0.4, colorFactor: 1, rise: 10, temp: 5000 },
  { fromFirstPoint: false, tAmp: 0.4, colorFactor: 0.1, rise: 0.1, temp: 10000 },
  { fromFirstPoint: true, tAmp: 0, colorFactor: 10, rise: 1, temp: 5000 },
];

/**
 * Within the bounds by 1e-4 of their range: a start must be able to sit close to a bound (a rise time of a
 * day, when the bounds allow weeks), which a margin of 1% of the range did not allow.
 */
function inside(ws: RainbowWorkspace, k: number, v: number): number {
  const margin = 1e-4 * (ws.hi[k] - ws.lo[k]);
  return Math.min(Math.max(v, ws.lo[k] + margin), ws.hi[k] - margin);
}

/** The lowest minimum over the starts into ws.best; its cost. */
function minimiseFromStarts(ws: RainbowWorkspace, n: number, calls: { n: number }): number {
  let best = Infinity;
  ws.nVisited = 0;
  for (let s = 0; s < STARTS.length; s++) {
    ws.p.set(ws.start);
    if (s > 0) {
      const start = STARTS[s];
      if (start.fromFirstPoint) ws.p[0] = inside(ws, 0, ws.tFirst);
      ws.p[2] = inside(ws, 2, start.rise);
      ws.p[3] = start.temp;
      ws.p[4] = start.tAmp;
      ws.p[5] = inside(ws, 5, ws.start[5] * start.colorFactor);
    }
    const cost = minimise(ws, n, calls, ws.nVisited);
    if (cost < best) {
      best = cost;
      ws.best.set(ws.p);
    }
  }
  return best;
}

const sharedWorkspace = new RainbowWorkspace();

function toScaled(pr: Prepared, params: ArrayLike<number>): Float64Array {
  const q = Float64Array.from({ length: NP }, (_, k) => params[k]);
  q[0] = (q[0] - pr.tMean) / pr.tScale;
  q[1] /= pr.fScale;
  q[2] /= pr.tScale;
  q[5] /= pr.tScale;
  return q;
}

/**
 * The package's cost at given parameters (in the units rainbowFit returns), the reduced chi2 it would
 * report there, and Hesse's errors there (errordef 0.5: the square roots of the diagonal of the inverse
 * Hessian of the cost, in the same units; NaN where the Hessian is not positive definite): what tells a
 * better minimum from a worse one, and a sharp minimum from a flat one, when two fits disagree.
 */
export function rainbowObjective(
  mjd: ArrayLike<number>, flux: ArrayLike<number>, fluxErr: ArrayLike<number>, waveAngstrom: ArrayLike<number>, n: number,
  bandWavelengthsAngstrom: readonly number[], params: ArrayLike<number>, ws: RainbowWorkspace = new RainbowWorkspace(),
): { cost: number; reducedChi2: number; errors: Float64Array } {
  const pr = prepare(mjd, flux, fluxErr, waveAngstrom, n, bandWavelengthsAngstrom, ws);
  if (typeof pr === 'string') throw new Error(`rainbow: ${pr}`);
  const q = toScaled(pr, params);
  const cost = costAt(ws, n, q);
  const errors = new Float64Array(NP).fill(NaN);
  if (Number.isFinite(cost)) {
    const { g, h, chol, step } = ws;
    derivatives(ws, n, q, g, h);
    for (let k = 0; k < NP; k++) {
      const scale = ws.hi[k] - ws.lo[k];
      h[k * NP + k] += 2 * BARRIER * scale * ((q[k] - ws.lo[k]) ** -3 + (ws.hi[k] - q[k]) ** -3);
    }
    const unscale = [pr.tScale, pr.fScale, pr.tScale, 1, 1, pr.tScale];
    for (let k = 0; k < NP; k++) {
      // column k of the inverse: solve h x = e_k (dampedStep solves h x = -g)
      g.fill(0);
      g[k] = -1;
      if (!dampedStep(h, g, 0, chol, step)) break;
      errors[k] = Math.sqrt(step[k]) * unscale[k];
    }
  }
  return { cost, reducedChi2: (cost - 0.5 * PRIOR_INV_VAR * q[4] * q[4]) / (n - NP), errors };
}

/**
 * Fits Rainbow to n points: time (MJD, strictly increasing), flux and error (any common unit; Fink divides
 * both by the maximum flux first) and the effective wavelength of each point's band in Angstrom.
 * `bandWavelengthsAngstrom` is the fit's band set: its mean frequency sets the model's normalisation.
 */
export function rainbowFit(
  mjd: ArrayLike<number>, flux: ArrayLike<number>, fluxErr: ArrayLike<number>, waveAngstrom: ArrayLike<number>, n: number,
  bandWavelengthsAngstrom: readonly number[], ws: RainbowWorkspace = sharedWorkspace,
): RainbowFitResult {
  const params = new Float64Array(NP).fill(NaN);
  const pr = prepare(mjd, flux, fluxErr, waveAngstrom, n, bandWavelengthsAngstrom, ws);
  if (typeof pr === 'string') return { params, reducedChi2: NaN, failure: pr, evaluations: 0 };
  const calls = { n: 0 };
  const cost = minimiseFromStarts(ws, n, calls);
  if (!Number.isFinite(cost)) return { params, reducedChi2: NaN, failure: 'no finite cost', evaluations: calls.n };
  const q = ws.best;
  params.set(q);
  params[0] = q[0] * pr.tScale + pr.tMean;
  params[1] = q[1] * pr.fScale;
  params[2] = q[2] * pr.tScale;
  params[5] = q[5] * pr.tScale;
  const withoutPrior = cost - 0.5 * PRIOR_INV_VAR * q[4] * q[4];
  return { params, reducedChi2: withoutPrior / (n - NP), failure: null, evaluations: calls.n };
}

/**
 * The reference_time of a fit known by its other five parameters and its reduced chi2 (Fink's early SN Ia
 * vector keeps all but that time), to draw the fitted curve without fitting again from every start: Newton's
 * method (as rainbowFit's) from the known parameters, reference_time started at the point's time (or the
 * package's start) where the cost is lowest. Kept only when it ends at the fit's own minimum: every parameter
 * within SAME_MINIMUM of the known one (relative to its range) and the cost no higher than the fit's (by
 * SAME_MINIMUM, relative); NaN otherwise (the caller then fits again).
 */
export function rainbowReferenceTime(
  mjd: ArrayLike<number>, flux: ArrayLike<number>, fluxErr: ArrayLike<number>, waveAngstrom: ArrayLike<number>, n: number,
  bandWavelengthsAngstrom: readonly number[], known: ArrayLike<number>, reducedChi2: number, ws: RainbowWorkspace = sharedWorkspace,
): number {
  const pr = prepare(mjd, flux, fluxErr, waveAngstrom, n, bandWavelengthsAngstrom, ws);
  if (typeof pr === 'string' || !Number.isFinite(reducedChi2)) return NaN;
  const q = toScaled(pr, known);
  for (let k = 1; k < NP; k++) if (!(q[k] > ws.lo[k] && q[k] < ws.hi[k])) return NaN;
  let best = Infinity;
  let start = NaN;
  for (let i = -1; i < n; i++) {
    q[0] = inside(ws, 0, i < 0 ? ws.start[0] : ws.t[i]);
    const c = costAt(ws, n, q);
    if (c < best) {
      best = c;
      start = q[0];
    }
  }
  if (!Number.isFinite(best)) return NaN;
  q[0] = start;
  ws.p.set(q);
  ws.nVisited = 0;
  const cost = minimise(ws, n, { n: 0 }, 0);
  const fitCost = reducedChi2 * (n - NP) + 0.5 * PRIOR_INV_VAR * q[4] * q[4];
  if (!(cost <= fitCost + SAME_MINIMUM * Math.max(1, Math.abs(fitCost)))) return NaN;
  for (let k = 1; k < NP; k++) if (!(Math.abs(ws.p[k] - q[k]) <= SAME_MINIMUM * (ws.hi[k] - ws.lo[k]))) return NaN;
  return ws.p[0] * pr.tScale + pr.tMean;
}

/** How close (relative) rainbowReferenceTime's minimum must come to the fit's parameters and cost. */
const SAME_MINIMUM = 1e-6;

let modelWorkspace: RainbowWorkspace | null = null;
const modelParams = new Float64Array(NP);

/**
 * The fitted model at one time and wavelength, in the units of the fitted flux: B(t) times the blackbody
 * at T(t), normalised as in the fit. `params` as rainbowFit returns them (MJD, days, K).
 */
export function rainbowModel(params: ArrayLike<number>, mjd: number, waveAngstrom: number, bandWavelengthsAngstrom: readonly number[]): number {
  // one workspace for every evaluation: a plotted curve is hundreds of them, and a workspace is ~20 arrays
  // (every field costAt reads for one point is set below)
  const ws = (modelWorkspace ??= new RainbowWorkspace());
  const q = modelParams;
  for (let k = 0; k < NP; k++) q[k] = params[k];
  // bounds around q, so that the barrier lets the evaluation through
  for (let k = 0; k < NP; k++) {
    ws.lo[k] = q[k] - 1;
    ws.hi[k] = q[k] + 1;
  }
  let meanWave = 0;
  for (const aa of bandWavelengthsAngstrom) meanWave += 1e-8 * aa;
  setBand(ws, 0, waveAngstrom, LIGHT / (meanWave / bandWavelengthsAngstrom.length));
  ws.t[0] = mjd;
  ws.y[0] = 0;
  ws.invErr[0] = 1;
  costAt(ws, 1, q);
  return params[1] * ws.sBol[0] * ws.sed[0];
}
