import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './shared.ts';

describe('npm test tells the truth', () => {
  it('counts a suite that fails to load as a failure in its closing line, and exits 1', () => {
    const results = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-run-')), 'results.json');
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'test', 'run.mjs'), '--config', path.join(REPO_ROOT, 'test', 'fixtures', 'run-truth', 'vitest.config.ts')], {
      cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, SIEVE_TEST_RESULTS: results },
    });
    const lines = r.stdout.trim().split('\n');
    expect(lines.at(-1)).toBe('Tests: 1 passed, 1 failed');
    expect(r.stdout).toMatch(/failed suite: .*broken\.fixture\.ts: .*this suite cannot load/);
    expect(r.status).toBe(1);
  });
});
