// `npm test` after the type check: runs vitest and ends with the plain line CI reads ("N passed, N failed").
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const results = process.env.SIEVE_TEST_RESULTS ?? fileURLToPath(new URL('./artifacts/vitest-results.json', import.meta.url));
mkdirSync(fileURLToPath(new URL('./artifacts/', import.meta.url)), { recursive: true });
rmSync(results, { force: true });
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));
const run = spawnSync(process.execPath, [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${results}`, ...process.argv.slice(2)], { stdio: 'inherit' });
if (existsSync(results)) {
  const r = JSON.parse(readFileSync(results, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A suite that fails outside its tests (an import that throws, a beforeAll that fails) counts as a
  // failure too; its tests may show as skipped or not at all.
  const brokenSuites = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  for (const f of brokenSuites) console.log(`failed suite: ${f.name}: ${(f.message ?? '').split('\n')[0]}`);
  const failed = r.numFailedTests + brokenSuites.length;
  console.log(`Tests: ${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  if (failed > 0 && run.status === 0) process.exit(1);
} else {
  console.log('Tests: 0 passed, 1 failed');
}
process.exit(run.status ?? 1);
