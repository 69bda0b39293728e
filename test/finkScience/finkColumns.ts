import { readFileSync } from 'node:fs';
import { detectFormat, parseJsonExact, readAvroContainer, readParquetRows } from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';

/** A column as Spark hands it to a pandas_udf: its Spark type and one value per alert (arrays for c* columns). */
export interface SparkColumn {
  type: string;
  values: unknown[];
}

export interface FinkBatch {
  file: string;
  /** The alert ids (ZTF candid, Rubin alertId or diaSourceId), as Sieve's scorer writes them. */
  candid: string[];
  columns: Record<string, SparkColumn>;
}

type Rec = Record<string, unknown>;
type TypeOf = (path: string) => string | null;

const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

/** Spark's type of each field of an Avro writer schema, by dotted path (`candidate.magpsf`, `cdsxmatch`). */
function avroTypes(schema: unknown): TypeOf {
  const types = new Map<string, string>();
  const named = new Map<string, unknown>();
  const resolve = (t: unknown): unknown => (typeof t === 'string' && named.has(t) ? named.get(t) : t);
  const walk = (t: unknown, path: string): void => {
    t = resolve(t);
    if (Array.isArray(t)) {
      const nn = t.filter((x) => x !== 'null');
      if (nn.length === 1) walk(nn[0], path);
      return;
    }
    if (isRec(t)) {
      if (t.type === 'record' && Array.isArray(t.fields)) {
        if (typeof t.name === 'string') {
          named.set(t.name, t);
          if (typeof t.namespace === 'string') named.set(`${t.namespace}.${t.name}`, t);
        }
        for (const f of t.fields as Rec[]) walk(f.type, path ? `${path}.${String(f.name)}` : String(f.name));
      } else if (t.type === 'array') walk(t.items, path);
      else if (typeof t.type === 'string') types.set(path, t.type === 'bytes' ? 'binary' : t.type);
      return;
    }
    if (typeof t === 'string') types.set(path, t);
  };
  walk(schema, '');
  return (p) => types.get(p) ?? null;
}

/** The same from a Parquet footer's schema (hyparquet's metadata). */
async function parquetTypes(buf: Buffer): Promise<TypeOf> {
  const { parquetMetadata } = await import('hyparquet');
  const md = parquetMetadata(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  const types = new Map<string, string>();
  const physical: Record<string, string> = { DOUBLE: 'double', FLOAT: 'float', INT32: 'int', INT64: 'long', BOOLEAN: 'boolean', BYTE_ARRAY: 'string' };
  const walk = (i: number, path: string): number => {
    const e = md.schema[i] as { name: string; num_children?: number; type?: string };
    // lists are group -> list -> element: the element's path is the group's
    const name = e.name === 'list' || e.name === 'element' || e.name === 'item' || e.name === 'array' ? path : path ? `${path}.${e.name}` : e.name;
    let j = i + 1;
    if (e.num_children) for (let k = 0; k < e.num_children; k++) j = walk(j, i === 0 ? '' : name);
    else if (e.type && !types.has(name)) types.set(name, physical[e.type] ?? e.type);
    return j;
  };
  walk(0, '');
  return (p) => types.get(p) ?? null;
}

/** ELAsTiCC-era diaSource names and Rubin's, as the references of ../shared/data/fink map them (band lower-cased). */
const ELASTICC_NAMES: Record<string, string> = { midPointTai: 'midpointMjdTai', filterName: 'band', psFlux: 'psfFlux', psFluxErr: 'psfFluxErr', decl: 'dec' };

function renamed(src: Rec): Rec {
  if (!('midPointTai' in src || 'filterName' in src)) return src;
  const out: Rec = {};
  for (const [k, v] of Object.entries(src)) {
    const name = ELASTICC_NAMES[k] ?? k;
    out[name] = name === 'band' && typeof v === 'string' ? v.toLowerCase() : v;
  }
  return out;
}

const jsonValue = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : typeof v === 'number' && !Number.isFinite(v) ? null : v === undefined ? null : v);

/**
 * fink-broker's columns for the alerts of one file, as its science step builds them: `c<x>` = fink-utils'
 * concat_col (history then current; the current value alone when the history is null), `candidate.<x>` /
 * `diaSource.<x>` / `diaObject.<x>`, and Fink's added top-level columns (cdsxmatch "Unknown" where the file
 * has none, as Fink's own doctests without a cross-match; other absent ones null). Spark types come from the
 * file's own schema (the ZTF schema for JSON lines). ELAsTiCC-era Rubin rows get Rubin's names.
 */
export async function finkBatch(file: string, survey: 'ztf' | 'lsst', names: readonly string[]): Promise<FinkBatch> {
  const buf = readFileSync(file);
  const format = detectFormat(buf.subarray(0, 8), file);
  let records: Rec[];
  let typeOf: TypeOf;
  if (format === 'avro') {
    const c = readAvroContainer(buf, file);
    if (c.errors.length) throw c.errors[0];
    records = c.records.map((r) => r.value);
    typeOf = avroTypes(c.schema);
  } else if (format === 'parquet') {
    records = (await readParquetRows(buf, file)).rows;
    typeOf = await parquetTypes(buf);
  } else {
    records = buf.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => parseJsonExact(l) as Rec);
    const candidate = avroTypes(JSON.parse(readFileSync(sharedPath('ztf', 'avro', 'schema', 'candidate.avsc'), 'utf8')));
    typeOf = (p) => (p === 'objectId' ? 'string' : p.startsWith('candidate.') ? candidate(p.slice('candidate.'.length)) : null);
  }
  const current = survey === 'ztf' ? 'candidate' : 'diaSource';
  const history = survey === 'ztf' ? 'prv_candidates' : 'prvDiaSources';
  // ELAsTiCC's types under its own names
  const typeOfRubin = (p: string): string | null => {
    const [group, field] = p.split('.');
    const old = Object.entries(ELASTICC_NAMES).find(([, n]) => n === field)?.[0];
    return typeOf(p) ?? (old ? typeOf(`${group}.${old}`) : null);
  };
  const columns: Record<string, SparkColumn> = {};
  for (const name of names) {
    const concat = /^c[a-zA-Z]+$/.test(name) && name !== 'cdsxmatch';
    if (concat) {
      const field = name.slice(1);
      const type = (survey === 'ztf' ? typeOf : typeOfRubin)(`${current}.${field}`);
      if (!type) throw new Error(`${file}: no type for ${current}.${field}`);
      columns[name] = {
        type: `array<${type}>`,
        values: records.map((r) => {
          const cur = survey === 'ztf' ? (r[current] as Rec) : renamed(r[current] as Rec);
          const prv = r[history];
          const rows = Array.isArray(prv) ? prv.map((p) => (survey === 'ztf' ? (p as Rec) : renamed(p as Rec))) : [];
          return [...rows, cur].map((x) => jsonValue(x[field]));
        }),
      };
    } else if (name.includes('.')) {
      const [group, field] = name.split('.');
      const type = (survey === 'ztf' ? typeOf : typeOfRubin)(name);
      columns[name] = {
        type: type ?? 'double',
        values: records.map((r) => {
          let g = r[group] as Rec | null | undefined;
          if (g && group === 'diaSource') g = renamed(g);
          // the diaObject of an ELAsTiCC row may be a rounded float64: its diaSource holds the exact id
          if (name === 'diaObject.diaObjectId') return jsonValue((r.diaSource as Rec).diaObjectId ?? g?.diaObjectId);
          return jsonValue(g?.[field]);
        }),
      };
    } else {
      const type = name === 'cdsxmatch' ? 'string' : typeOf(name) ?? (name === 'objectId' ? 'string' : 'double');
      columns[name] = { type, values: records.map((r) => (name === 'cdsxmatch' && typeof r.cdsxmatch !== 'string' ? 'Unknown' : jsonValue(r[name]))) };
    }
  }
  const candid = records.map((r) => {
    if (survey === 'ztf') return String(r.candid ?? (r.candidate as Rec).candid);
    return String(r.alertId ?? (r.diaSource as Rec).diaSourceId);
  });
  return { file, candid, columns };
}
