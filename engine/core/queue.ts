import { RandomForestClassifier, modelFromBundle, Random, type PerBandAADModel } from '../../models/index.ts';
import { selectBatch, strategyScores, type StrategyName } from './strategies.ts';
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
  if (!(model instanceof RandomForestClassifier)) throw new Error(`${moduleName} v${deployed} is not a random forest`);
  const X = { data: Float32Array.from(t.values), rows: n, cols: t.cols };
  const proba = model.predictProba(X);
  const strategy = o.strategy ?? def.queueStrategy;
  const scores = strategyScores(strategy, {
    proba, nClasses: model.nClasses, n, seed: o.seed ?? 0, ...(strategy === 'committee' ? { votes: model.treeVotes(X) } : {}),
  });
  return selectBatch(scores, k, { exclude: (i) => !eligible(i), ...(o.minDistance ? { features: { values: t.values, cols: t.cols }, minDistance: o.minDistance } : {}) })
    .map((q) => ({
      alertId: t.alertIds[q.index], objectId: t.objectIds[q.index], score: q.score,
      reason: `${strategy} ${q.score.toFixed(4)}; p(${def.classNames[def.positiveClass]}) = ${proba[q.index * model.nClasses + def.positiveClass].toFixed(3)}`, modelVersion: deployed,
    }));
}

function randomQueue(t: { alertIds: Int32Array; objectIds: string[] }, eligible: (i: number) => boolean, k: number, seed: number, reason: string): QueueEntry[] {
  const rng = new Random(seed, 0x9e1);
  const scores = Float64Array.from(t.alertIds, () => rng.next());
  return selectBatch(scores, k, { exclude: (i) => !eligible(i) }).map((q) => ({ alertId: t.alertIds[q.index], objectId: t.objectIds[q.index], score: q.score, reason, modelVersion: null }));
}
