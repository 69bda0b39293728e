import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { openAvroContainer, readContainerHeader, type AvroPosition } from './avro.ts';
import { parseJsonExact } from './json.ts';
import { detectFormat, mapRecords, readAlertsFromBuffer, type ReadResult } from './read.ts';
import { AlertReadError } from './types.ts';

/**
 * A file's alerts in batches, read as a stream: memory holds a read chunk, one Avro window or JSON line, and
 * one batch of decoded alerts, whatever the file's size (a night of a million alerts is several GB of JSON
 * lines, more once gunzipped). Gzipped files are gunzipped on the way. Each batch carries the bad records met
 * while reading it, named by file and line or Avro block and record. Parquet files are still read whole (their
 * row groups are not read one by one yet) and come as one batch.
 */
export async function* alertFileBatches(path: string, o: StreamOptions = {}): AsyncGenerator<ReadResult> {
  const batchSize = o.batchSize ?? 500;
  const chunks = new ChunkReader(await fileStream(path, o.chunkBytes ?? 1 << 20), path);
  const head = await chunks.peek(64);
  if (head.length === 0) throw new AlertReadError(path, 'file', 'empty file');
  const format = detectFormat(head, path);
  if (format === 'parquet') {
    yield await readAlertsFromBuffer(await chunks.rest(), path);
    return;
  }
  if (format === 'avro') yield* avroBatches(chunks, path, batchSize, o.avroWindowBytes ?? AVRO_WINDOW_BYTES);
  else yield* jsonLineBatches(chunks, path, batchSize, o.maxLineBytes ?? MAX_LINE_BYTES);
}

export interface StreamOptions {
  /** Alerts per batch (500). */
  batchSize?: number;
  /** Bytes per read (1 MB; tests use a few bytes to cross every boundary). */
  chunkBytes?: number;
  /** Avro bytes decoded at a time (8 MB), rounded up to whole blocks. */
  avroWindowBytes?: number;
  /** The longest JSON line accepted (64 MB): a longer one is a bad record, skipped without being held. */
  maxLineBytes?: number;
}

/** The longest JSON line read (a ZTF packet with stamps is ~100 KB): a longer one is a bad record. */
const MAX_LINE_BYTES = 64 << 20;
/** Avro blocks are decoded in windows of about this many bytes, each ending at a block's sync marker. */
const AVRO_WINDOW_BYTES = 8 << 20;
/** Without a sync marker in this many bytes the window goes to the decoder as it is, which reports the damage. */
const AVRO_MAX_WINDOW_BYTES = 512 << 20;

async function fileStream(path: string, chunkBytes: number): Promise<Readable> {
  let magic: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      magic = Buffer.alloc(2);
      const { bytesRead } = await fh.read(magic, 0, 2, 0);
      magic = magic.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new AlertReadError(path, 'file', (e as Error).message);
  }
  const raw = createReadStream(path, { highWaterMark: chunkBytes });
  if (magic.length < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) return raw;
  const gunzip = createGunzip({ chunkSize: Math.max(64, chunkBytes) });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}

/** Pulls a stream's chunks on demand; read and gunzip failures become one error naming the file. */
class ChunkReader {
  private readonly it: AsyncIterator<Buffer>;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private ended = false;

  constructor(stream: Readable, private readonly file: string) {
    this.it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The next chunk (the buffered bytes first), or null at the end. */
  async next(): Promise<Buffer | null> {
    if (this.buffered.length) {
      const b = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
      this.buffered = [];
      this.bufferedBytes = 0;
      return b;
    }
    if (this.ended) return null;
    try {
      const r = await this.it.next();
      if (r.done) {
        this.ended = true;
        return null;
      }
      return r.value;
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new AlertReadError(this.file, 'file', err.code?.startsWith('Z_') ? `corrupt gzip stream: ${err.message}` : err.message);
    }
  }

  /** At least n bytes from the current position (fewer at the end), without consuming them. */
  async peek(n: number): Promise<Buffer> {
    while (this.bufferedBytes < n) {
      const c = await this.pull();
      if (!c) break;
      this.buffered.push(c);
      this.bufferedBytes += c.length;
    }
    return Buffer.concat(this.buffered);
  }

  /** Everything left, at once (Parquet). */
  async rest(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let c = await this.next(); c; c = await this.next()) parts.push(c);
    return Buffer.concat(parts);
  }

  private async pull(): Promise<Buffer | null> {
    const saved = this.buffered;
    const bytes = this.bufferedBytes;
    this.buffered = [];
    this.bufferedBytes = 0;
    const c = await this.next();
    this.buffered = saved;
    this.bufferedBytes = bytes;
    return c;
  }
}

function newBatch(file: string, format: ReadResult['format']): ReadResult {
  return { file, format, alerts: [], errors: [] };
}

async function* jsonLineBatches(chunks: ChunkReader, file: string, batchSize: number, maxLineBytes: number): AsyncGenerator<ReadResult> {
  let out = newBatch(file, 'jsonl');
  let lineNo = 0;
  // the start of a line the previous chunks ended in (null: that line is too long and is being skipped)
  let partial: Buffer[] | null = [];
  let partialBytes = 0;
  const take = (line: Buffer) => {
    lineNo++;
    const text = line.toString('utf8').trim();
    if (text === '') return;
    let value: unknown;
    try {
      value = parseJsonExact(text);
    } catch (e) {
      out.errors.push(new AlertReadError(file, `line ${lineNo}`, `invalid JSON: ${(e as Error).message}`));
      return;
    }
    mapRecords(file, 'line', [{ index: lineNo, value }], out);
  };
  for (let chunk = await chunks.next(); chunk; chunk = await chunks.next()) {
    let start = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
      if (partial === null || partialBytes + nl - start > maxLineBytes) {
        lineNo++;
        out.errors.push(new AlertReadError(file, `line ${lineNo}`, `longer than ${maxLineBytes} bytes`));
      } else take(partial.length ? Buffer.concat([...partial, chunk.subarray(start, nl)]) : chunk.subarray(start, nl));
      partial = [];
      partialBytes = 0;
      start = nl + 1;
      if (out.alerts.length >= batchSize) {
        yield out;
        out = newBatch(file, 'jsonl');
      }
    }
    if (start < chunk.length && partial !== null) {
      partial.push(Buffer.from(chunk.subarray(start)));
      partialBytes += chunk.length - start;
      if (partialBytes > maxLineBytes) partial = null;
    }
  }
  if (partial === null) out.errors.push(new AlertReadError(file, `line ${lineNo + 1}`, `longer than ${maxLineBytes} bytes`));
  else if (partial.length) take(Buffer.concat(partial));
  yield out;
}

async function* avroBatches(chunks: ChunkReader, file: string, batchSize: number, windowBytes: number): AsyncGenerator<ReadResult> {
  // the header (magic, metadata with the schema, sync marker), read whole before any block
  let acc: Buffer = Buffer.alloc(0);
  let header: ReturnType<typeof readContainerHeader> | null = null;
  while (!header) {
    const c = await chunks.next();
    if (c) acc = Buffer.concat([acc, c]);
    try {
      header = readContainerHeader(acc, file);
    } catch (e) {
      // an incomplete header waits for more bytes; at the end it is what it is
      if (c && e instanceof AlertReadError && /truncated/.test(e.reason) && acc.length < AVRO_MAX_WINDOW_BYTES) continue;
      openAvroContainer(acc, file);
      throw e;
    }
  }
  const headerBytes = Buffer.from(acc.subarray(0, header.offset));
  const sync = Buffer.from(header.value.sync);
  acc = acc.subarray(header.offset);
  let byteOffset = header.offset;
  let at: AvroPosition = { block: 0, record: 0 };
  let out = newBatch(file, 'avro');
  let searchFrom = 0;
  let cut = 0;
  let eof = false;
  while (!eof || acc.length) {
    if (!eof) {
      const c = await chunks.next();
      if (c) acc = acc.length ? Buffer.concat([acc, c]) : c;
      else eof = true;
    }
    // window boundaries are the ends of sync markers, so that every window holds whole blocks
    for (let i = acc.indexOf(sync, searchFrom); i >= 0; i = acc.indexOf(sync, i + 16)) cut = i + 16;
    searchFrom = Math.max(0, acc.length - 15);
    const ready = eof ? acc.length : cut >= windowBytes ? cut : acc.length > AVRO_MAX_WINDOW_BYTES ? acc.length : 0;
    if (!ready) continue;
    const window = acc.subarray(0, ready);
    const container = openAvroContainer(Buffer.concat([headerBytes, window]), file, { continuing: { ...at, byteOffset } });
    const items = container.items();
    for (let r = items.next(); ; r = items.next()) {
      if (r.done) {
        at = r.value;
        break;
      }
      const item = r.value;
      if (item instanceof AlertReadError) out.errors.push(item);
      else mapRecords(file, 'record', [item], out);
      if (out.alerts.length >= batchSize) {
        yield out;
        out = newBatch(file, 'avro');
      }
    }
    byteOffset += ready;
    acc = Buffer.from(acc.subarray(ready));
    searchFrom = 0;
    cut = 0;
  }
  yield out;
}
