import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isAvroContainer, MAX_SCHEMA_BYTES } from './avro.ts';
import { compileAvroDecoder, type AvroDatumDecoder } from './avroDecoder.ts';
import { LruCache } from './lru.ts';
import { alertFromRecord, readAlertsFromBuffer, type ReadOptions, type ReadResult } from './read.ts';
import { AlertReadError } from './types.ts';
import { isRecord } from './values.ts';

/**
 * Kafka messages as the alert streams deliver them, decoded by their content:
 * - an Avro object container (starts with "Obj\x01"): one ZTF or Rubin packet with its schema, as the surveys
 *   publish;
 * - otherwise schemaless Avro, as the Fink broker's livestream sends it (fink-client decodes it with
 *   fastavro.schemaless_reader): the writer schema is the message key, as the schema's JSON (Fink's current
 *   scheme) or as a schema version name (the older one) resolved against `--schema-dir`, or else the file given
 *   with `--schema`. A message whose schema cannot be found, or that is not exactly one datum of its schema, is
 *   reported and skipped; nothing is guessed.
 */
export interface FinkMessageOptions {
  /** The writer schema for messages whose key is not a schema (fink-client's schema_path). */
  schema?: unknown;
  /** Named schemas for keys that are a schema version (file name without `distribution_schema_fink_ztf_` and extension). */
  namedSchemas?: ReadonlyMap<string, unknown>;
}

export interface StreamMessage {
  value: Uint8Array;
  key: Uint8Array | null;
  /** topic[partition]@offset, for messages about it. */
  where: string;
}


/** Loads a folder of Avro schemas (.avsc / .json) by name, as version keys refer to them. */
export function loadSchemaDir(dir: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const f of readdirSync(dir).filter((x) => /\.(avsc|json)$/.test(x)).sort()) {
    const name = f.replace(/\.(avsc|json)$/, '').replace(/^distribution_schema_fink_(ztf|lsst)_/, '');
    try {
      out.set(name, JSON.parse(readFileSync(path.join(dir, f), 'utf8')));
    } catch (e) {
      throw new Error(`--schema-dir ${dir}: ${f} is not JSON (${(e as Error).message})`);
    }
  }
  return out;
}

export class FinkMessageDecoder {
  // compiled decoders by key text: a topic's messages share a handful of keys, but keys come from the
  // network, so the cache is bounded (least recently used out) in entries and in key bytes
  private readonly decoders = new LruCache<string, AvroDatumDecoder>(16, 16 * MAX_SCHEMA_BYTES);

  constructor(private readonly o: FinkMessageOptions = {}) {}

  /** Entries held by the schema cache and the bytes of their keys (tests). */
  get cacheSize(): { entries: number; bytes: number } {
    return { entries: this.decoders.size, bytes: this.decoders.totalWeight };
  }

  private decoderFor(keyBytes: Uint8Array | null, where: string): AvroDatumDecoder {
    if (keyBytes && keyBytes.byteLength > MAX_SCHEMA_BYTES) throw new AlertReadError(where, 'message', `the key is ${keyBytes.byteLength} bytes, over the ${MAX_SCHEMA_BYTES}-byte limit of a schema`);
    const key = keyBytes ? Buffer.from(keyBytes.buffer, keyBytes.byteOffset, keyBytes.byteLength).toString('utf8') : '';
    const hit = this.decoders.get(key);
    if (hit) return hit;
    let schema: unknown;
    let json: unknown = undefined;
    if (key.trimStart().startsWith('{') || key.trimStart().startsWith('[') || key.trimStart().startsWith('"')) {
      try {
        json = JSON.parse(key);
      } catch {
        json = undefined;
      }
    }
    if (isRecord(json) || Array.isArray(json) || typeof json === 'string') schema = json;
    else if (key && this.o.namedSchemas?.has(key)) schema = this.o.namedSchemas.get(key);
    else if (key && this.o.namedSchemas?.has(`${key}_replayed`)) schema = this.o.namedSchemas.get(`${key}_replayed`);
    else if (this.o.schema !== undefined) schema = this.o.schema;
    else {
      const known = [...(this.o.namedSchemas?.keys() ?? [])];
      throw new AlertReadError(where, 'message', key
        ? `the key '${key.slice(0, 60)}' is neither a schema (JSON) nor a known schema version (${known.length ? `known: ${known.join(', ')}` : 'give --schema-dir'}); give --schema FILE.avsc`
        : 'no key to take the schema from; give --schema FILE.avsc');
    }
    let decode: AvroDatumDecoder;
    try {
      decode = compileAvroDecoder(schema);
    } catch (e) {
      throw new AlertReadError(where, 'message', `its schema is not a valid Avro schema: ${(e as Error).message}`);
    }
    this.decoders.set(key, decode, key.length);
    return decode;
  }

  /** The alerts of a batch of messages; a message that cannot be decoded is an error naming where it is. */
  async decode(messages: readonly StreamMessage[], options: ReadOptions = {}): Promise<ReadResult> {
    const out: ReadResult = { file: messages[0]?.where ?? 'kafka', format: 'avro', alerts: [], errors: [] };
    for (const m of messages) {
      const buf = Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength);
      try {
        if (isAvroContainer(buf.subarray(0, 4))) {
          const r = await readAlertsFromBuffer(buf, m.where, options);
          out.alerts.push(...r.alerts);
          out.errors.push(...r.errors);
          continue;
        }
        const decode = this.decoderFor(m.key, m.where);
        let r: { value: unknown; offset: number };
        try {
          r = decode(buf, 0);
        } catch (e) {
          throw new AlertReadError(m.where, 'message', `not a datum of its schema: ${(e as Error).message}`);
        }
        if (r.offset < 0) throw new AlertReadError(m.where, 'message', `truncated: ${buf.length} bytes end inside the datum`);
        if (r.offset !== buf.length) throw new AlertReadError(m.where, 'message', `${buf.length - r.offset} bytes after the datum: not one datum of its schema`);
        if (!isRecord(r.value)) throw new AlertReadError(m.where, 'message', 'the datum is not a record');
        out.alerts.push(alertFromRecord(r.value));
      } catch (e) {
        out.errors.push(e instanceof AlertReadError ? e : new AlertReadError(m.where, 'message', (e as Error).message));
      }
    }
    return out;
  }
}
