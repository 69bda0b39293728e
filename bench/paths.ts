// Where the bench finds the repository, its shared data and its own files, whether it runs from TypeScript
// (tsx) or compiled under dist/ (plain node, as `npm run bench` runs it): the folder holding package.json.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`bench: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const ROOT = repositoryRoot();
/** The bench's sources: baselines/*.py, forestPredict.mjs, results/. */
export const BENCH_DIR = join(ROOT, 'bench');
export const SHARED_DATA = join(ROOT, '..', 'shared', 'data') + '/';
export const SIEVE_BIN = join(ROOT, 'bin', 'sieve.js');
export const benchFile = (name: string): string => join(BENCH_DIR, name);
