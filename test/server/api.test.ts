import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unzipSync } from 'fflate';
import { Store, type User } from '../../engine/index.ts';
import { Workbench, buildApp, DEFAULT_WORKBENCH_OPTIONS } from '../../engine/server/index.ts';
import { parseBundle } from '../../models/index.ts';
import { demoStore } from './fixture.ts';

let db: string;
let store: Store;
let wb: Workbench;
let app: FastifyInstance;
let admin: string;
let alice: string;
let bob: string;

const auth = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(async () => {
  db = await demoStore();
  store = Store.create(db);
  wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0 });
  app = await buildApp(wb);
  admin = store.addUser('root', 'admin').token;
  alice = store.addUser('alice', 'expert').token;
  bob = store.addUser('bob', 'expert').token;
});

afterAll(async () => {
  await app.close();
  await wb.close();
  store.close();
});

describe('API validation', () => {
  it('every API route refuses an unknown query parameter with a 400 naming it', async () => {
    const concrete = (url: string) => url.replace(':module', 'early-snia').replace(':version', '1').replace(':id', '1').replace(':file', 'science.png');
    const required: Record<string, string> = {
      'GET /api/labels': 'module=early-snia&', 'GET /api/models/:module/diff': 'a=1&b=1&', 'GET /api/search': 'q=ZTF&', 'GET /api/labels/agreement': 'module=early-snia&',
    };
    // valid bodies, so that the query string is the only thing wrong
    const bodies: Record<string, object> = {
      'POST /api/labels': { module: 'early-snia', alertId: 1, label: 'unsure' }, 'PATCH /api/labels/:id': { label: 'unsure' },
      'POST /api/models/:module/deploy': { version: 1 }, 'POST /api/users': { name: 'nobody', role: 'expert' }, 'POST /api/modules': { declaration: '{}' },
    };
    expect(app.apiRoutes.length).toBeGreaterThanOrEqual(20);
    for (const r of app.apiRoutes) {
      const res = await app.inject({ method: r.method as 'GET', url: `${concrete(r.url)}?${required[`${r.method} ${r.url}`] ?? ''}bogus=1`, headers: auth(admin), ...(r.method === 'GET' ? {} : { payload: bodies[`${r.method} ${r.url}`] ?? {} }) });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(400);
      expect(res.json().message, `${r.method} ${r.url}`).toMatch(/^querystring: unknown field 'bogus'$/);
    }
  });

  it('rejects bad params, queries and bodies route by route, naming the field', async () => {
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['GET', '/api/modules/No_Such/queue', undefined, /params\.module/],
      ['GET', '/api/modules/early-snia/queue?k=0', undefined, /querystring\.k must be >= 1/],
      ['GET', '/api/modules/early-snia/queue?strategy=psychic', undefined, /querystring\.strategy/],
      ['GET', '/api/modules/early-snia/progress?mine=maybe', undefined, /querystring\.mine/],
      ['GET', '/api/alerts/abc', undefined, /params\.id/],
      ['GET', '/api/alerts/1?modules=early-snia,No_Such', undefined, /querystring\.modules/],
      ['GET', '/api/alerts/1/cutouts/raw.fits', undefined, /params\.file/],
      ['GET', '/api/alerts/1/cutouts/science.png?stretch=log', undefined, /querystring\.stretch/],
      ['GET', '/api/labels?module=No_Such', undefined, /querystring\.module/],
      ['GET', '/api/labels', undefined, /^querystring: missing field 'module'$/],
      ['POST', '/api/labels', { module: 'early-snia', alertId: 'x', label: 'SN Ia' }, /body\.alertId/],
      ['POST', '/api/labels', { module: 'early-snia', alertId: 1 }, /^body: missing field 'label'$/],
      ['POST', '/api/labels', { module: 'early-snia', alertId: 1, label: 'SN Ia', mood: 'happy' }, /^body: unknown field '(mood|why)'$/],
      ['POST', '/api/labels/zero/undo', {}, /params\.id/],
      ['POST', '/api/labels/1/undo', { why: 1 }, /^body: unknown field '(mood|why)'$/],
      ['PATCH', '/api/labels/1', {}, /^body: missing field 'label'$/],
      ['GET', '/api/models?module=No_Such', undefined, /querystring\.module/],
      ['GET', '/api/models/No_Such', undefined, /params\.module/],
      ['GET', '/api/models/early-snia/0', undefined, /params\.version/],
      ['GET', '/api/models/early-snia/learning-curve?x=1', undefined, /unknown field '(x|trees)'/],
      ['GET', '/api/models/early-snia/diff?a=1', undefined, /^querystring: missing field 'b'$/],
      ['POST', '/api/models/early-snia/deploy', { version: 'latest' }, /body\.version/],
      ['POST', '/api/models/early-snia/rollback', { reason: { text: 'x' } }, /body\.reason/],
      ['POST', '/api/models/early-snia/retrain', { trees: 5 }, /unknown field '(x|trees)'/],
      ['GET', '/api/models/early-snia/1/export?format=pdf', undefined, /querystring\.format/],
      ['POST', '/api/users', { name: 'a b', role: 'expert' }, /body\.name/],
      ['POST', '/api/users', { name: 'carol', role: 'boss' }, /body\.role/],
    ];
    for (const [method, url, payload, message] of cases) {
      const res = await app.inject({ method: method as 'GET', url, headers: auth(admin), ...(payload === undefined ? {} : { payload: payload as object }) });
      expect(res.statusCode, `${method} ${url}`).toBe(400);
      expect(res.json().message, `${method} ${url}`).toMatch(message);
    }
  });

  it('answers unknown alerts, labels, versions and modules with 404, not 500', async () => {
    for (const url of ['/api/modules/nope/queue', '/api/models/nope', '/api/labels?module=nope', '/api/alerts/1?modules=early-snia,nope', '/api/modules/nope']) {
      const res = await app.inject({ url, headers: auth(admin) });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().message, url).toMatch(/unknown module 'nope' \(modules of this store: early-snia, kilonova, anomaly/);
    }
    expect((await app.inject({ url: '/api/alerts/999999' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/api/models/early-snia/99' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'early-snia', alertId: 999999, label: 'SN Ia' } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'early-snia', alertId: 1, label: 'banana' } })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/nothing-here' })).statusCode).toBe(404);
  });
});

describe('API accounts', () => {
  it('writes need a token (401), admin routes need an admin (403), tokens are stored hashed', async () => {
    const label = { module: 'early-snia', alertId: 1, label: 'unsure' };
    expect((await app.inject({ method: 'POST', url: '/api/labels', payload: label })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/labels', payload: label, headers: auth('sv_forged') })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/models/early-snia/deploy', payload: { version: 1 } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/models/early-snia/deploy', payload: { version: 1 }, headers: auth(alice) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/models/early-snia/rollback', payload: {}, headers: auth(alice) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/users', payload: { name: 'eve', role: 'admin' }, headers: auth(alice) })).statusCode).toBe(403);
    expect((await app.inject({ url: '/api/users', headers: auth(bob) })).statusCode).toBe(403);
    const created = await app.inject({ method: 'POST', url: '/api/users', payload: { name: 'carol', role: 'expert' }, headers: auth(admin) });
    expect(created.statusCode).toBe(201);
    const carol = created.json().token as string;
    expect((await app.inject({ url: '/api/me', headers: auth(carol) })).json()).toMatchObject({ name: 'carol', role: 'expert' });
    const stored = store.db.prepare('SELECT token_sha256 FROM users WHERE name = ?').get('carol') as { token_sha256: string };
    expect(stored.token_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(store.db.prepare('SELECT * FROM users').all())).not.toContain(carol);
    store.disableUser('carol', 'test');
    expect((await app.inject({ url: '/api/me', headers: auth(carol) })).statusCode).toBe(401);
  });

  it('sends security headers', async () => {
    const res = await app.inject({ url: '/api/health' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-ratelimit-limit']).toBe('6000');
    expect(Number(res.headers['x-ratelimit-remaining'])).toBeLessThan(6000);
  });

  it('checks the token before the body: every write answers 401 without a valid token, whatever it carries', async () => {
    const concrete = (url: string) => url.replace(':module', 'early-snia').replace(':version', '1').replace(':id', '1');
    const writes = app.apiRoutes.filter((r) => r.method !== 'GET');
    expect(writes.length).toBeGreaterThanOrEqual(7);
    for (const r of writes) for (const headers of [{}, auth('sv_forged')]) {
      // an incomplete body with an unknown field: a 400 here would describe the schema to a stranger
      const res = await app.inject({ method: r.method as 'POST', url: concrete(r.url), headers, payload: { bogus: 1 } });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
      expect(res.json().message).not.toMatch(/field|body/);
    }
  });

  it('takes JSON bodies strictly (no "2741" for 2741) and answers with numbers for ids and versions', async () => {
    const alertId = (store.db.prepare("SELECT id FROM alerts WHERE object_id LIKE 'ZTF%' ORDER BY id LIMIT 1").get() as { id: number }).id;
    const coerced = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(bob), payload: { module: 'kilonova', alertId: String(alertId), label: 'other' } });
    expect(coerced.statusCode).toBe(400);
    expect(coerced.json().message).toBe('body.alertId must be integer');
    const deploy = await app.inject({ method: 'POST', url: '/api/models/kilonova/deploy', headers: auth(admin), payload: { version: '1' } });
    expect(deploy.statusCode).toBe(400);
    expect(deploy.json().message).toBe('body.version must be integer');
    const ok = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(bob), payload: { module: 'kilonova', alertId, label: 'other' } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ alertId, modelVersion: store.deployedVersion('kilonova') });
    expect(typeof ok.json().id).toBe('number');
    expect(typeof ok.json().modelVersion).toBe('number');
    // query strings are text by nature: there, numbers are read as numbers
    expect((await app.inject({ url: '/api/modules/kilonova/queue?k=3', headers: auth(bob) })).json().entries).toHaveLength(3);
    await app.inject({ method: 'POST', url: `/api/labels/${ok.json().id}/undo`, headers: auth(bob) });
  });
});

describe('API labelling', () => {
  it('leases queue entries: two experts asking at once get different alerts', async () => {
    const a = (await app.inject({ url: '/api/modules/early-snia/queue?k=5', headers: auth(alice) })).json().entries as Array<{ objectId: string }>;
    const b = (await app.inject({ url: '/api/modules/early-snia/queue?k=5', headers: auth(bob) })).json().entries as Array<{ objectId: string }>;
    expect(a.length).toBe(5);
    expect(b.length).toBe(5);
    const shared = a.filter((e) => b.some((f) => f.objectId === e.objectId));
    expect(shared).toEqual([]);
    // asking again keeps alice's own leased alerts at the head of her queue
    const again = (await app.inject({ url: '/api/modules/early-snia/queue?k=5', headers: auth(alice) })).json().entries as Array<{ objectId: string }>;
    expect(again.map((e) => e.objectId)).toEqual(a.map((e) => e.objectId));
  });

  it('labels, lists, changes and undoes; only the author may change a label', async () => {
    const q = (await app.inject({ url: '/api/modules/early-snia/queue?k=2', headers: auth(alice) })).json().entries as Array<{ alertId: number; objectId: string }>;
    const res = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'early-snia', alertId: q[0].alertId, label: 'SN Ia', comment: 'clean rise' } });
    expect(res.statusCode).toBe(201);
    const row = res.json();
    expect(row).toMatchObject({ author: 'alice', authorKind: 'person', label: 'SN Ia', comment: 'clean rise', objectId: q[0].objectId, modelVersion: 1 });
    const next = (await app.inject({ url: '/api/modules/early-snia/queue?k=5', headers: auth(alice) })).json().entries as Array<{ objectId: string }>;
    expect(next.map((e) => e.objectId)).not.toContain(q[0].objectId);
    expect((await app.inject({ method: 'PATCH', url: `/api/labels/${row.id}`, headers: auth(bob), payload: { label: 'not SN' } })).statusCode).toBe(403);
    const changed = await app.inject({ method: 'PATCH', url: `/api/labels/${row.id}`, headers: auth(alice), payload: { label: 'other SN' } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ label: 'other SN', comment: 'clean rise' });
    expect(store.trainingLabels('early-snia').get(q[0].objectId)).toBe('other SN');
    const recent = (await app.inject({ url: '/api/labels?module=early-snia', headers: auth(alice) })).json() as Array<{ id: number; label: string }>;
    expect(recent[0]).toMatchObject({ id: changed.json().id, label: 'other SN' });
    expect(recent.some((r) => r.id === row.id)).toBe(false);
    const undone = await app.inject({ method: 'POST', url: `/api/labels/${changed.json().id}/undo`, headers: auth(alice), payload: {} });
    expect(undone.statusCode).toBe(200);
    expect(store.trainingLabels('early-snia').has(q[0].objectId)).toBe(false);
    expect((await app.inject({ method: 'POST', url: `/api/labels/${changed.json().id}/undo`, headers: auth(alice), payload: {} })).statusCode).toBe(409);
    const progress = (await app.inject({ url: '/api/modules/early-snia/progress?mine=true', headers: auth(alice) })).json();
    expect(progress).toMatchObject({ module: 'early-snia', total: 0, today: 0 });
  });

  it('re-ranks the anomaly queue on every label', async () => {
    const before = (await app.inject({ url: '/api/modules/anomaly/queue?k=20', headers: auth(bob) })).json().entries as Array<{ alertId: number; score: number }>;
    const r = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(bob), payload: { module: 'anomaly', alertId: before[0].alertId, label: 'nominal' } });
    expect(r.statusCode).toBe(201);
    const after = (await app.inject({ url: '/api/modules/anomaly/queue?k=20', headers: auth(bob) })).json().entries as Array<{ alertId: number; score: number }>;
    expect(after.map((e) => e.alertId)).not.toContain(before[0].alertId);
    const moved = after.filter((e) => before.some((b) => b.alertId === e.alertId && b.score !== e.score));
    expect(moved.length).toBeGreaterThan(0);
  });
});

describe('API alerts and models', () => {
  it('gives an alert with light curve, features, fits, probabilities, context, links and PNG cutouts', async () => {
    const id = (store.db.prepare("SELECT id FROM alerts WHERE stamp_science IS NOT NULL AND object_id LIKE 'ZTF%' ORDER BY id LIMIT 1").get() as { id: number }).id;
    const a = (await app.inject({ url: `/api/alerts/${id}` })).json();
    expect(a.lightCurve.jd.length).toBeGreaterThan(0);
    expect(a.context.rb).toBeTypeOf('number');
    expect(a.links.map((l: { name: string }) => l.name)).toEqual(['Fink', 'ALeRCE', 'SIMBAD', 'TNS']);
    const snia = a.modules.find((m: { module: string }) => m.module === 'early-snia');
    expect(snia.features.map((f: { name: string }) => f.name)).toContain('a_g');
    const p = snia.probabilities.reduce((s: number, c: { p: number }) => s + c.p, 0);
    expect(p).toBeCloseTo(1, 9);
    const anomaly = a.modules.find((m: { module: string }) => m.module === 'anomaly').anomaly;
    expect(Object.keys(anomaly).sort()).toEqual(['bands', 'final', 'wiring']);
    // Fink's two ZTF forests, by name, each with the band whose features it reads (Fink's wiring: forest_g reads r)
    expect(anomaly.bands.map((b: { band: string; reads: string }) => [b.band, b.reads])).toEqual([['g', 'r'], ['r', 'g']]);
    expect(anomaly.wiring).toMatch(/feeds the r-band features to forest_g/);
    for (const b of anomaly.bands) if (b.score !== null) expect(Number.isFinite(b.score)).toBe(true);
    if (anomaly.final !== null) expect(Number.isFinite(anomaly.final)).toBe(true);
    expect(anomaly.final === null || anomaly.bands.some((b: { score: number | null }) => b.score !== null)).toBe(true);
    for (const kind of ['science', 'template', 'difference']) {
      expect(a.cutouts[kind]).toBe(`/api/alerts/${id}/cutouts/${kind}.png`);
      const png = await app.inject({ url: `${a.cutouts[kind]}?stretch=asinh` });
      expect(png.statusCode).toBe(200);
      expect(png.headers['content-type']).toBe('image/png');
      expect(png.rawPayload.subarray(1, 4).toString()).toBe('PNG');
      expect(png.rawPayload.readUInt32BE(16)).toBe(63 * 4);
    }
    // a fitted early SN Ia alert carries its sigmoid for the plot
    const fitted = store.featureTable(wb.module('early-snia').extractor().spec);
    const withFit = Array.from(fitted.alertIds).find((_, i) => fitted.values[i * fitted.cols] !== 0)!;
    const b = (await app.inject({ url: `/api/alerts/${withFit}?modules=early-snia` })).json();
    expect(b.modules).toHaveLength(1);
    expect(b.modules[0].fits.length).toBeGreaterThan(0);
    expect(b.modules[0].fits[0].model).toBe('sigmoid');
    // drawn only over the nights the fit saw: never past the band's last detection
    for (const fit of b.modules[0].fits as Array<{ band: string; jd: number[] }>) {
      const bi = b.lightCurve.bands.indexOf(fit.band);
      const detections = (b.lightCurve.jd as number[]).filter((_, i) => b.lightCurve.band[i] === bi && b.lightCurve.detected[i]);
      expect(Math.max(...fit.jd)).toBeLessThanOrEqual(Math.max(...detections) + 1e-6);
      expect(Math.min(...fit.jd)).toBeGreaterThanOrEqual(Math.min(...detections) - 1);
    }
  });

  it('lists versions, diffs two, exports bundle / ONNX / Fink zip, deploys and rolls back as admin', async () => {
    const retrained = await wb.retrain('early-snia', 'root');
    expect(retrained?.version).toBe(2);
    const m = (await app.inject({ url: '/api/models/early-snia' })).json();
    expect(m.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(m.learningCurve.length).toBe(2);
    const diff = (await app.inject({ url: '/api/models/early-snia/diff?a=1&b=2' })).json();
    expect(diff.nLabels.a).toBe(m.versions[0].nLabels);
    const fom = diff.metrics.find((x: { name: string }) => x.name === 'fom');
    expect(fom).toEqual({ name: 'fom', a: m.versions[0].metrics.fom, b: m.versions[1].metrics.fom, delta: m.versions[1].metrics.fom - m.versions[0].metrics.fom });
    expect(diff.sameFeatureSpec).toBe(true);
    const bundle = await app.inject({ url: '/api/models/early-snia/2/export?format=bundle' });
    expect(bundle.headers['content-disposition']).toContain('early-snia_v2.bundle.json');
    expect(parseBundle(bundle.payload).manifest.version).toBe('2');
    const onnx = await app.inject({ url: '/api/models/early-snia/2/export?format=onnx' });
    expect(onnx.statusCode).toBe(200);
    expect(onnx.rawPayload.length).toBeGreaterThan(1000);
    expect((await app.inject({ url: '/api/models/early-snia/2/export?format=fink-anomaly-zip' })).statusCode).toBe(400);
    const zip = await app.inject({ url: '/api/models/anomaly/1/export?format=fink-anomaly-zip' });
    expect(zip.rawPayload.subarray(0, 2).toString()).toBe('PK');
    // proposed to Fink: the fink-science folder as a zip, and its README and snippet for the workbench's preview
    const proposal = await app.inject({ url: '/api/models/early-snia/2/fink-science' });
    expect(proposal.statusCode).toBe(200);
    const p = proposal.json();
    expect(p.folder).toBe('fink_science/ztf/early_snia');
    expect(p.files.map((f: { path: string }) => f.path)).toEqual([
      'fink_science/ztf/early_snia/__init__.py', 'fink_science/ztf/early_snia/processor.py', 'fink_science/ztf/early_snia/README.md', 'fink_science/data/models/early_snia/early-snia_v2.pkl',
    ]);
    expect(p.readme).toMatch(/^# Early type Ia supernovae \(`early_snia`\)[\s\S]*## Who declared it\n\nDeclared by \*\*\w+\*\*[\s\S]*## Held-out metrics/);
    expect(p.snippet).toContain('df = df.withColumn("rf_snia_vs_nonia", early_snia_score(*early_snia_args))');
    const folder = await app.inject({ url: '/api/models/early-snia/2/export?format=fink-science' });
    expect(folder.headers['content-disposition']).toContain('early-snia_v2.fink-science.zip');
    const files = unzipSync(new Uint8Array(folder.rawPayload));
    expect(Object.keys(files).sort()).toEqual([...p.files.map((f: { path: string }) => f.path)].sort());
    expect(new TextDecoder().decode(files['fink_science/ztf/early_snia/README.md'])).toBe(p.readme);
    expect((await app.inject({ url: '/api/models/early-snia/99/fink-science' })).statusCode).toBe(404);
    const target = store.deployedVersion('early-snia') === 2 ? 1 : 2;
    const dep = await app.inject({ method: 'POST', url: '/api/models/early-snia/deploy', headers: auth(admin), payload: { version: target, reason: 'test' } });
    expect(dep.json()).toEqual({ module: 'early-snia', deployedVersion: target });
    const back = await app.inject({ method: 'POST', url: '/api/models/early-snia/rollback', headers: auth(admin), payload: { reason: 'test' } });
    expect(back.json().deployedVersion).toBe(3 - target);
    expect(store.deploymentHistory('early-snia').at(-1)).toMatchObject({ action: 'rollback', actor: 'root', reason: 'test' });
  });

  it('streams server events to open pages', async () => {
    const seen: string[] = [];
    const off = wb.events.subscribe((e) => seen.push(`${e.type}:${e.module}`));
    await app.listen({ port: 0 });
    const port = (app.server.address() as { port: number }).port;
    const res = await fetch(`http://127.0.0.1:${port}/api/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    await reader.read(); // ": connected"
    const user: User = { name: 'root', role: 'admin', createdAt: '' };
    wb.deploy(user, 'kilonova', 1, 'redeploy for the event test');
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/^event: deployed\ndata: \{"type":"deployed","module":"kilonova"/);
    await reader.cancel();
    off();
    expect(seen).toContain('deployed:kilonova');
  });
});
