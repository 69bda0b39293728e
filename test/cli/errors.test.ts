import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATED_CLASSES } from '../../datasets/index.ts';
import { EXTRACTOR_NAMES as EXTRACTORS } from '../../features/index.ts';
import { EXPORT_FORMATS as FORMATS, STRATEGY_NAMES as STRATEGIES } from '../../engine/index.ts';
import { AL_STRATEGIES, DEFAULT_AL_DATA, EXPORT_FORMATS, EXTRACTOR_NAMES, SIMULATED_CLASS_NAMES, STRATEGY_NAMES } from '../../engine/cli/names.ts';
import { AL_STRATEGIES as AL_EXPERIMENT_STRATEGIES, DEFAULT_AL_DATA as AL_EXPERIMENT_DATA } from '../../engine/experiments/activeLearning.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-cli-errors-'));
const db = path.join(tmp, 'real.db');
let busy: Server;
let busyPort = 0;

function sieve(args: string[], cwd = REPO_ROOT) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, SIEVE_DEBUG: '' } });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

beforeAll(async () => {
  expect(sieve(['ingest', sharedPath('ztf', 'alerts.jsonl'), '--db', db]).status).toBe(0);
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});

afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

describe('every CLI error is one line', () => {
  // [arguments, exit status, what the line must say]
  const cases = (): Array<[string[], number, RegExp]> => [
    [['features', '--extractor', 'no-such-extractor', '--in', 'no-such-file', '--out', '/dev/null'], 2, /--extractor.*'no-such-extractor' is invalid.*early-snia, anomaly, kilonova/],
    [['features', '--extractor', 'anomaly', '--in', 'no-such-file', '--out', '/dev/null'], 2, /--in no-such-file: no such file or folder/],
    // output paths are checked before any work; a write that fails later is one line too, never an 'error' event
    [['features', '--extractor', 'anomaly', '--in', sharedPath('ztf', 'alerts.jsonl'), '--out', '/no/such/dir/x.csv'], 2, /--out \/no\/such\/dir\/x\.csv: no such folder \/no\/such\/dir/],
    [['simulate', '--out', tmp, '--n', '10'], 2, /--out .*: is a folder, not a file/],
    [['experiment', 'anomaly', '--out', '/dev/null/x'], 2, /--out \/dev\/null\/x: \/dev\/null is a file, not a folder/],
    [['backup', tmp, '--db', db], 2, /backup .*: is a folder, not a file/],
    [['features', '--extractor', 'anomaly', '--in', sharedPath('ztf', 'alerts.jsonl'), '--out', '/dev/full'], 1, /cannot write \/dev\/full: ENOSPC/],
    [['simulate', '--out', '/dev/full', '--n', '3000', '--workers', '1'], 1, /cannot write \/dev\/full: ENOSPC/],
    [['features', '--db', db, '--extractor', 'anomaly'], 2, /give one or the other/],
    [['simulate', '--out', path.join(tmp, 's.jsonl'), '--classes', 'SN Ia,unicorn'], 2, /'unicorn' is not one of SN Ia, /],
    [['simulate', '--out', path.join(tmp, 's.jsonl'), '--workers', '-3'], 2, /--workers.*'-3' is not a positive integer/],
    [['queue', 'anomaly', '--strategy', 'bogus', '--db', db], 2, /--strategy.*'bogus' is invalid.*uncertainty, margin, entropy, committee, random/],
    [['queue', 'anomaly', '--strategy', 'margin', '--db', db], 2, /anomaly is an anomaly module, ranked by its AAD score/],
    [['queue', 'nope', '--db', db], 2, /unknown module 'nope' \(modules of this store: early-snia, kilonova, anomaly, anomaly-rubin, early-snia-rubin, microlensing, satellite-glints\)/],
    [['queue', 'No_Such', '--db', db], 2, /'No_Such' is not a module name/],
    [['deploy', 'early-snia', 'abc', '--db', db], 2, /'abc' is not a positive integer/],
    [['export', 'early-snia', '--db', db, '--format', 'onnx', '--out', '/dev/null', '--version', 'abc'], 2, /--version.*'abc' is not a positive integer/],
    [['export', 'early-snia', '--db', db, '--format', 'pdf', '--out', '/dev/null'], 2, /--format.*'pdf' is invalid.*bundle, onnx, fink-anomaly-zip/],
    [['score', '--module', 'early-snia', '--db', db, '--from', tmp, '--to', '/dev/null', '--workers', '-3'], 2, /--workers.*'-3' is not a whole number >= 0/],
    [['score', '--module', 'early-snia', '--db', db, '--from', tmp, '--to', '/dev/null', '--anomaly-threshold', 'xyz'], 2, /--anomaly-threshold.*'xyz' is not a number/],
    [['score', '--module', 'early-snia', '--db', db, '--from', tmp, '--to', '/dev/null', '--progress-seconds', 'abc'], 2, /--progress-seconds.*'abc' is not a number/],
    [['score', '--module', 'early-snia', 'anomaly', '--db', db, '--from', tmp, '--to', '/dev/null', '--format', 'csv'], 2, /--format.*'csv' is invalid/],
    [['score', '--module', 'early-snia', '--db', db, '--from', tmp, '--to', '/dev/null', '--anomaly-threshold', '-0.1'], 2, /--anomaly-threshold applies to the anomaly module/],
    [['score', '--module', 'early-snia', '--from', tmp, '--to', '/dev/null'], 2, /either --db .* or --bundles/],
    [['score', '--module', 'early-snia', '--db', db, '--from', 'no-such-folder', '--to', '/dev/null'], 2, /--from no-such-folder: no such file or folder/],
    [['serve', '--port', '99999', '--db', db], 2, /--port.*'99999' is not a TCP port/],
    [['serve', '--retrain-every', '-1', '--db', db], 2, /--retrain-every.*'-1' is not a whole number >= 0/],
    [['demo', '--retrain-every', '-1'], 2, /--retrain-every.*'-1' is not a whole number >= 0/],
    [['experiment', 'al', '--strategy', 'bogus'], 2, /--strategy.*'bogus' is not one of uncertainty, margin, entropy, random/],
    [['experiment', 'al', '--data', 'sim', '--label-column', 'x'], 2, /'sim' labels itself/],
    [['experiment', 'al', '--data', 'no-such-dir'], 2, /--data no-such-dir: no such file or folder/],
    [['experiment', 'anomaly', '--out', tmp, '--label-column', 'x'], 2, /describe a --data table/],
    [['experiment', 'anomaly', '--out', tmp, '--max-samples', '2.5'], 2, /'2.5' is not a positive count or a fraction/],
    [['label', '1', 'banana', '--module', 'early-snia', '--db', db], 2, /label 'banana' is not one of early-snia's labels/],
    [['label', 'x1', 'SN Ia', '--module', 'early-snia', '--db', db], 2, /'x1' is not a positive integer/],
    [['user', 'add', 'eve', '--role', 'boss', '--db', db], 2, /--role.*'boss' is invalid.*expert, admin/],
    [['ingest', sharedPath('ztf', 'alerts.jsonl'), '--db', ''], 2, /--db.*an empty path names no file/],
    [['no-such-command'], 2, /unknown command 'no-such-command'/],
    // failed runs: status 1
    [['models', '--db', path.join(tmp, 'typo.db')], 1, /^sieve: models: store .*typo\.db does not exist/],
    [['queue', 'early-snia', '--db', path.join(tmp, 'typo.db')], 1, /store .*typo\.db does not exist/],
    [['serve', '--db', path.join(tmp, 'typo.db')], 1, /store .*typo\.db does not exist/],
    [['user', 'list', '--db', path.join(tmp, 'typo.db')], 1, /store .*typo\.db does not exist/],
    [['score', '--module', 'early-snia', '--db', path.join(tmp, 'typo.db'), '--from', tmp, '--to', '/dev/null'], 1, /store .*typo\.db does not exist/],
    [['deploy', 'early-snia', '7', '--db', db], 1, /no model early-snia v7/],
    [['rollback', 'early-snia', '--db', db], 1, /early-snia has no deployed version/],
    [['train', 'early-snia', '--db', db], 1, /need labelled training examples of at least two classes/],
  ];

  it('prints `sieve: <what>: <why>` on one line with no stack frame, status 2 for usage and 1 for a failed run', () => {
    for (const [args, status, message] of cases()) {
      const r = sieve(args);
      const what = `sieve ${args.join(' ')}`;
      const lines = r.stderr.trim().split('\n');
      expect(lines, what).toHaveLength(1);
      expect(lines[0], what).toMatch(/^sieve: /);
      expect(lines[0], what).toMatch(message);
      expect(r.stderr, what).not.toMatch(/^\s+at /m);
      expect(r.status, what).toBe(status);
    }
    // a mistyped --db created nothing
    expect(existsSync(path.join(tmp, 'typo.db'))).toBe(false);
  }, 300_000);

  it('shows the stack only with SIEVE_DEBUG=1', () => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'models', '--db', path.join(tmp, 'typo.db')], { encoding: 'utf8', env: { ...process.env, SIEVE_DEBUG: '1' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^\s+at /m);
  });

  it('demo on a port in use fails before building anything', () => {
    const store = path.join(tmp, 'demo-busy.db');
    const r = sieve(['demo', '--db', store, '--port', String(busyPort), '--n', '50']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`sieve: demo: port ${busyPort} on 127.0.0.1 is already in use: choose another with --port`);
    expect(r.stdout).toBe('');
    expect(existsSync(store)).toBe(false);
  });

  it('experiment al names its default data path when it is missing, and takes the user\'s alert files', () => {
    const elsewhere = mkdtempSync(path.join(tmpdir(), 'sieve-cwd-'));
    const r = sieve(['experiment', 'al', '--queries', '2', '--out', path.join(tmp, 'al-missing')], elsewhere);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^sieve: experiment al: --data \.\.\/shared\/data\/tns: no such file or folder/);
    const csv = path.join(tmp, 'not-labelled.csv');
    writeFileSync(csv, 'a,b\n1,2\n');
    const t = sieve(['experiment', 'al', '--data', csv, '--out', path.join(tmp, 'al-t')]);
    expect(t.status).toBe(1);
    expect(t.stderr.trim()).toMatch(/a feature table needs --label-column and --positive/);
  });

  it('checks options against the same lists the code uses', () => {
    expect([...SIMULATED_CLASS_NAMES]).toEqual([...SIMULATED_CLASSES]);
    expect([...EXTRACTOR_NAMES]).toEqual([...EXTRACTORS]);
    expect([...STRATEGY_NAMES]).toEqual([...STRATEGIES]);
    expect([...EXPORT_FORMATS]).toEqual([...FORMATS]);
    expect([...AL_STRATEGIES]).toEqual([...AL_EXPERIMENT_STRATEGIES]);
    expect(DEFAULT_AL_DATA).toBe(AL_EXPERIMENT_DATA);
  });
});
