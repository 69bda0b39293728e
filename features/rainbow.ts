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
 * The package minimises with iminuit's Migrad (strategy 0, tolerance 0.1, its analytic gradient), which
 * stops at EDM < 1e-4, short of the minimum; features/migrad.ts takes Migrad's steps so that the fit
 * stops where Fink's does.
 *
 * Parameter names follow Fink's columns: Fink calls T, T_amplitude and t_color "Tmin", "delta_T" and
 * "k_sig" (names from an older RainbowFit); the values are the package's T, T_amplitude and t_color.
 */

import { iminuitFit } from './migrad.ts';
import { pairwiseSum } from './rubinAnomaly.ts';

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
  e = new Float64Array(64); // sigma, scaled
  nu = new Float64Array(64);
  hnu = new Float64Array(64); // h nu
  nu3 = new Float64Array(64); // 2 h / c^2 nu^3
  r = new Float64Array(64);
  sq = new Float64Array(64);
  jac = new Float64Array(64 * NP);
  sorted = new Float64Array(64);
  p = new Float64Array(NP);
  /** modelValues' reuse: (t0, rise) of bolExp, (t0, t_color) of twoSm1Of, and T, T_amplitude of sedOf. */
  cacheKey = new Float64Array(6).fill(NaN);
  bolExp = new Float64Array(64);
  bolInside = new Uint8Array(64);
  twoSm1Of = new Float64Array(64);
  sedOf = new Float64Array(64);
  lo = new Float64Array(NP);
  hi = new Float64Array(NP);
  ensure(n: number): void {
    if (this.t.length >= n) return;
    const size = Math.max(n, this.t.length * 2);
    this.t = new Float64Array(size);
    this.y = new Float64Array(size);
    this.e = new Float64Array(size);
    this.nu = new Float64Array(size);
    this.hnu = new Float64Array(size);
    this.nu3 = new Float64Array(size);
    this.bolExp = new Float64Array(size);
    this.bolInside = new Uint8Array(size);
    this.twoSm1Of = new Float64Array(size);
    this.sedOf = new Float64Array(size);
    this.r = new Float64Array(size);
    this.sq = new Float64Array(size);
    this.jac = new Float64Array(size * NP);
    this.sorted = new Float64Array(size);
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
  const { t, y, e, sorted, sq, r } = ws;
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

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter

/**
 * t^4 rounded once (to nearest) from the exact square in two parts, as a correctly rounded pow(t, 4)
 * gives it (numpy calls the C library's pow), at a fraction of Math.pow's cost.
 */
function pow4(t: number): number {
  const a = t * t;
  let c = SPLIT * t;
  const th = c - (c - t);
  const tl = t - th;
  const aLow = ((th * th - a) + 2 * th * tl) + tl * tl; // t^2 = a + aLow exactly
  c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  const hi = a * a;
  const lo = ((ah * ah - hi) + 2 * ah * al) + al * al; // a^2 = hi + lo exactly
  return hi + (lo + 2 * a * aLow);
}

/**
 * The model at every point into ws.r and, when `withJacobian`, d model / d p into ws.jac (row-major n x 6),
 * at parameters p in scaled units, with the package's saturations and order of operations.
 */
function model(ws: RainbowWorkspace, n: number, p: ArrayLike<number>, averageNu: number, withJacobian: boolean): void {
  if (!withJacobian) return modelValues(ws, n, p, averageNu);
  const t0 = p[0];
  const amp = p[1];
  const rise = p[2];
  const temp0 = p[3];
  const tAmp = p[4];
  const tColor = p[5];
  const { t, hnu, nu3, r, jac } = ws;
  for (let i = 0; i < n; i++) {
    const dt = t[i] - t0;
    // bolometric sigmoid, zero (and flat) far before t0
    let bol = 0;
    let sb = 0; // s (1 - s) of the bolometric sigmoid
    let sBol = 0;
    if (dt > -100 * rise) {
      const e = Math.exp(-dt / rise);
      bol = amp / (e + 1);
      sBol = 1 / (e + 1);
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
    } else if (dt > -100 * tColor && dt < 100 * tColor) {
      const e = Math.exp(dt / tColor);
      const s = 1 / (1 + e);
      sT = e * s * s;
      twoSm1 = 2 * s - 1;
      temp = temp0 * (1 + tAmp * twoSm1);
    } else {
      // NaN t_color: numpy's masks select nothing and leave the zero it started from
      twoSm1 = 0;
      temp = 0;
    }
    const x = hnu[i] / (BOLTZMANN * temp);
    const expm1 = Math.expm1(-x);
    const oneMinusExp = -expm1;
    const planck = (nu3[i] * Math.exp(-x)) / oneMinusExp;
    const norm = (STEFAN_BOLTZMANN * pow4(temp)) / Math.PI / averageNu;
    const sed = planck / norm;
    r[i] = sed * bol;
    if (!withJacobian) continue;
    // d sed / dT = (d planck / dT) / norm - sed * 4 / T
    const dSedDT = (planck * x) / (temp * oneMinusExp) / norm - (sed * 4) / temp;
    const dModelDT = bol * dSedDT;
    const o = i * NP;
    jac[o] = ((-amp * sb) / rise) * sed + dModelDT * ((2 * temp0 * tAmp * sT) / tColor);
    jac[o + 1] = sBol * sed;
    jac[o + 2] = ((-amp * sb * dt) / (rise * rise)) * sed;
    jac[o + 3] = dModelDT * (1 + tAmp * twoSm1);
    jac[o + 4] = dModelDT * (temp0 * twoSm1);
    jac[o + 5] = dModelDT * ((2 * temp0 * tAmp * sT * dt) / (tColor * tColor));
  }
}

/**
 * The model values alone, reusing per point what the last call computed for the same parameters: the
 * numerical derivatives move one parameter at a time, and e.g. a step in amplitude leaves the
 * blackbody part as it was. Every value is computed by the same operations on the same inputs as in
 * `model`, so the results are bit for bit the same.
 */
function modelValues(ws: RainbowWorkspace, n: number, p: ArrayLike<number>, averageNu: number): void {
  const t0 = p[0];
  const amp = p[1];
  const rise = p[2];
  const temp0 = p[3];
  const tAmp = p[4];
  const tColor = p[5];
  const { t, hnu, nu3, r, cacheKey, bolExp, bolInside, twoSm1Of, sedOf } = ws;
  const sameBol = cacheKey[0] === t0 && cacheKey[1] === rise;
  const sameSigmoid = cacheKey[2] === t0 && cacheKey[3] === tColor;
  const sameSed = sameSigmoid && cacheKey[4] === temp0 && cacheKey[5] === tAmp;
  for (let i = 0; i < n; i++) {
    const dt = t[i] - t0;
    if (!sameBol) {
      bolInside[i] = dt > -100 * rise ? 1 : 0;
      bolExp[i] = bolInside[i] ? Math.exp(-dt / rise) : 0;
    }
    // far before t0 (or a NaN rise time): no bolometric flux, as numpy's mask gives
    const bol = bolInside[i] ? amp / (bolExp[i] + 1) : 0;
    if (!sameSed) {
      if (!sameSigmoid) {
        if (dt <= -100 * tColor) twoSm1Of[i] = 1;
        else if (dt >= 100 * tColor) twoSm1Of[i] = -1;
        else if (dt > -100 * tColor && dt < 100 * tColor) {
          const es = Math.exp(dt / tColor);
          twoSm1Of[i] = 2 * (1 / (1 + es)) - 1;
        } else twoSm1Of[i] = NaN;
      }
      const w = twoSm1Of[i];
      // temp0 (1 + tAmp) and temp0 (1 - tAmp) are this formula at w = +-1 exactly
      const temp = Number.isNaN(w) ? 0 : temp0 * (1 + tAmp * w);
      const x = hnu[i] / (BOLTZMANN * temp);
      const planck = (nu3[i] * Math.exp(-x)) / -Math.expm1(-x);
      sedOf[i] = planck / ((STEFAN_BOLTZMANN * pow4(temp)) / Math.PI / averageNu);
    }
    r[i] = sedOf[i] * bol;
  }
  cacheKey[0] = t0;
  cacheKey[1] = rise;
  cacheKey[2] = t0;
  cacheKey[3] = tColor;
  cacheKey[4] = temp0;
  cacheKey[5] = tAmp;
}

/** chi2 / 2 of the model in ws.r against ws.y with errors ws.e, summed as numpy sums. */
function halfChi2(ws: RainbowWorkspace, n: number): number {
  const { y, e, r, sq } = ws;
  for (let i = 0; i < n; i++) {
    const z = (y[i] - r[i]) / e[i];
    sq[i] = -(z * z) / 2;
  }
  return -pairwiseSum(sq, 0, n);
}

/** The package's soft bounds: 1e-4 * scale / distance to each bound, Infinity outside (NaN stays NaN). */
function barrier(ws: RainbowWorkspace, p: ArrayLike<number>): number {
  let lower = 0;
  let upper = 0;
  for (let k = 0; k < NP; k++) {
    const scale = ws.hi[k] - ws.lo[k];
    const a = (p[k] - ws.lo[k]) / scale;
    const b = (ws.hi[k] - p[k]) / scale;
    lower += a > 0 ? 1 / a : Infinity;
    upper += b > 0 ? 1 / b : Infinity;
  }
  return BARRIER * lower + BARRIER * upper;
}

const PRIOR_INV_VAR = 1 / T_AMPLITUDE_PRIOR_SIGMA ** 2;

function prior(p: ArrayLike<number>): number {
  return 0.5 * (PRIOR_INV_VAR * (p[4] - 0) ** 2);
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
  ws.cacheKey.fill(NaN);
  const { t, y, e, nu } = ws;
  // scalers: time by mean and std, flux by std (no shift without baseline)
  const [tMean, tStd] = meanStd(mjd, n, ws.sq);
  const tScale = tStd === 0 ? 1 : tStd;
  const fStd = meanStd(flux, n, ws.sq)[1];
  const fScale = fStd === 0 ? 1 : fStd;
  let tMin = Infinity;
  let tMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  let iMax = 0;
  for (let i = 0; i < n; i++) {
    t[i] = (mjd[i] - tMean) / tScale;
    y[i] = flux[i] / fScale;
    e[i] = fluxErr[i] / fScale;
    nu[i] = LIGHT / (1e-8 * waveAngstrom[i]);
    ws.hnu[i] = PLANCK * nu[i];
    ws.nu3[i] = PLANCK_PREFACTOR * nu[i] ** 3;
    if (t[i] < tMin) tMin = t[i];
    if (t[i] > tMax) tMax = t[i];
    if (y[i] < yMin) yMin = y[i];
    if (y[i] > yMax) {
      yMax = y[i];
      iMax = i;
    }
  }
  const waves = new Float64Array(bandWavelengthsAngstrom.length);
  for (let b = 0; b < waves.length; b++) waves[b] = 1e-8 * bandWavelengthsAngstrom[b];
  const averageNu = LIGHT / (pairwiseSum(waves, 0, waves.length) / waves.length);

  const tSpan = tMax - tMin;
  const ySpan = yMax - yMin;
  const width = centroidWidth(ws, n);
  ws.p.set([t[iMax], ySpan, 1, 10000, 0, 2 * width]);
  ws.lo.set([tMin - 10 * tSpan, 0, width / 100, 1e3, -0.99, width / 3]);
  ws.hi.set([tMax + 10 * tSpan, 20 * ySpan, 10 * tSpan, 2e6, 0.99, 10 * tSpan]);
  return { n, tMean, tScale, fScale, averageNu };
}

/** The package's cost at q (scaled units): chi2 / 2 + barrier + prior, NaN and Infinity as numpy gives them. */
function costAt(ws: RainbowWorkspace, pr: Prepared, q: ArrayLike<number>): { total: number; withoutPrior: number } {
  model(ws, pr.n, q, pr.averageNu, false);
  const withoutPrior = halfChi2(ws, pr.n) + barrier(ws, q);
  return { total: withoutPrior + prior(q), withoutPrior };
}

/** The package's analytic gradient of the cost at q into out. */
function gradientAt(ws: RainbowWorkspace, pr: Prepared, q: ArrayLike<number>, out: Float64Array): void {
  const n = pr.n;
  model(ws, n, q, pr.averageNu, true);
  const { y, e, r, jac } = ws;
  out.fill(0);
  for (let i = 0; i < n; i++) {
    const weighted = (y[i] - r[i]) * (1 / e[i] ** 2);
    const o = i * NP;
    for (let k = 0; k < NP; k++) out[k] += jac[o + k] * weighted;
  }
  for (let k = 0; k < NP; k++) {
    const scale = ws.hi[k] - ws.lo[k];
    out[k] = -out[k] + BARRIER * scale * (1 / (ws.hi[k] - q[k]) ** 2 - 1 / (q[k] - ws.lo[k]) ** 2);
  }
  out[4] += PRIOR_INV_VAR * (q[4] - 0);
}

function toScaled(pr: Prepared, params: ArrayLike<number>): Float64Array {
  const q = Float64Array.from({ length: NP }, (_, k) => params[k]);
  q[0] = (q[0] - pr.tMean) / pr.tScale;
  q[1] /= pr.fScale;
  q[2] /= pr.tScale;
  q[5] /= pr.tScale;
  return q;
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
  const c = costAt(ws, pr, toScaled(pr, params));
  return { cost: c.total, reducedChi2: c.withoutPrior / (n - NP) };
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
  if (typeof pr === 'string') return { params, reducedChi2: NaN, failure: pr, iterations: 0 };
  const start = Float64Array.from(ws.p);
  // iminuit's default step sizes: 1% of the value, 0.1 for a zero
  const errors = Array.from(start, (v) => (v !== 0 ? 0.01 * Math.abs(v) : 0.1));
  const result = iminuitFit(
    { n: NP, value: (q) => costAt(ws, pr, q).total, gradient: (q, out) => gradientAt(ws, pr, q, out) },
    start, { errors, errordef: 0.5, tolerance: 0.1 },
  );
  if (!result.valid) return { params, reducedChi2: NaN, failure: `Minuit: ${result.reason}`, iterations: result.calls };
  const q = result.x;
  const withoutPrior = result.fval - prior(q);
  params.set(q);
  params[0] = q[0] * pr.tScale + pr.tMean;
  params[1] = q[1] * pr.fScale;
  params[2] = q[2] * pr.tScale;
  params[5] = q[5] * pr.tScale;
  for (let k = 0; k < NP; k++) if (!Number.isFinite(params[k])) return { params, reducedChi2: NaN, failure: 'non-finite parameters', iterations: result.calls };
  return { params, reducedChi2: withoutPrior / (n - NP), failure: null, iterations: result.calls };
}

/**
 * The fitted model at one time and wavelength, in the units of the fitted flux: B(t) times the blackbody
 * at T(t), normalised as in the fit. `params` as rainbowFit returns them (MJD, days, K).
 */
export function rainbowModel(params: ArrayLike<number>, mjd: number, waveAngstrom: number, bandWavelengthsAngstrom: readonly number[]): number {
  const ws = new RainbowWorkspace();
  ws.t[0] = mjd;
  ws.nu[0] = LIGHT / (1e-8 * waveAngstrom);
  ws.hnu[0] = PLANCK * ws.nu[0];
  ws.nu3[0] = PLANCK_PREFACTOR * ws.nu[0] ** 3;
  let meanWave = 0;
  for (const aa of bandWavelengthsAngstrom) meanWave += 1e-8 * aa;
  model(ws, 1, params, LIGHT / (meanWave / bandWavelengthsAngstrom.length), false);
  return ws.r[0];
}
