/** Helpers that turn loosely typed decoded records (Avro, Parquet, JSON) into numbers and strings. */

export type RawRecord = Record<string, unknown>;

/** Numeric value or NaN for null/undefined. Throws on anything else so bad fields are named, not hidden. */
export function num(record: RawRecord, field: string): number {
  return numValue(record[field], field);
}

/**
 * `num` of a value the caller read itself: on a hot path (a light curve's points) `p.magpsf` is a load the
 * engine caches per record shape, where `record[field]` inside a shared helper is a generic lookup.
 */
export function numValue(v: unknown, field: string): number {
  if (typeof v === 'number') return v;
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  throw new TypeError(`field '${field}' is not a number (${typeof v})`);
}

/** A required numeric field: missing or non-finite values are an error naming the field. */
export function requiredNum(record: RawRecord, field: string): number {
  if (!(field in record)) throw new TypeError(`missing field '${field}'`);
  const v = num(record, field);
  if (!Number.isFinite(v)) throw new TypeError(`field '${field}' is null or not finite`);
  return v;
}

/** `requiredNum` of a value the caller read itself (see numValue); the record names what is wrong. */
export function requiredNumValue(record: RawRecord, v: unknown, field: string): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : requiredNum(record, field);
}

export function requiredString(record: RawRecord, field: string): string {
  const v = record[field];
  if (typeof v !== 'string' || v.length === 0) throw new TypeError(`missing or empty string field '${field}'`);
  return v;
}

/** 64-bit id as bigint (exact), from bigint, safe integer, or digit string. */
export function bigId(record: RawRecord, field: string): bigint {
  const v = record[field];
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  if (v === null || v === undefined) throw new TypeError(`missing field '${field}'`);
  throw new TypeError(`field '${field}' is not an exact integer id: ${typeof v === 'string' ? `'${v.slice(0, 40)}'` : typeof v === 'number' ? String(v) : typeof v}`);
}

export function isRecord(v: unknown): v is RawRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

export function asBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'base64'));
  return null;
}

/** Scalar copies of a record's fields (nested structures and bytes dropped), for `Alert.extra`. */
export function scalarFields(record: RawRecord, skip: ReadonlySet<string>): Record<string, string | number | boolean | null> {
  const out: Record<string, string | number | boolean | null> = {};
  // for-in rather than Object.entries: no array per field (the scorer maps thousands of packets a second)
  for (const k in record) {
    if (!Object.hasOwn(record, k) || skip.has(k)) continue;
    const v = record[k];
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'bigint') out[k] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    else if (v instanceof Date && !Number.isNaN(v.getTime())) out[k] = v.toISOString(); // Parquet timestamps
  }
  return out;
}
