import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAlertFile, simulate, stringifyJsonExact, toSieveRecord, type Alert } from '../../datasets/index.ts';
import { computeFeaturesInThread, computeFeaturesParallel } from '../../engine/core/features/pipeline.ts';
import { addModule, ensureBuiltinModules, moduleOf, storeModules } from '../../engine/core/modules/index.ts';
import { Store } from '../../engine/core/store/store.ts';
import { alertDetail } from '../../engine/server/alertDetail.ts';
import { Workbench } from '../../engine/server/workbench.ts';
import { sharedPath } from '../shared.ts';
import { earlySnIaRubinExtractor } from '../../features/index.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-pipeline-'));
const sims = (n: number, seed: number, survey: 'ztf' | 'lsst'): Alert[] => [...simulate(n, seed, survey === 'lsst' ? { survey: 'lsst' } : {})].map((o) => o.alert);

async function storeWith(name: string, alerts: Alert[]): Promise<Store> {
  const store = Store.create(path.join(tmp, `${name}.db`));
  ensureBuiltinModules(store);
  store.insertAlerts(alerts, 'test');
  return store;
}

/** Each module by its definition, alert by alert: extract, then the cuts on those values. */
function bruteForce(store: Store, name: string): { ids: number[]; values: number[][] } {
  const def = moduleOf(store, name);
  const ex = def.extractor();
  const out = { ids: [] as number[], values: [] as number[][] };
  for (const id of store.alertIds()) {
    const a = store.getAlert(id);
    if (a.survey !== def.survey) continue;
    const v = ex.extract(a);
    if (!ex.passesCuts(a, v)) continue;
    out.ids.push(id);
    out.values.push(Array.from(v));
  }
  return out;
}

function pool(store: Store, name: string): { ids: number[]; values: number[][] } {
  const t = store.featureTable(moduleOf(store, name).extractor().spec);
  return { ids: Array.from(t.alertIds), values: Array.from(t.alertIds, (_, i) => Array.from(t.values.subarray(i * t.cols, (i + 1) * t.cols))) };
}

describe('feature computation over the store', () => {
  it('gives every module the alerts that pass its cuts with their values, as extracting alert by alert does, on threads or not', async () => {
    const alerts = [...(await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts, ...sims(120, 11, 'ztf'), ...sims(80, 12, 'lsst')];
    const parallel = await storeWith('parallel', alerts);
    const inThread = await storeWith('thread', alerts);
    const run = await computeFeaturesParallel(parallel, storeModules(parallel), { workers: 2 });
    expect(run.alerts).toBe(alerts.length);
    // decoded once each, whatever the number of modules; prefilters spared extractions (kilonova's cuts on
    // ndethist, early SN Ia's selection, Fink's Rubin selection)
    expect(run.decoded).toBe(alerts.length);
    expect(run.skipped).toBeGreaterThan(0);
    computeFeaturesInThread(inThread, storeModules(inThread).map((m) => m.extractor()));
    for (const m of storeModules(parallel)) {
      const want = bruteForce(parallel, m.name);
      expect(pool(parallel, m.name), m.name).toEqual(want);
      expect(pool(inThread, m.name), m.name).toEqual(want);
    }
    // the shipped modules pass some alerts of each survey, and not all (the cuts are applied)
    expect(pool(parallel, 'early-snia').ids.length).toBeGreaterThan(0);
    expect(pool(parallel, 'early-snia-rubin').ids.length).toBeGreaterThan(0);
    expect(pool(parallel, 'satellite-glints').ids.length).toBeLessThan(alerts.filter((a) => a.survey === 'ztf').length);
    inThread.close();

    // only new alerts are read; a module's new revision reuses the extractor rows already stored
    parallel.insertAlerts(sims(30, 13, 'ztf'), 'more');
    const more = await computeFeaturesParallel(parallel, storeModules(parallel), { workers: 2 });
    expect(more.alerts).toBe(30);
    expect(computeFeaturesInThread(parallel, storeModules(parallel).map((m) => m.extractor())).alerts).toBe(0);
    const revised = JSON.parse(JSON.stringify(moduleOf(parallel, 'microlensing').declaration));
    revised.cuts = 'ndethist > 3';
    addModule(parallel, JSON.stringify(revised), 'revision.json', 'test');
    const again = computeFeaturesInThread(parallel, [moduleOf(parallel, 'microlensing').extractor()]);
    expect(again.alerts).toBe(alerts.filter((a) => a.survey === 'ztf').length + 30);
    expect(again.computed).toBe(0);
    expect(pool(parallel, 'microlensing')).toEqual(bruteForce(parallel, 'microlensing'));
    parallel.close();
  });

  it('gives the kilonova module the same pool from a `sieve simulate` file as from the simulated alerts: the survey record (jdstarthist) survives the file', async () => {
    const objects = [...simulate(800, 1)];
    const file = path.join(tmp, 'simulated.jsonl');
    // what `sieve simulate` writes (engine/cli/simulateWorker.ts) and `sieve ingest` reads
    writeFileSync(file, objects.map((o) => stringifyJsonExact(toSieveRecord(o.alert, o.modelMag))).join('\n'));
    const fromFile = await storeWith('simulated-file', (await readAlertFile(file)).alerts);
    const inProcess = await storeWith('simulated-direct', objects.map((o) => o.alert));
    const members = (store: Store) => {
      computeFeaturesInThread(store, [moduleOf(store, 'kilonova').extractor()]);
      return pool(store, 'kilonova').ids.map((id) => store.getAlert(id)).map((a) => `${a.objectId} ${a.label}`).sort();
    };
    const viaFile = members(fromFile);
    // Fink's mask passes young transients fitted in both bands, simulated kilonovae among them
    expect(viaFile.length).toBeGreaterThan(0);
    expect(viaFile.some((m) => m.endsWith(' kilonova'))).toBe(true);
    expect(viaFile).toEqual(members(inProcess));
    fromFile.close();
    inProcess.close();
  });

  it('refits Rainbow for display only from an early-snia-rubin row that holds a fit (not from a NaN row: another survey, never computed)', () => {
    const ex = earlySnIaRubinExtractor();
    const rubin = sims(40, 23, 'lsst').map((a) => ({ a, v: ex.extract(a) })).find(({ v }) => v[1] !== 0);
    expect(rubin, 'a simulated Rubin alert with a Rainbow fit').toBeDefined();
    const curves = ex.fitCurves!(rubin!.a, rubin!.v);
    expect(curves.length).toBeGreaterThan(0);
    expect(curves.every((c) => c.model === 'rainbow' && c.fluxNanoJy.every(Number.isFinite))).toBe(true);
    // the curves are evaluated in one reused workspace: another alert's curves in between leave them as they were
    const other = sims(40, 25, 'lsst').map((a) => ({ a, v: ex.extract(a) })).find(({ v }) => v[1] !== 0)!;
    expect(ex.fitCurves!(other.a, other.v)).not.toEqual(curves);
    expect(ex.fitCurves!(rubin!.a, rubin!.v)).toEqual(curves);
    const nan = new Float64Array(ex.spec.columns.length).fill(NaN);
    expect(ex.fitCurves!(rubin!.a, nan)).toEqual([]);
    expect(ex.fitCurves!(rubin!.a, new Float64Array(ex.spec.columns.length))).toEqual([]);
    // a ZTF alert's row under a Rubin module is NaN (the compiled module fills it so): no fit either
    const ztf = sims(5, 24, 'ztf').find((a) => a.lightCurve.jd.length >= 7)!;
    expect(ex.fitCurves!(ztf, nan)).toEqual([]);
  });

  it("shows a ZTF alert without running a Rubin module's extractor or fit on it", async () => {
    const store = await storeWith('detail', [...sims(5, 21, 'ztf'), ...sims(5, 22, 'lsst')]);
    const ex = moduleOf(store, 'early-snia-rubin').extractor();
    const calls = { extract: 0, fit: 0 };
    const { extract, fitCurves } = ex;
    Object.assign(ex, {
      extract: (...a: Parameters<typeof extract>) => (calls.extract++, extract.apply(ex, a)),
      fitCurves: (...a: Parameters<NonNullable<typeof fitCurves>>) => (calls.fit++, fitCurves!.apply(ex, a)),
    });
    try {
      const wb = new Workbench(store);
      const ztf = store.alertIds().find((id) => store.getAlert(id).survey === 'ztf')!;
      const view = alertDetail(wb, ztf, ['early-snia-rubin', 'early-snia']).modules;
      expect(view[0]).toMatchObject({ module: 'early-snia-rubin', passesCuts: false, fits: [], modelVersion: null });
      expect(view[0].features.every((f) => f.value === null)).toBe(true);
      expect(calls).toEqual({ extract: 0, fit: 0 });
      const lsst = store.alertIds().find((id) => store.getAlert(id).survey === 'lsst')!;
      alertDetail(wb, lsst, ['early-snia-rubin']);
      expect(calls.extract + calls.fit).toBeGreaterThan(0);
    } finally {
      Object.assign(ex, { extract, fitCurves });
      store.close();
    }
  });
});
