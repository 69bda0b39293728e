import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../engine/index.ts';
import { alertDetail } from '../../engine/server/alertDetail.ts';
import { Workbench, buildApp, DEFAULT_WORKBENCH_OPTIONS } from '../../engine/server/index.ts';
import { simulate } from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';
import { demoStore } from './fixture.ts';

/**
 * The alert view served from the workbench's cache of module views (issue 28: the detail of an alert on a
 * million-alert store in a few ms): the same body as computed afresh, and a new one as soon as what it shows
 * changes (a deployment, a rollback, saved AAD weights, a label). A demo store with both surveys, as trust.test.ts.
 */
let store: Store;
let wb: Workbench;
let app: FastifyInstance;
let admin: string;
let alice: string;
const users = new Map<string, string>();
const auth = (t: string) => ({ authorization: `Bearer ${t}` });
const served = async (id: number, token?: string, modules?: string) =>
  (await app.inject({ url: `/api/alerts/${id}${modules ? `?modules=${modules}` : ''}`, headers: token ? auth(token) : {} })).json();
/** The view a workbench that never saw the alert computes (its cache is empty), as it travels in JSON. */
const fresh = (id: number, viewer: string | null = null, modules?: string[]) =>
  JSON.parse(JSON.stringify(alertDetail(new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0 }), id, modules ?? wb.modules().map((m) => m.name), viewer ? store.userByToken(users.get(viewer)!) : null)));
const moduleOfView = (body: { modules: Array<{ module: string }> }, name: string) => body.modules.find((m) => m.module === name) as unknown as Record<string, unknown> & { modelVersion: number | null };

beforeAll(async () => {
  store = Store.create(await demoStore(120, [sharedPath('ztf', 'alerts.jsonl'), sharedPath('rubin', 'elasticc_earlysnia.parquet')], 3));
  wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0 });
  app = await buildApp(wb);
  admin = store.addUser('root', 'admin').token;
  alice = store.addUser('alice', 'expert').token;
  users.set('alice', alice);
}, 240_000);

afterAll(async () => {
  await app?.close();
  await wb?.close();
  store?.close();
});

/** Alerts the views differ on: ZTF with a sigmoid fit, Rubin with a Rainbow fit, and alerts outside the modules' pools. */
function sampleAlerts(): number[] {
  const table = (name: string) => store.featureTable(wb.module(name).extractor().spec);
  const snia = table('early-snia');
  const rubin = table('early-snia-rubin');
  const withSigmoid = Array.from(snia.alertIds).filter((_, i) => snia.values[i * snia.cols] !== 0).slice(0, 2);
  const withRainbow = Array.from(rubin.alertIds).slice(0, 2);
  // ZTF alerts early-snia's cuts reject: their view computes its extractors
  const outside = (store.db.prepare(`SELECT id FROM alerts WHERE survey = 'ztf' AND id NOT IN (SELECT alert_id FROM module_pool WHERE spec = ?) ORDER BY id LIMIT 2`)
    .all(store.specId(wb.module('early-snia').extractor().spec)) as Array<{ id: number }>).map((r) => r.id);
  expect([withSigmoid.length > 0, withRainbow.length > 0, outside.length]).toEqual([true, true, 2]);
  return [...withSigmoid, ...withRainbow, ...outside];
}

describe('the alert view from the cache of module views', () => {
  it('answers a second request with the same body, without computing the modules again', async () => {
    const ids = sampleAlerts();
    const fits = { n: 0 };
    const patched = wb.modules().map((m) => {
      const ex = m.extractor();
      const original = ex.fitCurves;
      if (original) ex.fitCurves = (...a) => (fits.n++, original.apply(ex, a));
      return () => (ex.fitCurves = original);
    });
    try {
      for (const id of ids) {
        const first = await served(id, alice);
        const computed = fits.n;
        const second = await served(id, alice);
        expect(fits.n, `alert ${id}: the second view computes no fitted curve`).toBe(computed);
        expect(second).toEqual(first);
        expect(first).toEqual(fresh(id, 'alice'));
        // a page showing one module gets that module's view, the same as in the full view
        const one = await served(id, alice, 'early-snia-rubin');
        expect(one.modules).toEqual([moduleOfView(first, 'early-snia-rubin')]);
      }
      expect(fits.n).toBeGreaterThan(0);
      // a Rubin alert's view carries its Rainbow curves, a fitted ZTF alert's its sigmoid
      const rubin = store.featureTable(wb.module('early-snia-rubin').extractor().spec).alertIds[0];
      expect(moduleOfView(await served(rubin), 'early-snia-rubin').fits).not.toEqual([]);
      expect(moduleOfView(await served(ids[0]), 'early-snia').fits).not.toEqual([]);
    } finally {
      for (const restore of patched) restore();
    }
  });

  it('shows the version deployed now: after a deployment and after a rollback', async () => {
    const id = sampleAlerts()[0];
    const before = moduleOfView(await served(id), 'early-snia');
    expect(before.modelVersion).toBe(store.deployedVersion('early-snia'));
    const retrained = await wb.retrain('early-snia', 'root');
    const other = retrained!.version;
    if (store.deployedVersion('early-snia') !== other) {
      const dep = await app.inject({ method: 'POST', url: '/api/models/early-snia/deploy', headers: auth(admin), payload: { version: other, reason: 'test' } });
      expect(dep.statusCode).toBe(200);
    }
    const after = await served(id);
    expect(moduleOfView(after, 'early-snia').modelVersion).toBe(other);
    expect(after).toEqual(fresh(id));
    const back = await app.inject({ method: 'POST', url: '/api/models/early-snia/rollback', headers: auth(admin), payload: { reason: 'test' } });
    expect(back.statusCode).toBe(200);
    const rolled = await served(id);
    expect(moduleOfView(rolled, 'early-snia')).toEqual(before);
    expect(rolled).toEqual(fresh(id));
  });

  it("shows an anomaly module's saved AAD weights, and the expert's label at once", async () => {
    const id = wb.queue('anomaly', null, 1)[0].alertId;
    const before = await served(id, alice);
    expect(moduleOfView(before, 'anomaly').modelVersion).toBe(store.deployedVersion('anomaly'));
    expect(before.labels).toEqual([]);
    const label = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'anomaly', alertId: id, label: 'anomaly' } });
    expect(label.statusCode).toBe(201);
    const labelled = await served(id, alice);
    expect(labelled.labels.map((l: { module: string; label: string; author: string }) => [l.module, l.label, l.author])).toEqual([['anomaly', 'anomaly', 'alice']]);
    expect(labelled).toEqual(fresh(id, 'alice'));
    // saving the live weights deploys them as a new version: the view scores with it
    const saved = await wb.retrain('anomaly', 'root');
    expect(saved!.version).toBe(store.deployedVersion('anomaly'));
    const after = await served(id, alice);
    expect(moduleOfView(after, 'anomaly').modelVersion).toBe(saved!.version);
    expect(moduleOfView(after, 'anomaly').anomaly).not.toEqual(moduleOfView(before, 'anomaly').anomaly);
    expect(after).toEqual(fresh(id, 'alice'));
  });
});

describe("a module's pass rate on a store that grows", () => {
  it('counts the alerts of its survey that arrived since the last count', async () => {
    const n = (survey: string) => (store.db.prepare('SELECT COUNT(*) AS n FROM alerts WHERE survey = ?').get(survey) as { n: number }).n;
    const ztf = async () => (await app.inject({ url: '/api/modules/early-snia' })).json().cuts;
    expect((await ztf()).alerts).toBe(n('ztf'));
    const before = n('ztf');
    store.insertAlerts([...simulate(15, 77)].map((o) => o.alert), 'more');
    store.insertAlerts([...simulate(5, 78, { survey: 'lsst' })].map((o) => o.alert), 'more rubin');
    expect(n('ztf')).toBeGreaterThan(before);
    expect((await ztf()).alerts).toBe(n('ztf'));
    expect((await app.inject({ url: '/api/modules/early-snia-rubin' })).json().cuts.alerts).toBe(n('lsst'));
  });
});

describe('a server starting on a store with a broken deployed bundle', () => {
  it('loads the other modules, says which one failed, and shows that module as failed on the alert page', async () => {
    const broken = 'microlensing';
    const v = store.deployedVersion(broken)!;
    const row = store.db.prepare('SELECT bundle_json FROM models WHERE module = ? AND version = ?').get(broken, v) as { bundle_json: string };
    store.db.prepare('UPDATE models SET bundle_json = ? WHERE module = ? AND version = ?').run(row.bundle_json.replace(/"nEstimators":\s*\d+/, '"nEstimators": 7'), broken, v);
    try {
      const lines: string[] = [];
      const started = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0, log: (l) => lines.push(l) });
      started.warmUp();
      expect(lines.filter((l) => l.includes('deployed model'))).toEqual([expect.stringMatching(new RegExp(`^sieve: the deployed model of ${broken} did not load: `))]);
      for (const m of started.modules().filter((x) => x.name !== broken)) expect(started.deployedModel(m.name)?.version ?? null).toBe(store.deployedVersion(m.name));
      const id = sampleAlerts()[0];
      const err = process.stderr.write;
      process.stderr.write = () => true;
      let view;
      try {
        view = alertDetail(started, id, started.modules().map((m) => m.name));
      } finally {
        process.stderr.write = err;
      }
      expect(moduleOfView(view, broken).error).toBeTypeOf('string');
      expect(moduleOfView(view, 'early-snia').probabilities).toBeDefined();
      await started.close();
    } finally {
      store.db.prepare('UPDATE models SET bundle_json = ? WHERE module = ? AND version = ?').run(row.bundle_json, broken, v);
    }
  });
});
