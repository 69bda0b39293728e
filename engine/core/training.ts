import { createHash } from 'node:crypto';
import { ANOMALY_FEATURE_NAMES } from '../../features/index.ts';
import {
  AADForest, BandAADModel, RandomForestClassifier, TwoBandAADModel, type PerBandAADModel, binaryReport, confusionMatrix, createBundle, modelFromBundle, rocAuc, FINK_FOREST_INPUT_BAND,
  type Matrix, type ModelBundle, type RandomForestParams,
} from '../../models/index.ts';
import { featureSpecHash } from '../../features/index.ts';
import { moduleOf, type ModuleDefinition } from './modules/index.ts';
import { promotionGate, type GateReport } from './gate.ts';
import { poolRanking, rankRows, saveRanking } from './ranking.ts';
import { bandInputs, isFinkZtfAnomaly } from './bandInputs.ts';
import type { Store } from './store/store.ts';
import { computeFeatures } from './features/pipeline.ts';

export interface TrainOptions {
  seed?: number;
  nEstimators?: number;
  /** Fraction of labelled objects held out for the promotion gate. */
  holdoutFraction?: number;
  /** Non-inferiority margin: deploy when the low end of the paired difference's interval is above -tolerance. */
  tolerance?: number;
  /** Held-out objects needed per class before the gate trusts a comparison (fewer: provisional). */
  minHeldOutPerClass?: number;
  gateMetric?: 'fom' | 'accuracy' | 'f1' | 'auc';
  actor?: string;
  /** Deploy automatically when the gate passes (the first version is always deployed). */
  autoDeploy?: boolean;
}

export interface TrainResult {
  module: string;
  version: number;
  nLabels: number;
  metrics: Record<string, number>;
  deployedMetrics: Record<string, number> | null;
  promoted: boolean;
  /** Deployed although the held-out set is too small to trust the comparison. */
  provisional?: boolean;
  reason: string;
  gate?: GateReport;
}

/** Objects go to the held-out set by a hash of their id: stable as labels accumulate. */
function heldOut(objectId: string, fraction: number): boolean {
  const h = createHash('sha256').update(objectId).digest();
  return h.readUInt32BE(0) / 2 ** 32 < fraction;
}

interface LabelledRows {
  X: Matrix;
  y: Int32Array;
  holdout: Uint8Array;
  objects: string[];
  alertIds: Int32Array;
}

/** Every alert of every labelled object (an object's label is inherited by all its alerts). */
export function labelledRows(store: Store, def: ModuleDefinition, holdoutFraction: number): LabelledRows {
  const labels = store.trainingLabels(def.name);
  // the labelled objects' rows only: a retrain reads what it learns from, not the pool
  const t = store.featureTable(def.extractor().spec, { objects: labels.keys() });
  const keep: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < t.alertIds.length; i++) {
    const l = labels.get(t.objectIds[i]);
    if (l === undefined) continue;
    // the module is defined on the alerts its cuts pass: it neither learns from nor scores the others
    if (t.passesCuts[i] !== 1) continue;
    const c = def.labelToClass(l);
    if (c === null) continue;
    keep.push(i);
    y.push(c);
  }
  const d = t.cols;
  const data = new Float32Array(keep.length * d);
  keep.forEach((i, k) => {
    for (let j = 0; j < d; j++) data[k * d + j] = t.values[i * d + j];
  });
  const objects = keep.map((i) => t.objectIds[i]);
  return {
    X: { data, rows: keep.length, cols: d },
    y: Int32Array.from(y),
    holdout: Uint8Array.from(objects, (o) => (heldOut(o, holdoutFraction) ? 1 : 0)),
    objects,
    alertIds: Int32Array.from(keep, (i) => t.alertIds[i]),
  };
}

function subset(r: LabelledRows, want: 0 | 1): { X: Matrix; y: Int32Array } {
  const idx: number[] = [];
  for (let i = 0; i < r.y.length; i++) if (r.holdout[i] === want) idx.push(i);
  const d = r.X.cols;
  const data = new Float32Array(idx.length * d);
  idx.forEach((i, k) => data.set(r.X.data.subarray(i * d, i * d + d), k * d));
  return { X: { data, rows: idx.length, cols: d }, y: Int32Array.from(idx, (i) => r.y[i]) };
}

/**
 * Held-out metrics of a forest. Two classes: the positive class (index 1) against the rest at `threshold`:
 * accuracy, efficiency, purity, F1, FoM, AUC and the confusion counts. K classes: accuracy, macro F1 and the
 * K x K confusion matrix as cm_<true>_<predicted>.
 */
export function evaluateClassifier(model: RandomForestClassifier, X: Matrix, y: Int32Array, threshold = 0.5, nClasses = model.nClasses): Record<string, number> {
  if (X.rows === 0) return {};
  const p = model.predictProba(X);
  const C = model.nClasses;
  if (nClasses > 2) {
    const cm = confusionMatrix(y, model.predict(X), nClasses);
    const out: Record<string, number> = { n: X.rows };
    let correct = 0;
    let f1Sum = 0;
    for (let a = 0; a < nClasses; a++) {
      correct += cm[a][a];
      const tp = cm[a][a];
      const fn = cm[a].reduce((s, v) => s + v, 0) - tp;
      const fp = cm.reduce((s, row) => s + row[a], 0) - tp;
      f1Sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
      for (let b = 0; b < nClasses; b++) out[`cm_${a}_${b}`] = cm[a][b];
    }
    return { accuracy: correct / X.rows, f1: f1Sum / nClasses, ...out };
  }
  const score = Float64Array.from({ length: X.rows }, (_, i) => (C > 1 ? p[i * C + 1] : 0));
  const pred = Int32Array.from(score, (s) => (s >= threshold ? 1 : 0));
  const r = binaryReport(y, pred);
  const auc = rocAuc(y, score);
  const { tp, fp, tn, fn } = r.counts;
  return { accuracy: r.accuracy, efficiency: r.efficiency, purity: r.purity, f1: r.f1, fom: r.fom, ...(Number.isNaN(auc) ? {} : { auc }), n: X.rows, tp, fp, tn, fn };
}

/** The declaration's random-forest parameters. */
export function forestParams(def: ModuleDefinition, o: TrainOptions): Partial<RandomForestParams> {
  const m = def.model;
  return {
    nEstimators: o.nEstimators ?? m.trees ?? 100, seed: o.seed ?? 0, oobScore: true,
    classWeight: (m.classWeight ?? 'balanced') === 'balanced' ? 'balanced' : null,
    ...(m.maxDepth ? { maxDepth: m.maxDepth } : {}), ...(m.minSamplesLeaf ? { minSamplesLeaf: m.minSamplesLeaf } : {}),
    ...(m.maxFeatures ? { maxFeatures: m.maxFeatures === 'all' ? 1 : m.maxFeatures } : {}),
  };
}

/**
 * Retrains a classifier module from the store's labels: random forest on the training objects, evaluated
 * with the deployed model on the same held-out objects, saved as the next version, and deployed when the
 * promotion gate says so. Every write happens in one transaction at the end, so a crash part-way leaves the
 * registry and the deployed model as they were.
 */
export function retrainClassifier(store: Store, moduleName: string, o: TrainOptions = {}): TrainResult {
  const def = moduleOf(store, moduleName);
  if (def.kind !== 'classifier') throw new Error(`${moduleName} is an anomaly module: it updates on every label`);
  computeFeatures(store, def.extractor());
  const rows = labelledRows(store, def, o.holdoutFraction ?? 0.25);
  const train = subset(rows, 0);
  const test = subset(rows, 1);
  const classes = new Set(train.y);
  const K = def.classNames.length;
  if (train.X.rows < 2 || classes.size < 2) throw new Error(`${moduleName}: need labelled training examples of at least two classes (have ${train.X.rows} rows, ${classes.size} class(es))`);
  const threshold = def.broker.threshold ?? 0.5;
  const rf = new RandomForestClassifier(forestParams(def, o)).fit(train.X, train.y, K);
  const metrics = evaluateClassifier(rf, test.X, test.y, threshold, K);
  const gateMetric = o.gateMetric ?? def.gate.metric;
  const testObjects = rows.objects.filter((_, i) => rows.holdout[i] === 1);
  // two classes: the gate compares the positive class's probability; K classes: whether each row is right
  const gateScore = (m: RandomForestClassifier) => {
    if (K > 2) {
      const pred = m.predict(test.X);
      return Float64Array.from(pred, (c, i) => (c === test.y[i] ? 1 : 0));
    }
    const p = m.predictProba(test.X);
    return Float64Array.from({ length: test.X.rows }, (_, i) => p[i * m.nClasses + 1]);
  };
  const gateTruth = K > 2 ? new Int32Array(test.y.length).fill(1) : test.y;
  const challengerScore = gateScore(rf);
  const actor = o.actor ?? 'retrain';
  // The version number, the champion and the decision are read inside the writing transaction (IMMEDIATE:
  // it holds the write lock), so two retrains of one module, in two processes or threads, never pick the
  // same number or compare with a champion that changed meanwhile.
  const result = store.db.transaction((): TrainResult => {
    const deployed = store.deployedVersion(moduleName);
    let champion: { version: number; score: Float64Array; provisional: boolean } | null = null;
    let deployedMetrics: Record<string, number> | null = null;
    const specHash = featureSpecHash(def.extractor().spec);
    if (deployed !== null) {
      const old = modelFromBundle(store.getBundle(moduleName, deployed));
      // a version of another feature space (an earlier revision's features or cuts) is no comparable champion
      if (old instanceof RandomForestClassifier && old.nFeatures === train.X.cols && store.getModel(moduleName, deployed).featureSpecHash === specHash) {
        deployedMetrics = evaluateClassifier(old, test.X, test.y, threshold, K);
        champion = { version: deployed, score: gateScore(old), provisional: store.getModel(moduleName, deployed).provisional };
      }
    }
    const gate = promotionGate({
      metric: K > 2 ? 'accuracy' : gateMetric, truth: gateTruth, classOfRow: test.y, objects: testObjects, classNames: def.classNames, challengerScore, champion,
      seed: o.seed ?? 0, threshold: K > 2 ? 0.5 : threshold,
      tolerance: o.tolerance ?? def.gate.tolerance, minPerClass: o.minHeldOutPerClass ?? def.gate.minHeldOutPerClass,
    });
    // the deployed version belongs to another revision's feature space: the first version of this one is deployed
    if (deployed !== null && !champion) gate.reason = `first version of this feature space (deployed v${deployed} is of another revision): ${gate.reason}`;
    const version = store.nextVersion(moduleName);
    const bundle: ModelBundle = createBundle({
      module: moduleName, version: String(version), model: rf, featureSpec: def.extractor().spec, classNames: def.classNames,
      training: { X: train.X, y: train.y }, metrics, parentVersion: deployed === null ? null : String(deployed), declaration: def.declaration,
      decisionThreshold: threshold,
    });
    const promoted = gate.decision !== 'keep' && (o.autoDeploy ?? true);
    store.saveModel(bundle, rows.y.length, actor, gate);
    if (promoted) store.deploy(moduleName, version, actor, `automatic: ${gate.reason}`);
    return { module: moduleName, version, nLabels: rows.y.length, metrics, deployedMetrics, promoted, provisional: gate.decision === 'deploy-provisional', reason: gate.reason, gate };
  })();
  // a deployed version ranks the pool once, here (in the retrain's thread): the first queue reads it
  if (result.promoted && def.queueStrategy !== 'random') poolRanking(store, def, result.version, def.queueStrategy);
  return result;
}

export { anomalyInputs, bandInputs, isFinkZtfAnomaly } from './bandInputs.ts';

/** Alerts with every feature of a band finite that a band's first forest needs (fewer: the band is left out). */
const MIN_ROWS_PER_BAND_FOREST = 16;

/** Objects with a training label (anomalous or nominal): an anomaly module's label count (versions, learning curve). */
export function anomalyLabelCount(store: Store, def: ModuleDefinition): number {
  let n = 0;
  for (const l of store.trainingLabels(def.name).values()) if (def.labelToClass(l) !== null) n++;
  return n;
}

/** Whether a label of an anomaly module says "anomalous" (its positive class), "nominal", or neither (null). */
export function anomalyVerdict(def: ModuleDefinition, label: string): boolean | null {
  const c = def.labelToClass(label);
  return c === null ? null : c === def.positiveClass;
}

/**
 * The anomaly module: two AAD forests on the stored anomaly features, re-weighted from every
 * anomaly/nominal label given so far, saved as the next version and deployed (AAD has no held-out gate:
 * each label is meant to move the ranking at once).
 */
export function updateAnomalyModule(store: Store, moduleName: string, o: TrainOptions = {}): TrainResult {
  const def = moduleOf(store, moduleName);
  if (def.kind !== 'anomaly') throw new Error(`${moduleName} is a classifier module: retrain it`);
  computeFeatures(store, def.extractor());
  const deployed = store.deployedVersion(moduleName);
  let model: PerBandAADModel | null = deployed === null ? null : modelFromBundle(store.getBundle(moduleName, deployed)) as unknown as PerBandAADModel;
  const pb = def.perBand!;
  const bands = model ? model.bands : isFinkZtfAnomaly(def) ? ['g', 'r'] : pb.bands;
  const F = isFinkZtfAnomaly(def) ? ANOMALY_FEATURE_NAMES.length : pb.featuresPerBand;
  // the pool read in blocks into what the forests read (float32 per band), never as one float64 table
  const spec = def.extractor().spec;
  const n = store.poolCounts(spec, def.survey).passing;
  const inputs = bands.map(() => new Float32Array(n * F));
  const objectIds: string[] = new Array(n);
  const alertIds = new Int32Array(n);
  let row = 0;
  for (const t of store.featureBlocks(spec)) {
    const m = t.alertIds.length;
    if (row + m > n) throw new Error(`${moduleName}: the pool grew while it was read`);
    bandInputs(def, t.values, m, bands).forEach((x, b) => inputs[b].set(x, row * F));
    alertIds.set(t.alertIds, row);
    for (let i = 0; i < m; i++) objectIds[row + i] = t.objectIds[i];
    row += m;
  }
  if (!model) {
    const fit = (input: Float32Array, seed: number, minRows: number) => {
      const idx: number[] = [];
      for (let i = 0; i < n; i++) if (input.subarray(i * F, i * F + F).every(Number.isFinite)) idx.push(i);
      if (idx.length < minRows) return { forest: null, rows: idx.length };
      const data = new Float32Array(idx.length * F);
      idx.forEach((i, k) => data.set(input.subarray(i * F, i * F + F), k * F));
      const forest = new AADForest({ seed, nEstimators: o.nEstimators ?? def.model.trees ?? 150, ...(def.model.maxSamples ? { maxSamples: def.model.maxSamples } : {}) })
        .fit({ data, rows: idx.length, cols: F });
      return { forest, rows: idx.length };
    };
    const seed0 = (o.seed ?? 0) * bands.length;
    if (isFinkZtfAnomaly(def)) {
      const g = fit(inputs[0], seed0 + 1, 4);
      const r = fit(inputs[1], seed0 + 2, 4);
      if (!g.forest || !r.forest) throw new Error(`${moduleName}: only ${g.forest ? r.rows : g.rows} alerts with complete features in a band`);
      model = new TwoBandAADModel(g.forest, r.forest);
    } else {
      const fitted = bands.map((band, b) => ({ band, ...fit(inputs[b], seed0 + b + 1, MIN_ROWS_PER_BAND_FOREST) }));
      const kept = fitted.filter((x) => x.forest !== null);
      if (!kept.length) throw new Error(`${moduleName}: no band has ${MIN_ROWS_PER_BAND_FOREST} alerts with complete features (${fitted.map((x) => `${x.band} ${x.rows}`).join(', ')})`);
      model = new BandAADModel(kept.map((x) => x.band), kept.map((x) => x.forest!));
      const keptInputs = kept.map((x) => inputs[bands.indexOf(x.band)]);
      inputs.length = 0;
      inputs.push(...keptInputs);
    }
  }
  model.resetWeights();
  const labels = store.trainingLabels(moduleName);
  const scores = model.scoreBands(inputs, n);
  // leaves of the labelled rows only: the pool's are not needed for the update (a million rows x 150 trees
  // x bands would not fit in memory)
  const labelled: Array<{ leaves: Array<Int32Array | null>; anomaly: boolean }> = [];
  for (let i = 0; i < n; i++) {
    const l = labels.get(objectIds[i]);
    const verdict = l === undefined ? null : anomalyVerdict(def, l);
    if (verdict === null) continue;
    labelled.push({
      leaves: model!.forests.map((f, b) => (scores.valid[b][i] ? f.leafIndices({ data: inputs[b].subarray(i * F, i * F + F), rows: 1, cols: F }) : null)),
      anomaly: verdict,
    });
  }
  const pool = (s: Float64Array, v: Uint8Array) => Array.from(s).filter((_, i) => v[i]);
  if (labelled.length) model.updateBands(labelled, scores.scores.map((s, b) => pool(s, scores.valid[b])));
  const Xg = { data: inputs[0], rows: n, cols: F };
  const actor = o.actor ?? 'aad-update';
  // the version is chosen inside the writing transaction: concurrent updates never collide on a number
  const nLabels = anomalyLabelCount(store, def);
  const version = store.db.transaction(() => {
    const v = store.nextVersion(moduleName);
    const bundle = createBundle({
      module: moduleName, version: String(v), model: model as TwoBandAADModel | BandAADModel, featureSpec: def.extractor().spec, classNames: def.classNames, decisionThreshold: 0,
      training: { X: Xg }, metrics: { labels: nLabels }, parentVersion: deployed === null ? null : String(deployed), declaration: def.declaration,
    });
    store.saveModel(bundle, nLabels, actor);
    store.deploy(moduleName, v, actor, `AAD update from ${nLabels} labelled object(s)`);
    return v;
  })();
  // the deployed version's ranking of the pool, from the inputs in hand: the first queue reads it
  const final = model.scoreBands(inputs, n).final;
  saveRanking(store, def, version, 'aad', rankRows(alertIds, objectIds, final.map((x) => -x), final));
  return { module: moduleName, version, nLabels, metrics: { labels: nLabels }, deployedMetrics: null, promoted: true, reason: 'AAD update' };
}
