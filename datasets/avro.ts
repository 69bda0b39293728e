import { createRequire } from 'node:module';
import type avroTypes from 'avsc';
import { compileAvroDecoder, DEFAULT_AVRO_LIMITS, type AvroDatumDecoder, type FieldFilter } from './avroDecoder.ts';
import { LruCache } from './lru.ts';
import { inflateRawSync, deflateRawSync, crc32 } from 'node:zlib';
import { AlertReadError } from './types.ts';

// avsc and snappyjs load on first use: a CLI command that reads no Avro does not pay for them (start-up time).
const require = createRequire(import.meta.url);
let avsc: typeof avroTypes | null = null;
const avroLib = (): typeof avroTypes => (avsc ??= require('avsc') as typeof avroTypes);
let snappyLib: { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array): Uint8Array } | null = null;
const snappy = () => (snappyLib ??= require('snappyjs') as NonNullable<typeof snappyLib>);

/**
 * Avro `long` as bigint: ZTF's candid and LSST's ids exceed 2^53, so JavaScript numbers would round them.
 */
let bigintLongType: unknown = null;
const bigintLong = () => (bigintLongType ??= avroLib().types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
}));

/**
 * Field defaults only matter when resolving a reader schema against a writer schema; decoding with the
 * writer's schema never uses them. ZTF's published schemas declare `"default": null` on unions whose first
 * branch is not null, which avsc rightly rejects, so defaults are dropped before parsing.
 */
function withoutDefaults(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutDefaults);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) if (k !== 'default') out[k] = withoutDefaults(v);
  return out;
}

export function avroTypeForSchema(schema: unknown): avroTypes.Type {
  return avroLib().Type.forSchema(withoutDefaults(schema) as avroTypes.Schema, {
    registry: { long: bigintLong() },
    wrapUnions: 'never',
  } as unknown as avroTypes.ForSchemaOptions);
}

const MAGIC = Buffer.from([0x4f, 0x62, 0x6a, 0x01]); // "Obj\x01"

export function isAvroContainer(head: Uint8Array): boolean {
  return head.length >= 4 && MAGIC.equals(Buffer.from(head.buffer, head.byteOffset, 4));
}

/** Zig-zag varint as used by Avro for int and long; returns [value, next offset] or null when truncated. */
function readVarLong(buf: Buffer, pos: number): [number, number] | null {
  let result = 0;
  let shift = 1;
  let b: number;
  do {
    if (pos >= buf.length) return null;
    b = buf[pos++];
    result += (b & 0x7f) * shift;
    shift *= 128;
    if (shift > 2 ** 63) throw new Error('varint too long');
  } while (b & 0x80);
  // Zig-zag: block counts and sizes fit easily in a double.
  const value = result % 2 === 0 ? result / 2 : -(result + 1) / 2;
  return [value, pos];
}

export type AvroCodec = 'null' | 'deflate' | 'snappy';

/** The most bytes one block may decompress to: Fink's transfer files hold ~5 MB blocks; this stops a zip bomb. */
export const MAX_BLOCK_BYTES = 256 << 20;

/** The unsigned little-endian base-128 varint at the start of data (snappy's length preamble), or null. */
function readUnsignedVarint(data: Buffer): number | null {
  let n = 0;
  for (let i = 0, shift = 1; i < 5 && i < data.length; i++, shift *= 128) {
    n += (data[i] & 0x7f) * shift;
    if (!(data[i] & 0x80)) return n;
  }
  return null;
}

function decompress(codec: string, data: Buffer): Buffer {
  switch (codec) {
    case 'null':
      return data;
    case 'deflate':
      return inflateRawSync(data, { maxOutputLength: MAX_BLOCK_BYTES });
    case 'snappy': {
      // Avro's snappy framing: the compressed block followed by a big-endian CRC32 of the uncompressed data.
      if (data.length < 4) throw new Error('snappy block shorter than its checksum');
      // snappy starts with the uncompressed length, which the decompressor allocates as it is
      const declared = readUnsignedVarint(data);
      if (declared === null || declared > MAX_BLOCK_BYTES) throw new Error(`snappy block declares ${declared ?? 'an unreadable'} uncompressed bytes (limit ${MAX_BLOCK_BYTES})`);
      const out = Buffer.from(snappy().uncompress(data.subarray(0, data.length - 4)));
      const expected = data.readUInt32BE(data.length - 4);
      if (crc32(out) !== expected) throw new Error('snappy block checksum mismatch');
      return out;
    }
    default:
      throw new Error(`unsupported Avro codec '${codec}'`);
  }
}

function compress(codec: AvroCodec, data: Buffer): Buffer {
  switch (codec) {
    case 'null':
      return data;
    case 'deflate':
      return deflateRawSync(data);
    case 'snappy': {
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(data));
      return Buffer.concat([Buffer.from(snappy().compress(data)), crc]);
    }
  }
}

let headerType: avroTypes.Type | null = null;
const HEADER_TYPE = () => (headerType ??= avroLib().Type.forSchema({
  type: 'record',
  name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
} as avroTypes.Schema));

export interface AvroContainer {
  schema: unknown;
  codec: string;
  /** Records decoded, in file order, each with its 0-based index in the file. */
  records: Array<{ index: number; value: Record<string, unknown> }>;
  /** Problems met; records before and after a bad block are still returned. */
  errors: AlertReadError[];
}

/**
 * Compiled decoders by schema text: a stream of single-alert files (ZTF's archive, Kafka messages) repeats
 * one schema, and compiling it costs far more than decoding one alert. The schema text comes from the file
 * or message, so the cache is bounded (least recently used out) and so is a schema's size.
 */
type Decode = AvroDatumDecoder;
interface CachedSchema { schema: unknown; full: Decode; lean: Map<FieldFilterFactory, Decode | null> }
/** ZTF's and Fink's schemas are 20-60 KB of JSON; a megabyte is no schema a broker sends. */
export const MAX_SCHEMA_BYTES = 1 << 20;
const typeCache = new LruCache<string, CachedSchema>(16, 16 * MAX_SCHEMA_BYTES);

let lastSchema: { bytes: Buffer; text: string } | null = null;

/** The parsed schema and its decoders, by schema text (parsed and compiled once per distinct schema). */
function cachedDecoder(schemaBytes: Buffer, lean: FieldFilterFactory | undefined): { schema: unknown; decode: Decode } {
  if (schemaBytes.length > MAX_SCHEMA_BYTES) throw new Error(`the schema is ${schemaBytes.length} bytes, over the ${MAX_SCHEMA_BYTES}-byte limit`);
  // a stream repeats one schema: a byte comparison with the previous one skips decoding 20 KB of text
  if (!lastSchema || !lastSchema.bytes.equals(schemaBytes)) lastSchema = { bytes: Buffer.from(schemaBytes), text: schemaBytes.toString() };
  const schemaText = lastSchema.text;
  let entry = typeCache.get(schemaText);
  if (!entry) {
    const schema = JSON.parse(schemaText) as unknown;
    entry = { schema, full: compileAvroDecoder(schema), lean: new Map() };
    typeCache.set(schemaText, entry, schemaText.length);
  }
  const schema = entry.schema;
  if (!lean) return { schema, decode: entry.full };
  if (!entry.lean.has(lean)) {
    const filter = lean(schema);
    entry.lean.set(lean, filter ? compileAvroDecoder(schema, filter) : null);
  }
  return { schema, decode: entry.lean.get(lean) ?? entry.full };
}

/** How many schemas the container reader holds compiled, and their text's total size (tests). */
export function avroSchemaCacheSize(): { entries: number; bytes: number } {
  return { entries: typeCache.size, bytes: typeCache.totalWeight };
}

/** Given a writer schema, the fields to keep (null: this schema is read whole). */
export type FieldFilterFactory = (writerSchema: unknown) => FieldFilter | null;

export interface ReadAvroOptions {
  /** Decode only the fields this filter keeps, skipping the others in place (see avroDecoder.ts). */
  fields?: FieldFilterFactory;
  /**
   * Where the blocks after this buffer's header sit in a longer file (a window of a streamed file behind a
   * copy of its header): block and record numbers and byte offsets are counted from there.
   */
  continuing?: AvroPosition & { byteOffset: number };
}

/** Blocks and records read so far. */
export interface AvroPosition {
  block: number;
  record: number;
}

/**
 * The container header (magic, metadata map of bytes, sync marker) with the values as views into buf. A
 * one-alert message is mostly header (the schema is ~20 KB), and copying it per message was the scorer's
 * largest single cost on Kafka streams.
 */
export function readContainerHeader(buf: Buffer, file: string): { value: { meta: Record<string, Buffer>; sync: Buffer }; offset: number } {
  const truncated = () => new AlertReadError(file, 'header', 'truncated Avro header');
  const meta = Object.create(null) as Record<string, Buffer>;
  let pos = 4;
  for (;;) {
    const count = readVarLong(buf, pos);
    if (!count) throw truncated();
    pos = count[1];
    if (count[0] === 0) break;
    let n = count[0];
    if (n < 0) {
      // a negative count is followed by the block's size in bytes
      const size = readVarLong(buf, pos);
      if (!size) throw truncated();
      pos = size[1];
      n = -n;
    }
    for (let i = 0; i < n; i++) {
      const keyLen = readVarLong(buf, pos);
      if (!keyLen || keyLen[0] < 0 || keyLen[1] + keyLen[0] > buf.length) throw truncated();
      const key = buf.toString('utf8', keyLen[1], keyLen[1] + keyLen[0]);
      pos = keyLen[1] + keyLen[0];
      const valLen = readVarLong(buf, pos);
      if (!valLen || valLen[0] < 0 || valLen[1] + valLen[0] > buf.length) throw truncated();
      meta[key] = buf.subarray(valLen[1], valLen[1] + valLen[0]);
      pos = valLen[1] + valLen[0];
    }
  }
  if (pos + 16 > buf.length) throw truncated();
  return { value: { meta, sync: buf.subarray(pos, pos + 16) }, offset: pos + 16 };
}

/**
 * An Avro object container whose records are decoded one at a time as `items()` is iterated (ingest streams
 * large files this way); the header and schema are read at once, and a bad header throws. Written here rather
 * than with avsc's stream decoder so that a corrupt or truncated block is reported (file, block, record) and
 * the reader resynchronises on the next sync marker instead of losing the rest of the file.
 */
export function openAvroContainer(buf: Buffer, file: string, options: ReadAvroOptions = {}): { schema: unknown; codec: string; items: () => Generator<{ index: number; value: Record<string, unknown> } | AlertReadError, AvroPosition> } {
  if (!isAvroContainer(buf)) throw new AlertReadError(file, 'header', 'not an Avro object container file (bad magic)');
  let header: ReturnType<typeof readContainerHeader>;
  try {
    header = readContainerHeader(buf, file);
  } catch (e) {
    if (e instanceof AlertReadError) throw e;
    throw new AlertReadError(file, 'header', `unreadable Avro header: ${(e as Error).message}`);
  }
  const meta = header.value.meta;
  const codec = meta['avro.codec'] ? meta['avro.codec'].toString() : 'null';
  if (!meta['avro.schema']) throw new AlertReadError(file, 'header', 'Avro header has no avro.schema');
  let schema: unknown;
  let decode: Decode;
  try {
    ({ schema, decode } = cachedDecoder(meta['avro.schema'], options.fields));
  } catch (e) {
    throw new AlertReadError(file, 'header', `bad Avro schema: ${(e as Error).message}`);
  }
  const sync = header.value.sync;
  return { schema, codec, items: () => containerItems(buf, file, header.offset, sync, codec, decode, options.continuing) };
}

/** Every record of the file, or the error that stopped a block, one at a time; returns where it stopped. */
function* containerItems(buf: Buffer, file: string, start: number, sync: Buffer, codec: string, decode: Decode, at?: ReadAvroOptions['continuing']): Generator<{ index: number; value: Record<string, unknown> } | AlertReadError, AvroPosition> {
  let pos = start;
  let block = at?.block ?? 0;
  let recordIndex = at?.record ?? 0;
  const shift = at ? at.byteOffset - start : 0;
  while (pos < buf.length) {
    const where = `block ${block} (byte ${pos + shift})`;
    const count = readVarLong(buf, pos);
    const size = count && readVarLong(buf, count[1]);
    if (!count || !size || size[1] + size[0] + 16 > buf.length || count[0] < 0 || size[0] < 0) {
      yield new AlertReadError(file, where, `truncated Avro block (file ends at byte ${buf.length + shift})`);
      return { block, record: recordIndex };
    }
    const dataStart = size[1];
    const dataEnd = dataStart + size[0];
    const blockSync = buf.subarray(dataEnd, dataEnd + 16);
    if (!blockSync.equals(sync)) {
      yield new AlertReadError(file, where, 'sync marker mismatch: block is corrupt');
      const next = buf.indexOf(sync, pos);
      if (next < 0) return { block, record: recordIndex };
      pos = next + 16;
      block++;
      continue;
    }
    // a block's count is checked against its bytes before any record is decoded: records of a schema that
    // takes k bytes need count·k bytes, and records that may take none are bounded by the item budget
    const records = `records ${recordIndex}..${recordIndex + count[0] - 1}`;
    let data: Buffer | null = null;
    try {
      if (count[0] > DEFAULT_AVRO_LIMITS.maxItems) throw new Error(`a block of ${count[0]} records: more than the ${DEFAULT_AVRO_LIMITS.maxItems} a block may hold`);
      data = decompress(codec, buf.subarray(dataStart, dataEnd));
      if (count[0] * decode.minBytes > data.length) throw new Error(`a block of ${count[0]} records in ${data.length} bytes: each takes at least ${decode.minBytes}`);
    } catch (e) {
      yield new AlertReadError(file, `${where}, ${records}`, (e as Error).message);
      data = null;
    }
    if (data) {
      let p = 0;
      for (let i = 0; i < count[0]; i++) {
        let res: { value: unknown; offset: number };
        try {
          res = decode(data, p);
          if (res.offset < 0) throw new Error(`record ${recordIndex + i} is truncated`);
        } catch (e) {
          yield new AlertReadError(file, `${where}, record ${recordIndex + i} (${records})`, (e as Error).message);
          break;
        }
        yield { index: recordIndex + i, value: res.value as Record<string, unknown> };
        p = res.offset;
      }
    }
    recordIndex += count[0];
    pos = dataEnd + 16;
    block++;
  }
  return { block, record: recordIndex };
}

export function readAvroContainer(buf: Buffer, file: string, options: ReadAvroOptions = {}): AvroContainer {
  const c = openAvroContainer(buf, file, options);
  const records: AvroContainer['records'] = [];
  const errors: AlertReadError[] = [];
  for (const item of c.items()) {
    if (item instanceof AlertReadError) errors.push(item);
    else records.push(item);
  }
  return { schema: c.schema, codec: c.codec, records, errors };
}

/** Writes records as an Avro container (used to re-encode real packets with each codec, and by tests). */
export function writeAvroContainer(schema: unknown, values: unknown[], codec: AvroCodec = 'null', recordsPerBlock = 100): Buffer {
  const type = avroTypeForSchema(schema);
  const sync = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) sync[i] = (i * 73 + 11) & 0xff;
  const head = HEADER_TYPE().toBuffer({
    magic: MAGIC,
    meta: { 'avro.schema': Buffer.from(JSON.stringify(schema)), 'avro.codec': Buffer.from(codec) },
    sync,
  });
  const longType = avroLib().Type.forSchema('long');
  const parts: Buffer[] = [head];
  for (let i = 0; i < values.length; i += recordsPerBlock) {
    const chunk = values.slice(i, i + recordsPerBlock);
    const data = compress(codec, Buffer.concat(chunk.map((v) => type.toBuffer(v))));
    parts.push(longType.toBuffer(chunk.length), longType.toBuffer(data.length), data, sync);
  }
  return Buffer.concat(parts);
}
