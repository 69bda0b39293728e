import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT } from './paths.ts';


/** Median wall time of a command over `runs` runs, in seconds. */
function median(args: string[], runs: number, env: NodeJS.ProcessEnv = {}): number {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    spawnSync(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
    t.push((performance.now() - t0) / 1000);
  }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

/**
 * How long `sieve` takes before doing anything: `--help`, and a store command that fails at once on a
 * missing store (it loads the store code). Compiled (dist/, what `npm ci` builds) against the TypeScript
 * run through tsx (what every start cost before), and bare `node -e 0` as the floor.
 */
export function runCliBenchmarks(): Array<{ what: string; value: string }> {
  const sieve = path.join(ROOT, 'bin', 'sieve.js');
  const missing = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-bench-cli-')), 'none.db');
  const rows: Array<{ what: string; value: string }> = [];
  const node = median(['-e', '0'], 7);
  rows.push({ what: 'node -e 0 (the floor)', value: `${node.toFixed(3)} s` });
  for (const [what, args] of [['sieve --help', ['--help']], ['sieve models --db missing.db (store code loaded, one-line error)', ['models', '--db', missing]]] as const) {
    const compiled = median([sieve, ...args], 7);
    const tsx = median([sieve, ...args], 5, { SIEVE_FROM_SOURCE: '1' });
    rows.push({ what: `${what}: compiled / through tsx`, value: `${compiled.toFixed(3)} s / ${tsx.toFixed(3)} s (${(tsx / compiled).toFixed(1)}x faster; goal < 0.3 s)` });
  }
  return rows;
}
