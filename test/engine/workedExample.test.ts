import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../shared.ts';

/**
 * The README's worked example (issue 22, point 7), run as written: the indented block after "The commands,
 * as one worked example", through bash from the repository root. Only the files it writes (my.db, out.jsonl,
 * fast.onnx) go to a temporary folder, and `npm run -s sieve --` is `node bin/sieve.js`.
 */
describe("the README's worked example", () => {
  it('runs as written: check, add, queue, label, train, score, show, export', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('The commands, as one worked example');
    expect(start).toBeGreaterThan(0);
    const lines = readme.slice(start).split('\n').slice(1);
    const first = lines.findIndex((l) => l.startsWith('    '));
    const block = lines.slice(first, first + lines.slice(first).findIndex((l) => !l.startsWith('    '))).map((l) => l.slice(4));
    expect(block.join('\n')).toMatch(/label \$id fast[\s\S]*train fast-transient[\s\S]*export fast-transient/);
    const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-worked-example-'));
    const script = block.join('\n')
      .replaceAll('npm run -s sieve --', `${process.execPath} ${path.join(REPO_ROOT, 'bin', 'sieve.js')}`)
      .replace(/(?<=\s)(my\.db|out\.jsonl|fast\.onnx)(?=[\s;]|$)/gm, (f) => path.join(tmp, f));
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, SIEVE_DEBUG: '' }, timeout: 600_000 });
    expect(r.status, `${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);
    expect(r.stdout).toMatch(/fast-transient: revision 1 stored/);
    expect(r.stdout).toMatch(/fast-transient v1: 8 labelled rows; deployed/);
    expect(r.stdout).toMatch(/labelled objects per class: other 4, fast 4/);
    expect(r.stdout).not.toMatch(/note: alert \d+ does not pass/);
    expect(existsSync(path.join(tmp, 'fast.onnx'))).toBe(true);
    expect(readFileSync(path.join(tmp, 'out.jsonl'), 'utf8').trim().split('\n').length).toBeGreaterThan(0);
  });

  it('says why a label on an alert outside the cuts is never trained on, why train cannot run, and that export has no version yet', () => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-worked-example-'));
    const db = path.join(tmp, 'my.db');
    const sieve = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, SIEVE_DEBUG: '' } });
    expect(sieve('ingest', '../shared/data/ztf/alerts.jsonl', '--db', db).status).toBe(0);
    expect(sieve('module', 'add', 'examples/fast-transient.json', '--db', db).status).toBe(0);
    // alert 12 (ZTF18abctfme) fails drb > 0.5 and ndethist <= 20: the label is kept, and the command says it will not train
    const label = sieve('label', '12', 'fast', '--module', 'fast-transient', '--db', db);
    expect(label.status).toBe(0);
    expect(label.stdout).toMatch(/note: alert 12 does not pass fast-transient's cuts \('drb > 0\.5 and ndethist <= 20'\): the label is kept, but fast-transient trains on and scores only alerts that pass them/);
    const train = sieve('train', 'fast-transient', '--db', db);
    expect(train.status).toBe(1);
    expect(train.stderr).toMatch(/cannot train yet: a forest needs training rows of at least two classes, and it has 0 \(no class\)\. Labelled objects: 1 \(other 0, fast 1\); with an alert that passes the cuts: 0, 0 of them in the held-out quarter/);
    expect(train.stderr.trim().split('\n')).toHaveLength(1);
    const exp = sieve('export', 'fast-transient', '--db', db, '--format', 'onnx', '--out', path.join(tmp, 'x.onnx'));
    expect(exp.status).toBe(1);
    expect(exp.stderr).toBe(`sieve: export: fast-transient has no version yet: train one first (sieve train fast-transient --db ${db}), then export it\n`);
  });
});
