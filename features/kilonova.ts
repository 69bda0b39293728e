import { createHash } from 'node:crypto';
import { PCA } from 'ml-pca';
import type { LightCurve } from '../datasets/index.ts';
import { perfectSource, type SimulatedClass } from '../datasets/index.ts';
import { rintHalfEven } from './numeric.ts';
import { bandFluxcal } from './sigmoid.ts';

/**
 * Kilonova features as Fink's kilonova module builds them (kndetect; Biswas et al. 2023): each band's
 * FLUXCAL light curve within +-50 days of its brightest point, normalised by that flux, is fitted as a
 * combination of 3 principal components learned from noise-free simulated light curves.
 */
export const KILONOVA_FEATURE_NAMES = [
  'coeff1_g', 'coeff2_g', 'coeff3_g', 'residuo_g', 'maxflux_g',
  'coeff1_r', 'coeff2_r', 'coeff3_r', 'residuo_r', 'maxflux_r',
] as const;

export const PCA_BASIS_SCHEMA = 'sieve-pca-basis/1';

/** The learned basis: a versioned artefact shared by training and scoring. */
export interface PcaBasis {
  schema: typeof PCA_BASIS_SCHEMA;
  version: string;
  /** Spacing of the component samples, days. */
  timeBinDays: number;
  /** Components span [-halfWidthDays, +halfWidthDays] around the peak. */
  halfWidthDays: number;
  /** components[k][i]: component k at time -halfWidthDays + i * timeBinDays; max |value| = 1. */
  components: number[][];
  explainedVarianceRatio: number[];
  training: { seed: number; perClass: Record<string, number>; sampleSpacingDays: number };
  /** sha256 of the fields above (canonical JSON), so a scorer can prove it uses the training basis. */
  sha256: string;
}

export interface BasisTrainingOptions {
  seed: number;
  perClass: Partial<Record<SimulatedClass, number>>;
  nComponents?: number;
  sampleSpacingDays?: number;
  halfWidthDays?: number;
  timeBinDays?: number;
}

/** kndetect's training mix: kilonovae plus the supernova types they are confused with. */
export const DEFAULT_BASIS_TRAINING: BasisTrainingOptions = {
  seed: 20240821,
  perClass: { kilonova: 400, 'SN Ia': 200, 'SN Ibc': 200, 'SN II': 200, SLSN: 100, TDE: 100 },
  nComponents: 3,
  sampleSpacingDays: 2,
  halfWidthDays: 50,
  timeBinDays: 0.25,
};

export function basisHash(b: Omit<PcaBasis, 'sha256'>): string {
  const { schema, version, timeBinDays, halfWidthDays, components, explainedVarianceRatio, training } = b;
  const canonical = JSON.stringify({ schema, version, timeBinDays, halfWidthDays, components, explainedVarianceRatio, training });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * Learns the basis: every training source is sampled noise-free every `sampleSpacingDays` over
 * +-halfWidthDays around its own peak in each band (g and r are separate samples), normalised to peak
 * flux 1; PCA without centring (so the first component is the mean shape a template fit needs), first
 * components kept, linearly interpolated to the fine grid and scaled to max |value| = 1.
 */
export function learnPcaBasis(options: BasisTrainingOptions = DEFAULT_BASIS_TRAINING): PcaBasis {
  const spacing = options.sampleSpacingDays ?? 2;
  const half = options.halfWidthDays ?? 50;
  const bin = options.timeBinDays ?? 0.25;
  const nComp = options.nComponents ?? 3;
  const nCoarse = Math.round((2 * half) / spacing) + 1;
  const rows: number[][] = [];
  let index = 0;
  const classes = Object.keys(options.perClass).sort() as SimulatedClass[];
  for (const cls of classes) {
    const count = options.perClass[cls] ?? 0;
    for (let k = 0; k < count; k++) {
      const src = perfectSource(cls, options.seed, index++, 0);
      for (let band = 0; band < 2; band++) {
        // Locate the band's peak on a fine grid around the reference epoch.
        let tPeak = 0;
        let best = Infinity;
        for (let t = -60; t <= 60; t += 0.05) {
          const m = src.magAt(band, t);
          if (m < best) {
            best = m;
            tPeak = t;
          }
        }
        if (!Number.isFinite(best)) continue;
        const row = new Array<number>(nCoarse);
        for (let i = 0; i < nCoarse; i++) {
          const m = src.magAt(band, tPeak - half + i * spacing);
          row[i] = Number.isFinite(m) ? Math.pow(10, -0.4 * (m - best)) : 0;
        }
        rows.push(row);
      }
    }
  }
  const pca = new PCA(rows, { center: false, scale: false });
  const vectors = pca.getEigenvectors().to2DArray(); // nCoarse x nCoarse, columns are components
  const explained = pca.getExplainedVariance().slice(0, nComp);
  const nFine = Math.round((2 * half) / bin) + 1;
  const components: number[][] = [];
  for (let c = 0; c < nComp; c++) {
    const coarse = vectors.map((r) => r[c]);
    // Fix the arbitrary eigenvector sign: the component's largest excursion is positive.
    let extreme = 0;
    for (const v of coarse) if (Math.abs(v) > Math.abs(extreme)) extreme = v;
    const sign = extreme < 0 ? -1 : 1;
    const fine = new Array<number>(nFine);
    let maxAbs = 0;
    for (let i = 0; i < nFine; i++) {
      const x = (i * bin) / spacing;
      const j = Math.min(Math.floor(x), nCoarse - 2);
      const v = sign * (coarse[j] + (x - j) * (coarse[j + 1] - coarse[j]));
      fine[i] = v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    components.push(fine.map((v) => Number((v / maxAbs).toPrecision(12))));
  }
  const body: Omit<PcaBasis, 'sha256'> = {
    schema: PCA_BASIS_SCHEMA,
    version: '1',
    timeBinDays: bin,
    halfWidthDays: half,
    components,
    explainedVarianceRatio: explained.map((v) => Number(v.toPrecision(12))),
    training: { seed: options.seed, perClass: Object.fromEntries(classes.map((c) => [c, options.perClass[c] ?? 0])), sampleSpacingDays: spacing },
  };
  return { ...body, sha256: basisHash(body) };
}

/** Validates a basis read from JSON (schema, shape, checksum); throws naming what is wrong. */
export function validatePcaBasis(b: unknown): PcaBasis {
  const basis = b as PcaBasis;
  if (!basis || basis.schema !== PCA_BASIS_SCHEMA) throw new Error(`PCA basis: schema is not ${PCA_BASIS_SCHEMA}`);
  const n = Math.round((2 * basis.halfWidthDays) / basis.timeBinDays) + 1;
  if (!Array.isArray(basis.components) || basis.components.some((c) => !Array.isArray(c) || c.length !== n)) {
    throw new Error(`PCA basis: every component must have ${n} samples`);
  }
  const expected = basisHash(basis);
  if (expected !== basis.sha256) throw new Error(`PCA basis: sha256 mismatch (file says ${basis.sha256}, content is ${expected})`);
  return basis;
}

export interface KilonovaParams {
  /** A band whose brightest FLUXCAL is at or below this gets zeros (kndetect's flux_lim). */
  minMaxFlux: number;
  /** 0-based indices of low-variance components whose |coefficient| is penalised. */
  regularisedComponents: number[];
  bands: readonly [string, string];
}

export const DEFAULT_KILONOVA_PARAMS: KilonovaParams = { minMaxFlux: 200, regularisedComponents: [1, 2], bands: ['g', 'r'] };

/**
 * Minimises sum(((P c)_i - f_i) / e_i)^2 + w * (sum_{j in reg} |c_j| + sum_{c_j < 0} |c_j|) over
 * c in [-2, 2]^k. The objective is convex (quadratic plus convex piecewise-linear terms), so exact
 * coordinate descent reaches the same minimum as kndetect's L-BFGS-B, without its numerical gradient.
 */
export function fitComponentCoefficients(
  design: Float64Array, nPoints: number, nComp: number, f: Float64Array, e: Float64Array, w: number, regularised: readonly number[],
): Float64Array {
  // Normal equations of the weighted quadratic part.
  const A = new Float64Array(nComp * nComp);
  const b = new Float64Array(nComp);
  for (let i = 0; i < nPoints; i++) {
    const wi = 1 / (e[i] * e[i]);
    for (let p = 0; p < nComp; p++) {
      const xp = design[i * nComp + p];
      b[p] += wi * xp * f[i];
      for (let q = 0; q < nComp; q++) A[p * nComp + q] += wi * xp * design[i * nComp + q];
    }
  }
  const c = new Float64Array(nComp).fill(0.5);
  const reg = new Set(regularised);
  for (let sweep = 0; sweep < 500; sweep++) {
    let change = 0;
    for (let j = 0; j < nComp; j++) {
      const a = A[j * nComp + j];
      // gradient of the quadratic part at c_j = 0, other coordinates fixed: 2 (sum_{q != j} A_jq c_q - b_j)
      let r = -b[j];
      for (let q = 0; q < nComp; q++) if (q !== j) r += A[j * nComp + q] * c[q];
      const slopePos = reg.has(j) ? w : 0; // penalty slope for c_j > 0
      const slopeNeg = (reg.has(j) ? w : 0) + w; // penalty slope magnitude for c_j < 0
      let next: number;
      if (a <= 0) next = r + slopePos / 2 < 0 ? 2 : r - slopeNeg / 2 > 0 ? -2 : 0;
      else {
        // objective a c^2 + 2 r c + penalty(c)
        const right = Math.min(2, Math.max(0, -(2 * r + slopePos) / (2 * a)));
        const left = Math.max(-2, Math.min(0, -(2 * r - slopeNeg) / (2 * a)));
        const obj = (x: number) => a * x * x + 2 * r * x + (x > 0 ? slopePos * x : -slopeNeg * x);
        next = obj(right) <= obj(left) ? right : left;
      }
      change = Math.max(change, Math.abs(next - c[j]));
      c[j] = next;
    }
    if (change < 1e-12) break;
  }
  return c;
}

/** The 10 kilonova features (coeff1..3, residuo, maxflux for g then r). */
export function kilonovaFeatures(lc: LightCurve, basis: PcaBasis, params: KilonovaParams = DEFAULT_KILONOVA_PARAMS, out: Float64Array = new Float64Array(10)): Float64Array {
  const nComp = basis.components.length;
  const nGrid = basis.components[0].length;
  const mid = (nGrid - 1) / 2;
  const perBand = nComp + 2;
  params.bands.forEach((bandName, k) => {
    const off = k * perBand;
    for (let j = 0; j < perBand; j++) out[off + j] = 0;
    const pts = bandFluxcal(lc, bandName);
    if (pts.n === 0) return;
    let iMax = 0;
    for (let i = 1; i < pts.n; i++) if (pts.flux[i] > pts.flux[iMax]) iMax = i;
    const maxFlux = pts.flux[iMax];
    const tMid = pts.jd[iMax];
    const half = basis.timeBinDays * (nGrid - 1) / 2;
    const idx: number[] = [];
    for (let i = 0; i < pts.n; i++) if (pts.jd[i] > tMid - half && pts.jd[i] < tMid + half) idx.push(i);
    if (!(maxFlux > params.minMaxFlux) || idx.length < 2) return;
    const n = idx.length;
    const design = new Float64Array(n * nComp);
    const f = new Float64Array(n);
    const e = new Float64Array(n);
    let errAtMax = 1;
    idx.forEach((i, r) => {
      const g = Math.min(nGrid - 1, Math.max(0, rintHalfEven((pts.jd[i] - tMid) / basis.timeBinDays + mid)));
      for (let c = 0; c < nComp; c++) design[r * nComp + c] = basis.components[c][g];
      f[r] = pts.flux[i] / maxFlux;
      e[r] = pts.fluxErr[i] / maxFlux;
      if (i === iMax) errAtMax = pts.fluxErr[i];
    });
    const w = (maxFlux / errAtMax) ** 2;
    const coeff = fitComponentCoefficients(design, n, nComp, f, e, w, params.regularisedComponents);
    let chi = 0;
    for (let r = 0; r < n; r++) {
      let pred = 0;
      for (let c = 0; c < nComp; c++) pred += coeff[c] * design[r * nComp + c];
      chi += ((pred - f[r]) / e[r]) ** 2;
    }
    for (let c = 0; c < nComp; c++) out[off + c] = coeff[c];
    out[off + nComp] = Math.sqrt(chi / n);
    out[off + nComp + 1] = maxFlux;
  });
  return out;
}
