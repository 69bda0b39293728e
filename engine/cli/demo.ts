import { mkdirSync, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { readAlertFile, simulate, type Alert } from '../../datasets/index.ts';
import { anomalyExtractor, earlySnIaExtractor, kilonovaExtractor } from '../../features/index.ts';
import { featureTableHeader, featureTableRow } from '../featureTable.ts';

/**
 * The main job as far as the workbench exists today: take alert files (or, when none are given, a
 * seeded simulated night), run every feature extractor and write their tables, then summarise what an
 * expert would look at first. The store, queues and UI attach here as they land (issues 4 and 5).
 */
export async function demoCommand(opts: { in?: string[]; n: number; seed: number; out: string }): Promise<void> {
  const alerts: Alert[] = [];
  if (opts.in && opts.in.length > 0) {
    for (const file of opts.in) {
      const r = await readAlertFile(file);
      for (const e of r.errors) process.stderr.write(`error: ${e.message}\n`);
      alerts.push(...r.alerts);
    }
  } else {
    for (const o of simulate(opts.n, opts.seed)) alerts.push(o.alert);
    process.stderr.write(`no input given: simulated a demo night of ${opts.n} objects (seed ${opts.seed})\n`);
  }
  mkdirSync(opts.out, { recursive: true });
  const extractors = [earlySnIaExtractor(), anomalyExtractor(), kilonovaExtractor()];
  const summary: string[] = [];
  for (const ex of extractors) {
    const file = path.join(opts.out, `${ex.spec.name}.csv`);
    const out = createWriteStream(file);
    out.write(featureTableHeader(ex));
    const scratch = new Float64Array(ex.spec.columns.length);
    let eligible = 0;
    for (const a of alerts) {
      if (!out.write(featureTableRow(ex, a, scratch))) await once(out, 'drain');
      if (ex.passesCuts(a)) eligible++;
    }
    out.end();
    await once(out, 'finish');
    summary.push(`  ${ex.spec.name.padEnd(22)} ${String(alerts.length).padStart(7)} rows  ${String(eligible).padStart(7)} pass the module's cuts  -> ${file}`);
  }
  const snia = earlySnIaExtractor();
  const fitted = alerts.filter((a) => {
    const f = snia.extract(a);
    return snia.passesCuts(a) && f[5] > 0 && f[11] > 0;
  });
  const byLabel = new Map<string, number>();
  for (const a of alerts) byLabel.set(a.label ?? 'unlabelled', (byLabel.get(a.label ?? 'unlabelled') ?? 0) + 1);
  console.log(`Sieve demo: ${alerts.length} alerts`);
  console.log([...byLabel.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${k}: ${v}`).join('\n'));
  console.log('Feature tables:');
  console.log(summary.join('\n'));
  console.log(`Early SN Ia candidates (pass Fink's cuts, rising sigmoid fitted in g and r): ${fitted.length}`);
  for (const a of fitted.slice(0, 10)) console.log(`  ${a.objectId}  candid ${a.candid}  ${a.label ?? ''}`);
}
