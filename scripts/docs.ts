// `npm run docs`: writes the README's tables of shipped modules, extractors, commands, export formats and API
// routes from the code's own registries, between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`.
// test/docs.test.ts fails when the committed README differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { EXTRACTOR_NAMES, extractorByName } from '../features/index.ts';
import { buildProgram } from '../engine/cli/program.ts';
import { EXPORT_FORMATS, EXPORT_FORMAT_DOCS, ensureBuiltinModules, Store, storeModules } from '../engine/index.ts';
import { EXTRACTORS_BY_SURVEY, PER_BAND_EXTRACTORS } from '../engine/core/modules/parts.ts';
import { buildApp, DEFAULT_WORKBENCH_OPTIONS, Workbench } from '../engine/server/index.ts';

export const README = fileURLToPath(new URL('../README.md', import.meta.url));

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (head: string[], rows: string[][]) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');

function modulesTable(): string {
  const store = Store.create(':memory:');
  try {
    ensureBuiltinModules(store, 'docs');
    return table(['module', 'survey', 'what it does', 'features', 'model', 'classes', 'broker column'], storeModules(store).map((m) => {
      const d = m.declaration as { features: Array<string | { alert: string[] }>; model: { type: string; trees?: number } };
      const features = d.features.map((f) => (typeof f === 'string' ? `\`${f}\`` : `fields ${f.alert.join(', ')}`)).join(' + ');
      const model = d.model.type + (d.model.trees ? ` (${d.model.trees} trees)` : '');
      return [`\`${m.name}\``, m.survey, m.title, features, model, m.kind === 'anomaly' ? '— (anomaly score)' : m.classNames.join(', '), `\`${m.broker.scoreColumn}\``];
    }));
  } finally {
    store.close();
  }
}

/** Per-band columns `<feature>_<band>` are listed once per feature with their bands. */
function columnSummary(name: string, columns: readonly string[]): string {
  if (!PER_BAND_EXTRACTORS.includes(name)) return columns.map((c) => `\`${c}\``).join(', ');
  const bands = [...new Set(columns.map((c) => c.slice(c.lastIndexOf('_') + 1)))];
  const features = [...new Set(columns.map((c) => c.slice(0, c.lastIndexOf('_'))))];
  return `${features.length} per band (${bands.join(' ')}): ${features.map((f) => `\`${f}\``).join(', ')}`;
}

function extractorsTable(): string {
  const surveyOf = (n: string) => Object.entries(EXTRACTORS_BY_SURVEY).find(([, names]) => names.includes(n))?.[0] ?? '—';
  return table(['extractor', 'survey', 'FeatureSpec', 'columns'], EXTRACTOR_NAMES.map((n) => {
    const spec = extractorByName(n).spec;
    return [`\`${n}\``, surveyOf(n), `${spec.name}@${spec.version}`, columnSummary(n, spec.columns)];
  }));
}

function optionUsage(o: Option): string {
  const arg = o.argChoices ? o.argChoices.join('|') : o.flags.replace(/^.*?(--[\w-]+)\s*/, '');
  const flag = o.long ?? o.flags;
  // a default is shown as the value (`[--n 1000]`), a list of choices as the choices (`[--survey ztf|lsst]`)
  const value = o.argChoices || o.defaultValue === undefined || typeof o.defaultValue === 'boolean' ? arg : Array.isArray(o.defaultValue) ? o.defaultValue.join(' ') : String(o.defaultValue);
  const shown = value ? `${flag} ${value}` : flag;
  return o.mandatory ? shown : `[${shown}]`;
}

function leafCommands(c: Command, prefix: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return c.commands.flatMap((sub) => (sub.commands.length ? leafCommands(sub, [...prefix, sub.name()]) : [{ path: [...prefix, sub.name()], cmd: sub }]));
}

function commandsTable(): string {
  const unused = async () => { throw new Error('docs: not run'); };
  const program = buildProgram({ server: unused, scorer: unused });
  return table(['command', 'what it does'], leafCommands(program).map(({ path, cmd }) => {
    const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
    const usage = [...path, ...args, ...cmd.options.map(optionUsage)].join(' ');
    return [`\`${usage}\``, cmd.description()];
  }));
}

function exportsTable(): string {
  return table(['format', 'what it writes', 'for', 'loaded by'], EXPORT_FORMATS.map((f) => [`\`${f}\``, EXPORT_FORMAT_DOCS[f].holds, EXPORT_FORMAT_DOCS[f].models, EXPORT_FORMAT_DOCS[f].loadedBy]));
}

async function routesTable(): Promise<string> {
  const store = Store.create(':memory:');
  const wb = new Workbench(store, DEFAULT_WORKBENCH_OPTIONS);
  const app = await buildApp(wb);
  try {
    await app.ready();
    const doc = app.swagger() as { paths: Record<string, Record<string, { summary?: string }>> };
    return table(['route', 'who', 'what'], app.apiRoutes.map((r) => [
      `\`${r.method} ${r.url}\``, r.access, doc.paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()]?.summary ?? '',
    ]));
  } finally {
    await app.close();
    await wb.close();
    store.close();
  }
}

export async function generatedSections(): Promise<Record<string, string>> {
  return { modules: modulesTable(), extractors: extractorsTable(), commands: commandsTable(), exports: exportsTable(), routes: await routesTable() };
}

/** The README with every generated section replaced; fails on a section the README lacks or has twice. */
export async function renderReadme(readme: string): Promise<string> {
  let out = readme;
  for (const [name, body] of Object.entries(await generatedSections())) {
    const open = `<!-- generated:${name} (npm run docs; edit the code, not this table) -->`;
    const close = `<!-- /generated:${name} -->`;
    const i = out.indexOf(open);
    const j = out.indexOf(close);
    if (i < 0 || j < i || out.indexOf(open, i + 1) >= 0) throw new Error(`README.md: expected one '${open}' ... '${close}' block`);
    out = `${out.slice(0, i + open.length)}\n${body}\n${out.slice(j)}`;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const before = readFileSync(README, 'utf8');
  const after = await renderReadme(before);
  if (after !== before) writeFileSync(README, after);
  process.stdout.write(`README.md: ${after === before ? 'up to date' : 'tables regenerated'}\n`);
}
