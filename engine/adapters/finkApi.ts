import { forEachJsonArrayElement, type Alert } from '../../datasets/index.ts';
import { FinkHttp, PullError, nodeTransport, type HttpOptions, type Transport } from './finkApi/http.ts';
import { lsstConeAlerts, lsstCutoutsBody, lsstObjectAlerts, lsstObjectBody, lsstRowArrived, readLsstCutouts, type LsstStamps } from './finkApi/lsst.ts';
import { FINK_API_HOSTS, type CutoutChoice, type PullPage, type PullQuery, type PullSurvey } from './finkApi/types.ts';
import { ztfAlertsFromRows, ztfPages, ztfRowArrived } from './finkApi/ztf.ts';
import { storeModules } from '../core/modules/index.ts';
import { alertKey, type Store } from '../core/store/store.ts';

export { PullError, type HttpAnswer, type Transport } from './finkApi/http.ts';
export { CUTOUT_CHOICES, FINK_API_HOSTS, MAX_CONE_RADIUS_ARCSEC, type CutoutChoice, type PullQuery, type PullSurvey } from './finkApi/types.ts';
export { parseRetryAfter } from './finkApi/retryAfter.ts';

/**
 * Alerts from the Fink broker's REST APIs into the store (`sieve pull fink`): ZTF's (`finkApi/ztf.ts`: latest
 * alerts of a class, objects with their history, cone search) and Rubin's (`finkApi/lsst.ts`: objects with their
 * sources, forced photometry and cutouts, cone search). Answers are read as a stream with exact 64-bit
 * integers (`finkApi/http.ts` for the pace, timeouts, retries and deadline). A page (one class window, one
 * object, one cone) is stored all-or-nothing with its source, so an interrupted pull resumes where it stopped;
 * an alert whose key another object's alert holds is an error naming both, never a silent skip. Fink's TNS
 * class of an object becomes a label with provenance TNS (author_kind 'catalog') in every module whose
 * declaration maps that class.
 */

export interface PullOptions {
  survey?: PullSurvey;
  /** The API's address; default FINK_API_HOSTS[survey]. */
  baseUrl?: string;
  /** Requests per second at most (default 2). */
  rate?: number;
  /** Attempts after the first on a network failure, a timeout, a 429 or a 5xx (default 3). */
  retries?: number;
  /** Seconds without a byte before a request fails (default 30). */
  timeoutSeconds?: number;
  /** Seconds for the whole pull (default: none). */
  deadlineSeconds?: number;
  /** The longest Retry-After obeyed, in seconds (default 300); a longer one stops the pull. */
  maxWaitSeconds?: number;
  /** Whose stamps are kept (default 'latest': the newest alert of each object). */
  cutouts?: CutoutChoice;
  log?: (line: string) => void;
  /** How requests are sent (default node:http / node:https). */
  transport?: Transport;
  sleep?: (ms: number) => Promise<void>;
  actor?: string;
}

export interface PullResult {
  pages: number;
  /** Pages a previous run stored. */
  skipped: number;
  alerts: number;
  inserted: number;
  /** Alerts of this pull that the store already held (the same object's alert under the same key). */
  alreadyStored: number;
  tnsLabels: number;
}

type Row = Record<string, unknown>;

/** A page's rows, each reduced by `arrived` as it is read (the answer is never one string). */
async function readRows(http: FinkHttp, route: string, body: Record<string, unknown>, arrived: (row: unknown, index: number) => Row): Promise<Row[]> {
  const rows: Row[] = [];
  await http.post(route, body, async (chunks) => {
    try {
      await forEachJsonArrayElement(chunks, (row, i) => rows.push(arrived(row, i)));
    } catch (e) {
      if (e instanceof SyntaxError) throw new PullError(`the answer is not a JSON list of rows: ${e.message}`);
      throw e;
    }
  });
  return rows;
}

/** A Rubin object's page: the objects, sources and fp routes, then the cutouts of the alerts whose stamps are kept. */
async function lsstObject(http: FinkHttp, id: string, cutouts: CutoutChoice, log: (l: string) => void): Promise<Alert[]> {
  const objects = await readRows(http, '/api/v1/objects', lsstObjectBody(id), (r, i) => lsstRowArrived(r, i, 'diaObjectId'));
  const sources = await readRows(http, '/api/v1/sources', lsstObjectBody(id), (r, i) => lsstRowArrived(r, i, 'diaSourceId'));
  if (!sources.length) {
    log(`pull: diaObjectId ${id}: Fink has no sources of it${objects.length ? '' : ' (an object it does not know)'}`);
    return [];
  }
  for (const r of [...objects, ...sources]) if (String(r['r:diaObjectId']) !== id) throw new PullError(`a row of diaObjectId ${String(r['r:diaObjectId'])} in the answer for ${id}`);
  const fp = await readRows(http, '/api/v1/fp', lsstObjectBody(id), (r, i) => lsstRowArrived(r, i, 'diaForcedSourceId'));
  const newest = sources.reduce((a, b) => (Number(b['r:midpointMjdTai']) > Number(a['r:midpointMjdTai']) ? b : a));
  const stamps = await lsstStamps(http, cutouts === 'all' ? sources : cutouts === 'latest' ? [newest] : [], log);
  return lsstObjectAlerts(objects, sources, fp, stamps);
}

async function lsstStamps(http: FinkHttp, rows: readonly Row[], log: (l: string) => void): Promise<Map<bigint, LsstStamps | null>> {
  const out = new Map<bigint, LsstStamps | null>();
  for (const r of rows) {
    const id = BigInt(r['r:diaSourceId'] as bigint);
    const stamps = await http.post('/api/v1/cutouts', lsstCutoutsBody(id.toString()), (body, header) => readLsstCutouts(body, header, `diaSource ${id}`));
    if (!stamps) log(`pull: diaSource ${id}: Fink has no cutouts of it (an empty image/png answer)`);
    out.set(id, stamps);
  }
  return out;
}

interface Page {
  id: string;
  read: (http: FinkHttp) => Promise<Alert[]>;
}

function pages(survey: PullSurvey, q: PullQuery, cutouts: CutoutChoice, log: (l: string) => void): Page[] {
  if (survey === 'ztf') {
    return ztfPages(q, cutouts).map((p: PullPage) => ({
      id: p.id,
      read: async (http) => ztfAlertsFromRows(await readRows(http, p.route, p.body, ztfRowArrived), q.kind === 'objects', cutouts),
    }));
  }
  if (q.kind === 'latests') throw new PullError("the LSST API has no latests route: pull Rubin alerts by --object or --cone");
  if (q.kind === 'objects') return q.objectIds.map((id) => ({ id: `lsst-object:${id}`, read: (http) => lsstObject(http, id, cutouts, log) }));
  return [{
    id: `lsst-cone:${q.ra},${q.dec},${q.radiusArcsec}`,
    read: async (http) => {
      const rows = await readRows(http, '/api/v1/conesearch', { ra: q.ra, dec: q.dec, radius: q.radiusArcsec, 'output-format': 'json' }, (r, i) => lsstRowArrived(r, i, 'diaSourceId'));
      return lsstConeAlerts(rows, await lsstStamps(http, cutouts === 'none' ? [] : rows, log));
    },
  }];
}

/**
 * The alerts of a page in the store, all or none: two alerts of different objects under one key, or an alert
 * whose key the store holds for another object, stop the page with both named (before, such alerts were
 * silently not stored). A row repeated in the answer is one alert.
 */
function storePage(store: Store, alerts: readonly Alert[], source: string, page: string, actor: string): { unique: Alert[]; inserted: number; alreadyStored: number } {
  const byKey = new Map<string, Alert>();
  for (const a of alerts) {
    const key = alertKey(a);
    const other = byKey.get(key);
    if (other && other.objectId !== a.objectId) throw new PullError(`alerts of ${other.objectId} and ${a.objectId} have the same key ${key}: nothing of this page stored`);
    if (!other) byKey.set(key, a);
  }
  const unique = [...byKey.values()];
  const held = store.db.prepare('SELECT object_id FROM alerts WHERE alert_key = ?');
  let alreadyStored = 0;
  for (const [key, a] of byKey) {
    const row = held.get(key) as { object_id: string } | undefined;
    if (row && row.object_id !== a.objectId) throw new PullError(`the alert ${key} of ${a.objectId} is already stored for another object, ${row.object_id}: nothing of this page stored`);
    if (row) alreadyStored++;
  }
  const { inserted } = store.insertAlerts(unique, source, actor);
  if (inserted + alreadyStored !== unique.length) throw new PullError(`${unique.length - alreadyStored - inserted} alert(s) of page ${page} were not stored: nothing of this page stored`);
  return { unique, inserted, alreadyStored };
}

/** Labels with provenance TNS for the objects whose Fink rows carry a TNS class, in every module that maps it. */
function tnsLabels(store: Store, alerts: readonly Alert[], actor: string): number {
  let n = 0;
  const modules = storeModules(store).filter((m) => m.kind === 'classifier' || m.kind === 'anomaly');
  const latest = store.db.prepare('SELECT id FROM alerts WHERE object_id = ? ORDER BY jd DESC LIMIT 1');
  const labelled = new Set<string>();
  for (const a of [...alerts].sort((x, y) => y.candidate.jd - x.candidate.jd)) {
    const tns = a.extra.tns;
    // one label per object and page (its newest alert's class), however many of its alerts the page holds
    if (typeof tns !== 'string' || !tns.trim() || labelled.has(a.objectId)) continue;
    labelled.add(a.objectId);
    const row = latest.get(a.objectId) as { id: number } | undefined;
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

/** Runs a pull: pages in order, pages a previous run stored skipped, each page one transaction. */
export async function pullFink(store: Store, q: PullQuery, o: PullOptions = {}): Promise<PullResult> {
  const survey = o.survey ?? 'ztf';
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const cutouts = o.cutouts ?? 'latest';
  const http: HttpOptions = {
    rate: o.rate ?? 2,
    retries: o.retries ?? 3,
    timeoutSeconds: o.timeoutSeconds ?? 30,
    deadlineSeconds: o.deadlineSeconds ?? Infinity,
    maxWaitSeconds: o.maxWaitSeconds ?? 300,
    log,
    transport: o.transport ?? nodeTransport,
    sleep: o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
  };
  const baseUrl = o.baseUrl ?? FINK_API_HOSTS[survey];
  const client = new FinkHttp(baseUrl, http);
  const source = `fink:${baseUrl}`;
  const list = pages(survey, q, cutouts, log);
  const result: PullResult = { pages: 0, skipped: 0, alerts: 0, inserted: 0, alreadyStored: 0, tnsLabels: 0 };
  for (const [k, page] of list.entries()) {
    if (store.pagePulled(source, page.id)) {
      result.skipped++;
      continue;
    }
    try {
      const alerts = await page.read(client);
      store.db.transaction(() => {
        const r = storePage(store, alerts, `${source} ${page.id}`, page.id, o.actor ?? 'pull');
        result.inserted += r.inserted;
        result.alreadyStored += r.alreadyStored;
        result.alerts += r.unique.length;
        result.tnsLabels += tnsLabels(store, r.unique, source);
        store.markPagePulled(source, page.id, r.unique.length);
      })();
      log(`pull: page ${k + 1}/${list.length} (${page.id}): ${alerts.length} alert(s)`);
    } catch (e) {
      throw new PullError(`${page.id}: ${(e as Error).message}; ${result.pages} page(s) stored before it (the same command resumes after them)`);
    }
    result.pages++;
  }
  return result;
}
