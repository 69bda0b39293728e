import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoCommand } from '../../engine/cli/demo.ts';
import { compileModule, Store } from '../../engine/index.ts';
import { Workbench, buildApp, DEFAULT_WORKBENCH_OPTIONS } from '../../engine/server/index.ts';
import { EXTRACTOR_NAMES, extractorByName, featureSpecHash } from '../../features/index.ts';
import { sharedPath } from '../shared.ts';

/**
 * Issue 22: a workbench a scientist trusts. A small demo store with both surveys (simulated ZTF night and
 * archive, simulated Rubin night, the real ZTF and Rubin alerts and ELAsTiCC's early SN Ia) behind the API.
 */
let store: Store;
let wb: Workbench;
let app: FastifyInstance;
let admin: string;
let alice: string;
let bob: string;
const auth = (t: string) => ({ authorization: `Bearer ${t}` });
/** A real Rubin alert whose diaObjectId is beyond 2^53 (170028485706776685 is 170028485706776670 as a float64). */
const RUBIN_OBJECT = '170028485706776685';
/** An ELAsTiCC alert: SNID = diaObjectId 1702305, simulated as GENTYPE 10 (SN Ia). */
const ELASTICC_SNID = '1702305';

interface Hit { id: number; objectId: string; candid: string | null; survey: string; matched: string[] }
const search = async (q: string) => (await app.inject({ url: `/api/search?q=${encodeURIComponent(q)}` })).json() as { query: string; hits: Hit[] };
const detail = async (id: number, modules: string, token?: string) => (await app.inject({ url: `/api/alerts/${id}?modules=${modules}`, headers: token ? auth(token) : {} })).json();

beforeAll(async () => {
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-trust-')), 'demo.db');
  const log = console.log;
  console.log = () => {};
  try {
    await demoCommand({ db, n: 120, seed: 1, serve: false, in: [sharedPath('ztf', 'alerts.jsonl'), sharedPath('lsst', 'part-2-918301.avro'), sharedPath('rubin', 'elasticc_earlysnia.parquet')] });
  } finally {
    console.log = log;
  }
  store = Store.create(db);
  wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0 });
  app = await buildApp(wb);
  admin = store.addUser('root', 'admin').token;
  alice = store.addUser('alice', 'expert').token;
  bob = store.addUser('bob', 'expert').token;
}, 240_000);

afterAll(async () => {
  await app?.close();
  await wb?.close();
  store?.close();
});

describe('labels reach the module the page shows (point 1)', () => {
  it('refuses a label for a module of the other survey (409 naming both), and records it in the module of the alert\'s survey', async () => {
    const rubin = (await search(RUBIN_OBJECT)).hits[0];
    const wrong = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'early-snia', alertId: rubin.id, label: 'SN Ia' } });
    expect(wrong.statusCode).toBe(409);
    expect(wrong.json().message).toBe(`alert ${rubin.id} is a Rubin/LSST alert and module early-snia reads ZTF alerts only; label it in a Rubin/LSST module (anomaly-rubin, early-snia-rubin)`);
    expect(store.objectLabels(RUBIN_OBJECT)).toEqual([]);
    const right = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'anomaly-rubin', alertId: rubin.id, label: 'nominal' } });
    expect(right.statusCode).toBe(201);
    expect(store.objectLabels(RUBIN_OBJECT).map((l) => [l.module, l.label, l.author])).toEqual([['anomaly-rubin', 'nominal', 'alice']]);
  });
});

describe('search by the survey\'s ids, as exact text (point 2)', () => {
  it('finds a Rubin diaObjectId beyond 2^53, and not its float64 neighbour', async () => {
    const r = await search(RUBIN_OBJECT);
    expect(r.hits.length).toBeGreaterThan(0);
    expect(r.hits.every((h) => h.objectId === RUBIN_OBJECT && h.matched.includes('diaObjectId'))).toBe(true);
    // what Number('170028485706776685') gives: another object (none here), never this one
    expect(String(Number(RUBIN_OBJECT))).toBe('170028485706776670');
    expect((await search('170028485706776670')).hits).toEqual([]);
  });

  it('finds an alert by its alertId / candid, an ELAsTiCC object by its SNID, and Sieve\'s own id only with a prefix', async () => {
    const rubin = (await search(RUBIN_OBJECT)).hits[0];
    const byAlertId = await search(rubin.candid!);
    expect(byAlertId.hits.map((h) => [h.id, h.matched.includes('alertId')])).toEqual([[rubin.id, true]]);
    const elasticc = await search(ELASTICC_SNID);
    expect(elasticc.hits.length).toBeGreaterThan(0);
    expect(elasticc.hits[0].matched).toEqual(expect.arrayContaining(['SNID', 'diaObjectId']));
    const ztf = store.db.prepare("SELECT id, candid FROM alerts WHERE object_id LIKE 'ZTF%' LIMIT 1").get() as { id: number; candid: string };
    expect((await search(ztf.candid)).hits.map((h) => [h.id, h.matched])).toEqual([[ztf.id, ['candid']]]);
    expect((await search(`#${ztf.id}`)).hits.map((h) => [h.id, h.matched])).toEqual([[ztf.id, ['id']]]);
    expect((await search(`id:${ztf.id}`)).hits.map((h) => h.id)).toEqual([ztf.id]);
    // digits alone are never Sieve's alert id
    expect((await search(String(ztf.id))).hits.map((h) => h.id)).not.toContain(ztf.id);
  });
});

describe('numbers and units (point 3)', () => {
  it('every extractor declares a unit for each column, and the unit does not change the spec\'s identity', () => {
    for (const name of EXTRACTOR_NAMES) {
      const spec = extractorByName(name).spec;
      expect(spec.units?.length, name).toBe(spec.columns.length);
      const { units: _units, ...bare } = spec;
      expect(featureSpecHash(bare), name).toBe(featureSpecHash(spec));
    }
    const rainbow = extractorByName('rainbow').spec;
    const unit = (c: string) => rainbow.units![rainbow.columns.indexOf(c)];
    expect([unit('reference_time'), unit('amplitude'), unit('rise_time'), unit('Tmin'), unit('k_sig'), unit('lc_max')]).toEqual(['MJD', 'lc_max', 'day', 'K', 'day', 'nJy']);
  });

  it('gives a user module the units of the extractor it lists (Rainbow: K, days, nJy; never the module\'s)', async () => {
    const declaration = {
      name: 'rainbow-user', survey: 'lsst', features: ['rainbow', { alert: ['snr', 'psfFlux'] }],
      labels: [{ label: 'fast', key: '1', class: 'fast' }, { label: 'slow', key: '2', class: 'slow' }],
      model: { type: 'random-forest', trees: 10 }, broker: { score: 'rb_fast', positive: 'fast' },
    };
    expect((await app.inject({ method: 'POST', url: '/api/modules', headers: auth(admin), payload: { declaration } })).statusCode).toBe(201);
    const rubin = (await search(RUBIN_OBJECT)).hits[0];
    const d = await detail(rubin.id, 'rainbow-user');
    const units = Object.fromEntries(d.modules[0].features.map((f: { name: string; unit: string | null }) => [f.name, f.unit]));
    expect(units).toEqual({ reference_time: 'MJD', amplitude: 'lc_max', rise_time: 'day', Tmin: 'K', delta_T: null, k_sig: 'day', reduced_chi2: null, lc_max: 'nJy', snr: null, psfFlux: 'nJy' });
    const ztf = store.db.prepare("SELECT id FROM alerts WHERE object_id LIKE 'ZTF%' LIMIT 1").get() as { id: number };
    const early = Object.fromEntries((await detail(ztf.id, 'early-snia')).modules[0].features.map((f: { name: string; unit: string | null }) => [f.name, f.unit]));
    expect(early).toMatchObject({ a_g: '1/day', b_g: 'day', c_g: 'FLUXCAL', snratio_g: null, mse_g: null, nrise_g: null });
    const anomaly = Object.fromEntries((await detail(ztf.id, 'anomaly')).modules[0].features.map((f: { name: string; unit: string | null }) => [f.name, f.unit]));
    expect(anomaly).toMatchObject({ mean_g: 'mag', linear_trend_r: 'mag/day', skew_g: null });
    const rubinAnomaly = Object.fromEntries((await detail(rubin.id, 'anomaly-rubin')).modules[0].features.map((f: { name: string; unit: string | null }) => [f.name, f.unit]));
    expect(rubinAnomaly).toMatchObject({ mean_u: 'nJy', linear_trend_y: 'nJy/day', mean_variance_g: null });
  });

  it('sends each field\'s unit: times as MJD/JD (shown to 1e-4 d), fluxes in nJy; ids as exact strings', async () => {
    const rubin = (await search(RUBIN_OBJECT)).hits[0];
    const d = await detail(rubin.id, 'anomaly-rubin');
    expect(d.units).toMatchObject({ psfFlux: 'nJy', brokerIngestMjd: 'MJD' });
    expect(d.objectId).toBe(RUBIN_OBJECT);
    expect(typeof d.candid).toBe('string');
    expect(d.mjd).toBeCloseTo(d.jd - 2400000.5, 9);
    // a field is shown once: reliability and extendedness are the diaSource's, not repeated among the extra fields
    expect(Object.keys(d.extra)).not.toContain('reliability');
    expect(Object.keys(d.context)).toContain('reliability');
  });
});

describe('blind labelling (point 4)', () => {
  it('hides ELAsTiCC\'s simulation truth until the expert\'s label is in, then shows it with the verdict', async () => {
    const [hit] = (await search(ELASTICC_SNID)).hits;
    const before = await detail(hit.id, 'early-snia-rubin', alice);
    for (const k of ['GENTYPE', 'PEAKMJD', 'ZCMB']) {
      expect(before.extra[k], k).toBeUndefined();
      expect(before.truth.fields, k).toContain(k);
    }
    expect(before.truth).toMatchObject({ revealed: false, values: null });
    const posted = await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'early-snia-rubin', alertId: hit.id, label: 'SN Ia' } });
    expect(posted.statusCode).toBe(201);
    const after = await detail(hit.id, 'early-snia-rubin', alice);
    expect(after.truth.revealed).toBe(true);
    expect(after.truth.values).toMatchObject({ GENTYPE: 10, PEAKMJD: 60285.943 });
    expect(after.units.PEAKMJD).toBe('MJD');
    // still hidden from an expert who has not labelled it, and from anyone without a token
    expect((await detail(hit.id, 'early-snia-rubin', bob)).truth.values).toBeNull();
    expect((await detail(hit.id, 'early-snia-rubin')).truth.values).toBeNull();
  });

  it('hides a simulated alert\'s class and the catalogue\'s labels until then, and counts agreement per expert', async () => {
    // an unlabelled simulated ZTF alert of known class in early-snia's queue
    const { entries } = (await app.inject({ url: '/api/modules/early-snia/queue?k=50', headers: auth(alice) })).json() as { entries: Array<{ alertId: number }> };
    const id = entries.find((e) => store.getAlert(e.alertId).label !== undefined)!.alertId;
    const cls = store.getAlert(id).label!;
    const before = await detail(id, 'early-snia', alice);
    expect(before.sourceLabel).toBeNull();
    expect(before.truth.fields).toContain('catalogue class');
    expect(Object.values(before.extra)).not.toContain(cls);
    expect(before.labels).toEqual([]);
    const truthLabel = wb.module('early-snia').catalogLabel(cls)!;
    const given = truthLabel === 'SN Ia' ? 'other SN' : 'SN Ia';
    const row = (await app.inject({ method: 'POST', url: '/api/labels', headers: auth(alice), payload: { module: 'early-snia', alertId: id, label: given } })).json();
    expect(row.truth).toEqual({ catalogueClass: cls, truthLabel, sameLabel: false, sameClass: false });
    const after = await detail(id, 'early-snia', alice);
    expect(after.sourceLabel).toBe(cls);
    expect(after.truth.verdicts).toEqual([{ module: 'early-snia', yourLabel: given, truthLabel, sameLabel: false, sameClass: false }]);
    const agreement = (await app.inject({ url: '/api/labels/agreement?module=early-snia' })).json() as Array<{ expert: string; compared: number; sameClass: number }>;
    expect(agreement).toEqual([{ expert: 'alice', compared: 1, sameClass: 0, sameLabel: 0 }]);
    // the seeds are catalogue labels: hidden before, and never counted as an expert's agreement
    const seeded = store.db.prepare("SELECT alert_id FROM labels WHERE module = 'early-snia' AND author = 'demo-seed' LIMIT 1").get() as { alert_id: number };
    const s = await detail(seeded.alert_id, 'early-snia', bob);
    expect(s.labels).toEqual([]);
    expect(s.truth.hiddenLabels).toBeGreaterThan(0);
  });

  it('takes the truth fields from the module\'s declaration when it names them', async () => {
    const declaration = {
      name: 'snid-blind', survey: 'lsst', features: [{ alert: ['snr'] }], truth: ['SNID', 'PEAK*'],
      labels: [{ label: 'Ia', key: '1', class: 'Ia' }, { label: 'other', key: '2', class: 'other' }],
      model: { type: 'random-forest', trees: 10 }, broker: { score: 'x', positive: 'Ia' },
    };
    expect((await app.inject({ method: 'POST', url: '/api/modules', headers: auth(admin), payload: { declaration } })).statusCode).toBe(201);
    const [hit] = (await search(ELASTICC_SNID)).hits;
    const d = await detail(hit.id, 'snid-blind', bob);
    expect(d.truth.fields).toEqual(expect.arrayContaining(['SNID', 'PEAKMJD', 'PEAKMAG_g']));
    expect(d.extra.SNID).toBeUndefined();
    // GENTYPE is not truth for this module: shown
    expect(d.extra.GENTYPE).toBe(10);
    expect((await app.inject({ url: '/api/modules/snid-blind' })).json().truth).toEqual(['SNID', 'PEAK*']);
  });

  it('maps catalogue classes by the first pattern in the order written, also for a declaration read back from the store', () => {
    const r = store.moduleDeclarations().find((x) => x.name === 'early-snia')!;
    const stored = compileModule(JSON.parse(r.declarationJson));
    expect(['SN Ia', 'SN Ia-91bg', 'SN II', 'SLSN-I', 'bogus', 'AGN'].map((c) => stored.catalogLabel(c))).toEqual(['SN Ia', 'SN Ia', 'other SN', 'other SN', 'bogus', 'not SN']);
  });
});

describe('the module page and the report (point 6)', () => {
  it('counts a module\'s cut pass rate over its own survey\'s alerts only', async () => {
    const n = (survey: string) => (store.db.prepare('SELECT COUNT(*) AS n FROM alerts WHERE survey = ?').get(survey) as { n: number }).n;
    const rubin = (await app.inject({ url: '/api/modules/early-snia-rubin' })).json();
    expect(rubin.cuts).toMatchObject({ survey: 'lsst', alerts: n('lsst') });
    const ztf = (await app.inject({ url: '/api/modules/early-snia' })).json();
    expect(ztf.cuts).toMatchObject({ survey: 'ztf', alerts: n('ztf') });
  });

  it('serves the report to open in the browser, with each version\'s gate decision in one line', async () => {
    const res = await app.inject({ url: '/api/models/early-snia/report.html' });
    expect(res.headers['content-disposition']).toMatch(/^inline; filename="early-snia-report.html"$/);
    const v1 = store.getModel('early-snia', 1);
    expect(res.body).toContain(v1.gate!.summary!.replace(/>/g, '&gt;'));
  });
});
