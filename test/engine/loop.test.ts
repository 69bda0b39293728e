import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulate } from '../../datasets/index.ts';
import { nextQueue } from '../../engine/core/queue.ts';
import { labelsSinceLastModel, retrainInWorker } from '../../engine/core/retrain.ts';
import { Store } from '../../engine/core/store/store.ts';
import { ensureBuiltinModules } from '../../engine/core/modules/index.ts';
import { sharedPath } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-loop-'));

describe('the active-learning loop on a real SQLite file', () => {
  const db = path.join(tmp, 'loop.db');

  it('ingest -> features -> label -> train in a worker -> queue -> more labels -> retrain with the gate', async () => {
    const store = Store.create(db);
    ensureBuiltinModules(store);
    await store.importFiles(['nov2019', '202001', '202002', '202003'].map((m) => sharedPath('tns', `fink_cross_tns_${m}.parquet`)));
    // the first queue is random: no model yet
    const q0 = nextQueue(store, 'early-snia', { k: 5, expert: 'oracle' });
    expect(q0).toHaveLength(5);
    expect(q0[0].reason).toMatch(/random/);
    // an expert who knows the TNS class labels the eligible objects (Fink's selection and a sigmoid fit in
    // both bands: 34 TNS alerts), one label per object
    const eligible = nextQueue(store, 'early-snia', { k: 10_000, expert: 'oracle' });
    expect(eligible.length).toBeGreaterThanOrEqual(30);
    const truth = (alertId: number, from: Store = store) => from.getAlert(alertId).label!;
    for (const e of eligible.slice(0, 20)) store.addLabel({ module: 'early-snia', alertId: e.alertId, label: truth(e.alertId).startsWith('SN Ia') ? 'SN Ia' : 'other SN', author: 'oracle', queue: 'random' });
    store.close();
    const v1 = await retrainInWorker(db, 'early-snia', { seed: 1, nEstimators: 50 }).result;
    // 20 labels leave a held-out set far under 30 objects per class: deployed, but as provisional
    expect(v1).toMatchObject({ version: 1, promoted: true, provisional: true });
    expect(v1.reason).toMatch(/^first version: fom .* provisional$/);
    const again = Store.create(db);
    expect(again.deployedVersion('early-snia')).toBe(1);
    expect(labelsSinceLastModel(again, 'early-snia')).toBe(0);
    // the queue now comes from the model, with the reason, and never repeats a labelled object
    const q1 = nextQueue(again, 'early-snia', { k: 10, expert: 'oracle', strategy: 'uncertainty' });
    expect(q1[0].reason).toMatch(/^uncertainty 0\.\d+; p\(SN Ia\) = /);
    const labelled = again.labelledObjects('early-snia', 'oracle');
    for (const e of q1) expect(labelled.has(e.objectId)).toBe(false);
    for (const e of q1) again.addLabel({ module: 'early-snia', alertId: e.alertId, label: truth(e.alertId, again).startsWith('SN Ia') ? 'SN Ia' : 'not SN', author: 'oracle', queue: 'uncertainty', modelVersion: 1 });
    expect(labelsSinceLastModel(again, 'early-snia')).toBe(10);
    again.close();
    const v2 = await retrainInWorker(db, 'early-snia', { seed: 1, nEstimators: 50 }).result;
    expect(v2.version).toBe(2);
    expect(v2.reason).toMatch(/fom .* vs v1 .*difference .*paired bootstrap, 1000 resamples of \d+ held-out objects/);
    expect(v2.gate?.difference?.low).toBeLessThanOrEqual(v2.gate!.difference!.value);
    const after = Store.create(db);
    expect(after.deployedVersion('early-snia')).toBe(v2.promoted ? 2 : 1);
    expect(after.learningCurve('early-snia').map((p) => p.nLabels)).toEqual([v1.nLabels, v2.nLabels]);
    after.close();
  });

  it('a retrain worker killed part-way leaves the deployed model and the store intact', async () => {
    const before = Store.create(db);
    const deployed = before.deployedVersion('early-snia');
    expect(deployed).not.toBeNull();
    const models = before.listModels('early-snia').length;
    before.close();
    // enough trees that training takes seconds; kill it once it is training
    const h = retrainInWorker(db, 'early-snia', { seed: 2, nEstimators: 20_000 });
    await h.started;
    await new Promise((r) => setTimeout(r, 200));
    await h.worker.terminate();
    await expect(h.result).rejects.toThrow(/exited with code \d+ before finishing/);
    const after = Store.create(db);
    expect(after.deployedVersion('early-snia')).toBe(deployed);
    expect(after.listModels('early-snia')).toHaveLength(models);
    expect((after.db.pragma('integrity_check') as Array<{ integrity_check: string }>)[0].integrity_check).toBe('ok');
    after.close();
  });

  it('the anomaly module re-ranks with every label', async () => {
    const adb = path.join(tmp, 'anomaly.db');
    const store = Store.create(adb);
    ensureBuiltinModules(store);
    store.insertAlerts([...simulate(600, 4)].map((o) => o.alert), 'sim');
    store.close();
    const v1 = await retrainInWorker(adb, 'anomaly', { seed: 1, nEstimators: 60 }).result;
    expect(v1.version).toBe(1);
    const s = Store.create(adb);
    ensureBuiltinModules(s);
    const q = nextQueue(s, 'anomaly', { k: 5, expert: 'alice' });
    expect(q[0].reason).toMatch(/AAD score/);
    for (const e of q) s.addLabel({ module: 'anomaly', alertId: e.alertId, label: 'nominal', author: 'alice' });
    s.close();
    await retrainInWorker(adb, 'anomaly', { seed: 1 }).result;
    const s2 = Store.create(adb);
    const q2 = nextQueue(s2, 'anomaly', { k: 5, expert: 'alice' });
    expect(q2.map((e) => e.alertId)).not.toEqual(q.map((e) => e.alertId));
    expect(s2.deployedVersion('anomaly')).toBe(2);
    s2.close();
  });
});

describe('the live anomaly session', () => {
  it('re-ranks the pool on every label without retraining, and persists the weights as a version', async () => {
    const { AnomalyQueueSession } = await import('../../engine/core/anomalySession.ts');
    const { updateAnomalyModule } = await import('../../engine/core/training.ts');
    const adb = path.join(tmp, 'session.db');
    const store = Store.create(adb);
    ensureBuiltinModules(store);
    store.insertAlerts([...simulate(500, 9)].map((o) => o.alert), 'sim');
    ensureBuiltinModules(store);
    updateAnomalyModule(store, 'anomaly', { seed: 3, nEstimators: 60 });
    const session = AnomalyQueueSession.open(store, 'anomaly');
    expect(session.poolSize).toBe(500);
    const q0 = session.queue(5, 'carol');
    session.label(q0[0].alertId, 'nominal', 'carol');
    const q1 = session.queue(5, 'carol');
    expect(q1.map((e) => e.alertId)).not.toContain(q0[0].alertId);
    // the labelled object's score moved up (less anomalous)
    const before = q0[0].score;
    session.label(q1[0].alertId, 'anomaly', 'carol');
    const after = session.queue(500, 'dave').find((e) => e.alertId === q0[0].alertId)!;
    expect(after.score).toBeGreaterThan(before);
    const v = session.persist('carol');
    expect(v).toBe(2);
    expect(store.deployedVersion('anomaly')).toBe(2);
    store.close();
  });
});
