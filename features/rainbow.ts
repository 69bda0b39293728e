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
 * The package minimises with iminuit's Migrad (a quasi-Newton method); here a damped Newton iteration on
 * the same cost (Gauss-Newton Hessian of the chi2 plus the exact Hessian of barrier and prior) goes to the
 * same minimum from the same start, and further than Migrad's stopping rule (EDM < 1e-4).
 *
 * Parameter names follow Fink's columns: Fink calls T, T_amplitude and t_color "Tmin", "delta_T" and
 * "k_sig" (names from an older RainbowFit); the values are the package's T, T_amplitude and t_color.
 */

const PLANCK = 6.62607004e-27; // erg s (the package's constant)
const LIGHT = 2.99792458e10; // cm/s
const BOLTZMANN = 1.380649e-16; // erg/K
const STEFAN_BOLTZMANN = 5.6703744191844314e-5; // erg/(cm^2 s K^4)
const PLANCK_PREFACTOR = (2 * PLANCK) / LIGHT ** 2;
const BARRIER = 1e-4;
const T_AMPLITUDE_PRIOR_SIGMA = 0.25;

export const RAINBOW_PARAMETER_NAMES = ['reference_time', 'amplitude', 'rise_time', 'Tmin', 'delta_T', 'k_sig'] as const;
const NP = 6;

/** Effective wavelengths (Angstrom) of the LSST bands, as Fink's Rubin early SN Ia module gives them. */
export const LSST_WAVELENGTH_ANGSTROM: Readonly<Record<string, number>> = { u: 3671, g: 4827, r: 6223, i: 7546, z: 8691, y: 9712 };

export interface RainbowFitResult {
  /** reference_time (MJD), amplitude (flux units of the input), rise_time (d), T (K), T_amplitude, t_color (d). */
  readonly params: Float64Array;
  readonly reducedChi2: number;
  /** Why there is no fit (the package raises): too few points, repeated times, no convergence. */
  readonly failure: string | null;
  readonly iterations: number;
}

/** Reused buffers, so that a fit allocates nothing per light curve once warm. */
export class RainbowWorkspace {
  t = new Float64Array(64);
  y = new Float64Array(64);
  w = new Float64Array(64); // 1 / sigma
  nu = new Float64Array(64);
  r = new Float64Array(64);
  jac = new Float64Array(64 * NP);
  sorted = new Float64Array(64);
  p = new Float64Array(NP);
  trial = new Float64Array(NP);
  g = new Float64Array(NP);
  h = new Float64Array(NP * NP);
  a = new Float64Array(NP * NP);
  step = new Float64Array(NP);
  lo = new Float64Array(NP);
  hi = new Float64Array(NP);
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const size = Math.max(n, this.t.length * 2);
    this.t = new Float64Array(size);
    this.y = new Float64Array(size);
    this.w = new Float64Array(size);
    this.nu = new Float64Array(size);
    this.r = new Float64Array(size);
    this.jac = new Float64Array(size * NP);
    this.sorted = new Float64Array(size);
  }
}

/** numpy's std (ddof 0) with its two passes. */
function std0(x: Float64Array, n: number, mean: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (x[i] - mean) ** 2;
  return Math.sqrt(s / n);
}

/**
 * Peak time and width as the package estimates them for its bounds: the flux-weighted (m / sigma) centroid
 * of the points above the median, and the spread around it weighted by (m - min m) / sigma.
 */
function centroidWidth(t: Float64Array, y: Float64Array, w: Float64Array, n: number, sorted: Float64Array): number {
  for (let i = 0; i < n; i++) sorted[i] = y[i];
  sorted.subarray(0, n).sort();
  const median = n % 2 === 1 ? sorted[(n - 1) >> 1] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  const min = sorted[0];
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    if (!(y[i] > median)) continue;
    num += t[i] * y[i] * w[i];
    den += y[i] * w[i];
  }
  const t0 = num / den;
  let num2 = 0;
  let den2 = 0;
  for (let i = 0; i < n; i++) {
    if (!(y[i] > median)) continue;
    const mc = y[i] - min;
    num2 += (t[i] - t0) ** 2 * mc * w[i];
    den2 += mc * w[i];
  }
  return Math.sqrt(num2 / den2);
}

/**
 * Model, residuals r = (model - y) / sigma and, when `withJacobian`, dr/dp into ws.jac (row-major n x 6)
 * at parameters p (scaled units). Returns chi2.
 */
function evaluate(ws: RainbowWorkspace, n: number, p: Float64Array, averageNu: number, withJacobian: boolean): number {
  const [t0, amp, rise, temp0, tAmp, tColor] = p;
  const { t, y, w, nu, r, jac } = ws;
  let chi2 = 0;
  for (let i = 0; i < n; i++) {
    const dt = t[i] - t0;
    // bolometric sigmoid, zero (and flat) far before t0
    let bol = 0;
    let sb = 0; // s (1 - s) of the bolometric sigmoid
    let sBol = 0;
    if (dt > -100 * rise) {
      const e = Math.exp(-dt / rise);
      sBol = 1 / (e + 1);
      bol = amp * sBol;
      sb = e * sBol * sBol;
    }
    // temperature sigmoid, saturated beyond 100 t_color
    let temp: number;
    let sT = 0; // s (1 - s) of the temperature sigmoid, 0 where saturated
    let twoSm1: number;
    if (dt <= -100 * tColor) {
      twoSm1 = 1;
      temp = temp0 * (1 + tAmp);
    } else if (dt >= 100 * tColor) {
      twoSm1 = -1;
      temp = temp0 * (1 - tAmp);
    } else {
      const e = Math.exp(dt / tColor);
      const s = 1 / (1 + e);
      sT = e * s * s;
      twoSm1 = 2 * s - 1;
      temp = temp0 * (1 + tAmp * twoSm1);
    }
    const x = (PLANCK * nu[i]) / (BOLTZMANN * temp);
    const oneMinusExp = -Math.expm1(-x);
    const planck = (PLANCK_PREFACTOR * nu[i] ** 3 * Math.exp(-x)) / oneMinusExp;
    const norm = (STEFAN_BOLTZMANN * temp ** 4) / Math.PI / averageNu;
    const sed = planck / norm;
    const model = sed * bol;
    const ri = (model - y[i]) * w[i];
    r[i] = ri;
    chi2 += ri * ri;
    if (!withJacobian) continue;
    // d sed / dT = (d planck / dT) / norm - sed * 4 / T
    const dSedDT = (planck * x) / (temp * oneMinusExp) / norm - (sed * 4) / temp;
    const dModelDT = bol * dSedDT;
    const o = i * NP;
    // temperature partials: dT/dt0, dT/dT, dT/dT_amplitude, dT/dt_color
    const dTdt0 = (2 * temp0 * tAmp * sT) / tColor;
    const dTdT = 1 + tAmp * twoSm1;
    const dTdA = temp0 * twoSm1;
    const dTdc = (2 * temp0 * tAmp * sT * dt) / (tColor * tColor);
    jac[o] = ((-amp * sb) / rise * sed + dModelDT * dTdt0) * w[i];
    jac[o + 1] = sBol * sed * w[i];
    jac[o + 2] = ((-amp * sb * dt) / (rise * rise)) * sed * w[i];
    jac[o + 3] = dModelDT * dTdT * w[i];
    jac[o + 4] = dModelDT * dTdA * w[i];
    jac[o + 5] = dModelDT * dTdc * w[i];
  }
  return chi2;
}

/** Barrier plus prior at p; Infinity outside the bounds. Adds gradient and Hessian diagonal when given. */
function penalty(ws: RainbowWorkspace, p: Float64Array, g: Float64Array | null, h: Float64Array | null): { barrier: number; prior: number } {
  let barrier = 0;
  for (let k = 0; k < NP; k++) {
    const scale = ws.hi[k] - ws.lo[k];
    const dLo = p[k] - ws.lo[k];
    const dHi = ws.hi[k] - p[k];
    if (!(dLo > 0) || !(dHi > 0)) return { barrier: Infinity, prior: 0 };
    barrier += BARRIER * (scale / dLo + scale / dHi);
    if (g) g[k] += BARRIER * scale * (1 / (dHi * dHi) - 1 / (dLo * dLo));
    if (h) h[k * NP + k] += 2 * BARRIER * scale * (1 / (dLo * dLo * dLo) + 1 / (dHi * dHi * dHi));
  }
  const inv = 1 / (T_AMPLITUDE_PRIOR_SIGMA * T_AMPLITUDE_PRIOR_SIGMA);
  const prior = 0.5 * inv * p[4] * p[4];
  if (g) g[4] += inv * p[4];
  if (h) h[4 * NP + 4] += inv;
  return { barrier, prior };
}

/** Cholesky solve of the 6x6 system a x = b in place (b becomes x); false when a is not positive definite. */
function choleskySolve(a: Float64Array, b: Float64Array): boolean {
  for (let j = 0; j < NP; j++) {
    let d = a[j * NP + j];
    for (let k = 0; k < j; k++) d -= a[j * NP + k] * a[j * NP + k];
    if (!(d > 0)) return false;
    d = Math.sqrt(d);
    a[j * NP + j] = d;
    for (let i = j + 1; i < NP; i++) {
      let s = a[i * NP + j];
      for (let k = 0; k < j; k++) s -= a[i * NP + k] * a[j * NP + k];
      a[i * NP + j] = s / d;
    }
  }
  for (let i = 0; i < NP; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= a[i * NP + k] * b[k];
    b[i] = s / a[i * NP + i];
  }
  for (let i = NP - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < NP; k++) s -= a[k * NP + i] * b[k];
    b[i] = s / a[i * NP + i];
  }
  return true;
}

const sharedWorkspace = new RainbowWorkspace();

/** The scaled problem: scalers, start, bounds and the model's normalisation, or why there is none. */
interface Prepared {
  readonly n: number;
  readonly tMean: number;
  readonly tScale: number;
  readonly fScale: number;
  readonly averageNu: number;
}

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
  const { t, y, w, nu } = ws;
  // scalers: time by mean and std, flux by std (no shift without baseline)
  let tMean = 0;
  for (let i = 0; i < n; i++) tMean += mjd[i];
  tMean /= n;
  let tScale = 0;
  for (let i = 0; i < n; i++) tScale += (mjd[i] - tMean) ** 2;
  tScale = Math.sqrt(tScale / n);
  if (tScale === 0) tScale = 1;
  let fMean = 0;
  for (let i = 0; i < n; i++) fMean += flux[i];
  fMean /= n;
  for (let i = 0; i < n; i++) y[i] = flux[i];
  let fScale = std0(y, n, fMean);
  if (fScale === 0) fScale = 1;
  let tMin = Infinity;
  let tMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  let iMax = 0;
  for (let i = 0; i < n; i++) {
    t[i] = (mjd[i] - tMean) / tScale;
    y[i] = flux[i] / fScale;
    w[i] = 1 / (fluxErr[i] / fScale);
    nu[i] = LIGHT / (1e-8 * waveAngstrom[i]);
    if (t[i] < tMin) tMin = t[i];
    if (t[i] > tMax) tMax = t[i];
    if (y[i] < yMin) yMin = y[i];
    if (y[i] > yMax) {
      yMax = y[i];
      iMax = i;
    }
  }
  let meanWave = 0;
  for (const aa of bandWavelengthsAngstrom) meanWave += 1e-8 * aa;
  meanWave /= bandWavelengthsAngstrom.length;
  const averageNu = LIGHT / meanWave;

  const tSpan = tMax - tMin;
  const ySpan = yMax - yMin;
  const width = centroidWidth(t, y, w, n, ws.sorted);
  ws.p.set([t[iMax], ySpan, 1, 10000, 0, 2 * width]);
  ws.lo.set([tMin - 10 * tSpan, 0, width / 100, 1e3, -0.99, width / 3]);
  ws.hi.set([tMax + 10 * tSpan, 20 * ySpan, 10 * tSpan, 2e6, 0.99, 10 * tSpan]);
  for (let k = 0; k < NP; k++) if (!Number.isFinite(ws.p[k]) || !Number.isFinite(ws.lo[k]) || !Number.isFinite(ws.hi[k])) return 'undefined initial values or bounds';
  return { n, tMean, tScale, fScale, averageNu };
}

interface Cost {
  total: number;
  chi2: number;
  barrier: number;
  prior: number;
}

function costAt(ws: RainbowWorkspace, pr: Prepared, q: Float64Array, withJac: boolean): Cost {
  const pen = penalty(ws, q, null, null);
  if (pen.barrier === Infinity) return { total: Infinity, chi2: NaN, barrier: Infinity, prior: 0 };
  const chi2 = evaluate(ws, pr.n, q, pr.averageNu, withJac);
  return { total: 0.5 * chi2 + pen.barrier + pen.prior, chi2, barrier: pen.barrier, prior: pen.prior };
}

/**
 * The package's cost at given parameters (in the units rainbowFit returns) and the reduced chi2 it would
 * report there: what tells a better minimum from a worse one when two fits disagree.
 */
export function rainbowObjective(
  mjd: ArrayLike<number>, flux: ArrayLike<number>, fluxErr: ArrayLike<number>, waveAngstrom: ArrayLike<number>, n: number,
  bandWavelengthsAngstrom: readonly number[], params: ArrayLike<number>, ws: RainbowWorkspace = new RainbowWorkspace(),
): { cost: number; reducedChi2: number } {
  const pr = prepare(mjd, flux, fluxErr, waveAngstrom, n, bandWavelengthsAngstrom, ws);
  if (typeof pr === 'string') throw new Error(`rainbow: ${pr}`);
  const q = new Float64Array(NP);
  for (let k = 0; k < NP; k++) q[k] = params[k];
  q[0] = (q[0] - pr.tMean) / pr.tScale;
  q[1] /= pr.fScale;
  q[2] /= pr.tScale;
  q[5] /= pr.tScale;
  const c = costAt(ws, pr, q, false);
  return { cost: c.total, reducedChi2: (0.5 * c.chi2 + c.barrier) / (n - NP) };
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
  const fail = (failure: string, iterations = 0): RainbowFitResult => ({ params, reducedChi2: NaN, failure, iterations });
  const pr = prepare(mjd, flux, fluxErr, waveAngstrom, n, bandWavelengthsAngstrom, ws);
  if (typeof pr === 'string') return fail(pr);
  const p = ws.p;
  const { tMean, tScale, fScale } = pr;
  const cost = (q: Float64Array, withJac: boolean): Cost => costAt(ws, pr, q, withJac);
  const { g, h, a, step, trial } = ws;
  let current = cost(p, true);
  if (!Number.isFinite(current.total)) return fail('initial cost not finite');
  let lambda = 1e-3;
  let iterations = 0;
  let converged = false;
  for (; iterations < 500; iterations++) {
    // gradient and Gauss-Newton Hessian of chi2/2 at p (ws.jac, ws.r hold the current point)
    g.fill(0);
    h.fill(0);
    const { jac, r } = ws;
    for (let i = 0; i < n; i++) {
      const o = i * NP;
      for (let k = 0; k < NP; k++) {
        const jk = jac[o + k];
        g[k] += jk * r[i];
        for (let l = 0; l <= k; l++) h[k * NP + l] += jk * jac[o + l];
      }
    }
    for (let k = 0; k < NP; k++) for (let l = 0; l < k; l++) h[l * NP + k] = h[k * NP + l];
    penalty(ws, p, g, h);
    // Newton decrement g' H^-1 g / 2: the estimated distance to the minimum (Migrad's EDM)
    a.set(h);
    step.set(g);
    const edm = choleskySolve(a, step) ? 0.5 * g.reduce((s, gk, k) => s + gk * step[k], 0) : Infinity;
    if ((globalThis as { RAINBOW_TRACE?: boolean }).RAINBOW_TRACE && iterations % 25 === 0) console.log(iterations, current.total, edm, lambda, Array.from(p));
    if (edm < 1e-10) {
      converged = true;
      break;
    }
    let accepted = false;
    for (let tries = 0; tries < 40 && !accepted; tries++) {
      a.set(h);
      for (let k = 0; k < NP; k++) a[k * NP + k] += lambda * (h[k * NP + k] + 1e-12);
      for (let k = 0; k < NP; k++) step[k] = -g[k];
      if (!choleskySolve(a, step)) {
        lambda *= 4;
        continue;
      }
      for (let k = 0; k < NP; k++) trial[k] = p[k] + step[k];
      const next = cost(trial, false);
      if (next.total < current.total) {
        p.set(trial);
        // recompute with the Jacobian at the accepted point
        current = cost(p, true);
        const decrease = (next.total - current.total) === 0;
        lambda = Math.max(lambda / 3, 1e-12);
        accepted = decrease || true;
      } else {
        lambda *= 4;
      }
    }
    if (!accepted) {
      // no step decreases the cost any more: the minimum to machine precision
      converged = true;
      break;
    }
  }
  if (!converged) return fail('no convergence', iterations);
  for (let k = 0; k < NP; k++) params[k] = p[k];
  params[0] = params[0] * tScale + tMean;
  params[1] *= fScale;
  params[2] *= tScale;
  params[5] *= tScale;
  const reducedChi2 = (0.5 * current.chi2 + current.barrier) / (n - NP);
  for (let k = 0; k < NP; k++) if (!Number.isFinite(params[k])) return fail('non-finite parameters', iterations);
  return { params, reducedChi2, failure: null, iterations };
}
