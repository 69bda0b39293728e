import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { simulateObject, SIMULATED_CLASSES, type SimulatedClass } from '../../datasets/index.ts';
import { anomalyExtractor, ANOMALY_FEATURE_NAMES } from '../../features/index.ts';
import {
  AADForest, TwoBandAADModel, createBundle, serializeBundle, Random, validRows, FINK_FOREST_INPUT_BAND, type Matrix,
} from '../../models/index.ts';
import { subsamplePositives } from './sampling.ts';
import { discoverySpec } from '../adapters/plot/charts.ts';
import { writeChart } from '../adapters/plot/render.ts';
import { builtinModule } from '../core/modules/index.ts';
import { numericCell, readCsv } from '../core/csvRead.ts';
import { csvRows } from '../core/csv.ts';

export interface AnomalyExperimentOptions {
  seeds: number;
  /** Objects per seed (simulated data). */
  n: number;
  rareFraction: number;
  rareClasses: SimulatedClass[];
  budget: number;
  nEstimators: number;
  /** Rows per tree: 256 (the isolation-forest default) or a fraction (Fink trains with 0.5). */
  maxSamples: number;
  out: string;
  /** A labelled feature table instead of simulations. */
  data?: { file: string; labelColumn: string; positive: string; positiveFraction?: number };
}

export const DEFAULT_RARE_CLASSES: SimulatedClass[] = ['eclipsing binary'];

interface Problem {
  /** Per-band forest inputs (Fink wiring) or a single input in `inputG` with `inputR` null. */
  inputG: Float32Array;
  inputR: Float32Array | null;
  cols: number;
  rows: number;
  truth: Uint8Array;
  description: string;
}

/** Simulated light curves, 1% of them rare classes, through the anomaly feature extractor. */
function simulatedProblem(seed: number, o: AnomalyExperimentOptions): Problem {
  const nRare = Math.max(1, Math.round(o.n * o.rareFraction));
  const nominal = Object.fromEntries(SIMULATED_CLASSES.filter((c) => !o.rareClasses.includes(c)).map((c) => [c, 1]));
  const rare = Object.fromEntries(o.rareClasses.map((c) => [c, 1]));
  const ex = anomalyExtractor();
  const F = ANOMALY_FEATURE_NAMES.length;
  const rows = o.n;
  const inputG = new Float32Array(rows * F);
  const inputR = new Float32Array(rows * F);
  const truth = new Uint8Array(rows);
  const feats = new Float64Array(2 * F);
  const rng = new Random(seed, 0xa11);
  // rare objects at random positions, each drawn from its own simulation stream
  const rareAt = new Set<number>();
  while (rareAt.size < nRare) rareAt.add(Math.floor(rng.next() * rows));
  let rareDraw = 0;
  for (let i = 0; i < rows; i++) {
    const isRare = rareAt.has(i);
    let sim = simulateObject(seed * 7919, i, { classWeights: nominal });
    ex.extract(sim.alert, feats);
    // The module only ever scores alerts with complete features in some band, so the rare 1% is drawn
    // among those: rare objects are redrawn until one band is complete (kilonovae are mostly too brief).
    while (isRare) {
      sim = simulateObject(seed * 7919 + 1, rareDraw++, { classWeights: rare });
      ex.extract(sim.alert, feats);
      const complete = (off: number) => feats.subarray(off, off + F).every(Number.isFinite);
      if (complete(0) || complete(F)) break;
    }
    truth[i] = isRare ? 1 : 0;
    // Fink's wiring: forest_g takes the r-band features, forest_r the g-band ones.
    const gOff = FINK_FOREST_INPUT_BAND.forest_g === 'r' ? F : 0;
    const rOff = FINK_FOREST_INPUT_BAND.forest_r === 'g' ? 0 : F;
    for (let j = 0; j < F; j++) {
      inputG[i * F + j] = feats[gOff + j];
      inputR[i * F + j] = feats[rOff + j];
    }
  }
  return { inputG, inputR, cols: F, rows, truth, description: `${rows} simulated objects, ${nRare} of them ${o.rareClasses.join('/')}` };
}

/** Any labelled feature table; two-band when it has Fink's 25 columns with _g and _r suffixes. */
function tableProblem(seed: number, o: AnomalyExperimentOptions): Problem {
  const d = o.data!;
  const { header, rows } = readCsv(d.file);
  const li = header.indexOf(d.labelColumn);
  if (li < 0) throw new Error(`${d.file}: no column '${d.labelColumn}' (columns: ${header.join(', ')})`);
  const positive = rows.map((r) => r[li] === d.positive);
  const keep = d.positiveFraction !== undefined ? subsamplePositives(positive, d.positiveFraction, seed) : rows.map((_, i) => i);
  const twoBand = ANOMALY_FEATURE_NAMES.every((f) => header.includes(`${f}_g`) && header.includes(`${f}_r`));
  const cols = twoBand ? ANOMALY_FEATURE_NAMES.map((f) => header.indexOf(`${f}_${FINK_FOREST_INPUT_BAND.forest_g}`)) : header.map((h, i) => i).filter((i) => i !== li && rows.every((r) => r[i] === '' || /^-?[0-9.eE+-]+$|^nan$/i.test(r[i])) && !['candid', 'passes_cuts', 'row'].includes(header[i]));
  const colsR = twoBand ? ANOMALY_FEATURE_NAMES.map((f) => header.indexOf(`${f}_${FINK_FOREST_INPUT_BAND.forest_r}`)) : null;
  const n = keep.length;
  const F = cols.length;
  const inputG = new Float32Array(n * F);
  const inputR = colsR ? new Float32Array(n * F) : null;
  const truth = new Uint8Array(n);
  keep.forEach((r, k) => {
    truth[k] = positive[r] ? 1 : 0;
    cols.forEach((c, j) => (inputG[k * F + j] = numericCell(rows[r][c], d.file, r + 2, header[c])));
    if (colsR && inputR) colsR.forEach((c, j) => (inputR[k * F + j] = numericCell(rows[r][c], d.file, r + 2, header[c])));
  });
  return { inputG, inputR, cols: F, rows: n, truth, description: `${n} rows of ${d.file}, ${truth.reduce((s, x) => s + x, 0)} with ${d.labelColumn} = ${d.positive}` };
}

/** Rows of a band that can be scored: all features finite (as Fink); a single-input problem imputes NaN. */
function validAndMatrix(input: Float32Array, rows: number, cols: number): { valid: Uint8Array; X: Matrix } {
  return { valid: validRows(input, rows, cols), X: { data: input, rows, cols } };
}

function trainRows(X: Matrix, valid: Uint8Array): Matrix {
  const idx: number[] = [];
  for (let i = 0; i < X.rows; i++) if (valid[i]) idx.push(i);
  const data = new Float32Array(idx.length * X.cols);
  idx.forEach((r, k) => data.set(X.data.subarray(r * X.cols, r * X.cols + X.cols), k * X.cols));
  return { data, rows: idx.length, cols: X.cols };
}

/**
 * One seed: plain isolation forests (the AAD forests before any label) versus AAD with the simulated
 * expert's feedback after every alert shown; returns the discovery curves (true rare objects found
 * after k alerts shown) and the final AAD model.
 */
function runSeed(seed: number, problem: Problem, o: AnomalyExperimentOptions): { ifCurve: number[]; aadCurve: number[]; model: TwoBandAADModel } {
  const F = problem.cols;
  const bands = [validAndMatrix(problem.inputG, problem.rows, F), ...(problem.inputR ? [validAndMatrix(problem.inputR, problem.rows, F)] : [])];
  const forests = bands.map((b, k) => {
    const train = trainRows(b.X, b.valid);
    if (train.rows < 4) throw new Error(`band ${k}: only ${train.rows} rows with complete features`);
    return new AADForest({ seed: seed * 31 + k, nEstimators: o.nEstimators, maxSamples: o.maxSamples, Ca: 1000, budget: 10, maxIterations: 20 }).fit(train);
  });
  const T = o.nEstimators;
  const leaves = bands.map((b, k) => forests[k].leafIndices(b.X));
  const bandScores = bands.map((b, k) => forests[k].scoreFromLeaves(leaves[k], problem.rows));
  const finalScore = () => {
    const out = new Float64Array(problem.rows);
    for (let i = 0; i < problem.rows; i++) {
      let s = NaN;
      bands.forEach((b, k) => {
        if (b.valid[i]) s = Number.isNaN(s) ? bandScores[k][i] : Math.min(s, bandScores[k][i]);
      });
      out[i] = s;
    }
    return out;
  };
  const order0 = (() => {
    const f = finalScore();
    return Array.from(f.keys()).filter((i) => !Number.isNaN(f[i])).sort((a, b) => f[a] - f[b]);
  })();
  const ifCurve: number[] = [];
  let found = 0;
  for (let k = 0; k < Math.min(o.budget, order0.length); k++) ifCurve.push((found += problem.truth[order0[k]]));
  const shown = new Uint8Array(problem.rows);
  const labels: Array<{ i: number; anomaly: boolean }> = [];
  const aadCurve: number[] = [];
  found = 0;
  for (let k = 0; k < Math.min(o.budget, order0.length); k++) {
    const f = finalScore();
    let best = -1;
    for (let i = 0; i < problem.rows; i++) if (!shown[i] && !Number.isNaN(f[i]) && (best < 0 || f[i] < f[best])) best = i;
    if (best < 0) break;
    shown[best] = 1;
    aadCurve.push((found += problem.truth[best]));
    labels.push({ i: best, anomaly: problem.truth[best] === 1 });
    bands.forEach((b, band) => {
      const lab = labels.filter((l) => b.valid[l.i]).map((l) => ({ leaves: leaves[band].subarray(l.i * T, l.i * T + T), anomaly: l.anomaly }));
      if (!lab.length) return;
      const pool: number[] = [];
      for (let i = 0; i < problem.rows; i++) if (b.valid[i]) pool.push(bandScores[band][i]);
      forests[band].update(lab, pool);
      forests[band].scoreFromLeaves(leaves[band], problem.rows, bandScores[band]);
    });
  }
  const model = new TwoBandAADModel(forests[0], forests[1] ?? forests[0]);
  return { ifCurve, aadCurve, model };
}

export interface AnomalyExperimentSummary {
  if_top50: number;
  aad_top50: number;
  if_top100: number;
  aad_top100: number;
  seeds: number;
  budget: number;
  data: string;
  per_seed: Array<{ seed: number; if_top50: number; aad_top50: number; if_top100: number; aad_top100: number }>;
}

export async function runAnomalyExperiment(o: AnomalyExperimentOptions): Promise<AnomalyExperimentSummary> {
  mkdirSync(o.out, { recursive: true });
  const curves: Array<{ method: string; seed: number; curve: number[] }> = [];
  const perSeed: AnomalyExperimentSummary['per_seed'] = [];
  let description = '';
  let lastModel: TwoBandAADModel | null = null;
  let lastProblem: Problem | null = null;
  for (let seed = 1; seed <= o.seeds; seed++) {
    const problem = o.data ? tableProblem(seed, o) : simulatedProblem(seed, o);
    description = problem.description;
    const r = runSeed(seed, problem, o);
    curves.push({ method: 'isolation_forest', seed, curve: r.ifCurve }, { method: 'aad', seed, curve: r.aadCurve });
    const at = (c: number[], k: number) => c[Math.min(k, c.length) - 1] ?? 0;
    perSeed.push({ seed, if_top50: at(r.ifCurve, 50), aad_top50: at(r.aadCurve, 50), if_top100: at(r.ifCurve, 100), aad_top100: at(r.aadCurve, 100) });
    process.stderr.write(`seed ${seed}: IF ${at(r.ifCurve, 50)}/${at(r.ifCurve, 100)}, AAD ${at(r.aadCurve, 50)}/${at(r.aadCurve, 100)} rare found in the first 50/100\n`);
    lastModel = r.model;
    lastProblem = problem;
  }
  const mean = (k: keyof AnomalyExperimentSummary['per_seed'][number]) => perSeed.reduce((s, p) => s + p[k], 0) / perSeed.length;
  const summary: AnomalyExperimentSummary = {
    if_top50: mean('if_top50'), aad_top50: mean('aad_top50'), if_top100: mean('if_top100'), aad_top100: mean('aad_top100'),
    seeds: o.seeds, budget: o.budget, data: description, per_seed: perSeed,
  };
  writeFileSync(path.join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  writeFileSync(path.join(o.out, 'curves.csv'), csvRows([['method', 'seed', 'shown', 'found'], ...curves.flatMap((c) => Array.from(c.curve, (v, k) => [c.method, c.seed, k + 1, v]))]));
  await writeChart(discoverySpec({
    curves, title: `Anomaly discovery: isolation forest vs AAD with an expert's feedback`,
    subtitle: `${description}; mean of ${o.seeds} seed(s), band ±1 standard deviation`,
  }), path.join(o.out, 'discovery'));
  if (lastModel && lastProblem && lastProblem.inputR) {
    // the shipped anomaly module's declaration and feature space: the bundle scores in `sieve score --bundles`
    const module = builtinModule('anomaly');
    const bundle = createBundle({
      module: 'anomaly', version: '1', model: lastModel, featureSpec: module.extractor().spec, classNames: module.classNames, declaration: module.declaration,
      decisionThreshold: 0, training: { X: { data: lastProblem.inputG, rows: lastProblem.rows, cols: lastProblem.cols } },
      metrics: { aad_top50: perSeed[perSeed.length - 1].aad_top50, aad_top100: perSeed[perSeed.length - 1].aad_top100 },
    });
    writeFileSync(path.join(o.out, 'anomaly-module.bundle.json'), serializeBundle(bundle));
  }
  return summary;
}
