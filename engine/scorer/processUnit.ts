import { readFileSync } from 'node:fs';
import { FinkMessageDecoder, readAlertsFromBuffer, readJsonLines, stringifyJsonExact, type Alert, type ReadResult } from '../../datasets/index.ts';
import { enrichedRows, renderResultLines, scoreAlerts, scoreColumns, type LoadedModule, type ScoreOptions } from './score.ts';
import type { OutputFormat, UnitResult, WorkUnit } from './units.ts';



const decoders = new WeakMap<ScoreOptions, FinkMessageDecoder>();
/** One decoder (and its schema cache) per scorer configuration. */
function decoderFor(o: ScoreOptions): FinkMessageDecoder {
  let d = decoders.get(o);
  if (!d) decoders.set(o, (d = new FinkMessageDecoder({ ...(o.streamSchema !== undefined ? { schema: o.streamSchema } : {}), ...(o.namedSchemas ? { namedSchemas: new Map(Object.entries(o.namedSchemas)) } : {}) })));
  return d;
}

async function decode(u: WorkUnit, skipped: string[], keepFields: readonly string[], o: ScoreOptions): Promise<ReadResult> {
  if (u.kind === 'file' || u.kind === 'files') {
    const out: ReadResult = { file: u.kind === 'file' ? u.path : u.paths[0], format: 'avro', alerts: [], errors: [] };
    for (const file of u.kind === 'file' ? [u.path] : u.paths) {
      try {
        // synchronous: this runs on a scorer thread, and one small read is cheaper than four async steps
        const r = await readAlertsFromBuffer(readFileSync(file), file, { lean: true, keepFields });
        for (const a of r.alerts) out.alerts.push(a);
        out.errors.push(...r.errors);
      } catch (e) {
        // a file that cannot be read at all is reported and skipped; the unit's other files are scored
        skipped.push(`${file}: ${(e as Error).message}`);
      }
    }
    return out;
  }
  if (u.kind === 'lines') {
    const out: ReadResult = { file: u.origin, format: 'jsonl', alerts: [], errors: [] };
    // line numbers in messages count from the start of the file
    readJsonLines('\n'.repeat(u.firstLine - 1) + u.text, u.origin, out);
    return out;
  }
  // containers or schemaless Avro, told apart by content (datasets/finkStream.ts)
  return decoderFor(o).decode(u.payloads.map((value, i) => ({ value, key: u.keys?.[i] ?? null, where: u.wheres?.[i] ?? `${u.origin} message ${i}` })), { lean: true, keepFields });
}

/** Decodes a unit, scores its alerts with the modules in force, and renders the output lines. */
export async function processUnit(u: WorkUnit, modules: readonly LoadedModule[], format: OutputFormat, o: ScoreOptions = {}): Promise<UnitResult> {
  const versions = Object.fromEntries(modules.map((m) => [m.module, m.version]));
  const skipped: string[] = [];
  const keepFields = [...new Set(modules.flatMap((m) => m.def.alertFields))];
  const read = await decode(u, skipped, keepFields, o);
  const alerts: Alert[] = read.alerts;
  let lines = '';
  const keys: string[] = [];
  if (format === 'fink') {
    for (const row of enrichedRows(alerts, scoreAlerts(alerts, modules, o), modules)) {
      lines += `${stringifyJsonExact(row)}\n`;
      keys.push(row.objectId as string);
    }
  } else {
    const r = renderResultLines(alerts, scoreColumns(alerts, modules, o));
    lines = r.lines;
    keys.push(...r.keys);
  }
  return { lines, keys, alerts: alerts.length, errors: read.errors.map((e) => (e as Error).message ?? String(e)), skipped, versions };
}
