/**
 * Peak memory of `sieve ingest` on ~65 MB inputs (real ZTF alerts repeated under new candids: an Avro file
 * with stamps, and the JSON-lines export), measured in a child process by /usr/bin/time (maximum resident
 * set size). The goal is a peak bounded by the batch, not by the file: <= 400 MB for a 65 MB input.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readAvroContainer, readParquetRows, writeAvroContainer } from '../datasets/index.ts';
import { SHARED_DATA, SIEVE_BIN } from './paths.ts';

const SHARED = SHARED_DATA;
const SIEVE = SIEVE_BIN;

export async function runIngestMemoryBenchmarks(): Promise<Array<{ what: string; value: string }>> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-bench-ingest-'));
  try {
    const schema = readAvroContainer(readFileSync(`${SHARED}ztf/avro/472263571115115000.avro`), 'packet').schema;
    const { rows } = await readParquetRows(readFileSync(`${SHARED}ztf/parquet/alerts.parquet`), 'alerts.parquet');
    const toAvro = (v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v) : Array.isArray(v) ? v.map(toAvro)
      : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toAvro(x)])) : v);
    const base = rows.map((r) => toAvro(r) as Record<string, unknown> & { candid: bigint; candidate: Record<string, unknown> });
    const packets = Array.from({ length: 1400 }, (_, k) => {
      const a = base[k % base.length];
      const candid = a.candid + BigInt(k) * 1_000_000_000n;
      return { ...a, candid, candidate: { ...a.candidate, candid } };
    });
    const avro = path.join(tmp, 'ztf-with-stamps.avro');
    writeFileSync(avro, writeAvroContainer(schema, packets));
    const lines = readFileSync(`${SHARED}ztf/alerts.jsonl`, 'utf8').trim().split('\n');
    const jsonl = path.join(tmp, 'ztf.jsonl');
    writeFileSync(jsonl, `${Array.from({ length: 6 }, (_, r) => lines.map((l) => l.replace(/"candid":(\d+)/, (_m, d: string) => `"candid":${BigInt(d) + BigInt(r + 1) * 10n ** 17n}`)).join('\n')).join('\n')}\n`);
    const out: Array<{ what: string; value: string }> = [];
    for (const file of [avro, jsonl]) {
      const mb = statSync(file).size / 2 ** 20;
      const what = `sieve ingest of a ${mb.toFixed(0)} MB ${path.extname(file).slice(1)} file (real ZTF alerts repeated)`;
      if (!existsSync('/usr/bin/time')) {
        out.push({ what, value: 'not measured (/usr/bin/time is missing)' });
        continue;
      }
      const db = path.join(tmp, `${path.basename(file)}.db`);
      const r = spawnSync('/usr/bin/time', ['-f', '%M %e', process.execPath, SIEVE, 'ingest', file, '--db', db], { encoding: 'utf8' });
      const m = /(\d+) ([\d.]+)\s*$/.exec(r.stderr);
      if (r.status !== 0 || !m) throw new Error(`bench ingest: ${r.stderr.trim().split('\n').pop()}`);
      out.push({ what, value: `peak RSS ${(Number(m[1]) / 1024).toFixed(0)} MB in ${m[2]} s (goal <= 400 MB); ${r.stdout.trim().split('\n').pop()}` });
    }
    return out;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
