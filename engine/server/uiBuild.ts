import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// compiled, this file sits one folder deeper (dist/engine/server/): the UI is always the repository's ui/
export const UI_ROOT = fileURLToPath(new URL(import.meta.url.endsWith('.js') ? '../../../ui/' : '../../ui/', import.meta.url));
export const UI_DIST = path.join(UI_ROOT, 'dist');

function newestMtime(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = path.join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return t;
}

/**
 * Builds the Svelte UI with Vite when ui/dist is missing or older than a source file, so that a fresh
 * clone serves the workbench after `npm ci` without a separate build step. Returns the dist folder.
 */
export async function ensureUiBuilt(log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<string> {
  const index = path.join(UI_DIST, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(UI_ROOT)) return UI_DIST;
  log('building the UI (vite)…');
  const { build } = await import('vite');
  await build({ root: UI_ROOT, configFile: path.join(UI_ROOT, 'vite.config.ts'), logLevel: 'warn' });
  return UI_DIST;
}
