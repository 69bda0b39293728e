import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulate } from '../../datasets/index.ts';
import { kthSmallest, modelFromBundle, Random, type PerBandAADModel } from '../../models/index.ts';
import { BandLeaves } from '../../engine/core/anomalyPool.ts';
import { AnomalyQueueSession } from '../../engine/core/anomalySession.ts';
import { ensureBuiltinModules, moduleOf } from '../../engine/core/modules/index.ts';
import { Store } from '../../engine/core/store/store.ts';
import { anomalyVerdict, bandInputs, updateAnomalyModule } from '../../engine/core/training.ts';
import { nextQueue } from '../../engine/core/queue.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-aad-session-'));

const isEqual = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Where two float64 arrays differ bit for bit (NaN equals NaN). */
function differences(a: Float64Array, b: Float64Array): number[] {
  expect(a.length).toBe(b.length);
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) out.push(i);
  return out;
}

/** The pool's features as the forests read them, per band. */
function poolInputs(store: Store, module: string, model: PerBandAADModel): { inputs: Float32Array[]; alertIds: Int32Array; objectIds: string[] } {
  const def = moduleOf(store, module);
  const t = store.featureTable(def.extractor().spec);
  return { inputs: bandInputs(def, t.values, t.alertIds.length, model.bands), alertIds: t.alertIds, objectIds: t.objectIds };
}

/**
 * The session's scores are the forests' own (`scoreBands`: each band's `scoreSamples` on its valid rows, the
 * minimum over the valid bands) with the session's weights, bit for bit, and its queue is their ranking
 * (lowest first, ties by pool order, one alert per object, NaN left out).
 */
function expectForestScores(store: Store, module: string, session: AnomalyQueueSession): void {
  const { inputs, alertIds, objectIds } = poolInputs(store, module, session.model);
  const n = alertIds.length;
  const own = session.model.scoreBands(inputs, n);
  const mine = session.poolScores();
  expect(Array.from(mine.alertIds)).toEqual(Array.from(alertIds));
  expect(differences(mine.scores, own.final)).toEqual([]);
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => !Number.isNaN(own.final[i])).sort((a, b) => own.final[a] - own.final[b] || a - b);
  const seen = new Set<string>();
  const ranked = order.filter((i) => !seen.has(objectIds[i]) && seen.add(objectIds[i])).slice(0, 25);
  expect(session.queue(25, 'nobody').map((e) => [e.alertId, e.score])).toEqual(ranked.map((i) => [alertIds[i], own.final[i]]));
}

/**
 * The weights an undo must lead to, computed the long way: the deployed forests reset to uniform weights, the
 * whole pool scored by them, every labelled pool alert walked through each band's forest, one update.
 */
function weightsFromScratch(store: Store, module: string, version: number): Float64Array[] {
  const def = moduleOf(store, module);
  const fresh = modelFromBundle(store.getBundle(module, version)) as unknown as PerBandAADModel;
  fresh.resetWeights();
  const { inputs, objectIds } = poolInputs(store, module, fresh);
  const n = objectIds.length;
  const { scores, valid } = fresh.scoreBands(inputs, n);
  const labels = store.trainingLabels(module);
  const F = fresh.nFeatures;
  const lab: Array<{ leaves: Array<Int32Array | null>; anomaly: boolean }> = [];
  for (let i = 0; i < n; i++) {
    const l = labels.get(objectIds[i]);
    const anomaly = l === undefined ? null : anomalyVerdict(def, l);
    if (anomaly === null) continue;
    lab.push({ leaves: fresh.forests.map((f, b) => (valid[b][i] ? f.leafIndices({ data: inputs[b].subarray(i * F, i * F + F), rows: 1, cols: F }) : null)), anomaly });
  }
  fresh.updateBands(lab, scores.map((s, b) => s.filter((_, i) => valid[b][i] === 1)));
  return fresh.forests.map((f) => f.weights);
}

describe('the live AAD session re-scores its pool exactly as the forests score it', () => {
  for (const [module, survey, seed] of [['anomaly', 'ztf', 11], ['anomaly-rubin', 'lsst', 12]] as const) {
    it(`${module}: after labels (warm start; on this thread and on worker threads), an undo and a change (from uniform weights)`, async () => {
      const store = Store.create(path.join(tmp, `${module}.db`));
      ensureBuiltinModules(store);
      store.insertAlerts([...simulate(700, seed, survey === 'lsst' ? { survey: 'lsst' } : {})].map((o) => o.alert), 'sim');
      ensureBuiltinModules(store);
      const version = updateAnomalyModule(store, module, { seed: 3, nEstimators: 40 }).version;
      // slices of 37 rows: several per band, the last one short
      BandLeaves.sliceRows = 37;
      try {
        const session = AnomalyQueueSession.open(store, module);
        const twin = AnomalyQueueSession.open(store, module);
        expectForestScores(store, module, session);
        // the pool has rows complete in some bands only (the compact per-band rows are exercised)
        const { inputs } = poolInputs(store, module, session.model);
        const { valid } = session.model.scoreBands(inputs, session.poolSize);
        const partial = Array.from({ length: session.poolSize }, (_, i) => valid.filter((v) => v[i]).length).filter((c) => c > 0 && c < valid.length).length;
        expect(partial).toBeGreaterThan(0);

        const ids: number[] = [];
        for (const label of ['nominal', 'anomaly', 'nominal', 'anomaly', 'nominal']) {
          const head = session.queue(1, 'carol')[0];
          ids.push(store.addLabel({ module, alertId: head.alertId, label, author: 'carol' }).id);
          const weightsBefore = session.model.forests.map((f) => f.weights.slice());
          session.reweight();
          expect(session.model.forests.some((f, b) => differences(f.weights, weightsBefore[b]).length > 0)).toBe(true);
          expectForestScores(store, module, session);
          // the twin re-weights as a server does (re-scored on worker threads): while it runs, its queue is the
          // previous one or the new one, never a mixture; then its scores are the session's
          const previous = twin.queue(10, 'nobody');
          let done = false;
          const pending = twin.reweightAsync().then(() => (done = true));
          const seen: Array<typeof previous> = [];
          while (!done) {
            seen.push(twin.queue(10, 'nobody'));
            await new Promise((resolve) => setImmediate(resolve));
          }
          await pending;
          const next = twin.queue(10, 'nobody');
          expect(seen.length).toBeGreaterThan(1);
          expect(seen.filter((q) => !isEqual(q, previous) && !isEqual(q, next))).toEqual([]);
          expect(differences(twin.poolScores().scores, session.poolScores().scores)).toEqual([]);
        }

        // an undo and a change start from uniform weights: the same weights as the long way, bit for bit
        for (const withdraw of [() => store.undoLabel(ids[1], 'carol'), () => store.changeLabel(ids[2], 'anomaly', null, 'carol')]) {
          withdraw();
          session.reweight(true);
          await twin.reweightAsync(true);
          const expected = weightsFromScratch(store, module, version);
          session.model.forests.forEach((f, b) => expect(differences(f.weights, expected[b])).toEqual([]));
          expectForestScores(store, module, session);
          expect(differences(twin.poolScores().scores, session.poolScores().scores)).toEqual([]);
        }

        // the saved weights come with their ranking of the pool, from the session's scores: a server started on
        // this store reads its first queue from it (every row covered: nothing to score again)
        const saved = session.persist('carol');
        const def = moduleOf(store, module);
        const ranking = store.loadRanking(module, saved, 'aad', def.revisionSha256);
        expect(ranking).not.toBeNull();
        expect(ranking!.through).toBe(store.featureProgress(store.specId(def.extractor().spec)));
        const { alertIds: poolIds, scores } = session.poolScores();
        const scoreOf = new Map(Array.from(poolIds, (id, i) => [id, scores[i]]));
        expect(ranking!.alertIds.length).toBeGreaterThan(0);
        for (let i = 0; i < ranking!.alertIds.length; i++) {
          expect(ranking!.shown[i]).toBe(scoreOf.get(ranking!.alertIds[i]));
          if (i > 0) expect(ranking!.shown[i]).toBeGreaterThanOrEqual(ranking!.shown[i - 1]);
        }
        const first = nextQueue(store, module, { k: 5 });
        const labelled = store.trainingLabels(module);
        expect(first.map((e) => e.alertId)).toEqual(Array.from(ranking!.alertIds).filter((id) => !labelled.has(store.objectOf(id))).slice(0, 5));
      } finally {
        BandLeaves.sliceRows = 65536;
        store.close();
      }
    });
  }

  it("q_tau's k-th smallest pool score: the sorted pool's k-th, by the heap (small k) and by quickselect", () => {
    const rng = new Random(8);
    for (const n of [1, 2, 10, 65, 1000]) {
      // few distinct values: ties everywhere
      const values = Float64Array.from({ length: n }, () => -Math.floor(rng.next() * 40) / 7);
      const before = Array.from(values);
      const sorted = [...before].sort((a, b) => a - b);
      for (const k of [0, 1, 9, 63, 64, 200, n - 1].filter((x) => x < n)) expect(kthSmallest(values, k)).toBe(sorted[k]);
      // the pool's scores are left as they were
      expect(Array.from(values)).toEqual(before);
    }
  });

  it('adds the leaf values of every leaf width in tree order, as a row-at-a-time loop does, here and on the worker threads', async () => {
    const rng = new Random(5);
    const T = 7;
    const leavesPerTree = [3, 300, 70000];
    for (const [w, make] of [[0, (n: number) => new Uint8Array(n)], [1, (n: number) => new Uint16Array(n)], [2, (n: number) => new Int32Array(n)]] as const) {
      const perTree = leavesPerTree[w];
      const first = Int32Array.from({ length: T + 1 }, (_, t) => t * perTree);
      const wv = Float64Array.from({ length: T * perTree }, () => rng.next() - 0.5);
      for (const rows of [1, 4, 11, 70]) {
        const table = make(rows * T);
        for (let k = 0; k < table.length; k++) table[k] = Math.floor(rng.next() * perTree);
        const band = new BandLeaves(table, first, wv.length, T);
        band.setLeafScores(wv);
        const out = new Float64Array(rows);
        for (let from = 0; from < rows; from += 5) band.score(from, Math.min(rows, from + 5), out);
        const inThreads = new Float64Array(rows);
        await band.scoreInThreads(inThreads);
        const expected = new Float64Array(rows);
        for (let k = 0; k < rows; k++) {
          let s = 0;
          for (let t = 0; t < T; t++) s += wv[first[t] + table[k * T + t]];
          expected[k] = s;
        }
        expect(differences(out, expected)).toEqual([]);
        expect(differences(inThreads, expected)).toEqual([]);
        expect(Array.from(band.globalLeaves(rows - 1))).toEqual(Array.from({ length: T }, (_, t) => first[t] + table[(rows - 1) * T + t]));
      }
    }
  });
});
