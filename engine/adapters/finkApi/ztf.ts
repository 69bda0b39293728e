import { alertFromZtfPacket, type Alert } from '../../../datasets/index.ts';
import { PullError } from './http.ts';
import { stampBytes } from './stamps.ts';
import type { CutoutChoice, PullPage, PullQuery } from './types.ts';

/**
 * Fink's ZTF API (fink-object-api `app_ztf.py`, at https://api.ztf.fink-portal.org): the rows of its objects,
 * latests and conesearch routes as ZTF packets. A row is a JSON object keyed `family:name` (the format point by
 * point, with its source lines: ../shared/data/fink/api/README.md): `i:` the candidate's fields, `d:` Fink's
 * added values, `v:` values the API derives, `b:` the three cutouts. The objects route with `withupperlim`
 * adds the object's history rows from Fink's `upper` and `uppervalid` tables, tagged in `d:tag`: `upperlim`
 * (a non-detection: jd, fid, diffmaglim) and `badquality` (a detection that failed Fink's quality cut, rb <
 * 0.55 or nbad != 0, fink-broker bin/ztf/archive_index.py; with magpsf, sigmapsf, magnr, sigmagnr, isdiffpos,
 * distnr), all untyped (strings) and with `i:candid` = -1.
 */

type Row = Record<string, unknown>;

/** The API's pages for a ZTF query: one request each, the request body exactly as the API documents it. */
export function ztfPages(q: PullQuery, cutouts: CutoutChoice): PullPage[] {
  if (q.kind === 'objects') {
    return q.objectIds.map((id) => ({
      id: `object:${id}`,
      route: '/api/v1/objects',
      // "True" after str(): JSON true works (objects/utils.py:52-60)
      body: { objectId: id, withupperlim: true, withcutouts: cutouts !== 'none', 'output-format': 'json' },
    }));
  }
  if (q.kind === 'conesearch') {
    return [{ id: `cone:${q.ra},${q.dec},${q.radiusArcsec}`, route: '/api/v1/conesearch', body: { ra: q.ra, dec: q.dec, radius: q.radiusArcsec, 'output-format': 'json' } }];
  }
  // the class's latest alerts, one window of days at a time (each a page): startdate/stopdate are read by
  // astropy Time (latests/utils.py:68-77), n is the most rows of a window
  const pages: PullPage[] = [];
  const day = 86_400_000;
  const start = Date.parse(`${q.start}T00:00:00Z`);
  const stop = Date.parse(`${q.stop}T00:00:00Z`);
  if (!(start < stop)) throw new PullError(`--start ${q.start} is not a day before --stop ${q.stop}`);
  for (let t = start; t < stop; t += q.windowDays * day) {
    const a = new Date(t).toISOString().slice(0, 10);
    const b = new Date(Math.min(stop, t + q.windowDays * day)).toISOString().slice(0, 10);
    pages.push({ id: `latests:${q.className}:${a}:${b}`, route: '/api/v1/latests', body: { class: q.className, n: q.n, startdate: `${a} 00:00:00`, stopdate: `${b} 00:00:00`, 'output-format': 'json' } });
  }
  return pages;
}

/**
 * A row as it arrives, reduced at once to what Sieve keeps: the 2-D stamps become FITS bytes (a 63x63 array
 * is ~80 KB of JSON, its FITS ~10 KB), so a large page is not held as pixel arrays.
 */
export function ztfRowArrived(row: unknown, index: number): Row {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new PullError(`row ${index} is not an object`);
  const r = row as Row;
  const id = r['i:objectId'];
  if (typeof id !== 'string' || !id) throw new PullError(`row ${index} has no i:objectId`);
  for (const kind of ['Science', 'Template', 'Difference']) {
    const key = `b:cutout${kind}_stampData`;
    if (key in r) r[key] = stampBytes(r[key], `row ${index} (${id}) ${key}`);
  }
  return r;
}

const TAGS = new Set(['valid', 'upperlim', 'badquality']);

function strip(r: Row, prefix: string): Row {
  const out: Row = {};
  for (const k in r) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = r[k];
  return out;
}

/** A row's jd as a number (history rows carry it as a string before the API's cast; the cast is there). */
function jdOf(r: Row, where: string): number {
  const jd = Number(r['i:jd']);
  if (r['i:jd'] === null || r['i:jd'] === undefined || !Number.isFinite(jd)) throw new PullError(`${where}: a row has no i:jd`);
  return jd;
}

/**
 * The alerts of a page. objects (`history`): every valid row of an object is one of Fink's alerts, with
 * every earlier row of the object as its history, as ZTF's prv_candidates: the earlier alerts and the
 * bad-quality detections as detections (Fink's modules read those: they have a magpsf), the upper limits as
 * non-detections. latests and conesearch: each row is an alert, without history. `keepStamps` says whose
 * stamps are kept: every alert's, the newest alert's of each object, or none.
 */
export function ztfAlertsFromRows(rows: readonly Row[], history: boolean, keepStamps: CutoutChoice): Alert[] {
  const byObject = new Map<string, Row[]>();
  for (const r of rows) {
    const id = r['i:objectId'] as string;
    const tag = r['d:tag'] ?? 'valid';
    if (typeof tag !== 'string' || !TAGS.has(tag)) throw new PullError(`${id}: d:tag '${String(tag)}' is none of valid, upperlim, badquality`);
    (byObject.get(id) ?? byObject.set(id, []).get(id)!).push(r);
  }
  const alerts: Alert[] = [];
  for (const [objectId, objRows] of byObject) {
    const at = objectId;
    const jds = new Map(objRows.map((r) => [r, jdOf(r, at)]));
    const heads = objRows.filter((r) => (r['d:tag'] ?? 'valid') === 'valid').sort((a, b) => jds.get(a)! - jds.get(b)!);
    const newest = heads.at(-1);
    const past = history ? [...objRows].sort((a, b) => jds.get(a)! - jds.get(b)!) : [];
    for (const head of heads) {
      const cand = strip(head, 'i:');
      for (const k of ['jd', 'fid', 'magpsf', 'ra', 'dec', 'candid']) if (cand[k] === undefined || cand[k] === null) throw new PullError(`${at}: a valid row has no i:${k}`);
      const headJd = jds.get(head)!;
      const prv = past.filter((r) => r !== head && jds.get(r)! < headJd).map((r) => {
        const p = strip(r, 'i:');
        // the API's placeholder for the history rows (objects/utils.py:160-162); ZTF writes null there
        if (r['d:tag'] === 'upperlim' || r['d:tag'] === 'badquality') p.candid = null;
        return p;
      });
      const fink: Row = { ...strip(head, 'd:') };
      for (const [k, v] of Object.entries(strip(head, 'v:'))) fink[`v_${k}`] = v;
      delete fink.tag;
      const stamps = keepStamps === 'all' || (keepStamps === 'latest' && head === newest);
      const stamp = (kind: string) => {
        const bytes = stamps ? (head[`b:cutout${kind}_stampData`] as Uint8Array | null | undefined) : null;
        return bytes ? { fileName: `${objectId}_${String(cand.candid)}_${kind}.fits.gz`, stampData: bytes } : null;
      };
      const packet: Row = {
        ...fink, objectId, candid: cand.candid, candidate: cand, prv_candidates: prv,
        cutoutScience: stamp('Science'), cutoutTemplate: stamp('Template'), cutoutDifference: stamp('Difference'),
      };
      try {
        alerts.push(alertFromZtfPacket(packet));
      } catch (e) {
        throw new PullError(`${at}: ${(e as Error).message}`);
      }
    }
  }
  return alerts;
}
