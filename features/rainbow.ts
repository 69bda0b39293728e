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
 * The cost and its derivatives are evaluated by features/rainbowKernel.ts (WebAssembly, two points per
 * instruction), which in JavaScript were two thirds of a fit's time; the minimiser around them stays here.
 *
 * Parameter names follow Fink's columns: Fink calls T, T_amplitude and t_color "Tmin", "delta_T" and
 * "k_sig" (names from an older RainbowFit); the values are the package's T, T_amplitude and t_color.
 */

import { RainbowKernel } from './rainbowKernel.ts';
import { pairwiseSum } from './rubinAnomaly.ts';

const PLANCK = 6.62607004e-27; // erg s (the package's constant)
const LIGHT = 2.99792458e10; // cm/s
const BOLTZMANN = 1.380649e-16; // erg/K
const STEFAN_BOLTZMANN = 5.6703744191844314e-5; // erg/(cm^2 s K^4)
const BARRIER = 1e-4;
const PRIOR_INV_VAR = 1 / 0.25 ** 2; // T_amplitude ~ N(0, 0.25)

const NP = 6; // reference_time, amplitude, rise_time, T, T_amplitude, t_color (RainbowFitResult.params)
/** Lists of visited points by rise-time cell (RainbowWorkspace.bucketHead; a power of two). */
const PATH_BUCKETS = 256;

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
  private kernelInstance: RainbowKernel | null = null;
  /** The cost and derivative loops, on this light curve's points (written by `prepare`); made on first use. */
  get kernel(): RainbowKernel {
    return (this.kernelInstance ??= new RainbowKernel());
  }
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
  frac = new Float64Array(NP);
  best = new Float64Array(NP);
  /** The first point's time (scaled). */
  tFirst = 0;
  /** The logit points the earlier starts of this fit stepped through (NP per point), and how many. */
  visited = new Float64Array(NP * 256);
  nVisited = 0;
  /**
   * The visited points by their rise-time coordinate (u[2]), in cells (pathCell) hashed to PATH_BUCKETS lists:
   * head of each list, then each point's next (-1 ends a list). A point within SAME_PATH of u lies in u's cell
   * or a neighbour's: a later start's point is compared with those only, not with every earlier point.
   */
  bucketHead = new Int32Array(PATH_BUCKETS).fill(-1);
  bucketNext = new Int32Array(256);
  /** Forgets the points of earlier starts (a new light curve). */
  forgetPaths(): void {
    this.nVisited = 0;
    this.bucketHead.fill(-1);
  }
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const size = Math.max(n, this.t.length * 2);
    for (const key of ['t', 'y', 'invErr', 'xOverT', 'sedScale', 'err', 'sorted', 'sq', 'r'] as const) {
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

/** h nu / k: the Planck exponent is this over T. */
const planckExponentOf = (nu: number): number => (PLANCK * nu) / BOLTZMANN;
/** (2 h / c^2) nu^3 pi mean-nu / sigma_SB: the normalised blackbody is this / (T^4 expm1(h nu / k T)). */
const sedScaleOf = (nu: number, averageNu: number): number => (((2 * PLANCK) / LIGHT ** 2) * nu ** 3 * Math.PI * averageNu) / STEFAN_BOLTZMANN;

/** The per-point constants of the normalised blackbody at point i. */
function setBand(ws: RainbowWorkspace, i: number, waveAngstrom: number, averageNu: number): void {
  const nu = LIGHT / (1e-8 * waveAngstrom);
  ws.xOverT[i] = planckExponentOf(nu);
  ws.sedScale[i] = sedScaleOf(nu, averageNu);
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
  ws.kernel.setPoints(n, ws.t, ws.y, ws.invErr, ws.xOverT, ws.sedScale);
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
 * package's barrier. chi2 comes from the kernel (features/rainbowKernel.ts: B(t) from the bolometric sigmoid,
 * zero and flat before 100 rise times; T(t) from the temperature sigmoid, saturated beyond 100 t_color; the
 * normalised blackbody), which keeps per point what `derivatives` needs.
 */
function costAt(ws: RainbowWorkspace, q: Float64Array): number {
  const { lo, hi } = ws;
  let barrier = 0;
  for (let k = 0; k < NP; k++) {
    const below = q[k] - lo[k];
    const above = hi[k] - q[k];
    if (!(below > 0 && above > 0)) return q[k] === q[k] ? Infinity : NaN;
    const scale = hi[k] - lo[k];
    barrier += scale / below + scale / above;
  }
  const chi2 = ws.kernel.cost(ws.kernel.pairs, q[0], q[1], 1 / q[2], q[3], q[4], 1 / q[5], -100 * q[2], 100 * q[5]);
  return chi2 / 2 + BARRIER * barrier + 0.5 * PRIOR_INV_VAR * q[4] * q[4];
}

/**
 * Gradient and exact Hessian (6 x 6, full) of chi2 / 2 + prior at the point of the last `costAt`: the kernel's
 * analytic first and second derivatives of the model through the bolometric sigmoid, the temperature sigmoid and
 * the Planck spectrum. The barrier is added in logit coordinates.
 */
function derivatives(ws: RainbowWorkspace, q: Float64Array, g: Float64Array, h: Float64Array): void {
  const k = ws.kernel;
  k.derivatives(k.pairs, q[0], q[1], q[2], q[3], q[4], q[5]);
  const v = k.view;
  for (let a = 0; a < NP; a++) g[a] = v[a];
  g[4] += PRIOR_INV_VAR * q[4];
  let o = NP;
  for (let a = 0; a < NP; a++) {
    for (let b = a; b < NP; b++) {
      h[a * NP + b] = v[o];
      h[b * NP + a] = v[o];
      o++;
    }
  }
  h[4 * NP + 4] += PRIOR_INV_VAR;
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

/**
 * `derivatives` at p, then chained to the whole cost's gradient and Hessian in u (the minimiser's coordinates,
 * with the barrier), in one pass over the kernel's outputs.
 */
function logitDerivatives(ws: RainbowWorkspace, p: Float64Array, g: Float64Array, h: Float64Array): void {
  const kernel = ws.kernel;
  kernel.derivatives(kernel.pairs, p[0], p[1], p[2], p[3], p[4], p[5]);
  const v = kernel.view;
  const d = ws.step; // dp/du (scratch)
  const frac = ws.frac; // (p - lo) / (hi - lo)
  for (let k = 0; k < NP; k++) {
    const scale = ws.hi[k] - ws.lo[k];
    const s = (p[k] - ws.lo[k]) / scale;
    frac[k] = s;
    d[k] = scale * s * (1 - s);
  }
  let o = NP;
  for (let a = 0; a < NP; a++) {
    for (let b = a; b < NP; b++) {
      const x = a === 4 && b === 4 ? v[o] + PRIOR_INV_VAR : v[o];
      const y = x * (d[a] * d[b]);
      h[a * NP + b] = y;
      h[b * NP + a] = y;
      o++;
    }
  }
  for (let k = 0; k < NP; k++) {
    const gk = k === 4 ? v[k] + PRIOR_INV_VAR * p[4] : v[k];
    const s = frac[k];
    const eu = s / (1 - s);
    h[k * NP + k] += gk * d[k] * (1 - 2 * s) + BARRIER * (eu + 1 / eu);
    g[k] = gk * d[k] + BARRIER * (eu - 1 / eu);
  }
}

/**
 * Solves (h + lambda I) x = -g by Cholesky into x; false if that matrix is not positive definite (the
 * exact Hessian can be indefinite away from a minimum).
 */
function dampedStep(h: Float64Array, g: Float64Array, lambda: number, l: Float64Array, x: Float64Array): boolean {
  for (let i = 0; i < NP; i++) {
    const row = i * NP;
    for (let j = 0; j < i; j++) {
      const rowJ = j * NP;
      let s = h[row + j];
      for (let k = 0; k < j; k++) s -= l[row + k] * l[rowJ + k];
      l[row + j] = s / l[rowJ + j];
    }
    let s = h[row + i] + lambda;
    for (let k = 0; k < i; k++) s -= l[row + k] * l[row + k];
    if (!(s > 0)) return false;
    l[row + i] = Math.sqrt(s);
  }
  for (let i = 0; i < NP; i++) {
    const row = i * NP;
    let s = -g[i];
    for (let k = 0; k < i; k++) s -= l[row + k] * x[k];
    x[i] = s / l[row + i];
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
  const head = ws.bucketHead;
  const next = ws.bucketNext;
  const limit = SAME_PATH * SAME_PATH;
  const u0 = u[0], u1 = u[1], u2 = u[2], u3 = u[3], u4 = u[4], u5 = u[5];
  const cell = pathCell(u2);
  for (let c = cell - 1; c <= cell + 1; c++) {
    for (let q = head[c & (PATH_BUCKETS - 1)]; q >= 0; q = next[q]) {
      // the lists hold this start's own points too (newest first): only earlier starts' count
      if (q >= earlier) continue;
      const o = q * NP;
      const d2 = v[o + 2] - u2;
      if (d2 * d2 >= limit) continue; // another cell hashed to this list
      const d0 = v[o] - u0, d1 = v[o + 1] - u1, d3 = v[o + 3] - u3, d4 = v[o + 4] - u4, d5 = v[o + 5] - u5;
      if (d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3 + d4 * d4 + d5 * d5 < limit) return true;
    }
  }
  return false;
}

/**
 * The cell of a rise-time coordinate: 1/8 wide, wider than SAME_PATH (so that points within SAME_PATH are at most one
 * cell apart) and a power of two (so that the product is exact).
 */
const pathCell = (u2: number): number => Math.floor(u2 * 8);

function remember(ws: RainbowWorkspace, u: Float64Array): void {
  if (ws.nVisited * NP === ws.visited.length) {
    const grown = new Float64Array(ws.visited.length * 2);
    grown.set(ws.visited);
    ws.visited = grown;
    const next = new Int32Array(ws.bucketNext.length * 2);
    next.set(ws.bucketNext);
    ws.bucketNext = next;
  }
  const q = ws.nVisited++;
  ws.visited.set(u, q * NP);
  const bucket = pathCell(u[2]) & (PATH_BUCKETS - 1);
  ws.bucketNext[q] = ws.bucketHead[bucket];
  ws.bucketHead[bucket] = q;
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
  let cost = costAt(ws, p);
  calls.n++;
  if (!Number.isFinite(cost)) return cost;
  toLogit(ws, p, u);
  logitDerivatives(ws, p, g, h);
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
    const next = costAt(ws, trialP);
    calls.n++;
    if (!(next < cost)) {
      if (predicted < 1e-12) break;
      lambda *= grow;
      grow *= 2;
      continue;
    }
    const gain = cost - next;
    const rho = gain / predicted;
    for (let k = 0; k < NP; k++) {
      p[k] = trialP[k];
      u[k] = trialU[k];
    }
    cost = next;
    if (joinsEarlierPath(ws, u, earlier)) return Infinity;
    remember(ws, u);
    if (gain < 1e-10 && predicted < 1e-9) break;
    logitDerivatives(ws, p, g, h);
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
  ws.forgetPaths();
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
  const cost = costAt(ws, q);
  const errors = new Float64Array(NP).fill(NaN);
  if (Number.isFinite(cost)) {
    const { g, h, chol, step } = ws;
    derivatives(ws, q, g, h);
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
    const c = costAt(ws, q);
    if (c < best) {
      best = c;
      start = q[0];
    }
  }
  if (!Number.isFinite(best)) return NaN;
  q[0] = start;
  ws.p.set(q);
  ws.forgetPaths();
  const cost = minimise(ws, n, { n: 0 }, 0);
  const fitCost = reducedChi2 * (n - NP) + 0.5 * PRIOR_INV_VAR * q[4] * q[4];
  if (!(cost <= fitCost + SAME_MINIMUM * Math.max(1, Math.abs(fitCost)))) return NaN;
  for (let k = 1; k < NP; k++) if (!(Math.abs(ws.p[k] - q[k]) <= SAME_MINIMUM * (ws.hi[k] - ws.lo[k]))) return NaN;
  return ws.p[0] * pr.tScale + pr.tMean;
}

/** How close (relative) rainbowReferenceTime's minimum must come to the fit's parameters and cost. */
const SAME_MINIMUM = 1e-6;

/**
 * The fitted model at one time and wavelength, in the units of the fitted flux: B(t) times the blackbody
 * at T(t), normalised as in the fit. `params` as rainbowFit returns them (MJD, days, K). The same model as the
 * kernel's, one point at a time (the kernel's tests compare the two).
 */
export function rainbowModel(params: ArrayLike<number>, mjd: number, waveAngstrom: number, bandWavelengthsAngstrom: readonly number[]): number {
  const [t0, amp, rise, temp0, tAmp, tColor] = [params[0], params[1], params[2], params[3], params[4], params[5]];
  const dt = mjd - t0;
  if (!(dt > -100 * rise)) return 0;
  const sBol = 1 / (Math.exp(-dt / rise) + 1);
  const w = dt <= -100 * tColor ? 1 : dt >= 100 * tColor ? -1 : 2 / (1 + Math.exp(dt / tColor)) - 1;
  const it = 1 / (temp0 * (1 + tAmp * w));
  let meanWave = 0;
  for (const aa of bandWavelengthsAngstrom) meanWave += 1e-8 * aa;
  const nu = LIGHT / (1e-8 * waveAngstrom);
  const it2 = it * it;
  return amp * sBol * sedScaleOf(nu, LIGHT / (meanWave / bandWavelengthsAngstrom.length)) * it2 * it2 / Math.expm1(planckExponentOf(nu) * it);
}
