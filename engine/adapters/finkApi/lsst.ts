import { alertFromLsstPacket, parseJsonExact, type Alert } from '../../../datasets/index.ts';
import { PullError, readText } from './http.ts';
import { stampBytes } from './stamps.ts';

/**
 * Fink's LSST API (fink-object-api `app_lsst.py`, at https://api.lsst.fink-portal.org): its rows as Rubin
 * alerts in the form Fink's LSST stream has them (datasets/lsst.ts reads both). The format point by point, with
 * its source lines: ../shared/data/fink/api_lsst/README.md. A row is keyed `family:name`: `r:` Rubin's own fields
 * with their LSST names (fluxes in nJy, times MJD TAI; 64-bit ids as exact JSON integers), `f:` Fink's added
 * values, `v:separation_degree` (conesearch). Ids are sent as JSON strings (the routes slice them). The routes:
 * objects (the diaObject of the object's latest alert), sources (one row per alert: its triggering diaSource
 * and Fink's values for it), fp (forced photometry), conesearch (one row per object: its latest alert's
 * diaSource with the diaObject's fields), cutouts (per diaSource; `kind: All` with `output-format: array` gives
 * the three stamps in one answer).
 */

type Row = Record<string, unknown>;

/** Root fields of a Rubin alert (not the diaSource's), and Fink's row-key salt (no LSST field). */
const ROOT_FIELDS = new Set(['observation_reason', 'target_name']);
const NOT_A_FIELD = new Set(['salt']);
/** diaObject fields that a conesearch row carries beside the diaSource's (lsst.v10 diaObject less the shared ids and coordinates). */
const DIAOBJECT_ONLY = new Set(['nDiaSources', 'firstDiaSourceMjdTai', 'lastDiaSourceMjdTai', 'validityStartMjdTai', 'validityEndMjdTai']);
const isDiaObjectField = (name: string) => DIAOBJECT_ONLY.has(name) || /^[ugrizy]_/.test(name);

export const lsstObjectBody = (diaObjectId: string) => ({ diaObjectId, 'output-format': 'json' });
export const lsstCutoutsBody = (diaSourceId: string) => ({ diaSourceId, kind: 'All', 'output-format': 'array' });

/** A row as it arrives: an object with the id the route is keyed by. */
export function lsstRowArrived(row: unknown, index: number, idField: string): Row {
  if (!row || typeof row !== 'object' || Array.isArray(row)) throw new PullError(`row ${index} is not an object`);
  const id = (row as Row)[`r:${idField}`];
  if (typeof id !== 'bigint' && !(typeof id === 'number' && Number.isSafeInteger(id))) throw new PullError(`row ${index} has no exact integer r:${idField}`);
  return row as Row;
}

function family(r: Row, prefix: string, keep: (name: string) => boolean = () => true): Row {
  const out: Row = {};
  for (const k in r) if (k.startsWith(prefix) && keep(k.slice(prefix.length))) out[k.slice(prefix.length)] = r[k];
  return out;
}

const mjdOf = (r: Row) => Number(r['r:midpointMjdTai']);

/** The three stamps of a diaSource; null when Fink has none (the route then answers an empty image/png). */
export interface LsstStamps {
  science: Uint8Array | null;
  template: Uint8Array | null;
  difference: Uint8Array | null;
}

/**
 * Reads a cutouts answer (`kind: All`, `output-format: array`): a JSON object `{"b:cutoutScience": [[...]],
 * ...}` made by Flask's jsonify, which writes a NaN pixel as a bare `NaN` (not JSON): such tokens, always array
 * elements here, are read as blank pixels. An unknown diaSourceId gives HTTP 200 with an empty image/png
 * (cutouts/utils.py:108-114): no stamps.
 */
export async function readLsstCutouts(body: AsyncIterable<Uint8Array>, header: (name: string) => string | null, where: string): Promise<LsstStamps | null> {
  const type = header('content-type') ?? '';
  const text = await readText(body, 64 * 1024 * 1024);
  if (type.startsWith('image/png') && text.length === 0) return null;
  if (!type.startsWith('application/json')) throw new PullError(`${where}: expected the cutouts as JSON, got ${type || 'no content type'} (${text.length} bytes)`);
  let value: unknown;
  try {
    value = parseJsonExact(text.replace(/(?<=[[,]\s*)-?(?:NaN|Infinity)(?=\s*[,\]])/g, 'null'));
  } catch (e) {
    throw new PullError(`${where}: the cutouts answer is not JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new PullError(`${where}: the cutouts answer is not a JSON object`);
  const o = value as Row;
  for (const k of Object.keys(o)) if (!['b:cutoutScience', 'b:cutoutTemplate', 'b:cutoutDifference'].includes(k)) throw new PullError(`${where}: unexpected key '${k}' in the cutouts answer`);
  return {
    science: stampBytes(o['b:cutoutScience'], `${where}: b:cutoutScience`),
    template: stampBytes(o['b:cutoutTemplate'], `${where}: b:cutoutTemplate`),
    difference: stampBytes(o['b:cutoutDifference'], `${where}: b:cutoutDifference`),
  };
}

function packet(source: Row, diaSource: Row, more: Row): Row {
  return {
    ...family(source, 'f:'),
    ...family(source, 'r:', (k) => ROOT_FIELDS.has(k)),
    ...(source['v:separation_degree'] !== undefined ? { v_separation_degree: source['v:separation_degree'] } : {}),
    diaSourceId: diaSource.diaSourceId,
    diaSource,
    ...more,
  };
}

function build(p: Row, where: string): Alert {
  try {
    return alertFromLsstPacket(p);
  } catch (e) {
    throw new PullError(`${where}: ${(e as Error).message}`);
  }
}

const stampFields = (s: LsstStamps | null | undefined) => ({
  cutoutScience: s?.science ?? null, cutoutTemplate: s?.template ?? null, cutoutDifference: s?.difference ?? null,
});

/**
 * The alerts of one object: each sources row is an alert (its diaSource), with the object's earlier
 * diaSources as prvDiaSources and its forced photometry up to the alert as prvDiaForcedSources (the reader
 * drops forced points of a visit that has a detection). The objects row is the diaObject as of the latest
 * alert: it goes with that alert only (the API does not give an earlier alert's diaObject).
 */
export function lsstObjectAlerts(objectRows: readonly Row[], sourceRows: readonly Row[], fpRows: readonly Row[], stamps: ReadonlyMap<bigint, LsstStamps | null>): Alert[] {
  const fieldsOf = (r: Row) => family(r, 'r:', (k) => !ROOT_FIELDS.has(k) && !NOT_A_FIELD.has(k));
  const sources = [...sourceRows].sort((a, b) => mjdOf(a) - mjdOf(b));
  const forced = [...fpRows].sort((a, b) => mjdOf(a) - mjdOf(b));
  const diaObject = objectRows.length ? fieldsOf(objectRows[0]) : null;
  const objectValues = objectRows.length ? family(objectRows[0], 'f:') : {};
  return sources.map((s, k) => {
    const src = fieldsOf(s);
    const latest = k === sources.length - 1;
    return build(packet(s, src, {
      ...(latest ? objectValues : {}),
      prvDiaSources: sources.slice(0, k).map(fieldsOf),
      prvDiaForcedSources: forced.filter((f) => mjdOf(f) <= mjdOf(s)).map(fieldsOf),
      diaObject: latest ? diaObject : null,
      ...stampFields(stamps.get(BigInt(src.diaSourceId as bigint))),
    }), `diaSource ${String(src.diaSourceId)}`);
  });
}

/** The alerts of a cone search: each row is an object's latest alert, its diaSource and diaObject fields side by side. */
export function lsstConeAlerts(rows: readonly Row[], stamps: ReadonlyMap<bigint, LsstStamps | null>): Alert[] {
  return rows.map((r) => {
    const src = family(r, 'r:', (k) => !ROOT_FIELDS.has(k) && !NOT_A_FIELD.has(k) && !isDiaObjectField(k));
    const diaObject = { diaObjectId: src.diaObjectId, ...family(r, 'r:', isDiaObjectField) };
    return build(packet(r, src, { diaObject, ...stampFields(stamps.get(BigInt(src.diaSourceId as bigint))) }), `diaSource ${String(src.diaSourceId)}`);
  });
}
