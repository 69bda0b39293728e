import { MLPClassifier, RandomForestClassifier, isClassifierModel, modelFromBundle, Random, type MCPrediction, type PerBandAADModel } from '../../models/index.ts';
import { MC_STRATEGIES, selectBatch, strategyScores, type StrategyName } from './strategies.ts';
import { moduleOf } from './modules/index.ts';
import type { Store } from './store/store.ts';
import { bandInputs } from './training.ts';

export interface QueueEntry {
  alertId: number;
  objectId: string;
  /** Why it was chosen: the strategy's score, and the model output it came from. */
  score: number;
  reason: string;
  modelVersion: number | null;
}

export interface QueueOptions {
  strategy?: StrategyName;
  k?: number;
  /** Objects this expert already labelled for the module are never offered again. */
  expert?: string;
  seed?: number;
  /** Batch diversity: minimum standardised distance between two alerts of one batch. */
  minDistance?: number;
}

/**
 * The next alerts to show an expert for a module. Classifier modules rank the eligible, unlabelled alerts
 * (one per object) by the strategy applied to the deployed model's probabilities (random until a model is
 * deployed); the anomaly module ranks by the deployed AAD score, most anomalous first.
 */
export function nextQueue(store: Store, moduleName: string, o: QueueOptions = {}): QueueEntry[] {
  const def = moduleOf(store, moduleName);
  const ex = def.extractor();
  store.computeFeatures(ex);
  const t = store.featureTable(ex.spec);
  const done = store.labelledObjects(moduleName, o.expert);
  const deployed = store.deployedVersion(moduleName);
  const n = t.alertIds.length;
  // one candidate per object: its latest alert
  const latest = new Map<string, number>();
  for (let i = 0; i < n; i++) latest.set(t.objectIds[i], i);
  const eligible = (i: number) => latest.get(t.objectIds[i]) === i && !done.has(t.objectIds[i]) && t.passesCuts[i] === 1;
  const k = o.k ?? 10;
  if (def.kind === 'anomaly') {
    if (deployed === null) return randomQueue(t, eligible, k, o.seed ?? 0, 'no anomaly model deployed yet: random');
    const model = modelFromBundle(store.getBundle(moduleName, deployed)) as unknown as PerBandAADModel;
    const s = model.scoreBands(bandInputs(def, t.values, n, model.bands), n);
    const minusScore = Float64Array.from(s.final, (v) => -v);
    return selectBatch(minusScore, k, { exclude: (i) => !eligible(i) }).map((q) => ({
      alertId: t.alertIds[q.index], objectId: t.objectIds[q.index], score: s.final[q.index],
      reason: `AAD score ${s.final[q.index].toFixed(5)} (lower = more anomalous)`, modelVersion: deployed,
    }));
  }
  if (deployed === null) return randomQueue(t, eligible, k, o.seed ?? 0, 'no model deployed yet: random');
  const model = modelFromBundle(store.getBundle(moduleName, deployed));
  if (!isClassifierModel(model)) throw new Error(`${moduleName} v${deployed} is not a classifier (random forest or mlp)`);
  let strategy = o.strategy ?? def.queueStrategy;
  let note = '';
  // a declaration that asks for BALD while a forest of the same feature space is still deployed (the network
  // has not passed the gate yet): the forest's uncertainty until then, and the reason says so
  if (MC_STRATEGIES.has(strategy) && !(model instanceof MLPClassifier)) {
    note = ` (${strategy} needs the network's dropout passes; v${deployed} is a random forest)`;
    strategy = 'uncertainty';
  }
  // a network scores the eligible alerts only: its Monte-Carlo passes are the expensive part of a ranking
  const rows = model instanceof MLPClassifier ? Int32Array.from({ length: n }, (_, i) => i).filter(eligible) : Int32Array.from({ length: n }, (_, i) => i);
  const d = t.cols;
  const values = rows.length === n ? t.values : Float64Array.from({ length: rows.length * d }, (_, k) => t.values[rows[Math.floor(k / d)] * d + (k % d)]);
  const X = { data: Float32Array.from(values), rows: rows.length, cols: d };
  const proba = model.predictProba(X);
  const C = model.nClasses;
  const mc: MCPrediction | null = model instanceof MLPClassifier && (MC_STRATEGIES.has(strategy) || strategy === 'committee') ? model.predictProbaMC(X) : null;
  const scores = strategyScores(strategy, {
    proba, nClasses: C, n: rows.length, seed: o.seed ?? 0, ...(mc ? { mc, votes: mc.votes } : strategy === 'committee' ? { votes: (model as RandomForestClassifier).treeVotes(X) } : {}),
  });
  const pos = def.positiveClass;
  const positive = def.classNames[pos];
  const why = (i: number, score: number) => mc
    ? `${strategy} ${score.toFixed(4)}; p(${positive}) = ${mc.mean[i * C + pos].toFixed(3)} ± ${mc.std[i * C + pos].toFixed(3)} over ${mc.samples} dropout passes`
    : `${strategy} ${score.toFixed(4)}; p(${positive}) = ${proba[i * C + pos].toFixed(3)}${note}`;
  return selectBatch(scores, k, { exclude: (i) => !eligible(rows[i]), ...(o.minDistance ? { features: { values, cols: d }, minDistance: o.minDistance } : {}) })
    .map((q) => ({ alertId: t.alertIds[rows[q.index]], objectId: t.objectIds[rows[q.index]], score: q.score, reason: why(q.index, q.score), modelVersion: deployed }));
}

function randomQueue(t: { alertIds: Int32Array; objectIds: string[] }, eligible: (i: number) => boolean, k: number, seed: number, reason: string): QueueEntry[] {
  const rng = new Random(seed, 0x9e1);
  const scores = Float64Array.from(t.alertIds, () => rng.next());
  return selectBatch(scores, k, { exclude: (i) => !eligible(i) }).map((q) => ({ alertId: t.alertIds[q.index], objectId: t.objectIds[q.index], score: q.score, reason, modelVersion: null }));
}
