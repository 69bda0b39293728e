import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, renderReadme } from '../scripts/docs.ts';

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
