#!/usr/bin/env node
// The `sieve` command. It runs the compiled JavaScript in dist/ (built by `npm ci` through `prepare`, or
// `npm run build`), which starts in a fraction of a second; when dist/ is missing or older than a source
// file (a developer's edit), it runs the TypeScript through tsx instead, so what runs is always the source.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = `${root}dist/.build-stamp`;

function newerSource(dir, than) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) {
      if (newerSource(p, than)) return true;
    } else if ((e.name.endsWith('.ts') || e.name.endsWith('.json') || e.name.endsWith('.mjs') || e.name.endsWith('.py')) && statSync(p).mtimeMs > than) return true;
  }
  return false;
}

function compiledIsCurrent() {
  if (process.env.SIEVE_FROM_SOURCE === '1' || !existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  return !['datasets', 'features', 'models', 'engine'].some((d) => newerSource(`${root}${d}`, built));
}

if (compiledIsCurrent()) await import('../dist/engine/main.js');
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../engine/main.ts');
}
