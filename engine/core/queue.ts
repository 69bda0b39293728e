import { MLPClassifier, RandomForestClassifier, modelFromBundle, Random } from '../../models/index.ts';
import { MC_STRATEGIES, selectBatch, strategyScores, type StrategyName } from './strategies.ts';
import { moduleOf, type ModuleDefinition } from './modules/index.ts';
import { poolRanking, rankedEntries, type QueueEntry, type RankingKind } from './ranking.ts';

export type { QueueEntry };
import type { Store } from './store/store.ts';
import { computeFeatures } from './features/pipeline.ts';


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
 * deployed); the anomaly module ranks by the deployed AAD score, most anomalous first. The ranking of a
 * deployed version is kept in the store and extended as alerts arrive (ranking.ts): a call reads k entries.
 */
export function nextQueue(store: Store, moduleName: string, o: QueueOptions = {}): QueueEntry[] {
  const def = moduleOf(store, moduleName);
  const ex = def.extractor();
  computeFeatures(store, ex);
  const done = store.labelledObjects(moduleName, o.expert);
  const deployed = store.deployedVersion(moduleName);
  const k = o.k ?? 10;
  if (deployed === null) return randomQueue(store, def, done, k, o.seed ?? 0, `no ${def.kind === 'anomaly' ? 'anomaly ' : ''}model deployed yet: random`);
  if (def.kind === 'anomaly') return rankedQueue(store, def, deployed, 'aad', k, (obj) => done.has(obj));
  let strategy = o.strategy ?? def.queueStrategy;
  const network = store.getModel(moduleName, deployed).modelType === 'mlp';
  let note = '';
  // a declaration that asks for BALD while a forest of the same feature space is still deployed (the network
  // has not passed the gate yet): the forest's uncertainty until then, and the reason says so
  if (MC_STRATEGIES.has(strategy) && !network) {
    note = ` (${strategy} needs the network's dropout passes; v${deployed} is a random forest)`;
    strategy = 'uncertainty';
  }
  // a network's Monte-Carlo passes over the eligible pool rows at each call (its rankings are not kept)
  if (network) return networkQueue(store, def, deployed, strategy, done, k, o.seed ?? 0, o.minDistance);
  // random draws over the current pool, and batch diversity compares candidates' features: the pool is read
  if (strategy === 'random' || o.minDistance) return wholePoolQueue(store, def, deployed, strategy, done, k, o.seed ?? 0, o.minDistance, note);
  return rankedQueue(store, def, deployed, strategy as RankingKind, k, (obj) => done.has(obj), note);
}

/** The first k entries of a deployed version's stored ranking whose objects `skip` does not leave out. */
export function rankedQueue(store: Store, def: ModuleDefinition, deployed: number, kind: RankingKind, k: number, skip: (objectId: string) => boolean, note = ''): QueueEntry[] {
  const r = poolRanking(store, def, deployed, kind);
  if (kind === 'aad') {
    return rankedEntries(store, r, k, skip, deployed, (i) => `AAD score ${r.shown[i].toFixed(5)} (lower = more anomalous)`).map((e) => ({ ...e, score: -e.score }));
  }
  return rankedEntries(store, r, k, skip, deployed, (i) => `${kind} ${r.score[i].toFixed(4)}; p(${def.classNames[def.positiveClass]}) = ${r.shown[i].toFixed(3)}${note}`);
}

function wholePoolQueue(store: Store, def: ModuleDefinition, deployed: number, strategy: StrategyName, done: Set<string>, k: number, seed: number, minDistance?: number, note = ''): QueueEntry[] {
  const t = store.featureTable(def.extractor().spec);
  const n = t.alertIds.length;
  const model = modelFromBundle(store.getBundle(def.name, deployed));
  if (!(model instanceof RandomForestClassifier)) throw new Error(`${def.name} v${deployed} is not a random forest`);
  const X = { data: Float32Array.from(t.values), rows: n, cols: t.cols };
  const proba = model.predictProba(X);
  const scores = strategyScores(strategy, { proba, nClasses: model.nClasses, n, seed, ...(strategy === 'committee' ? { votes: model.treeVotes(X) } : {}) });
  const eligible = eligibility(t, done);
  return selectBatch(scores, k, { exclude: (i) => !eligible(i), ...(minDistance ? { features: { values: t.values, cols: t.cols }, minDistance } : {}) }).map((q) => ({
    alertId: t.alertIds[q.index], objectId: t.objectIds[q.index], score: q.score,
    reason: `${strategy} ${q.score.toFixed(4)}; p(${def.classNames[def.positiveClass]}) = ${proba[q.index * model.nClasses + def.positiveClass].toFixed(3)}${note}`, modelVersion: deployed,
  }));
}

/**
 * A network's queue: its predictions (and Monte-Carlo dropout passes, for BALD, predictive entropy and the
 * committee) over the pool's eligible rows only — the passes are the expensive part — with the passes' mean
 * and spread in the reason.
 */
function networkQueue(store: Store, def: ModuleDefinition, deployed: number, strategy: StrategyName, done: Set<string>, k: number, seed: number, minDistance?: number): QueueEntry[] {
  const t = store.featureTable(def.extractor().spec);
  const model = modelFromBundle(store.getBundle(def.name, deployed));
  if (!(model instanceof MLPClassifier)) throw new Error(`${def.name} v${deployed} is not a network`);
  const eligible = eligibility(t, done);
  const rows = Int32Array.from({ length: t.alertIds.length }, (_, i) => i).filter(eligible);
  const d = t.cols;
  const values = Float64Array.from({ length: rows.length * d }, (_, j) => t.values[rows[Math.floor(j / d)] * d + (j % d)]);
  const X = { data: Float32Array.from(values), rows: rows.length, cols: d };
  const proba = model.predictProba(X);
  const C = model.nClasses;
  const mc = MC_STRATEGIES.has(strategy) || strategy === 'committee' ? model.predictProbaMC(X) : null;
  const scores = strategyScores(strategy, { proba, nClasses: C, n: rows.length, seed, ...(mc ? { mc, votes: mc.votes } : {}) });
  const pos = def.positiveClass;
  const positive = def.classNames[pos];
  const why = (i: number, score: number) => mc
    ? `${strategy} ${score.toFixed(4)}; p(${positive}) = ${mc.mean[i * C + pos].toFixed(3)} ± ${mc.std[i * C + pos].toFixed(3)} over ${mc.samples} dropout passes`
    : `${strategy} ${score.toFixed(4)}; p(${positive}) = ${proba[i * C + pos].toFixed(3)}`;
  return selectBatch(scores, k, minDistance ? { features: { values, cols: d }, minDistance } : {})
    .map((q) => ({ alertId: t.alertIds[rows[q.index]], objectId: t.objectIds[rows[q.index]], score: q.score, reason: why(q.index, q.score), modelVersion: deployed }));
}

/** One candidate per object, its latest alert in the pool, never an object already decided on. */
function eligibility(t: { objectIds: string[] }, done: Set<string>): (i: number) => boolean {
  const latest = new Map<string, number>();
  for (let i = 0; i < t.objectIds.length; i++) latest.set(t.objectIds[i], i);
  return (i) => latest.get(t.objectIds[i]) === i && !done.has(t.objectIds[i]);
}

function randomQueue(store: Store, def: ModuleDefinition, done: Set<string>, k: number, seed: number, reason: string): QueueEntry[] {
  const t = store.poolIds(def.extractor().spec);
  const rng = new Random(seed, 0x9e1);
  const scores = Float64Array.from(t.alertIds, () => rng.next());
  const eligible = eligibility(t, done);
  return selectBatch(scores, k, { exclude: (i) => !eligible(i) }).map((q) => ({ alertId: t.alertIds[q.index], objectId: t.objectIds[q.index], score: q.score, reason, modelVersion: null }));
}
