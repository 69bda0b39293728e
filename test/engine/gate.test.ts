import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random, simulate } from '../../datasets/index.ts';
import { Store, addModule, ensureBuiltinModules, nextQueue, promotionGate, retrainClassifier, retrainInWorker } from '../../engine/index.ts';
import { Workbench, DEFAULT_WORKBENCH_OPTIONS } from '../../engine/server/index.ts';
import { sharedPath } from '../shared.ts';

/** n objects per class, one row each: a good model scores positives high, a bad one at random. */
function heldOut(nPerClass: number, seed = 1) {
  const rng = new Random(seed);
  const truth = Int32Array.from({ length: 2 * nPerClass }, (_, i) => (i < nPerClass ? 1 : 0));
  const objects = Array.from(truth, (_, i) => `ZTF${i}`);
  const good = Float64Array.from(truth, (t) => Math.min(1, Math.max(0, (t ? 0.75 : 0.25) + rng.normal(0, 0.15))));
  const bad = Float64Array.from(truth, () => rng.next());
  return { truth, objects, good, bad };
}

describe('the promotion gate (paired bootstrap over held-out objects)', () => {
  it('keeps a challenger that is worse, with an interval that says so', () => {
    const h = heldOut(60);
    const g = promotionGate({ metric: 'fom', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: h.bad, champion: { version: 3, score: h.good, provisional: false } });
    expect(g.tooSmall).toBe(false);
    expect(g.decision).toBe('keep');
    expect(g.difference!.high).toBeLessThan(0);
    expect(g.difference!.low).toBeLessThanOrEqual(g.difference!.value);
    expect(g.reason).toMatch(/worse than the deployed version/);
  });

  it('deploys a challenger that is not worse; an identical one has a zero-width difference', () => {
    const h = heldOut(60);
    const better = promotionGate({ metric: 'fom', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: h.good, champion: { version: 1, score: h.bad, provisional: false } });
    expect(better.decision).toBe('deploy');
    expect(better.difference!.low).toBeGreaterThan(0);
    const same = promotionGate({ metric: 'auc', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: h.good, champion: { version: 1, score: h.good, provisional: false } });
    expect(same.difference).toEqual({ value: 0, low: 0, high: 0 });
    expect(same.decision).toBe('deploy');
    // the challenger's own interval brackets its value
    expect(same.challenger!.low).toBeLessThanOrEqual(same.challenger!.value);
    expect(same.challenger!.high).toBeGreaterThanOrEqual(same.challenger!.value);
  });

  it('with under 30 held-out objects of a class: the first version is provisional, a trusted champion stays', () => {
    const h = heldOut(10);
    const first = promotionGate({ metric: 'fom', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: h.good, champion: null });
    expect(first).toMatchObject({ tooSmall: true, decision: 'deploy-provisional', heldOutObjects: { other: 10, 'SN Ia': 10 } });
    const vsTrusted = promotionGate({ metric: 'fom', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: h.good, champion: { version: 2, score: h.bad, provisional: false } });
    expect(vsTrusted.decision).toBe('keep');
    expect(vsTrusted.reason).toMatch(/too small to decide/);
    const vsProvisional = promotionGate({ metric: 'fom', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: h.good, champion: { version: 2, score: h.bad, provisional: true } });
    expect(vsProvisional.decision).toBe('deploy-provisional');
  });

  it('resamples objects, not rows: the alerts of one object move together', () => {
    const h = heldOut(40);
    // every object twice: the interval must not shrink as if there were twice as many independent objects
    const twice = {
      truth: Int32Array.from([...h.truth, ...h.truth]), objects: [...h.objects, ...h.objects],
      good: Float64Array.from([...h.good, ...h.good]), bad: Float64Array.from([...h.bad, ...h.bad]),
    };
    const once = promotionGate({ metric: 'accuracy', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: h.good, champion: { version: 1, score: h.bad, provisional: false } });
    const dup = promotionGate({ metric: 'accuracy', truth: twice.truth, objects: twice.objects, classNames: ['other', 'SN Ia'], challengerScore: twice.good, champion: { version: 1, score: twice.bad, provisional: false } });
    expect(dup.heldOutObjects).toEqual(once.heldOutObjects);
    const width = (g: typeof once) => g.difference!.high - g.difference!.low;
    expect(width(dup)).toBeGreaterThan(0.8 * width(once));
  });
});

describe('a degenerate challenger is never promoted (issue 22, point 5)', () => {
  it('keeps a challenger that never predicts the positive class, even against a champion as useless (main deployed it: fom 0 vs 0)', () => {
    const h = heldOut(40);
    const never = Float64Array.from(h.truth, (_, i) => 0.1 + 0.3 * ((i * 7919) % 97) / 97);
    const g = promotionGate({ metric: 'fom', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: never, champion: { version: 1, score: new Float64Array(h.truth.length), provisional: false } });
    expect(g.decision).toBe('keep');
    expect(g.degenerate).toBe('never predicts SN Ia (0 of 80 alerts at p >= 0.5, held-out)');
    expect(g.summary).toBe('kept: never predicts SN Ia (0 of 80 alerts at p >= 0.5, held-out)');
    // not even as a first version
    const first = promotionGate({ metric: 'fom', truth: h.truth, objects: h.objects, classNames: ['other', 'SN Ia'], challengerScore: never, champion: null });
    expect(first.decision).toBe('keep');
  });

  it('keeps a challenger whose metric is undefined on its objects; a K-class one that never predicts its positive class', () => {
    // AUC on held-out objects of one class only, and nothing else to estimate on
    const truth = new Int32Array(40);
    const objects = Array.from(truth, (_, i) => `o${i}`);
    const score = Float64Array.from(truth, (_, i) => (i % 2 ? 0.9 : 0.1));
    const g = promotionGate({ metric: 'auc', truth, objects, classNames: ['other', 'SN Ia'], challengerScore: score, champion: null, minPerClass: 1 });
    expect(g.decision).toBe('keep');
    expect(g.degenerate).toMatch(/^auc undefined on 40 held-out objects \(40 other, 0 SN Ia\)/);
    const k = promotionGate({ metric: 'accuracy', truth: new Int32Array(40).fill(1), classOfRow: new Int32Array(40), objects, classNames: ['CONST', 'ML', 'VAR'], positiveClass: 'ML', challengerScore: score, predictedPositive: 0, champion: null, minPerClass: 1 });
    expect(k.degenerate).toMatch(/^never predicts ML/);
  });

  it('with too few held-out objects, estimates cross-validated and compares a provisional champion where neither has trained (main blocked every auc retrain on a one-class held-out set)', () => {
    const held = { truth: new Int32Array(6), objects: ['h0', 'h1', 'h2', 'h3', 'h4', 'h5'], score: Float64Array.from([0.1, 0.2, 0.1, 0.3, 0.2, 0.1]) };
    const pooled = heldOut(30, 3);
    const truth = Int32Array.from([...pooled.truth, ...held.truth]);
    const objects = [...pooled.objects, ...held.objects];
    const challengerScore = Float64Array.from([...pooled.good, ...held.score]);
    // the champion never saw the held-out objects and the last 20 labelled; it trained on the others (NaN)
    const championScore = Float64Array.from([...pooled.bad, ...held.score], (v, i) => (i < 20 || (i >= 30 && i < 50) ? NaN : v));
    const g = promotionGate({
      metric: 'auc', truth: held.truth, objects: held.objects, classNames: ['other', 'SN Ia'], challengerScore: held.score,
      champion: { version: 4, score: held.score, provisional: true }, crossValidated: { truth, objects, challengerScore, folds: 5, championScore },
    });
    expect(g).toMatchObject({ estimate: 'cross-validated', folds: 5, tooSmall: true, decision: 'deploy-provisional', degenerate: null });
    expect(g.estimateObjects).toEqual({ other: 36, 'SN Ia': 30 });
    expect(g.comparedObjects).toBe(26);
    expect(g.difference!.value).toBeGreaterThan(0);
    expect(g.summary).toMatch(/^deployed \(provisional\): auc [\d.]+ >= v4's [\d.]+ \(unseen objects\)$/);
    // a trusted champion is never replaced on such evidence
    const trusted = promotionGate({
      metric: 'auc', truth: held.truth, objects: held.objects, classNames: ['other', 'SN Ia'], challengerScore: held.score,
      champion: { version: 4, score: held.score, provisional: false }, crossValidated: { truth, objects, challengerScore, folds: 5, championScore },
    });
    expect(trusted.decision).toBe('keep');
  });

  it('a retrain on features that cannot tell the classes apart is kept, with the reason in the registry', async () => {
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-gate-')), 'd.db');
    const store = Store.create(db);
    ensureBuiltinModules(store);
    store.insertAlerts([...simulate(80, 4)].map((o) => o.alert), 'sim');
    // every simulated alert has ssdistnr -999: one constant feature, a forest that can only say the prior
    addModule(store, JSON.stringify({
      name: 'constant', survey: 'ztf', features: [{ alert: ['ssdistnr'] }],
      labels: [{ label: 'rare', key: '1', class: 'rare' }, { label: 'common', key: '2', class: 'common' }],
      model: { type: 'random-forest', trees: 20, classWeight: 'none' }, broker: { score: 'p_rare', positive: 'rare' },
    }), 'constant.json', 'test');
    store.alertIds().forEach((id, i) => store.addLabel({ module: 'constant', alertId: id, label: i % 8 === 0 ? 'rare' : 'common', author: 'oracle' }));
    const r = await retrainClassifier(store, 'constant', { seed: 1 });
    expect(r.promoted).toBe(false);
    expect(store.deployedVersion('constant')).toBeNull();
    const saved = store.getModel('constant', r.version);
    expect(saved.gate!.estimate).toBe('cross-validated');
    expect(saved.gate!.degenerate).toMatch(/^never predicts rare \(0 of \d+ alerts at p >= 0.5, cross-validated\)$/);
    expect(saved.gate!.summary).toBe(`kept: ${saved.gate!.degenerate}`);
    store.close();
  });
});

describe('concurrent retrains of one module', () => {
  it('two retrains at once both land, with different version numbers', async () => {
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-gate-')), 'g.db');
    const store = Store.create(db);
    ensureBuiltinModules(store);
    await store.importFiles([sharedPath('tns', 'fink_cross_tns_nov2019.parquet'), sharedPath('tns', 'fink_cross_tns_202001.parquet')]);
    for (const e of nextQueue(store, 'early-snia', { k: 10_000, expert: 'oracle', strategy: 'random' })) {
      const l = store.getAlert(e.alertId).label!;
      store.addLabel({ module: 'early-snia', alertId: e.alertId, label: l.startsWith('SN Ia') ? 'SN Ia' : 'other SN', author: 'oracle' });
    }
    store.close();
    const runs = await Promise.all([1, 2, 3].map((seed) => retrainInWorker(db, 'early-snia', { seed, nEstimators: 40 }).result));
    expect(runs.map((r) => r.version).sort()).toEqual([1, 2, 3]);
    const after = Store.create(db);
    expect(after.listModels('early-snia').map((m) => m.version)).toEqual([1, 2, 3]);
    // each was judged against the champion in force when it committed: only the first saw none
    expect(runs.filter((r) => r.gate!.champion === null)).toHaveLength(1);
    after.close();
  });

  it('a failed background retrain is logged, not only announced', async () => {
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-gate-')), 'f.db');
    const store = Store.create(db);
    ensureBuiltinModules(store);
    store.insertAlerts([...simulate(30, 2)].map((o) => o.alert), 'sim');
    const lines: string[] = [];
    const wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, log: (l) => lines.push(l) });
    const events: string[] = [];
    wb.events.subscribe((e) => events.push(e.type));
    expect(await wb.retrain('early-snia', 'tester')).toBeNull();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sieve: retrain of early-snia \(tester\) failed: .*cannot train yet: a forest needs training rows of at least two classes/);
    expect(events).toContain('retrain-failed');
    await wb.close();
    store.close();
  });
});
