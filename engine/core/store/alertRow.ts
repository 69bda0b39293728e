import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Alert, CandidateMeta, LightCurve } from '../../../datasets/index.ts';
import { candidateFromLightCurve, decodeLightCurve, parseJsonExact } from '../../../datasets/index.ts';

/**
 * An alert as a row of the store, each value kept once: the triggering detection's jd, band and magpsf in
 * their columns; the candidate's other fields only where they differ from what the light curve gives
 * (`candidateFromLightCurve`: a simulated or table alert stores none); the light curve in its lossless
 * binary form; stamps in their own table, by content (a template stamp repeated by every alert of an
 * object is stored once).
 */
export interface AlertRow {
  id: number;
  survey: string;
  object_id: string;
  candid: string | null;
  ra: number | null;
  dec: number | null;
  jd: number | null;
  band: string | null;
  magpsf: number | null;
  source_label: string | null;
  candidate_json: string;
  light_curve: Uint8Array;
}

export const STAMP_KINDS = ['science', 'template', 'difference'] as const;
export type StampKind = (typeof STAMP_KINDS)[number];

/** Same value for the store: NaN equals NaN (both are stored as null). */
function sameField(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b));
}

/** What the columns and the light curve say of the candidate, before the stored differences. */
function derivedCandidate(lc: LightCurve, jd: number | null, band: string | null, magpsf: number | null): CandidateMeta {
  return { ...candidateFromLightCurve(lc), jd: jd ?? NaN, band: band ?? '', magpsf: magpsf ?? NaN };
}

/** The scalar fields of a record (bigints as decimal strings), for storage as JSON. */
function scalarRecord(r: Readonly<Record<string, unknown>>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === 'number') out[k] = Number.isFinite(v) ? v : null;
    else if (typeof v === 'string' || typeof v === 'boolean' || v === null) out[k] = v;
    else if (typeof v === 'bigint') out[k] = v.toString();
  }
  return out;
}

/** The magpsf column: null where it is not a finite number. */
export function magpsfColumn(a: Alert): number | null {
  return Number.isFinite(a.candidate.magpsf) ? a.candidate.magpsf : null;
}

/**
 * The candidate_json of an alert: the candidate's fields the columns and light curve do not give, the
 * broker's added columns (`extra`) and the survey's own record of the detection (`raw`, scalars only).
 */
export function storedCandidateJson(a: Alert): string {
  const derived = derivedCandidate(a.lightCurve, a.candidate.jd, a.candidate.band, magpsfColumn(a)) as unknown as Record<string, unknown>;
  const own: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a.candidate)) if (!sameField(v, derived[k])) own[k] = v;
  // extra holds scalars only (bigints already as strings), so plain JSON is exact here and fast
  return JSON.stringify({ ...own, ...(Object.keys(a.extra).length ? { extra: a.extra } : {}), ...(a.raw ? { raw: scalarRecord(a.raw) } : {}) });
}

/** A row back as the common type (cutouts attached by the caller when it wants them). */
export function alertFromRow(row: AlertRow, cutouts: Alert['cutouts'] = {}): Alert & { id: number } {
  const lightCurve = decodeLightCurve(row.light_curve, `alert ${row.id}`);
  const { extra, raw, ...own } = parseJsonExact(row.candidate_json) as Record<string, unknown>;
  // JSON has no NaN: numeric candidate fields stored as null come back as NaN
  for (const [k, v] of Object.entries(own)) if (v === null && k !== 'isdiffpos') own[k] = NaN;
  const candidate = { ...derivedCandidate(lightCurve, row.jd, row.band, row.magpsf), ...own } as CandidateMeta;
  return {
    id: row.id,
    survey: row.survey as Alert['survey'],
    objectId: row.object_id,
    candid: row.candid === null ? null : BigInt(row.candid),
    ra: row.ra ?? NaN,
    dec: row.dec ?? NaN,
    candidate,
    lightCurve,
    extra: (extra ?? {}) as Alert['extra'],
    ...(raw ? { raw: raw as Record<string, unknown> } : {}),
    cutouts,
    ...(row.source_label ? { label: row.source_label } : {}),
  };
}

/** A stamp's content address. */
export function stampHash(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}

/** Stores stamps by content: the id of the stored copy, added when these bytes are new. */
export function stampWriter(db: Database.Database): (bytes: Uint8Array | undefined) => number | null {
  const insert = db.prepare('INSERT OR IGNORE INTO stamps (sha256, bytes) VALUES (?, ?)');
  const find = db.prepare('SELECT id FROM stamps WHERE sha256 = ?').pluck();
  return (bytes) => {
    if (!bytes) return null;
    const h = stampHash(bytes);
    const r = insert.run(h, bytes);
    return r.changes > 0 ? Number(r.lastInsertRowid) : (find.get(h) as number);
  };
}
