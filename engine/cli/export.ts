import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseBundle, type ModelBundle } from '../../models/index.ts';
import { exportModelBytes, finkScienceFiles } from '../core/export.ts';
import type { FinkScienceContext } from '../core/finkScience/index.ts';

/** `sieve export FILE`: a bundle file (e.g. the anomaly-module.bundle.json an experiment writes) in another format. */
export function exportCommand(file: string, opts: { format: string; out: string; name?: string }): void {
  exportBundle(parseBundle(readFileSync(file, 'utf8'), undefined, file), file, opts);
}

export function exportBundle(bundle: ModelBundle, source: string, opts: { format: string; out: string; name?: string }, ctx?: FinkScienceContext): void {
  if (opts.format === 'fink-science') return exportFinkScience(bundle, source, opts.out, ctx);
  writeFileSync(opts.out, exportModelBytes(bundle, source, opts.format, opts.name).bytes);
  process.stderr.write(`${bundle.manifest.module} v${bundle.manifest.version} (${bundle.manifest.modelType}) exported as ${opts.format} to ${opts.out}\n`);
}

/** `--format fink-science --out DIR`: the module's fink-science files under DIR (as in a fink-science checkout), and the fink-broker snippet. */
function exportFinkScience(bundle: ModelBundle, source: string, dir: string, ctx?: FinkScienceContext): void {
  const e = finkScienceFiles(bundle, source, ctx);
  for (const f of e.files) {
    const p = path.join(dir, ...f.path.split('/'));
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, f.bytes);
  }
  for (const n of e.notes) process.stderr.write(`note: ${n}\n`);
  console.log(`${e.plan.module} v${e.plan.version}: fink_science/${e.plan.surveyFolder}/${e.plan.pythonName} written to ${dir} (${e.files.map((f) => f.path).join(', ')})`);
  console.log(`\nAdd to fink-broker:\n\n${e.snippet}`);
}
