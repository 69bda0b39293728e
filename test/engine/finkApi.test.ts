import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LSST_BANDS, decodeFitsStamp, readAlertFile, readAvroContainer, type Alert } from '../../datasets/index.ts';
import { FINK_API_HOSTS, PullError, Store, ensureBuiltinModules, pullFink, storeModules, type PullOptions, type PullQuery, type Transport } from '../../engine/index.ts';
import { DEFAULT_WORKBENCH_OPTIONS, Workbench, buildApp } from '../../engine/server/index.ts';
import { sharedPath } from '../shared.ts';
import { LSST_BODIES, ZTF_BODIES, startFinkApi, type FinkApiStub } from './finkApiServer.ts';

/**
 * `sieve pull fink` against the bodies of Fink's ZTF and LSST APIs in ../shared/data/fink/api and api_lsst
 * (made by fink-object-api's own route code, see their READMEs), served by a local server that answers only
 * requests equal to the `*.request.json` beside each body. The pulled alerts are checked against the same
 * alerts read from their Avro / JSON files in ../shared/data.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-pull-'));
let dbCount = 0;
const newStore = () => {
  const s = Store.create(path.join(tmp, `pull-${++dbCount}.db`));
  ensureBuiltinModules(s);
  return s;
};
const quiet: Pick<PullOptions, 'log' | 'rate'> = { log: () => {}, rate: 1000 };
const storedAlerts = (store: Store) => (store.db.prepare('SELECT id FROM alerts ORDER BY id').all() as Array<{ id: number }>).map((r) => store.getAlert(r.id));

let ztf: FinkApiStub;
let lsst: FinkApiStub;
const twins = new Map<string, Alert>();

beforeAll(async () => {
  ztf = await startFinkApi(ZTF_BODIES());
  lsst = await startFinkApi(LSST_BODIES());
  const files = [sharedPath('ztf', 'alerts.jsonl'), sharedPath('ztf', 'fink_avro', 'part-3-305711.avro'), sharedPath('lsst', 'part-2-918301.avro')];
  for (const f of files) for (const a of (await readAlertFile(f)).alerts) twins.set(`${a.survey}:${a.candid}`, a);
});

afterAll(async () => {
  await ztf.close();
  await lsst.close();
});

/** The valid rows' i:candid of a body, read from its text (no JSON parser involved). */
const candidsInText = (file: string) => [...readFileSync(sharedPath('fink', 'api', file), 'utf8').matchAll(/"i:candid":(\d+)/g)].map((m) => m[1]);

/** Pixels equal as float32, but for the 10-decimal rounding of pandas' JSON writer (api/README.md point 1) on pixels below 0.01. */
function expectSamePixels(pulled: Uint8Array | undefined, original: Uint8Array | undefined, what: string) {
  expect(pulled, what).toBeDefined();
  const a = decodeFitsStamp(pulled!, what);
  const b = decodeFitsStamp(original!, what);
  expect([a.width, a.height], what).toEqual([b.width, b.height]);
  for (let i = 0; i < a.data.length; i++) {
    if (Object.is(a.data[i], b.data[i])) continue;
    expect(Math.abs(b.data[i]), `${what} pixel ${i}`).toBeLessThan(0.01);
    expect(Math.abs(a.data[i] - b.data[i]), `${what} pixel ${i}`).toBeLessThanOrEqual(5e-11);
  }
}

describe('sieve pull fink --survey ztf (the bodies of api/)', () => {
  it('objects: every valid row is an alert with its exact candid and 2-D stamps, bad-quality rows are detections and upper limits non-detections of its history', async () => {
    const store = newStore();
    const sentBefore = ztf.sent.length;
    const ids = ['ZTF18aaxyyjv', 'ZTF18abtmxoy', 'ZTF26aaaldio'];
    const r = await pullFink(store, { kind: 'objects', objectIds: ids }, { ...quiet, baseUrl: ztf.base, cutouts: 'all' });
    // the requests are the captured ones, exactly
    expect(ztf.sent.slice(sentBefore).map((s) => s.matched)).toEqual(ids.map((id) => `objects_${id}.json`));
    const alerts = storedAlerts(store);
    // every candid exact, as the body's text has it (JSON.parse rounds 1786410691915010000 to ...09920)
    const expected = ids.flatMap((id) => candidsInText(`objects_${id}.json`));
    expect(alerts.map((a) => a.candid!.toString()).sort()).toEqual(expected.sort());
    expect(r).toMatchObject({ pages: 3, alerts: 5, inserted: 5, alreadyStored: 0 });
    for (const a of alerts) {
      const twin = twins.get(`ztf:${a.candid}`)!;
      expect(twin, `${a.objectId} ${a.candid}`).toBeDefined();
      expect(a.objectId).toBe(twin.objectId);
      expect(Math.fround(a.candidate.magpsf)).toBe(Math.fround(twin.candidate.magpsf));
      expect(a.ra).toBeCloseTo(twin.ra, 9);
      // the objects route's 2-D arrays are the alert's stamps
      for (const k of ['science', 'template', 'difference'] as const) expectSamePixels(a.cutouts[k]?.bytes, twin.cutouts[k]?.bytes, `${a.objectId} ${k}`);
      // the history: every point is one of the alert's own history (prv_candidates) with the same photometry
      const lc = a.lightCurve;
      const t = twin.lightCurve;
      // (the other valid rows are that object's other alerts; ZTF rounds an alert's copy in prv_candidates)
      const otherAlerts = new Set(alerts.filter((x) => x.objectId === a.objectId).map((x) => x.candidate.jd));
      for (let i = 0; i < lc.jd.length; i++) {
        if (otherAlerts.has(lc.jd[i])) continue;
        const j = Array.from(t.jd).findIndex((x) => Math.abs(x - lc.jd[i]) < 1e-6);
        expect(j, `${a.objectId} point at jd ${lc.jd[i]}`).toBeGreaterThanOrEqual(0);
        expect(lc.detected[i]).toBe(t.detected[j]);
        expect(Math.fround(lc.limitMag[i])).toBe(Math.fround(t.limitMag[j]));
      }
    }
    // ZTF18aaxyyjv: 4 bad-quality rows (rb < 0.55 or nbad != 0), detections Fink's modules read
    const newest = alerts.filter((a) => a.objectId === 'ZTF18aaxyyjv').sort((x, y) => y.candidate.jd - x.candidate.jd)[0];
    expect(Array.from(newest.lightCurve.detected)).toEqual([1, 1, 1, 1, 1, 1]);
    const badQuality = JSON.parse(readFileSync(sharedPath('fink', 'api', 'objects_ZTF18aaxyyjv.json'), 'utf8')).filter((row: Record<string, unknown>) => row['d:tag'] === 'badquality');
    for (const row of badQuality) {
      const i = Array.from(newest.lightCurve.jd).indexOf(row['i:jd']);
      expect(Math.fround(newest.lightCurve.mag[i])).toBe(Math.fround(Number(row['i:magpsf'])));
      expect(newest.lightCurve.distnr![i]).toBe(Number(row['i:distnr']));
    }
    // ZTF18abtmxoy: its 24 upper limits are non-detections of the newer alert's history
    const abt = alerts.filter((a) => a.objectId === 'ZTF18abtmxoy').sort((x, y) => y.candidate.jd - x.candidate.jd)[0];
    expect(Array.from(abt.lightCurve.detected).filter((d) => !d)).toHaveLength(24);
    // Fink's values for the alert; ZTF26aaaldio's TNS class as a catalog label
    const aldio = alerts.find((a) => a.objectId === 'ZTF26aaaldio')!;
    expect(aldio.extra).toMatchObject({ tns: 'SN II', cdsxmatch: twin(aldio).extra.cdsxmatch });
    const tns = store.db.prepare("SELECT module, label, author_kind, comment FROM labels WHERE author = 'TNS'").all() as Array<Record<string, string>>;
    const mapped = storeModules(store).filter((m) => (m.kind === 'classifier' || m.kind === 'anomaly') && m.catalogLabel('SN II') !== null);
    expect(tns.map((l) => [l.module, l.label]).sort()).toEqual(mapped.map((m) => [m.name, m.catalogLabel('SN II')]).sort());
    expect(tns.every((l) => l.author_kind === 'catalog' && /TNS class SN II/.test(l.comment))).toBe(true);
    // the workbench's alert page says where each label came from
    const wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0, log: () => {} });
    const app = await buildApp(wb);
    const token = store.addUser('pull-expert', 'expert').token;
    const detail = (await app.inject({ url: `/api/alerts/${(aldio as Alert & { id: number }).id}`, headers: { authorization: `Bearer ${token}` } })).json() as { labels: Array<Record<string, string>> };
    for (const m of mapped) expect(detail.labels).toContainEqual(expect.objectContaining({ module: m.name, label: m.catalogLabel('SN II'), author: 'TNS', authorKind: 'catalog' }));
    await app.close();
    await wb.close();
    // the same command again asks nothing and stores nothing
    const before = ztf.sent.length;
    expect(await pullFink(store, { kind: 'objects', objectIds: ids }, { ...quiet, baseUrl: ztf.base })).toMatchObject({ pages: 0, skipped: 3 });
    expect(ztf.sent.length).toBe(before);
    store.close();
  });

  it('objects: --cutouts latest keeps the newest alert\'s stamps only, none asks for none', async () => {
    const store = newStore();
    await pullFink(store, { kind: 'objects', objectIds: ['ZTF18aaxyyjv'] }, { ...quiet, baseUrl: ztf.base });
    const [older, newer] = storedAlerts(store).sort((x, y) => x.candidate.jd - y.candidate.jd);
    expect(older.cutouts.science).toBeUndefined();
    expect(newer.cutouts.science).toBeDefined();
    const sent = ztf.sent.length;
    await pullFink(newStore(), { kind: 'objects', objectIds: ['ZTF18aaxyyjv'] }, { ...quiet, baseUrl: ztf.base, cutouts: 'none' }).catch(() => null);
    expect(ztf.sent[sent].body).toMatchObject({ withcutouts: false });
    store.close();
  });

  it('latests and conesearch: one alert per row, exact candids, the request bodies of the captures', async () => {
    const store = newStore();
    const sent = ztf.sent.length;
    const queries: PullQuery[] = [
      { kind: 'latests', className: 'Early SN Ia candidate', start: '2021-11-01', stop: '2021-12-01', n: 10, windowDays: 30 },
      { kind: 'latests', className: '(TNS) SN Ia', start: '2019-11-01', stop: '2026-04-01', n: 10, windowDays: 2343 },
      { kind: 'conesearch', ra: 291.0011564, dec: -12.633229, radiusArcsec: 30 },
    ];
    for (const q of queries) await pullFink(store, q, { ...quiet, baseUrl: ztf.base });
    expect(ztf.sent.slice(sent).map((s) => s.matched)).toEqual([
      'latests_Early_SN_Ia_candidate_2021-11-01_2021-12-01.json', 'latests_TNS_SN_Ia_2019-11-01_2026-04-01.json', 'conesearch_ra291.0011564_dec-12.633229_r30.json',
    ]);
    const expected = ['latests_Early_SN_Ia_candidate_2021-11-01_2021-12-01.json', 'latests_TNS_SN_Ia_2019-11-01_2026-04-01.json', 'conesearch_ra291.0011564_dec-12.633229_r30.json'].flatMap(candidsInText);
    expect(storedAlerts(store).map((a) => a.candid!.toString()).sort()).toEqual(expected.sort());
    // rows of alerts we hold in ../shared agree with them
    for (const a of storedAlerts(store)) {
      const t = twins.get(`ztf:${a.candid}`);
      if (t) expect([a.objectId, Math.fround(a.candidate.magpsf), a.candidate.fid]).toEqual([t.objectId, Math.fround(t.candidate.magpsf), t.candidate.fid]);
    }
    store.close();
  });

  it('an alert whose key the store holds for another object stops the page, naming both; nothing of the page is stored', async () => {
    const store = newStore();
    const other = twins.get('ztf:975188140015015031')!; // ZTF18abrhivb, from alerts.jsonl
    const [candid] = candidsInText('latests_Early_SN_Ia_candidate_2021-11-01_2021-12-01.json');
    store.insertAlerts([{ ...other, candid: BigInt(candid) }], 'test');
    const err = await pullFink(store, { kind: 'latests', className: 'Early SN Ia candidate', start: '2021-11-01', stop: '2021-12-01', n: 10, windowDays: 30 }, { ...quiet, baseUrl: ztf.base }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PullError);
    expect((err as Error).message).toMatch(new RegExp(`the alert ztf:${candid} of ZTF21\\w+ is already stored for another object, ZTF18abrhivb: nothing of this page stored; 0 page\\(s\\) stored before it`));
    expect(store.countAlerts()).toBe(1);
    store.close();
  });

  it('goes to https://api.ztf.fink-portal.org and https://api.lsst.fink-portal.org unless told otherwise', async () => {
    const urls: string[] = [];
    const transport: Transport = async (url) => {
      urls.push(url.href);
      return { status: 200, statusText: 'OK', header: () => 'application/json', body: [new TextEncoder().encode('[]')] as unknown as AsyncIterable<Uint8Array> };
    };
    await pullFink(newStore(), { kind: 'objects', objectIds: ['ZTF18aaxyyjv'] }, { ...quiet, transport });
    await pullFink(newStore(), { kind: 'objects', objectIds: ['170028513894596704'] }, { ...quiet, survey: 'lsst', transport });
    expect(urls).toEqual(['https://api.ztf.fink-portal.org/api/v1/objects', 'https://api.lsst.fink-portal.org/api/v1/objects', 'https://api.lsst.fink-portal.org/api/v1/sources']);
    expect(FINK_API_HOSTS).toEqual({ ztf: 'https://api.ztf.fink-portal.org', lsst: 'https://api.lsst.fink-portal.org' });
  });
});

function twin(a: Alert): Alert {
  const t = twins.get(`${a.survey}:${a.candid}`);
  if (!t) throw new Error(`no alert ${a.candid} in ../shared`);
  return t;
}

describe('sieve pull fink --survey lsst (the bodies of api_lsst/)', () => {
  it('objects: objects, sources and fp by diaObjectId as a string, each source an alert with its forced photometry in nJy, Fink\'s values kept', async () => {
    const store = newStore();
    const sent = lsst.sent.length;
    const lines: string[] = [];
    const r = await pullFink(store, { kind: 'objects', objectIds: ['170028513894596704'] }, { survey: 'lsst', baseUrl: lsst.base, rate: 1000, log: (l) => lines.push(l) });
    expect(lsst.sent.slice(sent).map((s) => [s.route, s.matched])).toEqual([
      ['/api/v1/objects', 'objects_170028513894596704.json'],
      ['/api/v1/sources', 'sources_170028513894596704.json'],
      ['/api/v1/fp', 'fp_170028513894596704.json'],
      // no body was captured for this diaSource's cutouts: the server answers as the API does for a diaSource without cutouts
      ['/api/v1/cutouts', null],
    ]);
    expect(lsst.sent.at(-1)!.body).toEqual({ diaSourceId: '170094456523456557', kind: 'All', 'output-format': 'array' });
    expect(lines).toContain('pull: diaSource 170094456523456557: Fink has no cutouts of it (an empty image/png answer)');
    expect(r).toMatchObject({ pages: 1, alerts: 1, inserted: 1 });
    const [a] = storedAlerts(store);
    const t = twin(a);
    expect([a.survey, a.objectId, a.candid]).toEqual(['lsst', '170028513894596704', 170094456523456557n]);
    // the triggering diaSource as in the alert: float32 fields as float32, times and coordinates as doubles
    const raw = a.raw as Record<string, unknown>;
    const twinRaw = t.raw as Record<string, unknown>;
    for (const f of ['psfFlux', 'psfFluxErr', 'scienceFlux', 'reliability', 'snr', 'extendedness']) expect(Math.fround(Number(raw[f])), f).toBe(Math.fround(Number(twinRaw[f])));
    for (const f of ['midpointMjdTai', 'ra', 'dec']) expect(Number(raw[f]), f).toBeCloseTo(Number(twinRaw[f]), 9);
    expect(String(raw.visit)).toBe(String(twinRaw.visit));
    // the light curve: the source, and the forced points up to it (the one at its own visit dropped, as the reader does)
    const lc = a.lightCurve;
    const fp = JSON.parse(readFileSync(sharedPath('fink', 'api_lsst', 'fp_170028513894596704.json'), 'utf8')) as unknown[];
    expect(lc.detected.filter((d) => d === 1)).toHaveLength(1);
    expect(lc.detected.filter((d) => d === 0)).toHaveLength(fp.length - 1);
    expect(lc.nativeUnit).toBe('nJy');
    // each forced point is one of the alert's prvDiaForcedSources (its Avro record)
    const record = readAvroContainer(readFileSync(sharedPath('lsst', 'part-2-918301.avro')), 'part-2').records
      .map((x) => x.value).find((x) => (x.diaSource as Record<string, unknown>).diaSourceId === a.candid)!;
    const forced = record.prvDiaForcedSources as Array<Record<string, number | string>>;
    for (let i = 0; i < lc.jd.length; i++) {
      expect(lc.jd[i]).toBe(lc.mjd![i] + 2400000.5);
      if (lc.detected[i]) continue;
      const f = forced.find((x) => Math.abs(Number(x.midpointMjdTai) - lc.mjd![i]) < 1e-9 && x.band === LSST_BANDS[lc.band[i]]);
      expect(f, `forced point at MJD ${lc.mjd![i]}`).toBeDefined();
      expect(Math.fround(lc.fluxNanoJy[i])).toBe(Math.fround(Number(f!.psfFlux)));
      expect(Math.fround(lc.fluxErrNanoJy[i])).toBe(Math.fround(Number(f!.psfFluxErr)));
    }
    // the diaObject of the latest alert, and Fink's values
    for (const k of Object.keys(t.extra).filter((x) => x.startsWith('diaObject.'))) expect(Math.fround(Number(a.extra[k])), k).toBe(Math.fround(Number(t.extra[k])));
    expect(a.extra).toMatchObject({ clf_earlySNIa_score: -1, lsst_schema_version: 'lsst.v10_0', xm_gaiadr3_VarFlag: '0', main_label_classifier: expect.any(Number) });
    // the Rubin modules read it
    for (const m of storeModules(store).filter((x) => x.survey === 'lsst')) {
      const values = m.extractor().extract(a);
      expect(values.length, m.name).toBe(m.extractor().spec.columns.length);
    }
    store.close();
  });

  it('conesearch: each row an object\'s latest alert, its diaObject fields apart, the stamps of the cutouts route', async () => {
    const store = newStore();
    const sent = lsst.sent.length;
    await pullFink(store, { kind: 'conesearch', ra: 62.7, dec: -47.3, radiusArcsec: 3600 }, { survey: 'lsst', baseUrl: lsst.base, ...quiet });
    await pullFink(store, { kind: 'conesearch', ra: 151.0996432, dec: 2.3013269, radiusArcsec: 5 }, { survey: 'lsst', baseUrl: lsst.base, ...quiet, cutouts: 'none' });
    const asked = lsst.sent.slice(sent);
    expect(asked.filter((s) => s.route === '/api/v1/conesearch').map((s) => s.matched)).toEqual(['conesearch_ra62.7_dec-47.3_r3600.json', 'conesearch_ra151.0996432_dec2.3013269_r5.json']);
    expect(asked.filter((s) => s.route === '/api/v1/cutouts')).toHaveLength(4);
    expect(asked.filter((s) => s.matched === 'cutouts_170094456272322680_All_array.json')).toHaveLength(1);
    const alerts = storedAlerts(store);
    expect(alerts.map((a) => a.candid).sort()).toEqual([170094456248729605n, 170094456251351059n, 170094456272322680n, 170094456277565473n, 170094456523456557n]);
    for (const a of alerts) {
      const t = twin(a);
      expect(a.objectId).toBe(t.objectId);
      expect(a.lightCurve.jd).toHaveLength(1);
      expect(Math.fround(a.lightCurve.fluxNanoJy[0])).toBe(Math.fround(Number((t.raw as Record<string, unknown>).psfFlux)));
      expect(a.extra['diaObject.nDiaSources']).toBe(t.extra['diaObject.nDiaSources']);
      expect((a.raw as Record<string, unknown>).nDiaSources).toBeUndefined();
    }
    // the stamps from the array route are the alert's own, and the FITS route's Difference
    const withStamps = alerts.find((a) => a.candid === 170094456272322680n)!;
    for (const k of ['science', 'template', 'difference'] as const) expectSamePixels(withStamps.cutouts[k]?.bytes, twin(withStamps).cutouts[k]?.bytes, k);
    expectSamePixels(withStamps.cutouts.difference?.bytes, readFileSync(sharedPath('fink', 'api_lsst', 'cutouts_170094456272322680_Difference_FITS.fits')), 'FITS route');
    expect(alerts.filter((a) => a.cutouts.science).map((a) => a.candid)).toEqual([170094456272322680n]);
    store.close();
  });

  it('sends every LSST id as a JSON string', () => {
    for (const s of lsst.sent) for (const k of ['diaObjectId', 'diaSourceId']) if (s.body && typeof s.body === 'object' && k in s.body) expect(typeof (s.body as Record<string, unknown>)[k]).toBe('string');
    expect(lsst.sent.filter((s) => s.matched === null && s.route !== '/api/v1/cutouts')).toEqual([]);
  });
});
