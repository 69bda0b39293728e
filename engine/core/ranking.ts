import { modelFromBundle, RandomForestClassifier, type PerBandAADModel } from '../../models/index.ts';
import type { ModuleDefinition } from './modules/index.ts';
import { strategyScores, type StrategyName } from './strategies.ts';
import type { FeatureTable, Store } from './store/store.ts';
import { bandInputs } from './bandInputs.ts';

export interface QueueEntry {
  alertId: number;
  objectId: string;
  /** Why it was chosen: the strategy's score, and the model output it came from. */
  score: number;
  reason: string;
  modelVersion: number | null;
}

/** How a deployed version orders a pool: a query strategy (classifiers) or the AAD score (anomaly modules). */
export type RankingKind = Exclude<StrategyName, 'random'> | 'aad';

/**
 * A module's pool in the order a deployed version asks for it: the latest passing alert of each object,
 * most informative (or most anomalous) first, NaN scores left out, ties by alert id. Kept in the store per
 * module, version and strategy, and extended by the pool rows that arrive after `through`, so that a queue
 * on a pool of a million rows reads k entries instead of predicting a million rows.
 */
export interface Ranking {
  through: number;
  alertIds: Int32Array;
  /** Higher = asked first (the strategy's score; minus the AAD score). */
  score: Float64Array;
  /** What the reason quotes: p(positive class), or the AAD score. */
  shown: Float64Array;
}

const SCORE_BLOCK_ROWS = 16384;
const memo = new WeakMap<Store, Map<string, Ranking>>();

/** The ranking of a module's pool for a deployed version (features must be current: the caller computed them). */
export function poolRanking(store: Store, def: ModuleDefinition, version: number, kind: RankingKind): Ranking {
  const spec = def.extractor().spec;
  const through = store.featureProgress(store.specId(spec));
  const key = `${def.name}:${def.revisionSha256}:${version}:${kind}`;
  let byKey = memo.get(store);
  if (!byKey) memo.set(store, (byKey = new Map()));
  let r = byKey.get(key) ?? store.loadRanking(def.name, version, kind, def.revisionSha256);
  if (r && r.through === through) {
    byKey.set(key, r);
    return r;
  }
  const model = modelFromBundle(store.getBundle(def.name, version));
  const fresh = scoreRows(store, def, model, kind, r ? r.through : 0);
  r = r ? merge(store, r, fresh) : fresh;
  r.through = through;
  store.saveRanking(def.name, version, kind, def.revisionSha256, r);
  byKey.set(key, r);
  return r;
}

/** The first k entries of a ranking whose objects `skip` does not leave out. */
export function rankedEntries(store: Store, r: Ranking, k: number, skip: (objectId: string) => boolean, version: number, reason: (i: number) => string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (let i = 0; i < r.alertIds.length && out.length < k; i++) {
    const objectId = store.objectOf(r.alertIds[i]);
    if (skip(objectId)) continue;
    out.push({ alertId: r.alertIds[i], objectId, score: r.score[i], reason: reason(i), modelVersion: version });
  }
  return out;
}

/** Scores of one block of pool rows under a model. */
function blockScores(def: ModuleDefinition, model: unknown, kind: RankingKind, t: FeatureTable): { score: Float64Array; shown: Float64Array } {
  const n = t.alertIds.length;
  if (kind === 'aad') {
    const m = model as PerBandAADModel;
    const final = m.scoreBands(bandInputs(def, t.values, n, m.bands), n).final;
    return { score: final.map((v) => -v), shown: final };
  }
  if (!(model instanceof RandomForestClassifier)) throw new Error(`${def.name}: the deployed version is not a random forest`);
  const X = { data: Float32Array.from(t.values), rows: n, cols: t.cols };
  const proba = model.predictProba(X);
  const C = model.nClasses;
  const score = strategyScores(kind, { proba, nClasses: C, n, ...(kind === 'committee' ? { votes: model.treeVotes(X) } : {}) });
  return { score, shown: Float64Array.from({ length: n }, (_, i) => proba[i * C + def.positiveClass]) };
}

/** The pool rows after `after`, scored and ranked (the latest row of each object only). */
function scoreRows(store: Store, def: ModuleDefinition, model: unknown, kind: RankingKind, after: number): Ranking {
  const ids: number[] = [];
  const objects: string[] = [];
  const scores: number[] = [];
  const shown: number[] = [];
  for (const t of store.featureBlocks(def.extractor().spec, SCORE_BLOCK_ROWS, after)) {
    const s = blockScores(def, model, kind, t);
    for (let i = 0; i < t.alertIds.length; i++) {
      ids.push(t.alertIds[i]);
      objects.push(t.objectIds[i]);
      scores.push(s.score[i]);
      shown.push(s.shown[i]);
    }
  }
  return rankRows(ids, objects, scores, shown);
}

/** Pool rows in alert order ranked: the latest row of each object, NaN scores left out, highest first, ties by alert id. */
export function rankRows(ids: ArrayLike<number>, objectIds: readonly string[], scores: ArrayLike<number>, shown: ArrayLike<number>): Ranking {
  const latest = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) latest.set(objectIds[i], i);
  const order: number[] = [];
  for (const i of latest.values()) if (!Number.isNaN(scores[i])) order.push(i);
  order.sort((a, b) => scores[b] - scores[a] || ids[a] - ids[b]);
  return { through: 0, alertIds: Int32Array.from(order, (i) => ids[i]), score: Float64Array.from(order, (i) => scores[i]), shown: Float64Array.from(order, (i) => shown[i]) };
}

/**
 * Keeps a ranking just computed for a version: a retrain's, over the pool as of now, or one over the pool's rows
 * through alert `through` (the rows after it are scored and merged in when the ranking is next read).
 */
export function saveRanking(store: Store, def: ModuleDefinition, version: number, kind: RankingKind, r: Ranking, through?: number): void {
  r.through = through ?? store.featureProgress(store.specId(def.extractor().spec));
  store.saveRanking(def.name, version, kind, def.revisionSha256, r);
  let byKey = memo.get(store);
  if (!byKey) memo.set(store, (byKey = new Map()));
  byKey.set(`${def.name}:${def.revisionSha256}:${version}:${kind}`, r);
}

/** A ranking and the rows that arrived after it, in one order; an object's older entry gives way to its newer. */
function merge(store: Store, old: Ranking, fresh: Ranking): Ranking {
  const superseded = new Set<number>();
  for (const id of fresh.alertIds) for (const prev of store.alertIdsOfObject(store.objectOf(id))) if (prev <= old.through) superseded.add(prev);
  const n = old.alertIds.length + fresh.alertIds.length;
  const out: Ranking = { through: 0, alertIds: new Int32Array(n), score: new Float64Array(n), shown: new Float64Array(n) };
  let i = 0;
  let j = 0;
  let o = 0;
  const take = (r: Ranking, k: number) => {
    out.alertIds[o] = r.alertIds[k];
    out.score[o] = r.score[k];
    out.shown[o++] = r.shown[k];
  };
  while (i < old.alertIds.length || j < fresh.alertIds.length) {
    if (i < old.alertIds.length && superseded.has(old.alertIds[i])) {
      i++;
      continue;
    }
    const fromOld = j >= fresh.alertIds.length || (i < old.alertIds.length
      && (old.score[i] > fresh.score[j] || (old.score[i] === fresh.score[j] && old.alertIds[i] < fresh.alertIds[j])));
    if (fromOld) take(old, i++);
    else take(fresh, j++);
  }
  return { through: 0, alertIds: out.alertIds.subarray(0, o), score: out.score.subarray(0, o), shown: out.shown.subarray(0, o) };
}
