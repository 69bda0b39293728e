import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { simulate, stringifyJsonExact, toSieveRecord, writeAvroContainer } from '../../datasets/index.ts';
import { prvCountBomb, varint } from '../hostile.ts';
import { storeWithEarlySnia } from '../hostileStore.ts';
import { REPO_ROOT } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-cli-hostile-'));

function sieve(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, SIEVE_DEBUG: '', ...env }, timeout: 120_000 });
  return { status: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
}

describe('sieve ingest on hostile files (issue 23, points 1 and 7)', () => {
  it('refuses the 1e8 prv_candidates record in a ~22 KB container in one line naming file and record, within a small heap', () => {
    const { schema, message } = prvCountBomb();
    const header = writeAvroContainer(schema, []);
    const file = path.join(tmp, 'bomb.avro');
    writeFileSync(file, Buffer.concat([header, varint(1), varint(message.length), message, header.subarray(header.length - 16)]));
    // a 256 MB heap: the decoder must not need more than the file
    const r = sieve(['ingest', file, '--db', path.join(tmp, 'bomb.db')], { NODE_OPTIONS: '--max-old-space-size=256' });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^sieve: ingest: import refused, nothing stored: 1 bad record: ${file.replace(/[.\\]/g, '\\$&')}: block 0 \\(byte \\d+\\), record 0 \\(records 0\\.\\.0\\): array block of 100000000 items at byte \\d+ needs at least \\d+ bytes, \\d+ left$`)),
    ]);
  });

  it("shows the reason of a bad record without SIEVE_DEBUG, and names a candid that is not an integer", () => {
    const [o] = [...simulate(1, 9)];
    const file = path.join(tmp, 'abc.jsonl');
    writeFileSync(file, `${stringifyJsonExact({ ...toSieveRecord(o.alert), candid: 'abc' })}\n`);
    const r = sieve(['ingest', file, '--db', path.join(tmp, 'abc.db')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`sieve: ingest: import refused, nothing stored: 1 bad record: ${file}: line 1, objectId ${o.alert.objectId}, candid abc: field 'candid' is not an exact integer id: 'abc'\n`);
  });
});

describe('sieve score stops on SIGTERM (issue 23, point 2)', () => {
  it('exits within --stop-seconds of SIGTERM even while its source is stuck (an unreachable Kafka broker)', async () => {
    const db = path.join(tmp, 'sig.db');
    const dir = path.join(tmp, 'sig-bundles');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'early-snia_v1.json'), storeWithEarlySnia(db, 1)[0]);
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'score', '--module', 'early-snia', '--bundles', dir, '--from', 'kafka://127.0.0.1:1/ztf?group=g', '--to', path.join(tmp, 'sig.jsonl'), '--stop-seconds', '1'], { cwd: REPO_ROOT, env: { ...process.env, SIEVE_DEBUG: '' } });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
    await expect.poll(() => stderr, { timeout: 30_000 }).toMatch(/early-snia v1 in force/);
    await new Promise((r) => setTimeout(r, 500));
    const sent = Date.now();
    child.kill('SIGTERM');
    const timeout = new Promise<{ code: null; at: number }>((resolve) => setTimeout(() => resolve({ code: null, at: Infinity }), 15_000));
    const { code, at } = await Promise.race([exited, timeout]);
    if (code === null && at === Infinity) child.kill('SIGKILL');
    expect(at - sent).toBeLessThan(6_000);
    expect(code).toBe(143);
    expect(stderr).toMatch(/scorer: SIGTERM: stopping after the units in flight \(at most 1 s\)/);
  });
});
