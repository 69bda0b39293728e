import { readFileSync, writeFileSync } from 'node:fs';
import { parseBundle, type ModelBundle } from '../../models/index.ts';
import { exportModelBytes } from '../core/export.ts';

/** `sieve export FILE`: a bundle file (e.g. the anomaly-module.bundle.json an experiment writes) in another format. */
export function exportCommand(file: string, opts: { format: string; out: string; name?: string }): void {
  exportBundle(parseBundle(readFileSync(file, 'utf8'), undefined, file), file, opts);
}

export function exportBundle(bundle: ModelBundle, source: string, opts: { format: string; out: string; name?: string }): void {
  writeFileSync(opts.out, exportModelBytes(bundle, source, opts.format, opts.name).bytes);
  process.stderr.write(`${bundle.manifest.module} v${bundle.manifest.version} (${bundle.manifest.modelType}) exported as ${opts.format} to ${opts.out}\n`);
}
