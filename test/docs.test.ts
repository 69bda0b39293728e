import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { README, renderReadme } from '../scripts/docs.ts';
import { REPO_ROOT } from './shared.ts';

describe('the README', () => {
  it('holds the tables `npm run docs` writes from the code (modules, extractors, commands, exports, routes)', async () => {
    const committed = readFileSync(README, 'utf8');
    const generated = await renderReadme(committed);
    // a failure here means the code changed and the README did not: run `npm run docs` and commit
    expect(committed).toBe(generated);
  });

  it('refuses a README that lost a generated block', async () => {
    const committed = readFileSync(README, 'utf8');
    await expect(renderReadme(committed.replace('<!-- /generated:routes -->', ''))).rejects.toThrow(/generated:routes/);
  });
});

/** Source files of a folder and its subfolders that its README (or, for a subfolder without one, the nearest above) does not name. */
function undocumented(dir: string, parentReadme?: string): string[] {
  const own = path.join(REPO_ROOT, dir, 'README.md');
  const readme = existsSync(own) ? readFileSync(own, 'utf8') : parentReadme!;
  const missing: string[] = [];
  for (const e of readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) {
      if (!['data', 'declarations', 'node_modules'].includes(e.name)) missing.push(...undocumented(rel, readme));
    } else if (/\.(ts|mjs)$/.test(e.name) && e.name !== 'index.ts' && !readme.includes(e.name.replace(/\.(ts|mjs)$/, ''))) missing.push(rel);
  }
  return missing;
}

describe('folder READMEs', () => {
  it('name every source file of their folder (what lives there is written down, not guessed)', () => {
    expect(['datasets', 'features', 'models', 'engine'].flatMap((d) => undocumented(d))).toEqual([]);
  });
});
