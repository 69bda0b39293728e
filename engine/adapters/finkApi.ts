import { alertFromZtfPacket, type Alert } from '../../datasets/index.ts';
import { storeModules } from '../core/modules/index.ts';
import type { Store } from '../core/store/store.ts';

/**
 * Alerts from the Fink broker's REST API into the store (`sieve pull fink`). The API answers a POST with a JSON
 * list of rows whose keys carry Fink's prefixes: `i:` the survey's candidate fields, `d:` Fink's added columns
 * (classifier scores, cross-matches, `d:tag` = valid / upperlim / badquality), `v:` values Fink derives, `b:`
 * the stamps (gzipped FITS, base64 in JSON). The query kinds are the API's own: the latest alerts of a class
 * between two dates (/api/v1/latests), objects by id with their full history (/api/v1/objects, with upper
 * limits and cutouts) and a cone search (/api/v1/conesearch). A page (one class window, one object, one
 * cone) is stored all-or-nothing with its source, so an interrupted pull resumes where it stopped; Fink's TNS
 * class of an object becomes a label with provenance TNS (author_kind 'catalog') in every module whose
 * declaration maps that class.
 */

export type PullQuery =
  | { kind: 'latests'; className: string; start: string; stop: string; n: number; windowDays: number }
  | { kind: 'objects'; objectIds: string[] }
  | { kind: 'conesearch'; ra: number; dec: number; radiusArcsec: number };

export interface PullOptions {
  baseUrl: string;
  /** Requests per second at most. */
  rate?: number;
  /** Attempts on a 5xx or a network error before the pull stops. */
  retries?: number;
  log?: (line: string) => void;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  actor?: string;
}

export interface PullResult {
  pages: number;
  skipped: number;
  alerts: number;
  inserted: number;
  tnsLabels: number;
}

export class PullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullError';
  }
}

type Row = Record<string, unknown>;

/** The pages of a query, each one request. */
export function pullPages(q: PullQuery): Array<{ id: string; endpoint: string; body: Record<string, string> }> {
  if (q.kind === 'objects') {
    return q.objectIds.map((id) => ({ id: `object:${id}`, endpoint: '/api/v1/objects', body: { objectId: id, withupperlim: 'True', withcutouts: 'True', 'output-format': 'json' } }));
  }
  if (q.kind === 'conesearch') {
    return [{ id: `cone:${q.ra},${q.dec},${q.radiusArcsec}`, endpoint: '/api/v1/conesearch', body: { ra: String(q.ra), dec: String(q.dec), radius: String(q.radiusArcsec), 'output-format': 'json' } }];
  }
  // the class's latest alerts, one window of days at a time (each a page)
  const pages: Array<{ id: string; endpoint: string; body: Record<string, string> }> = [];
  const start = Date.parse(`${q.start}T00:00:00Z`);
  const stop = Date.parse(`${q.stop}T00:00:00Z`);
  if (!(start < stop)) throw new PullError(`--start ${q.start} is not before --stop ${q.stop}`);
  const day = 86_400_000;
  for (let t = start; t < stop; t += q.windowDays * day) {
    const a = new Date(t).toISOString().slice(0, 10);
    const b = new Date(Math.min(stop, t + q.windowDays * day)).toISOString().slice(0, 10);
    pages.push({ id: `latests:${q.className}:${a}:${b}`, endpoint: '/api/v1/latests', body: { class: q.className, n: String(q.n), startdate: a, stopdate: b, 'output-format': 'json' } });
  }
  return pages;
}

function b64(v: unknown, where: string): Uint8Array | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v !== 'string') throw new PullError(`${where}: a stamp is not base64 text`);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

/**
 * Rows of one page as alerts: the rows of an object make one ZTF packet per valid detection... of which the
 * newest is the alert (its candidate), the others and the upper limits its history. A malformed row refuses
 * the page.
 */
export function alertsFromRows(rows: unknown, where: string, history: boolean): Alert[] {
  if (!Array.isArray(rows)) throw new PullError(`${where}: the answer is not a JSON list of rows`);
  const byObject = new Map<string, Row[]>();
  rows.forEach((r, i) => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new PullError(`${where}: row ${i} is not an object`);
    const id = (r as Row)['i:objectId'];
    if (typeof id !== 'string' || !id) throw new PullError(`${where}: row ${i} has no i:objectId`);
    (byObject.get(id) ?? byObject.set(id, []).get(id)!).push(r as Row);
  });
  const alerts: Alert[] = [];
  for (const [objectId, objRows] of byObject) {
    const strip = (r: Row, prefix: string) => Object.fromEntries(Object.entries(r).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
    const valid = objRows.filter((r) => (r['d:tag'] ?? 'valid') === 'valid');
    const limits = objRows.filter((r) => r['d:tag'] === 'upperlim');
    // latests: every row is an alert of its own; objects: the newest valid row is the alert, the rest its history
    const heads = history ? [valid.reduce((a, b) => (Number(b['i:jd']) > Number(a['i:jd']) ? b : a), valid[0])].filter(Boolean) : valid;
    for (const head of heads) {
      const cand = strip(head, 'i:');
      for (const k of ['jd', 'fid', 'magpsf', 'sigmapsf', 'ra', 'dec', 'candid']) if (cand[k] === undefined || cand[k] === null) throw new PullError(`${where}: ${objectId} has no i:${k}`);
      const prv = history ? [
        ...valid.filter((r) => r !== head && Number(r['i:jd']) < Number(head['i:jd'])).map((r) => strip(r, 'i:')),
        ...limits.filter((r) => Number(r['i:jd']) < Number(head['i:jd'])).map((r): Row => ({ ...strip(r, 'i:'), magpsf: null, sigmapsf: null })),
      ].sort((a: Row, b: Row) => Number(a.jd) - Number(b.jd)) : [];
      const fink = { ...strip(head, 'd:'), ...Object.fromEntries(Object.entries(strip(head, 'v:')).map(([k, v]) => [`v_${k}`, v])) };
      const stamp = (kind: string) => {
        const bytes = b64(head[`b:cutout${kind}_stampData`], `${where}: ${objectId} b:cutout${kind}_stampData`);
        return bytes ? { fileName: `${objectId}_${kind}.fits.gz`, stampData: bytes } : null;
      };
      const packet: Row = {
        objectId, candid: BigInt(String(cand.candid)), candidate: { ...cand, candid: BigInt(String(cand.candid)) }, prv_candidates: prv,
        cutoutScience: stamp('Science'), cutoutTemplate: stamp('Template'), cutoutDifference: stamp('Difference'), ...fink,
      };
      try {
        alerts.push(alertFromZtfPacket(packet));
      } catch (e) {
        throw new PullError(`${where}: ${objectId}: ${(e as Error).message}`);
      }
    }
  }
  return alerts;
}

/** Labels with provenance TNS for the objects whose Fink rows carry a TNS class, in every module that maps it. */
function tnsLabels(store: Store, alerts: Alert[], actor: string): number {
  let n = 0;
  const modules = storeModules(store).filter((m) => m.kind === 'classifier' || m.kind === 'anomaly');
  for (const a of alerts) {
    const tns = a.extra.tns;
    if (typeof tns !== 'string' || !tns.trim()) continue;
    const row = store.db.prepare('SELECT id FROM alerts WHERE object_id = ? ORDER BY jd DESC LIMIT 1').get(a.objectId) as { id: number } | undefined;
    if (!row) continue;
    for (const m of modules) {
      const label = m.catalogLabel(tns.trim());
      if (label === null) continue;
      store.addLabel({ module: m.name, alertId: row.id, label, author: 'TNS', authorKind: 'catalog', comment: `TNS class ${tns.trim()} (from ${actor})` });
      n++;
    }
  }
  return n;
}

/** Runs a pull: pages in order, already-stored pages skipped, each page one transaction. */
export async function pullFink(store: Store, q: PullQuery, o: PullOptions): Promise<PullResult> {
  const doFetch = o.fetch ?? fetch;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const retries = o.retries ?? 3;
  const minGap = 1000 / (o.rate ?? 2);
  const source = `fink:${o.baseUrl}`;
  const pages = pullPages(q);
  const result: PullResult = { pages: 0, skipped: 0, alerts: 0, inserted: 0, tnsLabels: 0 };
  let last = 0;
  for (const [k, page] of pages.entries()) {
    if (store.pagePulled(source, page.id)) {
      result.skipped++;
      continue;
    }
    let rows: unknown = null;
    for (let attempt = 1; ; attempt++) {
      const wait = last + minGap - Date.now();
      if (wait > 0) await sleep(wait);
      last = Date.now();
      let res: Response;
      try {
        res = await doFetch(`${o.baseUrl.replace(/\/$/, '')}${page.endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(page.body) });
      } catch (e) {
        if (attempt > retries) throw new PullError(`${page.endpoint} (${page.id}): ${(e as Error).message} after ${attempt} attempts; ${result.pages} page(s) stored, run the same command to resume`);
        await sleep(1000 * 2 ** (attempt - 1));
        continue;
      }
      if (res.status === 429) {
        // the API's own pace: Retry-After seconds (or an HTTP date)
        const ra = res.headers.get('retry-after');
        const secs = ra === null ? 2 ** attempt : /^\d+$/.test(ra) ? Number(ra) : Math.max(0, (Date.parse(ra) - Date.now()) / 1000);
        log(`pull: ${page.id}: 429, retrying after ${secs} s`);
        if (attempt > retries + 5) throw new PullError(`${page.endpoint} (${page.id}): still rate-limited after ${attempt} attempts`);
        await sleep(secs * 1000);
        continue;
      }
      if (res.status >= 500) {
        if (attempt > retries) throw new PullError(`${page.endpoint} (${page.id}): HTTP ${res.status} after ${attempt} attempts; ${result.pages} page(s) stored, run the same command to resume`);
        log(`pull: ${page.id}: HTTP ${res.status}, retry ${attempt} of ${retries}`);
        await sleep(1000 * 2 ** (attempt - 1));
        continue;
      }
      if (res.status !== 200) throw new PullError(`${page.endpoint} (${page.id}): HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const text = await res.text();
      try {
        rows = JSON.parse(text);
      } catch {
        throw new PullError(`${page.endpoint} (${page.id}): the answer is not JSON; nothing of this page stored`);
      }
      break;
    }
    // a malformed page is refused whole: nothing of it is stored
    const alerts = alertsFromRows(rows, `${page.endpoint} (${page.id})`, q.kind !== 'latests');
    store.db.transaction(() => {
      const r = store.insertAlerts(alerts, `${source}${page.endpoint} ${page.id}`, o.actor ?? 'pull');
      result.inserted += r.inserted;
      result.tnsLabels += tnsLabels(store, alerts, source);
      store.markPagePulled(source, page.id, alerts.length);
    })();
    result.pages++;
    result.alerts += alerts.length;
    log(`pull: page ${k + 1}/${pages.length} (${page.id}): ${alerts.length} alert(s)`);
  }
  return result;
}
