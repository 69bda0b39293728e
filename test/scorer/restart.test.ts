import { spawn, spawnSync } from 'node:child_process';
import fs, { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAvroContainer, readParquetRows, writeAvroContainer } from '../../datasets/index.ts';
import { Store } from '../../engine/index.ts';
import { FolderProvider, JsonlSink, PathSource, RegistryProvider, SinkWriteError, cutPartialLastLine, runScorer, type SinkFileOps, type UnitResult } from '../../engine/scorer/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { demoStore } from '../server/fixture.ts';

let db: string;
let tmp: string;
const quiet = () => {};
const SIEVE = path.join(REPO_ROOT, 'bin', 'sieve.js');

/**
 * n one-alert ZTF Avro files (the 51 real alerts of Fink's alerts.parquet, cycled, stamps dropped to keep
 * the folder small), each with its own candid so every file's result can be found in the output.
 */
async function manyAlertFiles(dir: string, n: number): Promise<Set<string>> {
  const schema = readAvroContainer(readFileSync(sharedPath('ztf', 'avro', '472263571115115000.avro')), 'ztf packet').schema;
  const { rows } = await readParquetRows(readFileSync(sharedPath('ztf', 'parquet', 'alerts.parquet')), 'alerts.parquet');
  const toAvro = (v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v) : Array.isArray(v) ? v.map(toAvro)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toAvro(x)])) : v);
  mkdirSync(dir, { recursive: true });
  const candids = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = toAvro(rows[i % rows.length]) as Record<string, unknown> & { candidate: Record<string, unknown> };
    const candid = 3_000_000_000_000_000_000n + BigInt(i);
    candids.add(candid.toString());
    const alert = { ...r, candid, candidate: { ...r.candidate, candid }, cutoutScience: null, cutoutTemplate: null, cutoutDifference: null };
    writeFileSync(path.join(dir, `alert-${String(i).padStart(5, '0')}.avro`), writeAvroContainer(schema, [alert]));
  }
  return candids;
}

/** Candids of the whole result lines of a JSONL output (and whether any line is partial). */
function resultCandids(file: string): { candids: string[]; partial: boolean } {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const lines = text.split('\n');
  const last = lines.pop();
  return { candids: lines.map((l) => JSON.parse(l).candid as string), partial: last !== '' && last !== undefined };
}

beforeAll(async () => {
  db = await demoStore();
  tmp = mkdtempSync(path.join(tmpdir(), 'sieve-restart-'));
});

describe('scorer restarts keep what was written', () => {
  it('a run killed with SIGKILL at several points and restarted with the same command loses no alert (at-least-once)', async () => {
    const dir = path.join(tmp, 'files');
    const candids = await manyAlertFiles(dir, 5000);
    const out = path.join(tmp, 'out.jsonl');
    const state = path.join(tmp, 'state.txt');
    const args = [SIEVE, 'score', '--db', db, '--module', 'early-snia', '--from', dir, '--to', out, '--state', state, '--workers', '1', '--progress-seconds', '0'];
    // kill once the output holds this many lines; the last run goes to the end
    const killAt = [600, 2100, 3900];
    const kills: number[] = [];
    for (const target of killAt) {
      const child = spawn(process.execPath, args, { stdio: 'ignore' });
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      for (;;) {
        const size = existsSync(out) ? statSync(out).size : 0;
        // ~200 bytes a line: check the real count only when it may be there
        if (size > target * 150 && readFileSync(out, 'utf8').split('\n').length - 1 >= target) break;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill('SIGKILL');
      await exited;
      kills.push(resultCandids(out).candids.length);
    }
    const last = spawnSync(process.execPath, args, { encoding: 'utf8' });
    expect(last.status, last.stderr).toBe(0);
    const { candids: got, partial } = resultCandids(out);
    expect(partial).toBe(false);
    // the kills happened mid-run, and each restart kept what the previous run wrote
    for (let k = 0; k < kills.length; k++) expect(kills[k]).toBeLessThan(5000);
    for (let k = 1; k < kills.length; k++) expect(kills[k]).toBeGreaterThanOrEqual(kills[k - 1]);
    const unique = new Set(got);
    for (const c of candids) expect(unique.has(c)).toBe(true);
    const duplicates = got.length - unique.size;
    console.info(`[scorer restart] 5000 alerts, killed after ${kills.join(', ')} result lines: ${got.length} lines, ${duplicates} duplicate(s)`);
    // a duplicate is a unit written but not yet marked done when the kill came: at most one unit per kill
    // and per unit in flight (4 per thread)
    expect(duplicates).toBeLessThanOrEqual(killAt.length * 4 * 32);
    expect(readFileSync(state, 'utf8').trim().split('\n')).toHaveLength(5000);
  }, 240_000);

  it('cuts a partial last line left by a crash before appending', () => {
    const f = path.join(tmp, 'partial.jsonl');
    writeFileSync(f, '{"a":1}\n{"a":2}\n{"a":');
    const fd = fs.openSync(f, 'r+');
    expect(cutPartialLastLine(fd)).toBe(16);
    fs.closeSync(fd);
    expect(readFileSync(f, 'utf8')).toBe('{"a":1}\n{"a":2}\n');
    writeFileSync(f, 'no newline at all');
    const fd2 = fs.openSync(f, 'r+');
    expect(cutPartialLastLine(fd2)).toBe(0);
    fs.closeSync(fd2);
    expect(readFileSync(f, 'utf8')).toBe('');
  });

  it('without --state a new run starts a new file; with --state it appends', async () => {
    const f = path.join(tmp, 'mode.jsonl');
    writeFileSync(f, '{"old":1}\n{"half');
    const unit = (lines: string): UnitResult => ({ lines, keys: [], alerts: 1, errors: [], skipped: [], versions: {} });
    const append = new JsonlSink(f, { append: true, durable: true });
    await append.write(unit('{"new":1}\n'));
    await append.close();
    expect(readFileSync(f, 'utf8')).toBe('{"old":1}\n{"new":1}\n');
    const fresh = new JsonlSink(f);
    await fresh.write(unit('{"new":2}\n'));
    await fresh.close();
    expect(readFileSync(f, 'utf8')).toBe('{"new":2}\n');
  });
});

describe('a full disk', () => {
  /** File operations whose writes fail with ENOSPC once `room` bytes have been written (a short write first). */
  function diskWithRoom(room: { bytes: number }): SinkFileOps {
    return {
      ...fs,
      writeSync: (fd, buffer, offset, length, position) => {
        if (room.bytes <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        const n = Math.min(length, room.bytes);
        room.bytes -= n;
        return fs.writeSync(fd, buffer, offset, n, position);
      },
    };
  }

  it('stops the run with an error naming the file and the cause, leaves only whole lines, and a rerun resumes', async () => {
    const dir = path.join(tmp, 'enospc-files');
    const candids = await manyAlertFiles(dir, 400);
    const out = path.join(tmp, 'enospc.jsonl');
    const state = path.join(tmp, 'enospc-state.txt');
    const room = { bytes: 30_000 };
    const run = (ops?: SinkFileOps) => runScorer({
      source: new PathSource([dir], { stateFile: state, filesPerUnit: 20 }),
      sink: new JsonlSink(out, { append: true, durable: true, ...(ops ? { fileOps: ops } : {}) }),
      provider: new RegistryProvider(db, ['early-snia'], quiet), workers: 0, log: quiet,
    });
    const err = await run(diskWithRoom(room)).then(() => null, (e: Error) => e);
    expect(err).toBeInstanceOf(SinkWriteError);
    expect(err!.message).toContain(out);
    expect(err!.message).toMatch(/no space left on device \(ENOSPC\)/);
    expect(err!.message.split('\n')).toHaveLength(1);
    const first = resultCandids(out);
    expect(first.partial).toBe(false);
    expect(first.candids.length).toBeGreaterThan(0);
    expect(first.candids.length).toBeLessThan(400);
    // only whole units are marked done: exactly the files whose lines are in the output
    expect(readFileSync(state, 'utf8').trim().split('\n')).toHaveLength(first.candids.length);
    // space is back: the same run resumes and ends with every alert exactly once
    await run();
    const second = resultCandids(out);
    expect(second.candids).toHaveLength(400);
    expect(new Set(second.candids)).toEqual(candids);
  });

  it('sieve score on a full device prints one line naming the file and exits 1', async () => {
    const dir = path.join(tmp, 'devfull');
    await manyAlertFiles(dir, 40);
    const r = spawnSync(process.execPath, [SIEVE, 'score', '--db', db, '--module', 'early-snia', '--from', dir, '--to', '/dev/full', '--workers', '0'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('scorer: early-snia v'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sieve: score: cannot write \/dev\/full: no space left on device \(ENOSPC\)/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('bundle folders', () => {
  it('starts on the newest version that verifies when the newest file is corrupt', () => {
    const dir = path.join(tmp, 'bundles');
    mkdirSync(dir);
    const store = Store.create(db);
    const v = store.deployedVersion('early-snia')!;
    const json = (store.db.prepare('SELECT bundle_json FROM models WHERE module = ? AND version = ?').get('early-snia', v) as { bundle_json: string }).bundle_json;
    store.close();
    const bundle = JSON.parse(json);
    writeFileSync(path.join(dir, `early-snia-v${v}.json`), json);
    // the next version, corrupt: its manifest changed after signing, so the checksum no longer matches
    const bad = { ...bundle, manifest: { ...bundle.manifest, version: String(v + 1) } };
    writeFileSync(path.join(dir, `early-snia-v${v + 1}.json`), JSON.stringify(bad));
    const logs: string[] = [];
    const provider = new FolderProvider(dir, ['early-snia'], (l) => logs.push(l));
    const versions = provider.poll();
    expect(versions.map((x) => x.version)).toEqual([v]);
    expect(logs.join('\n')).toMatch(new RegExp(`REFUSED early-snia v${v + 1} .*checksum mismatch.*trying the next usable version`));
    expect(logs.join('\n')).toMatch(new RegExp(`early-snia v${v} in force`));
  });
});
