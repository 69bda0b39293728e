import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isAvroContainer, readAvroContainer } from './avro.ts';
import { parseJsonExact } from './json.ts';
import { alertFromLsstPacket, isLsstPacket } from './lsst.ts';
import { isParquet, readParquetRows } from './parquet.ts';
import { alertFromSieveRecord, isSieveRecord } from './sieveFormat.ts';
import { alertFromTnsRow, isTnsRow } from './tns.ts';
import { type Alert, AlertReadError } from './types.ts';
import { isRecord, type RawRecord } from './values.ts';
import { alertFromZtfPacket, ztfLeanFieldsKeeping } from './ztf.ts';

export type AlertFileFormat = 'avro' | 'parquet' | 'jsonl';

/**
 * Decides a file's format from its first bytes (Avro "Obj\x01", Parquet "PAR1", JSON '{'); the extension
 * is only a fallback, so a misnamed file is still read correctly.
 */
export function detectFormat(head: Uint8Array, path = ''): AlertFileFormat {
  if (isAvroContainer(head)) return 'avro';
  if (isParquet(head)) return 'parquet';
  let i = 0;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] === 0x7b) return 'jsonl';
  const ext = path.toLowerCase();
  if (ext.endsWith('.avro')) return 'avro';
  if (ext.endsWith('.parquet')) return 'parquet';
  if (ext.endsWith('.jsonl') || ext.endsWith('.json')) return 'jsonl';
  throw new AlertReadError(path, 'file', 'unknown format: not Avro, Parquet or JSON lines');
}

/** Any decoded record (ZTF packet, Fink packet, LSST alert, TNS row, Sieve light curve) into an Alert. */
export function alertFromRecord(rec: RawRecord, index = 0): Alert {
  if (isSieveRecord(rec)) return alertFromSieveRecord(rec);
  if (isLsstPacket(rec)) return alertFromLsstPacket(rec);
  if (isTnsRow(rec)) return alertFromTnsRow(rec, index);
  return alertFromZtfPacket(rec);
}

export interface ReadResult {
  file: string;
  format: AlertFileFormat;
  alerts: Alert[];
  /** Records that could not be read, each naming the file and record; the other records are kept. */
  errors: AlertReadError[];
}

function recordName(rec: unknown, index: number, unit: string): string {
  if (isRecord(rec)) {
    const id = rec.objectId ?? (isRecord(rec.diaSource) ? rec.diaSource.diaSourceId : undefined);
    const candid = rec.candid ?? (isRecord(rec.candidate) ? rec.candidate.candid : undefined);
    const parts = [`${unit} ${index}`];
    if (id !== undefined && id !== null) parts.push(`objectId ${String(id)}`);
    if (candid !== undefined && candid !== null) parts.push(`candid ${String(candid)}`);
    return parts.join(', ');
  }
  return `${unit} ${index}`;
}

/** Records into alerts (or errors naming file and record) appended to `out`. */
export function mapRecords(file: string, unit: string, records: Array<{ index: number; value: unknown }>, out: ReadResult): void {
  for (const { index, value } of records) {
    if (!isRecord(value)) {
      out.errors.push(new AlertReadError(file, `${unit} ${index}`, 'not a JSON object / record'));
      continue;
    }
    try {
      out.alerts.push(alertFromRecord(value, index));
    } catch (e) {
      out.errors.push(new AlertReadError(file, recordName(value, index, unit), (e as Error).message));
    }
  }
}

/** Parses JSON lines; a bad line is reported (file, line number) and the rest are read. */
export function readJsonLines(text: string, file: string, out: ReadResult): void {
  const lines = text.split('\n');
  const records: Array<{ index: number; value: unknown }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    try {
      records.push({ index: i + 1, value: parseJsonExact(line) });
    } catch (e) {
      out.errors.push(new AlertReadError(file, `line ${i + 1}`, `invalid JSON: ${(e as Error).message}`));
    }
  }
  mapRecords(file, 'line', records, out);
}

/** Reads Alerts from bytes in any supported format. */
export interface ReadOptions {
  /** Read only what scoring needs (ZTF Avro: no stamps, no unused candidate fields). */
  lean?: boolean;
  /** With lean: candidate fields to decode besides those the extractors read (modules' alert features and cuts). */
  keepFields?: readonly string[];
}

/** A gzipped file of any of the formats, unzipped (Sieve writes large simulations as .jsonl.gz). */
function gunzippedIfGzip(buf: Buffer, file: string): Buffer {
  if (buf.length < 2 || buf[0] !== 0x1f || buf[1] !== 0x8b) return buf;
  try {
    return gunzipSync(buf);
  } catch (e) {
    throw new AlertReadError(file, 'file', `corrupt gzip stream: ${(e as Error).message}`);
  }
}

export async function readAlertsFromBuffer(buf: Buffer, file: string, options: ReadOptions = {}): Promise<ReadResult> {
  buf = gunzippedIfGzip(buf, file);
  const format = detectFormat(buf.subarray(0, 64), file);
  const out: ReadResult = { file, format, alerts: [], errors: [] };
  if (format === 'avro') {
    const container = readAvroContainer(buf, file, options.lean ? { fields: ztfLeanFieldsKeeping(options.keepFields ?? []) } : {});
    out.errors.push(...container.errors);
    mapRecords(file, 'record', container.records, out);
  } else if (format === 'parquet') {
    const { rows } = await readParquetRows(buf, file);
    mapRecords(file, 'row', rows.map((value, index) => ({ index, value })), out);
  } else {
    readJsonLines(buf.toString('utf8'), file, out);
  }
  return out;
}

/**
 * Reads every alert of a file. Unreadable records are collected in `errors` (each names file and record)
 * while the good ones are returned; a file that cannot be read at all throws an AlertReadError.
 */
export async function readAlertFile(path: string, options: ReadOptions = {}): Promise<ReadResult> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new AlertReadError(path, 'file', (e as Error).message);
  }
  if (buf.length === 0) throw new AlertReadError(path, 'file', 'empty file');
  return readAlertsFromBuffer(buf, path, options);
}

/**
 * Whether a file found in a folder holds alerts, from its content: Avro, Parquet, gzip and JSON lines do;
 * a JSON document (first line a lone `{` or `[`, as Fink's `avro_schema_*.json` beside its Data Transfer
 * part files) and anything else do not. Files named .avro or .parquet are taken at their word without
 * opening them (a ZTF night is ~10^5 files); their reader reports what is wrong with them.
 */
export function folderFileKind(file: string): { alerts: true } | { alerts: false; reason: string } {
  if (/\.(avro|parquet)$/i.test(file)) return { alerts: true };
  const head = Buffer.alloc(4096);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const h = head.subarray(0, n);
  if (n === 0) return { alerts: false, reason: 'empty file' };
  if ((h[0] === 0x1f && h[1] === 0x8b) || isAvroContainer(h) || isParquet(h)) return { alerts: true };
  const text = h.toString('utf8');
  const firstLine = text.trimStart().split('\n', 1)[0].trim();
  if (firstLine === '{' || firstLine === '[') {
    return { alerts: false, reason: /"fields"\s*:/.test(text) ? 'an Avro schema (a JSON document), not alerts' : 'a JSON document, not JSON lines' };
  }
  if (firstLine.startsWith('{')) return { alerts: true };
  return { alerts: false, reason: 'not Avro, Parquet or JSON lines' };
}

/**
 * The alert files of the given paths: a file is kept as given; a folder gives its files (not its
 * subfolders) in name order whose content is alerts (`folderFileKind`), hidden files left out; the other
 * files are listed in `skipped` with the reason.
 */
export function alertFilesOf(paths: readonly string[]): { files: string[]; skipped: Array<{ file: string; reason: string }> } {
  const files: string[] = [];
  const skipped: Array<{ file: string; reason: string }> = [];
  for (const p of paths) {
    if (!statSync(p).isDirectory()) {
      files.push(p);
      continue;
    }
    const names = readdirSync(p, { withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
    for (const name of names) {
      const file = path.join(p, name);
      const kind = folderFileKind(file);
      if (kind.alerts) files.push(file);
      else skipped.push({ file, reason: kind.reason });
    }
  }
  return { files, skipped };
}
