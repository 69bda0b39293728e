import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { FinkMessageDecoder, isAvroContainer, readAlertsFromBuffer, readJsonLines, stringifyJsonExact, type Alert, type ReadResult } from '../../datasets/index.ts';
import { enrichedRows, renderResultLines, scoreAlerts, scoreColumns, type LoadedModule, type ScoreOptions } from './score.ts';
import type { OutputFormat, UnitResult, WorkUnit } from './units.ts';



const decoders = new WeakMap<ScoreOptions, FinkMessageDecoder>();
/** One decoder (and its schema cache) per scorer configuration. */
function decoderFor(o: ScoreOptions): FinkMessageDecoder {
  let d = decoders.get(o);
  if (!d) decoders.set(o, (d = new FinkMessageDecoder({ ...(o.streamSchema !== undefined ? { schema: o.streamSchema } : {}), ...(o.namedSchemas ? { namedSchemas: new Map(Object.entries(o.namedSchemas)) } : {}) })));
  return d;
}

/**
 * Messages decoded and scored at a time within a unit. A unit of 1,000 one-alert messages decoded whole held
 * all its alerts across the young generation's collections, which copied and promoted them (a tenth of the
 * scorer's time); a run of this many dies young. Each alert's scores depend on that alert alone.
 */
const MESSAGES_PER_CHUNK = 100;

/** The thread's buffer for small files (a folder of one-alert packets is read one file after another). */
let smallFileBuffer: Buffer | null = null;

/**
 * A small file's bytes. An Avro container is read into the thread's reused buffer: a new 68 KB buffer per
 * one-alert packet was garbage the engine collected with a full collection every few thousand files, and lean
 * decoding copies whatever it keeps (strings, numbers, bytes), so nothing refers to the buffer once the file is
 * decoded. Any other format is copied out of it: its reader may keep views into the bytes (a Parquet row's
 * stamps), which the next file would overwrite while the unit is still being scored.
 */
function readSmallFile(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (!smallFileBuffer || smallFileBuffer.length < size) smallFileBuffer = Buffer.allocUnsafeSlow(Math.max(size, 1 << 20));
    let n = 0;
    for (let got = 1; n < size && got > 0; n += got) got = readSync(fd, smallFileBuffer, n, size - n, n);
    const bytes = smallFileBuffer.subarray(0, n);
    return isAvroContainer(bytes) ? bytes : Buffer.from(bytes);
  } finally {
    closeSync(fd);
  }
}

async function decode(u: WorkUnit, skipped: string[], keepFields: readonly string[], o: ScoreOptions, from: number, to: number): Promise<ReadResult> {
  if (u.kind === 'file' || u.kind === 'files') {
    const out: ReadResult = { file: u.kind === 'file' ? u.path : u.paths[0], format: 'avro', alerts: [], errors: [] };
    for (const file of u.kind === 'file' ? [u.path] : u.paths) {
      try {
        // synchronous: this runs on a scorer thread, and one small read is cheaper than four async steps
        const r = await readAlertsFromBuffer(u.kind === 'files' ? readSmallFile(file) : readFileSync(file), file, { lean: true, keepFields });
        for (const a of r.alerts) out.alerts.push(a);
        out.errors.push(...r.errors);
      } catch (e) {
        // a file that cannot be read at all is reported and skipped; the unit's other files are scored
        skipped.push(`${file}: ${(e as Error).message}`);
      }
    }
    return out;
  }
  if (u.kind === 'lines') {
    const out: ReadResult = { file: u.origin, format: 'jsonl', alerts: [], errors: [] };
    // line numbers in messages count from the start of the file
    readJsonLines('\n'.repeat(u.firstLine - 1) + u.text, u.origin, out);
    return out;
  }
  // containers or schemaless Avro, told apart by content (datasets/finkStream.ts)
  const messages = [];
  for (let i = from; i < to; i++) messages.push({ value: u.payloads[i], key: u.keys?.[i] ?? null, where: u.wheres?.[i] ?? `${u.origin} message ${i}` });
  return decoderFor(o).decode(messages, { lean: true, keepFields });
}

const keptFields = new WeakMap<readonly LoadedModule[], readonly string[]>();
/** The candidate fields the modules read, one frozen list per set of modules (the decoder caches by it). */
function keepFieldsOf(modules: readonly LoadedModule[]): readonly string[] {
  let k = keptFields.get(modules);
  if (!k) keptFields.set(modules, (k = Object.freeze([...new Set(modules.flatMap((m) => m.def.alertFields))])));
  return k;
}

/** Decodes a unit, scores its alerts with the modules in force, and renders the output lines. */
export async function processUnit(u: WorkUnit, modules: readonly LoadedModule[], format: OutputFormat, o: ScoreOptions = {}): Promise<UnitResult> {
  const versions = Object.fromEntries(modules.map((m) => [m.module, m.version]));
  const skipped: string[] = [];
  const keepFields = keepFieldsOf(modules);
  let lines = '';
  const keys: string[] = [];
  const errors: string[] = [];
  let count = 0;
  const n = u.kind === 'messages' ? u.payloads.length : 1;
  for (let from = 0; from < n; from += MESSAGES_PER_CHUNK) {
    const read = await decode(u, skipped, keepFields, o, from, Math.min(n, from + MESSAGES_PER_CHUNK));
    const alerts: Alert[] = read.alerts;
    if (format === 'fink') {
      for (const row of enrichedRows(alerts, scoreAlerts(alerts, modules, o), modules)) {
        lines += `${stringifyJsonExact(row)}\n`;
        keys.push(row.objectId as string);
      }
    } else {
      const r = renderResultLines(alerts, scoreColumns(alerts, modules, o));
      lines += r.lines;
      for (const k of r.keys) keys.push(k);
    }
    count += alerts.length;
    for (const e of read.errors) errors.push((e as Error).message ?? String(e));
  }
  return { lines, keys, alerts: count, errors, skipped, versions };
}
