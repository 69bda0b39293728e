// Compiles the CLI and engine to dist/ (plain JavaScript: the CLI starts without compiling TypeScript),
// copies the data files the code reads next to it, and stamps the build. Run by `npm ci` (prepare).
// `--bench` compiles bench/ too (dist/bench/run.js): `npm run bench` measures the code as the CLI runs it.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = `${root}dist`;
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', `${root}${process.argv.includes('--bench') ? 'tsconfig.bench.json' : 'tsconfig.build.json'}`], { stdio: 'inherit' });
if (tsc.status !== 0) {
  rmSync(dist, { recursive: true, force: true });
  process.stderr.write('sieve build: tsc failed; the CLI will run from TypeScript through tsx\n');
  process.exit(1);
}
cpSync(`${root}features/data`, `${dist}/features/data`, { recursive: true });
cpSync(`${root}engine/core/modules/declarations`, `${dist}/engine/core/modules/declarations`, { recursive: true });
cpSync(`${root}engine/core/modules/module.schema.json`, `${dist}/engine/core/modules/module.schema.json`);
cpSync(`${root}engine/core/workerBootstrap.mjs`, `${dist}/engine/core/workerBootstrap.mjs`);
cpSync(`${root}engine/core/finkScience/python`, `${dist}/engine/core/finkScience/python`, { recursive: true });
mkdirSync(dist, { recursive: true });
writeFileSync(`${dist}/.build-stamp`, `${new Date().toISOString()}\n`);
