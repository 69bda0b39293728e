import { readFileSync } from 'node:fs';
import type { LightCurve } from '../datasets/index.ts';
import { rintHalfEven } from './numeric.ts';
import { bandFluxcal, type BandFlux } from './sigmoid.ts';

/**
 * kndetect's kilonova features (Biswas et al. 2023) as Fink's ZTF kilonova module computes them
 * (fink_science/ztf/kilonova -> kndetect.features.extract_features_all_lightcurves), read from the public
 * definitions and written here. Per band (g, r): the detections within 50 days of the band's brightest one
 * (a 401-point grid, 0.25 day apart, the maximum in the middle); when that maximum is above 200 (FLUXCAL) and
 * at least 2 points are in the window, three principal components are fitted to the flux normalised by the
 * maximum by minimising
 *     sum_i ((P c)[m_i] - f_i)^2 / e_i^2  +  w (c2^2 + c3^2 + [c1 < 0] c1^2),   w = (max flux / its error)^2,
 * over c in [-2, 2]^3 (kndetect minimises it with scipy's L-BFGS-B from c = 0.5 and a numerical gradient).
 * The loss is a convex piecewise quadratic, so Sieve solves it exactly: every combination of active bounds on
 * both sides of c1 = 0 is an equality-constrained quadratic with a closed-form solution, and the one meeting
 * the optimality conditions is the minimum L-BFGS-B approaches. Outputs coeff1..3, residuo (the RMS of the
 * normalised residuals over error) and maxflux per band; zeros for a band without a fit.
 */

export const KNDETECT_FEATURE_NAMES = [
  'coeff1_g', 'coeff2_g', 'coeff3_g', 'residuo_g', 'maxflux_g',
  'coeff1_r', 'coeff2_r', 'coeff3_r', 'residuo_r', 'maxflux_r',
] as const;

export interface ComponentBasis {
  timeBinDays: number;
  /** nComp x nGrid, the maximum of the light curve at index (nGrid - 1) / 2. */
  components: number[][];
  /** Where the basis comes from (for the FeatureSpec and the record). */
  id: string;
}

export interface KndetectParams {
  /** kndetect's flux_lim: a band whose brightest FLUXCAL is at or below this gets zeros. */
  fluxLim: number;
  bands: readonly string[];
}

export const DEFAULT_KNDETECT_PARAMS: KndetectParams = { fluxLim: 200, bands: ['g', 'r'] };

const PCS_URL = new URL('./data/kndetect-pcs.json', import.meta.url);
let kndetectPcs: ComponentBasis | null = null;

/** kndetect's three principal components (interpolated_mixed_pcs.npy, BSD 3-Clause; see features/data/). */
export function loadKndetectPcs(): ComponentBasis {
  if (kndetectPcs) return kndetectPcs;
  const j = JSON.parse(readFileSync(PCS_URL, 'utf8')) as { schema: string; npySha256: string; timeBinDays: number; components: number[][] };
  if (j.schema !== 'sieve-pca-basis/kndetect-1' || j.components.length !== 3 || j.components.some((c) => c.length !== 401)) throw new Error('kndetect-pcs.json: not kndetect\'s 3 x 401 components');
  return (kndetectPcs = { timeBinDays: j.timeBinDays, components: j.components, id: `kndetect:${j.npySha256}` });
}

/**
 * The exact minimiser of kndetect's loss over [-2, 2]^k: H = A'A (+ w on the regularised diagonal, + w on c1's
 * when c1 < 0), g = A'b, loss = c'Hc - 2g'c + const. Each variable is free or at one of its two bounds (c1's
 * bounds being [0, 2] or [-2, 0] on the two sides of the kink); a combination is the optimum when its free
 * variables solve H_ff c_f = g_f - H_fb c_b inside their bounds and the gradient points outwards at every bound.
 */
export function fitKndetectCoefficients(A: Float64Array, nPoints: number, k: number, b: Float64Array, w: number): Float64Array {
  const Q = new Float64Array(k * k);
  const g = new Float64Array(k);
  let bb = 0;
  for (let i = 0; i < nPoints; i++) {
    bb += b[i] * b[i];
    for (let p = 0; p < k; p++) {
      g[p] += A[i * k + p] * b[i];
      for (let q = 0; q < k; q++) Q[p * k + q] += A[i * k + p] * A[i * k + q];
    }
  }
  let best: Float64Array | null = null;
  let bestLoss = Infinity;
  const H = new Float64Array(k * k);
  const c = new Float64Array(k);
  const state = new Int8Array(k); // 0 free, 1 lower bound, 2 upper bound
  for (const negative of [false, true]) {
    H.set(Q);
    for (let j = 1; j < k; j++) H[j * k + j] += w;
    if (negative) H[0] += w;
    const lo = (j: number) => (j === 0 ? (negative ? -2 : 0) : -2);
    const hi = (j: number) => (j === 0 ? (negative ? 0 : 2) : 2);
    const combos = 3 ** k;
    for (let code = 0; code < combos; code++) {
      let x = code;
      for (let j = 0; j < k; j++) {
        state[j] = x % 3;
        x = Math.floor(x / 3);
      }
      const free: number[] = [];
      for (let j = 0; j < k; j++) {
        if (state[j] === 0) free.push(j);
        else c[j] = state[j] === 1 ? lo(j) : hi(j);
      }
      if (free.length && !solveFree(H, g, c, free, k)) continue;
      let ok = true;
      for (const j of free) if (c[j] < lo(j) - 1e-12 || c[j] > hi(j) + 1e-12) ok = false;
      if (!ok) continue;
      for (const j of free) c[j] = Math.min(hi(j), Math.max(lo(j), c[j]));
      // the loss on this side of the kink (the other side's c1 term vanishes at c1 = 0, where both agree)
      let loss = bb;
      for (let p = 0; p < k; p++) {
        loss -= 2 * g[p] * c[p];
        for (let q = 0; q < k; q++) loss += c[p] * H[p * k + q] * c[q];
      }
      if (loss < bestLoss - 1e-15 * Math.abs(bestLoss) || best === null) {
        // optimality: at a bound, the gradient 2 (Hc - g)_j must not point into the box
        let kkt = true;
        for (let j = 0; j < k && kkt; j++) {
          if (state[j] === 0) continue;
          let grad = -g[j];
          for (let q = 0; q < k; q++) grad += H[j * k + q] * c[q];
          const tol = 1e-9 * (Math.abs(g[j]) + 1);
          if (state[j] === 1 && grad < -tol) kkt = false;
          if (state[j] === 2 && grad > tol) kkt = false;
        }
        if (kkt && loss < bestLoss) {
          bestLoss = loss;
          best = Float64Array.from(c);
        }
      }
    }
  }
  return best ?? new Float64Array(k);
}

/** Solves H_ff c_f = g_f - H_fb c_b by Gaussian elimination with partial pivoting; false when singular. */
function solveFree(H: Float64Array, g: Float64Array, c: Float64Array, free: number[], k: number): boolean {
  const m = free.length;
  const M = new Float64Array(m * (m + 1));
  for (let r = 0; r < m; r++) {
    const i = free[r];
    let rhs = g[i];
    for (let j = 0; j < k; j++) if (!free.includes(j)) rhs -= H[i * k + j] * c[j];
    for (let s = 0; s < m; s++) M[r * (m + 1) + s] = H[i * k + free[s]];
    M[r * (m + 1) + m] = rhs;
  }
  for (let col = 0; col < m; col++) {
    let piv = col;
    for (let r = col + 1; r < m; r++) if (Math.abs(M[r * (m + 1) + col]) > Math.abs(M[piv * (m + 1) + col])) piv = r;
    if (Math.abs(M[piv * (m + 1) + col]) < 1e-300) return false;
    if (piv !== col) for (let s = 0; s <= m; s++) [M[col * (m + 1) + s], M[piv * (m + 1) + s]] = [M[piv * (m + 1) + s], M[col * (m + 1) + s]];
    for (let r = 0; r < m; r++) {
      if (r === col) continue;
      const f = M[r * (m + 1) + col] / M[col * (m + 1) + col];
      if (f === 0) continue;
      for (let s = col; s <= m; s++) M[r * (m + 1) + s] -= f * M[col * (m + 1) + s];
    }
  }
  for (let r = 0; r < m; r++) c[free[r]] = M[r * (m + 1) + m] / M[r * (m + 1) + r];
  return true;
}

const scratchPts: BandFlux = { jd: new Float64Array(64), flux: new Float64Array(64), fluxErr: new Float64Array(64), n: 0 };

/** The 10 features (coeff1..3, residuo, maxflux for g then r) with the given basis. */
export function kndetectFeatures(lc: LightCurve, basis: ComponentBasis, params: KndetectParams = DEFAULT_KNDETECT_PARAMS, out: Float64Array = new Float64Array(10)): Float64Array {
  const k = basis.components.length;
  const nGrid = basis.components[0].length;
  const mid = (nGrid - 1) / 2;
  const half = (basis.timeBinDays * (nGrid - 1)) / 2;
  const perBand = k + 2;
  params.bands.forEach((bandName, bi) => {
    const off = bi * perBand;
    for (let j = 0; j < perBand; j++) out[off + j] = 0;
    const pts = bandFluxcal(lc, bandName, scratchPts.jd.length >= lc.jd.length ? scratchPts : undefined);
    if (pts.n === 0) return;
    // the first maximum, as numpy's argmax
    let iMax = 0;
    for (let i = 1; i < pts.n; i++) if (pts.flux[i] > pts.flux[iMax]) iMax = i;
    const maxFlux = pts.flux[iMax];
    const tMid = pts.jd[iMax];
    let n = 0;
    for (let i = 0; i < pts.n; i++) if (pts.jd[i] > tMid - half && pts.jd[i] < tMid + half) n++;
    if (!(maxFlux > params.fluxLim) || n < 2) return;
    const A = new Float64Array(n * k);
    const bVec = new Float64Array(n);
    const f = new Float64Array(n);
    const e = new Float64Array(n);
    const m = new Int32Array(n);
    let r = 0;
    for (let i = 0; i < pts.n; i++) {
      if (!(pts.jd[i] > tMid - half && pts.jd[i] < tMid + half)) continue;
      m[r] = rintHalfEven((pts.jd[i] - tMid) / basis.timeBinDays + mid);
      f[r] = pts.flux[i] / maxFlux;
      e[r] = pts.fluxErr[i] / maxFlux;
      for (let c = 0; c < k; c++) A[r * k + c] = basis.components[c][m[r]] / e[r];
      bVec[r] = f[r] / e[r];
      r++;
    }
    const w = (maxFlux / pts.fluxErr[iMax]) ** 2;
    const coeff = fitKndetectCoefficients(A, n, k, bVec, w);
    let chi = 0;
    for (let q = 0; q < n; q++) {
      let pred = 0;
      for (let c = 0; c < k; c++) pred += coeff[c] * basis.components[c][m[q]];
      const d = pred - f[q];
      chi += (d * d) / (e[q] * e[q]);
    }
    for (let c = 0; c < k; c++) out[off + c] = coeff[c];
    out[off + k] = Math.sqrt(chi / n);
    out[off + k + 1] = maxFlux;
  });
  return out;
}
