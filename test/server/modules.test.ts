import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../engine/index.ts';
import { Workbench, buildApp, DEFAULT_WORKBENCH_OPTIONS } from '../../engine/server/index.ts';
import { PathSource, RegistryProvider, runScorer, type ResultSink, type UnitResult } from '../../engine/scorer/index.ts';
import { parseBundle } from '../../models/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { demoStore } from './fixture.ts';

let db: string;
let store: Store;
let wb: Workbench;
let app: FastifyInstance;
let admin: string;
let expert: string;
const auth = (t: string) => ({ authorization: `Bearer ${t}` });

class MemorySink implements ResultSink {
  lines: Array<Record<string, unknown>> = [];
  async write(r: UnitResult): Promise<void> {
    for (const l of r.lines.split('\n')) if (l) this.lines.push(JSON.parse(l));
  }
  async close(): Promise<void> {}
}

beforeAll(async () => {
  db = await demoStore();
  store = Store.create(db);
  wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0, log: (l) => process.stderr.write(`${l}\n`) });
  app = await buildApp(wb);
  admin = store.addUser('mod-admin', 'admin').token;
  expert = store.addUser('mod-expert', 'expert').token;
});

afterAll(async () => {
  await app.close();
  await wb.close();
  store.close();
});

describe('modules through the API', () => {
  it('lists the declarations; an admin adds one (201), an unchanged one is 200, an expert may not (403), a bad one is 400', async () => {
    const modules = (await app.inject({ url: '/api/modules' })).json() as Array<{ name: string; declaration: { survey: string }; revision: number }>;
    expect(modules.map((m) => m.name)).toEqual(['early-snia', 'kilonova', 'anomaly', 'anomaly-rubin', 'early-snia-rubin', 'microlensing', 'satellite-glints']);
    expect(modules[0]).toMatchObject({ revision: 1, declaration: { survey: 'ztf' } });
    const example = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', 'fast-transient.json'), 'utf8'));
    expect((await app.inject({ method: 'POST', url: '/api/modules', headers: auth(expert), payload: { declaration: example } })).statusCode).toBe(403);
    const added = await app.inject({ method: 'POST', url: '/api/modules', headers: auth(admin), payload: { declaration: example } });
    expect(added.statusCode).toBe(201);
    expect(added.json()).toMatchObject({ name: 'fast-transient', revision: 1, created: true });
    expect((await app.inject({ method: 'POST', url: '/api/modules', headers: auth(admin), payload: { declaration: example } })).statusCode).toBe(200);
    const bad = await app.inject({ method: 'POST', url: '/api/modules', headers: auth(admin), payload: { declaration: { ...example, cuts: 'drb >' } } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/^declaration:\d+:\d+: cuts: the expression ends where a value is expected$/);
    const summary = (await app.inject({ url: '/api/modules/fast-transient' })).json();
    // the module's own survey: Rubin alerts are not fast-transient's to pass or fail
    expect(summary.cuts.alerts).toBe((store.db.prepare("SELECT COUNT(*) AS n FROM alerts WHERE survey = 'ztf'").get() as { n: number }).n);
    expect(summary.cuts.alerts).toBeLessThan(store.countAlerts());
    expect(summary.cuts.passing).toBeGreaterThan(0);
    expect(summary.cuts.passing).toBeLessThan(summary.cuts.alerts);
  });

  it('satellite glints: label through the API, retrain, deploy, export, and score the real Avro alerts', async () => {
    // the alerts its cut (ndethist <= 1) lets through; which are glints is made up here: this checks the machinery
    const q = (await app.inject({ url: '/api/modules/satellite-glints/queue?k=30', headers: auth(expert) })).json() as { entries: Array<{ alertId: number }> };
    expect(q.entries.length).toBe(30);
    for (const [i, e] of q.entries.entries()) {
      const r = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(expert), payload: { module: 'satellite-glints', alertId: e.alertId, label: i % 2 ? 'not glint' : 'glint', queue: 'uncertainty' } });
      expect(r.statusCode).toBe(201);
    }
    const r = await wb.retrain('satellite-glints', 'mod-expert');
    expect(r).toMatchObject({ module: 'satellite-glints', version: 1, promoted: true, provisional: true });
    expect(store.deployedVersion('satellite-glints')).toBe(1);
    const onnx = await app.inject({ url: '/api/models/satellite-glints/1/export?format=onnx' });
    expect(onnx.statusCode).toBe(200);
    const bundle = parseBundle((await app.inject({ url: '/api/models/satellite-glints/1/export?format=bundle' })).payload);
    expect(bundle.manifest.featureSpec.columns).toContain('elong');
    expect((bundle.manifest.declaration as { name: string }).name).toBe('satellite-glints');

    const sink = new MemorySink();
    await runScorer({ source: new PathSource([sharedPath('ztf', 'avro'), sharedPath('ztf', 'fink_avro')]), sink, provider: new RegistryProvider(db, ['satellite-glints', 'microlensing'], () => {}), workers: 0, log: () => {} });
    const glints = sink.lines.filter((l) => l.module === 'satellite-glints');
    expect(glints.length).toBeGreaterThan(2);
    for (const l of glints) {
      const s = (l.scores as Record<string, number>).rf_glint_vs_other;
      expect(s >= 0 && s <= 1).toBe(true);
      // outside the cut the score is 0 and there is no tag, as Fink writes it
      if (!l.passesCuts) expect(s).toBe(0);
    }
    const ml = sink.lines.filter((l) => l.module === 'microlensing');
    expect(ml.length).toBe(glints.length);
    for (const l of ml) {
      const s = l.scores as Record<string, number>;
      expect(Object.keys(s)).toEqual(['mulens_ml', 'mulens_ml_ML', 'mulens_ml_VAR', 'mulens_ml_CONST', 'mulens_ml_SN']);
      expect(s.mulens_ml).toBe(s.mulens_ml_ML);
      if (l.passesCuts) expect(s.mulens_ml_ML + s.mulens_ml_VAR + s.mulens_ml_CONST + s.mulens_ml_SN).toBeCloseTo(1, 9);
    }
  }, 120_000);

  it('microlensing: four classes trained on simulations, a 4 x 4 confusion matrix, labels and a retrain through the API', async () => {
    const v1 = (await app.inject({ url: '/api/models/microlensing/1' })).json() as { classNames: string[]; metrics: Record<string, number> };
    expect(v1.classNames).toEqual(['ML', 'VAR', 'CONST', 'SN']);
    const cells = Object.keys(v1.metrics).filter((k) => k.startsWith('cm_'));
    expect(cells).toHaveLength(16);
    expect(cells.reduce((s, k) => s + v1.metrics[k], 0)).toBe(v1.metrics.n);
    const q = (await app.inject({ url: '/api/modules/microlensing/queue?k=5', headers: auth(expert) })).json() as { strategy: string; entries: Array<{ alertId: number; reason: string }> };
    expect(q.strategy).toBe('entropy');
    expect(q.entries[0].reason).toMatch(/^entropy \d/);
    for (const e of q.entries) expect((await app.inject({ method: 'POST', url: '/api/labels', headers: auth(expert), payload: { module: 'microlensing', alertId: e.alertId, label: 'CONST' } })).statusCode).toBe(201);
    const r = await wb.retrain('microlensing', 'mod-expert');
    expect(r?.version).toBe(2);
    expect(r?.gate?.metric).toBe('accuracy');
  }, 120_000);
});
