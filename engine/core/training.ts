import { createHash } from 'node:crypto';
import { ANOMALY_FEATURE_NAMES } from '../../features/index.ts';
import {
  AADForest, BandAADModel, MLPClassifier, Random, RandomForestClassifier, TwoBandAADModel, type PerBandAADModel, binaryReport, confusionMatrix, createBundle, isClassifierModel,
  modelFromBundle, reliabilityCurve, rocAuc, FINK_FOREST_INPUT_BAND, type ClassifierModel, type Matrix, type MLPParams, type ModelBundle, type RandomForestParams,
} from '../../models/index.ts';
import { featureSpecHash } from '../../features/index.ts';
import { moduleOf, type ModuleDefinition } from './modules/index.ts';
import { promotionGate, type GateReport } from './gate.ts';
import { poolRanking, rankRows, saveRanking } from './ranking.ts';
import { MC_STRATEGIES } from './strategies.ts';
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
  /** The decision in one short line. */
  summary?: string;
  gate?: GateReport;
}

/** Share of the labelled objects the promotion gate holds out (by a hash of the objectId). */
export const DEFAULT_HOLDOUT_FRACTION = 0.25;

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

function subset(r: LabelledRows, want: 0 | 1): { X: Matrix; y: Int32Array; objects: string[] } {
  const idx: number[] = [];
  for (let i = 0; i < r.y.length; i++) if (r.holdout[i] === want) idx.push(i);
  const d = r.X.cols;
  const data = new Float32Array(idx.length * d);
  idx.forEach((i, k) => data.set(r.X.data.subarray(i * d, i * d + d), k * d));
  return { X: { data, rows: idx.length, cols: d }, y: Int32Array.from(idx, (i) => r.y[i]), objects: idx.map((i) => r.objects[i]) };
}

/** A network that refuses missing features learns from, and is judged on, complete rows only. */
function refusesMissing(def: ModuleDefinition): boolean {
  return def.model.type === 'mlp' && def.model.missing === 'refuse';
}

function completeRows(r: LabelledRows): LabelledRows {
  const d = r.X.cols;
  const keep: number[] = [];
  for (let i = 0; i < r.y.length; i++) if (r.X.data.subarray(i * d, i * d + d).every(Number.isFinite)) keep.push(i);
  const data = new Float32Array(keep.length * d);
  keep.forEach((i, k) => data.set(r.X.data.subarray(i * d, i * d + d), k * d));
  return {
    X: { data, rows: keep.length, cols: d }, y: Int32Array.from(keep, (i) => r.y[i]), holdout: Uint8Array.from(keep, (i) => r.holdout[i]),
    objects: keep.map((i) => r.objects[i]), alertIds: Int32Array.from(keep, (i) => r.alertIds[i]),
  };
}

/**
 * Why a classifier cannot train yet, in terms of what the expert did: labelled objects per class, how many of
 * them have an alert that passes the cuts, how many of those the held-out quarter takes, and what to do.
 */
function notEnoughRows(store: Store, def: ModuleDefinition, rows: LabelledRows, train: { X: Matrix; y: Int32Array }, refused: number): string {
  const labels = store.trainingLabels(def.name);
  const perClass = new Map<string, number>(def.classNames.map((c) => [c, 0]));
  for (const l of labels.values()) {
    const c = def.labelToClass(l);
    if (c !== null) perClass.set(def.classNames[c], (perClass.get(def.classNames[c]) ?? 0) + 1);
  }
  const labelled = [...perClass.values()].reduce((a, b) => a + b, 0);
  const passing = new Set(rows.objects).size;
  const trainObjects = new Set(rows.objects.filter((_, i) => !rows.holdout[i])).size;
  const trainClasses = def.classNames.filter((_, c) => train.y.includes(c));
  return `${def.name}: cannot train yet: a ${def.model.type === 'mlp' ? 'network' : 'forest'} needs training rows of at least two classes, and it has ${train.X.rows} (${trainClasses.join(', ') || 'no class'}). `
    + `Labelled objects: ${labelled} (${[...perClass].map(([c, n]) => `${c} ${n}`).join(', ')}); with an alert that passes the cuts: ${passing}, `
    + `${passing - trainObjects} of them in the held-out quarter kept for the promotion gate. `
    + (refused ? `${refused} labelled rows with a missing feature are refused (the network's missing: refuse). ` : '')
    + `Label more alerts of each class from 'sieve queue ${def.name}' (they pass the cuts)`;
}

/**
 * Held-out metrics of a classifier (forest or network). Two classes: the positive class (index 1) against the rest at `threshold`:
 * accuracy, efficiency, purity, F1, FoM, AUC and the confusion counts. K classes: accuracy, macro F1 and the
 * K x K confusion matrix as cm_<true>_<predicted>.
 */
export function evaluateClassifier(model: ClassifierModel, X: Matrix, y: Int32Array, threshold = 0.5, nClasses = model.nClasses): Record<string, number> {
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

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** The declaration's network parameters (MLPClassifier's defaults for what it leaves out). */
export function mlpParams(def: ModuleDefinition, o: TrainOptions): Partial<MLPParams> {
  const m = def.model;
  return {
    seed: o.seed ?? 0, classWeight: (m.classWeight ?? 'balanced') === 'balanced' ? 'balanced' : null,
    ...defined({
      hiddenUnits: m.hidden, dropout: m.dropout, epochs: m.epochs, patience: m.patience, validationFraction: m.validationFraction, batchSize: m.batchSize,
      learningRate: m.learningRate, mcSamples: m.mcSamples, missing: m.missing, scaling: m.scaling,
    }),
  };
}

/** The declared model fitted to training rows; `objects` groups a network's validation split by object. */
export async function fitClassifier(
  def: ModuleDefinition, train: { X: Matrix; y: Int32Array; objects: readonly string[] }, o: TrainOptions, forest: Partial<RandomForestParams> = {},
): Promise<ClassifierModel> {
  const K = def.classNames.length;
  if (def.model.type === 'mlp') return new MLPClassifier(mlpParams(def, o)).fit(train.X, train.y, K, { groups: train.objects });
  return new RandomForestClassifier({ ...forestParams(def, o), ...forest }).fit(train.X, train.y, K);
}

/** Folds of the gate's cross-validated estimate (by object). */
export const GATE_CV_FOLDS = 5;

/**
 * Out-of-fold class probabilities (rows x K) of the declared model over its training rows: objects are dealt
 * into `folds` folds (seeded), and each fold is predicted by a model trained on the other folds (`fit`, given
 * the fold's seed offset), so that no alert is predicted by a model that saw its object.
 */
export async function outOfFoldProbabilities(
  X: Matrix, y: Int32Array, objects: readonly string[], K: number, folds: number, seed: number,
  fit: (train: { X: Matrix; y: Int32Array; objects: readonly string[] }, fold: number) => Promise<ClassifierModel>,
): Promise<Float64Array> {
  const unique = [...new Set(objects)];
  const rng = new Random(seed);
  for (let i = unique.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [unique[i], unique[j]] = [unique[j], unique[i]];
  }
  const foldOf = new Map(unique.map((o, i) => [o, i % folds]));
  const out = new Float64Array(X.rows * K);
  const d = X.cols;
  for (let f = 0; f < Math.min(folds, unique.length); f++) {
    const tr: number[] = [];
    const te: number[] = [];
    for (let i = 0; i < X.rows; i++) (foldOf.get(objects[i]) === f ? te : tr).push(i);
    if (!te.length) continue;
    const pick = (idx: number[]): Matrix => {
      const data = new Float32Array(idx.length * d);
      idx.forEach((i, k) => data.set(X.data.subarray(i * d, i * d + d), k * d));
      return { data, rows: idx.length, cols: d };
    };
    if (!tr.length) {
      // a single object: nothing to learn it from but the prior
      for (const i of te) out.fill(1 / K, i * K, i * K + K);
      continue;
    }
    const model = await fit({ X: pick(tr), y: Int32Array.from(tr, (i) => y[i]), objects: tr.map((i) => objects[i]) }, f);
    const p = model.predictProba(pick(te));
    te.forEach((i, k) => out.set(p.subarray(k * K, k * K + K), i * K));
  }
  return out;
}

/**
 * Each row's gate score from class probabilities: P(positive) for two classes, 1 when right for K classes;
 * and (K classes) how many rows are predicted in the positive class.
 */
function gateScores(p: ArrayLike<number>, y: Int32Array, K: number, positiveClass: number): { score: Float64Array; predictedPositive: number } {
  const n = y.length;
  const score = new Float64Array(n);
  let predictedPositive = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < K; c++) if (p[i * K + c] > p[i * K + best]) best = c;
    score[i] = K > 2 ? (best === y[i] ? 1 : 0) : p[i * K + 1];
    if (K > 2 && best === positiveClass) predictedPositive++;
  }
  return { score, predictedPositive };
}

/**
 * Retrains a classifier module from the store's labels: the declared model on the training objects, evaluated
 * with the deployed model on the same held-out objects, saved as the next version, and deployed when the
 * promotion gate says so (never when it is degenerate). While the held-out set has too few objects of a
 * class, the gate's estimate is cross-validated over every labelled object. Every write happens in one
 * transaction at the end, so a crash part-way leaves the registry and the deployed model as they were.
 */
export async function retrainClassifier(store: Store, moduleName: string, o: TrainOptions = {}): Promise<TrainResult> {
  const def = moduleOf(store, moduleName);
  if (def.kind !== 'classifier') throw new Error(`${moduleName} is an anomaly module: it updates on every label`);
  computeFeatures(store, def.extractor());
  const all = labelledRows(store, def, o.holdoutFraction ?? DEFAULT_HOLDOUT_FRACTION);
  const rows = refusesMissing(def) ? completeRows(all) : all;
  const train = subset(rows, 0);
  const test = subset(rows, 1);
  const classes = new Set(train.y);
  const K = def.classNames.length;
  if (train.X.rows < 2 || classes.size < 2) throw new Error(notEnoughRows(store, def, rows, train, all.y.length - rows.y.length));
  const threshold = def.broker.threshold ?? 0.5;
  const model = await fitClassifier(def, train, o);
  const metrics = evaluateClassifier(model, test.X, test.y, threshold, K);
  const gateMetric = o.gateMetric ?? def.gate.metric;
  const minPerClass = o.minHeldOutPerClass ?? def.gate.minHeldOutPerClass;
  const testObjects = rows.objects.filter((_, i) => rows.holdout[i] === 1);
  const trainObjects = rows.objects.filter((_, i) => rows.holdout[i] === 0);
  // two classes: the gate compares the positive class's probability; K classes: whether each row is right
  const gateTruth = (y: Int32Array) => (K > 2 ? new Int32Array(y.length).fill(1) : y);
  const held = gateScores(model.predictProba(test.X), test.y, K, def.positiveClass);
  // too few held-out objects of a class to measure on: every labelled object out of sample instead
  const heldPerClass = new Array<Set<string>>(K).fill(null as never).map(() => new Set<string>());
  test.y.forEach((c, i) => heldPerClass[c].add(testObjects[i]));
  const needCv = heldPerClass.some((objs) => objs.size < minPerClass);
  // each fold's model as declared, seeded apart from the version's own (a forest without its out-of-bag pass)
  const foldSeed = (f: number) => (o.seed ?? 0) * GATE_CV_FOLDS + f + 1;
  const oof = needCv
    ? await outOfFoldProbabilities(train.X, train.y, trainObjects, K, GATE_CV_FOLDS, o.seed ?? 0, (fold, f) => fitClassifier(def, fold, { ...o, seed: foldSeed(f) }, { oobScore: false }))
    : null;
  const pooledY = Int32Array.from([...train.y, ...test.y]);
  const pooledObjects = [...trainObjects, ...testObjects];
  const pooled = oof ? gateScores(Float64Array.from([...oof, ...model.predictProba(test.X)]), pooledY, K, def.positiveClass) : null;
  const actor = o.actor ?? 'retrain';
  // The version number, the champion and the decision are read inside the writing transaction (IMMEDIATE:
  // it holds the write lock), so two retrains of one module, in two processes or threads, never pick the
  // same number or compare with a champion that changed meanwhile.
  const result = store.db.transaction((): TrainResult => {
    const deployed = store.deployedVersion(moduleName);
    let champion: { version: number; score: Float64Array; provisional: boolean } | null = null;
    let championPooled: Float64Array | undefined;
    let deployedMetrics: Record<string, number> | null = null;
    const specHash = featureSpecHash(def.extractor().spec);
    if (deployed !== null) {
      const old = modelFromBundle(store.getBundle(moduleName, deployed));
      const row = store.getModel(moduleName, deployed);
      // a version of another feature space (an earlier revision's features or cuts) is no comparable champion
      // a forest and a network of the same feature space are compared like two forests
      if (isClassifierModel(old) && old.nFeatures === train.X.cols && row.featureSpecHash === specHash) {
        deployedMetrics = evaluateClassifier(old, test.X, test.y, threshold, K);
        champion = { version: deployed, score: gateScores(old.predictProba(test.X), test.y, K, def.positiveClass).score, provisional: row.provisional };
        if (pooled) {
          // the champion is compared where it has never seen the object: held-out objects, and objects first
          // labelled after it was trained
          const firstLabelled = new Map((store.db.prepare('SELECT object_id, MIN(created_at) AS t FROM labels WHERE module = ? GROUP BY object_id').all(moduleName) as Array<{ object_id: string; t: string }>).map((r) => [r.object_id, r.t]));
          const all = gateScores(old.predictProba({ data: Float32Array.from([...train.X.data, ...test.X.data]), rows: pooledY.length, cols: train.X.cols }), pooledY, K, def.positiveClass).score;
          championPooled = Float64Array.from(all, (v, i) => (i >= train.y.length || (firstLabelled.get(pooledObjects[i]) ?? '') > row.createdAt ? v : NaN));
        }
      }
    }
    const gate = promotionGate({
      metric: K > 2 ? 'accuracy' : gateMetric, truth: gateTruth(test.y), classOfRow: test.y, objects: testObjects, classNames: def.classNames,
      positiveClass: def.classNames[def.positiveClass], challengerScore: held.score, ...(K > 2 ? { predictedPositive: held.predictedPositive } : {}), champion,
      ...(pooled ? {
        crossValidated: {
          truth: gateTruth(pooledY), classOfRow: pooledY, objects: pooledObjects, challengerScore: pooled.score, folds: GATE_CV_FOLDS,
          ...(K > 2 ? { predictedPositive: pooled.predictedPositive } : {}), ...(championPooled ? { championScore: championPooled } : {}),
        },
      } : {}),
      seed: o.seed ?? 0, threshold: K > 2 ? 0.5 : threshold,
      tolerance: o.tolerance ?? def.gate.tolerance, minPerClass,
    });
    // the deployed version belongs to another revision's feature space: the first version of this one is deployed
    if (deployed !== null && !champion && gate.decision !== 'keep') gate.reason = `first version of this feature space (deployed v${deployed} is of another revision): ${gate.reason}`;
    const version = store.nextVersion(moduleName);
    const bundle: ModelBundle = createBundle({
      module: moduleName, version: String(version), model, featureSpec: def.extractor().spec, classNames: def.classNames,
      training: { X: train.X, y: train.y }, metrics, parentVersion: deployed === null ? null : String(deployed), declaration: def.declaration,
      decisionThreshold: threshold,
    });
    const promoted = gate.decision !== 'keep' && (o.autoDeploy ?? true);
    store.saveModel(bundle, rows.y.length, actor, gate);
    if (promoted) store.deploy(moduleName, version, actor, `automatic: ${gate.summary ?? gate.reason}`);
    return { module: moduleName, version, nLabels: rows.y.length, metrics, deployedMetrics, promoted, provisional: gate.decision === 'deploy-provisional', reason: gate.reason, summary: gate.summary ?? gate.reason, gate };
  })();
  // a deployed forest ranks the pool once, here (in the retrain's thread): the first queue reads it (a
  // network's queue runs its dropout passes over the eligible rows at each call)
  if (result.promoted && def.model.type !== 'mlp' && def.queueStrategy !== 'random' && !MC_STRATEGIES.has(def.queueStrategy)) poolRanking(store, def, result.version, def.queueStrategy);
  return result;
}

/**
 * How well a classifier version's probabilities are calibrated on the module's held-out objects (never trained
 * on by any version: the split is by objectId hash), with today's labels. Two classes: P(positive) against
 * being positive; K classes: the top class's probability against being right. Null when the version is not a
 * classifier of the module's current feature space or nothing is held out yet.
 */
export function heldOutCalibration(store: Store, moduleName: string, version: number, bins = 10): { what: string; rows: number; curve: ReturnType<typeof reliabilityCurve> } | null {
  const def = moduleOf(store, moduleName);
  if (def.kind !== 'classifier' || store.getModel(moduleName, version).featureSpecHash !== featureSpecHash(def.extractor().spec)) return null;
  const model = modelFromBundle(store.getBundle(moduleName, version));
  if (!isClassifierModel(model)) return null;
  const all = labelledRows(store, def, DEFAULT_HOLDOUT_FRACTION);
  const test = subset(refusesMissing(def) ? completeRows(all) : all, 1);
  if (!test.X.rows) return null;
  const p = model.predictProba(test.X);
  const C = model.nClasses;
  if (C === 2) {
    const pos = def.positiveClass;
    const curve = reliabilityCurve(Int32Array.from(test.y, (c) => (c === pos ? 1 : 0)), Float64Array.from({ length: test.X.rows }, (_, i) => p[i * C + pos]), bins);
    return { what: `P(${def.classNames[pos]})`, rows: test.X.rows, curve };
  }
  const pred = model.predict(test.X);
  const top = Float64Array.from(pred, (c, i) => p[i * C + c]);
  return { what: 'probability of the predicted class', rows: test.X.rows, curve: reliabilityCurve(Int32Array.from(pred, (c, i) => (c === test.y[i] ? 1 : 0)), top, bins) };
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
