import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonExact } from '../../datasets/index.ts';
import { PullError, Store, ensureBuiltinModules, pullFink, pullPages } from '../../engine/index.ts';
import { DEFAULT_WORKBENCH_OPTIONS, Workbench, buildApp } from '../../engine/server/index.ts';
import { sharedPath } from '../shared.ts';

/**
 * A local stand-in for Fink's REST API (api.fink-portal.org; the row format is the one its documentation and
 * fink-client show: a JSON list of rows keyed `i:` candidate fields, `d:` Fink's columns incl. `d:tag`,
 * `v:` derived values, `b:` base64 stamps). The rows are made here from real ZTF alerts of ../shared.
 */
type Row = Record<string, unknown>;
const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-pull-'));
let server: Server;
let base = '';
const requests: Array<{ url: string; body: Record<string, string> }> = [];
let plan: Array<(body: Record<string, string>) => { status: number; body?: unknown; headers?: Record<string, string> }> = [];

/** The real packets of alerts.jsonl as Fink API rows: the alert, its history and upper limits. */
function objectRows(packet: Row, tns: string | null): Row[] {
  const rows: Row[] = [];
  const toRow = (c: Row, tag: string) => Object.fromEntries([...Object.entries(c).map(([k, v]) => [`i:${k}`, typeof v === 'bigint' ? v.toString() : v]), ['i:objectId', packet.objectId], ['d:tag', tag]]);
  const cand = packet.candidate as Row;
  const stamp = (k: string) => ((packet[k] as Row | null)?.stampData as string | undefined) ?? null;
  rows.push({ ...toRow(cand, 'valid'), 'd:cdsxmatch': 'Unknown', 'd:tns': tns ?? '', 'v:classification': 'Early SN Ia candidate', 'b:cutoutScience_stampData': stamp('cutoutScience'), 'b:cutoutTemplate_stampData': stamp('cutoutTemplate'), 'b:cutoutDifference_stampData': stamp('cutoutDifference') });
  for (const p of (packet.prv_candidates as Row[] | null) ?? []) rows.push(toRow(p, p.magpsf === null ? 'upperlim' : 'valid'));
  return rows;
}

const packets = () => readFileSync(sharedPath('ztf', 'alerts.jsonl'), 'utf8').trim().split('\n').slice(0, 6).map((l) => parseJsonExact(l) as Row);

beforeAll(async () => {
  server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const body = JSON.parse(text || '{}') as Record<string, string>;
      requests.push({ url: req.url ?? '', body });
      const step = plan.shift();
      const r = step ? step(body) : { status: 404, body: { error: 'unexpected request' } };
      res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) });
      res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body ?? []));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('sieve pull fink (against a local server in the API format)', () => {
  it('pages a class window by window, honours 429 Retry-After, retries a 500, stores TNS labels with provenance, and resumes', async () => {
    const p = packets();
    const store = Store.create(path.join(tmp, 'pull.db'));
    ensureBuiltinModules(store);
    const sleeps: number[] = [];
    const q = { kind: 'latests' as const, className: 'Early SN Ia candidate', start: '2019-11-01', stop: '2019-11-04', n: 100, windowDays: 1 };
    expect(pullPages(q).map((x) => x.body.startdate)).toEqual(['2019-11-01', '2019-11-02', '2019-11-03']);
    // latests gives one row per alert (no history)
    const alertRow = (k: number, tns: string | null) => objectRows(p[k], tns)[0];
    plan = [
      () => ({ status: 200, body: [alertRow(0, 'SN Ia'), alertRow(1, null)] }),
      () => ({ status: 429, headers: { 'retry-after': '3' } }),
      () => ({ status: 500 }),
      () => ({ status: 200, body: [alertRow(2, 'SN II')] }),
      () => ({ status: 200, body: [alertRow(3, null)] }),
    ];
    const r = await pullFink(store, q, { baseUrl: base, rate: 1000, sleep: async (ms) => void sleeps.push(ms), log: () => {} });
    expect(r).toMatchObject({ pages: 3, skipped: 0, alerts: 4, inserted: 4 });
    expect(sleeps).toContain(3000);
    expect(requests.slice(-5).map((x) => x.body.startdate)).toEqual(['2019-11-01', '2019-11-02', '2019-11-02', '2019-11-02', '2019-11-03']);
    expect(requests.at(-1)).toMatchObject({ url: '/api/v1/latests', body: { class: 'Early SN Ia candidate', n: '100', 'output-format': 'json' } });
    // Fink's TNS class as a label with provenance TNS, in the modules that map it
    const labels = store.db.prepare("SELECT module, label, author, author_kind FROM labels WHERE author = 'TNS' ORDER BY module, label").all();
    expect(labels).toContainEqual({ module: 'early-snia', label: 'SN Ia', author: 'TNS', author_kind: 'catalog' });
    expect(labels).toContainEqual({ module: 'early-snia', label: 'other SN', author: 'TNS', author_kind: 'catalog' });
    expect(store.trainingLabels('early-snia').get(p[0].objectId as string)).toBe('SN Ia');
    // Fink's columns are alert fields
    const stored = store.getAlert((store.db.prepare('SELECT id FROM alerts WHERE object_id = ?').get(p[0].objectId) as { id: number }).id);
    expect(stored.extra).toMatchObject({ cdsxmatch: 'Unknown', v_classification: 'Early SN Ia candidate' });
    expect(stored.cutouts.science?.bytes[0]).toBe(0x1f);
    // the same command again: every page is stored, nothing is asked
    const before = requests.length;
    const again = await pullFink(store, q, { baseUrl: base, rate: 1000, sleep: async () => {}, log: () => {} });
    expect(again).toMatchObject({ pages: 0, skipped: 3 });
    expect(requests.length).toBe(before);
    // the workbench shows where a label came from
    const wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0, log: () => {} });
    const app = await buildApp(wb);
    const token = store.addUser('pull-expert', 'expert').token;
    const detail = (await app.inject({ url: `/api/alerts/${stored.id}`, headers: { authorization: `Bearer ${token}` } })).json() as { labels: Array<Record<string, string>> };
    expect(detail.labels).toContainEqual(expect.objectContaining({ module: 'early-snia', label: 'SN Ia', author: 'TNS', authorKind: 'catalog' }));
    await app.close();
    await wb.close();
    store.close();
  });

  it('objects by id with their history, upper limits and cutouts; a malformed page stores nothing; a 500 that persists is reported', async () => {
    const p = packets();
    const store = Store.create(path.join(tmp, 'objects.db'));
    ensureBuiltinModules(store);
    const ids = [p[4].objectId as string, p[5].objectId as string];
    const bad = objectRows(p[5], null).map((row, i) => (i === 1 ? { ...row, 'i:objectId': undefined } : row));
    plan = [() => ({ status: 200, body: objectRows(p[4], null) }), () => ({ status: 200, body: bad })];
    const err = await pullFink(store, { kind: 'objects', objectIds: ids }, { baseUrl: base, rate: 1000, sleep: async () => {}, log: () => {} }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(PullError);
    expect((err as Error).message).toMatch(/\/api\/v1\/objects \(object:ZTF\w+\): row 1 has no i:objectId/);
    expect(requests.at(-1)?.body).toMatchObject({ objectId: ids[1], withupperlim: 'True', withcutouts: 'True' });
    // the first object is stored with its whole history; nothing of the malformed page
    expect(store.db.prepare('SELECT object_id FROM alerts').all()).toEqual([{ object_id: ids[0] }]);
    const a = store.getAlert(1);
    const cand = p[4].candidate as Row;
    expect(a.candid).toBe(BigInt(String(cand.candid)));
    expect(a.lightCurve.jd.length).toBe(((p[4].prv_candidates as Row[] | null) ?? []).length + 1);
    expect(a.lightCurve.detected.some((d) => !d)).toBe(true);
    // a server error that persists stops the pull with one line; the page can be pulled again later
    plan = [() => ({ status: 503 }), () => ({ status: 503 }), () => ({ status: 503 })];
    const down = await pullFink(store, { kind: 'objects', objectIds: ids }, { baseUrl: base, rate: 1000, retries: 2, sleep: async () => {}, log: () => {} }).catch((e: Error) => e);
    expect((down as Error).message).toMatch(/HTTP 503 after 3 attempts; 0 page\(s\) stored, run the same command to resume/);
    store.close();
  });
});
