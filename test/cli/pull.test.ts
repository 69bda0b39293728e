import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../shared.ts';
import { LSST_BODIES, startFinkApi, type FinkApiStub } from '../engine/finkApiServer.ts';

/** `sieve pull fink` as a process: every option checked before the store is made, one line per error. */
const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-cli-pull-'));
let lsst: FinkApiStub;
beforeAll(async () => {
  lsst = await startFinkApi(LSST_BODIES());
});
afterAll(() => lsst.close());

function sieve(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { env: { ...process.env, SIEVE_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('sieve pull fink on the command line', () => {
  it('refuses a bad option with one line and status 2, before making a store', async () => {
    const db = path.join(tmp, 'never.db');
    const cases: Array<[string[], RegExp]> = [
      [['--survey', 'gaia', '--object', 'ZTF18aaxyyjv'], /--survey.*'gaia' is invalid.*ztf, lsst/],
      [['--survey', 'lsst', '--class', 'Early SN Ia candidate', '--start', '2021-11-01', '--stop', '2021-12-01'], /--class: the LSST API has no latests route; pull Rubin alerts with --object or --cone/],
      [['--class', 'Early SN Ia candidate', '--start', '2021-02-30', '--stop', '2021-03-01'], /--start 2021-02-30: --class needs --start and --stop as days, YYYY-MM-DD/],
      [['--class', 'Early SN Ia candidate', '--start', '2021-03-01', '--stop', '2021-03-01'], /--start 2021-03-01 is not before --stop 2021-03-01/],
      [['--object', '12345'], /--object 12345: not a ZTF objectId/],
      [['--survey', 'lsst', '--object', 'ZTF18aaxyyjv'], /--object ZTF18aaxyyjv: not a Rubin diaObjectId/],
      [['--survey', 'lsst', '--object', '99999999999999999999'], /not a Rubin diaObjectId \(a 64-bit integer\)/],
      [['--cone', '10,20,20000'], /--cone 10,20,20000: the radius must be above 0 and at most 18000 arcsec/],
      [['--cone', '400,20,5'], /RA in \[0, 360\] and Dec in \[-90, 90\]/],
      [['--object', 'ZTF18aaxyyjv', '--cone', '10,20,5'], /give one query/],
      [[], /give one query/],
      [['--object', 'ZTF18aaxyyjv', '--timeout', '0'], /--timeout 0: seconds in \(0, 3600\]/],
      [['--object', 'ZTF18aaxyyjv', '--timeout', 'abc'], /--timeout.*'abc' is not a number/],
      [['--object', 'ZTF18aaxyyjv', '--deadline', '-1'], /--deadline -1: seconds above 0/],
      [['--object', 'ZTF18aaxyyjv', '--max-wait', '100000'], /--max-wait 100000: seconds in \[0, 86400\]/],
      [['--object', 'ZTF18aaxyyjv', '--rate', '0'], /--rate 0: must be above 0/],
      [['--object', 'ZTF18aaxyyjv', '--base-url', 'ftp://example.org'], /--base-url ftp:\/\/example\.org: not an http\(s\) URL/],
      [['--object', 'ZTF18aaxyyjv', '--cutouts', 'some'], /--cutouts.*'some' is invalid.*latest, all, none/],
    ];
    const runs = await Promise.all(cases.map(([args]) => sieve(['pull', 'fink', '--db', db, ...args])));
    runs.forEach((r, i) => {
      const what = cases[i][0].join(' ');
      const lines = r.stderr.trim().split('\n');
      expect(lines, what).toHaveLength(1);
      expect(lines[0], what).toMatch(/^sieve: /);
      expect(lines[0], what).toMatch(cases[i][1]);
      expect(r.status, what).toBe(2);
    });
    expect(existsSync(db)).toBe(false);
  }, 120_000);

  it('a pull that fails is one line naming the URL and the cause, status 1', async () => {
    const r = await sieve(['pull', 'fink', '--db', path.join(tmp, 'refused.db'), '--object', 'ZTF18aaxyyjv', '--base-url', 'http://127.0.0.1:9', '--retries', '0']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('sieve: pull fink: object:ZTF18aaxyyjv: POST http://127.0.0.1:9/api/v1/objects: cannot reach 127.0.0.1:9: connection refused (1 attempt); 0 page(s) stored before it (the same command resumes after them)');
  }, 60_000);

  it('pulls Rubin alerts from an LSST API', async () => {
    const db = path.join(tmp, 'lsst.db');
    const r = await sieve(['pull', 'fink', '--survey', 'lsst', '--db', db, '--cone', '151.0996432,2.3013269,5', '--base-url', lsst.base, '--cutouts', 'none']);
    expect(r.stderr).toMatch(/pull: page 1\/1 \(lsst-cone:151\.0996432,2\.3013269,5\): 1 alert\(s\)/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/1 page\(s\) pulled \(0 already stored\), 1 alerts, 1 new \(0 already stored\)/);
    expect(lsst.sent.map((s) => s.matched)).toEqual(['conesearch_ra151.0996432_dec2.3013269_r5.json']);
  }, 60_000);
});
