import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulate, type Alert } from '../../datasets/index.ts';
import { modelFromBundle, RandomForestClassifier, type PerBandAADModel } from '../../models/index.ts';
import { ensureBuiltinModules, moduleOf } from '../../engine/core/modules/index.ts';
import { nextQueue } from '../../engine/core/queue.ts';
import { selectBatch, strategyScores } from '../../engine/core/strategies.ts';
import { Store } from '../../engine/core/store/store.ts';
import { bandInputs, retrainClassifier, updateAnomalyModule } from '../../engine/core/training.ts';
import { AnomalyQueueSession } from '../../engine/core/anomalySession.ts';
import { DEFAULT_WORKBENCH_OPTIONS, Workbench } from '../../engine/server/workbench.ts';
import { computeFeatures } from '../../engine/core/features/pipeline.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-ranking-'));

/** The queue as computed from the whole pool on every call (what the stored ranking stands for). */
function wholePool(store: Store, name: string, k: number): Array<{ alertId: number; score: number }> {
  const def = moduleOf(store, name);
  const t = store.featureTable(def.extractor().spec);
  const n = t.alertIds.length;
  const model = modelFromBundle(store.getBundle(name, store.deployedVersion(name)!));
  const latest = new Map<string, number>();
  t.objectIds.forEach((o, i) => latest.set(o, i));
  const done = store.labelledObjects(name);
  const exclude = (i: number) => latest.get(t.objectIds[i]) !== i || done.has(t.objectIds[i]);
  let scores: Float64Array;
  if (def.kind === 'anomaly') {
    const m = model as unknown as PerBandAADModel;
    scores = m.scoreBands(bandInputs(def, t.values, n, m.bands), n).final.map((x) => -x);
  } else {
    const rf = model as RandomForestClassifier;
    scores = strategyScores(def.queueStrategy, { proba: rf.predictProba({ data: Float32Array.from(t.values), rows: n, cols: t.cols }), nClasses: rf.nClasses, n });
  }
  return selectBatch(scores, k, { exclude }).map((q) => ({ alertId: t.alertIds[q.index], score: def.kind === 'anomaly' ? -q.score : q.score }));
}

describe('pool rankings kept in the store', () => {
  it('give the queue of the whole pool, and stay right as alerts arrive (an object\'s newer alert replaces its older)', async () => {
    const store = Store.create(path.join(tmp, 'rank.db'));
    ensureBuiltinModules(store);
    const alerts: Alert[] = [...simulate(400, 31)].map((o) => o.alert);
    store.insertAlerts(alerts, 'sim');
    const def = moduleOf(store, 'microlensing');
    computeFeatures(store, def.extractor());
    // labels from the simulated classes, as the module maps them
    let n = 0;
    for (const id of store.alertIds()) {
      const a = store.getAlert(id);
      const label = a.label === undefined ? null : def.catalogLabel(a.label);
      if (label === null || n >= 120) continue;
      store.addLabel({ module: 'microlensing', alertId: id, label, author: 'sim' });
      n++;
    }
    const trained = await retrainClassifier(store, 'microlensing', { seed: 1, nEstimators: 20 });
    expect(trained.promoted).toBe(true);
    // the retrain ranked the pool for its version: the first queue reads it
    expect(store.loadRanking('microlensing', trained.version, 'entropy', def.revisionSha256)?.through).toBe(store.maxAlertId());
    const k = 400;
    const check = (name: string) => expect(nextQueue(store, name, { k }).map((e) => ({ alertId: e.alertId, score: e.score }))).toEqual(wholePool(store, name, k));
    check('microlensing');
    updateAnomalyModule(store, 'anomaly', { seed: 2, nEstimators: 30 });
    check('anomaly');

    // new alerts: new objects, and a newer alert of the object at the head of the queue
    const head = nextQueue(store, 'microlensing', { k: 1 })[0];
    const top = store.getAlert(head.alertId);
    store.insertAlerts([...[...simulate(60, 32)].map((o) => ({ ...o.alert, objectId: `late-${o.alert.objectId}` })), { ...top, candid: top.candid! + 10n ** 12n }], 'more');
    check('microlensing');
    check('anomaly');
    const after = nextQueue(store, "microlensing", { k: 1000 });
    expect(after.some((e) => e.alertId === head.alertId)).toBe(false);
    expect(after.filter((e) => e.objectId === top.objectId)).toHaveLength(1);
    expect(store.loadRanking('microlensing', trained.version, 'entropy', def.revisionSha256)?.through).toBe(store.maxAlertId());
    store.close();
  });

  it("opens a large pool's AAD session in a worker thread, answering from the stored ranking meanwhile", async () => {
    const store = Store.create(path.join(tmp, 'session.db'));
    ensureBuiltinModules(store);
    store.insertAlerts([...simulate(300, 41)].map((o) => o.alert), 'sim');
    updateAnomalyModule(store, 'anomaly', { seed: 3, nEstimators: 30 });
    const wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, backgroundSessionRows: 10 });
    const user = store.addUser('ana', 'expert').user;
    const stored = nextQueue(store, 'anomaly', { k: 5 }).map((e) => e.alertId);
    expect(wb.queue('anomaly', user, 5).map((e) => e.alertId)).toEqual(stored);
    expect(wb.warmingSessions).toEqual(['anomaly']);
    for (let waited = 0; wb.warmingSessions.length; waited += 50) {
      if (waited > 60_000) throw new Error('the session did not open');
      await new Promise((r) => setTimeout(r, 50));
    }
    // the session's queue: the same ranking as the session opened in this thread, and a label re-ranks it
    const live = wb.queue('anomaly', user, 5);
    expect(live.map((e) => e.alertId)).toEqual(AnomalyQueueSession.open(store, 'anomaly').queue(5).map((e) => e.alertId));
    wb.label(user, { module: 'anomaly', alertId: live[0].alertId, label: 'anomaly' });
    const after = wb.queue('anomaly', user, 5);
    expect(after.some((e) => e.objectId === live[0].objectId)).toBe(false);
    expect(after.map((e) => e.score)).not.toEqual(live.slice(1).map((e) => e.score));
    await wb.close();
    store.close();
  });
});
