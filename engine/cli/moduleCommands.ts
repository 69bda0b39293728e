import { readFileSync } from 'node:fs';
import { readAlertFile } from '../../datasets/index.ts';
import { addModule, MODULE_SCHEMA, moduleFromDeclaration, moduleSummary, parseDeclaration, storeModules } from '../core/modules/index.ts';
import { withStore } from './withStore.ts';

export function moduleSchemaCommand(): void {
  console.log(JSON.stringify(MODULE_SCHEMA, null, 2));
}

export function moduleAddCommand(file: string, opts: { db: string; actor: string }): void {
  withStore(opts.db, (store) => {
    const r = addModule(store, readFileSync(file, 'utf8'), file, opts.actor);
    if (!r.created) return console.log(`${r.module.name}: unchanged (revision ${r.revision})`);
    console.log(`${r.module.name}: revision ${r.revision} stored (${r.module.kind}, ${r.module.extractor().spec.columns.length} features, classes ${r.module.classNames.join(', ')})`);
    if (r.featureSpaceChanged) console.log(`${r.module.name}: features or cuts changed: a new feature space; earlier versions stay in the registry, marked as another revision`);
  });
}

export function moduleListCommand(opts: { db: string; json: boolean }): void {
  withStore(opts.db, (store) => {
    const rows = store.moduleDeclarations(true).map((r) => ({ name: r.name, revision: r.revision, disabled: r.disabled, author: r.author, createdAt: r.createdAt, deployedVersion: store.deployedVersion(r.name) }));
    if (opts.json) return console.log(JSON.stringify(rows));
    for (const r of rows) console.log(`${r.name.padEnd(20)} rev ${String(r.revision).padEnd(3)} ${r.disabled ? 'disabled' : 'enabled '}  deployed ${r.deployedVersion === null ? '-' : `v${r.deployedVersion}`}  by ${r.author} ${r.createdAt}`);
  });
}

export function moduleShowCommand(name: string, opts: { db: string; json: boolean }): void {
  withStore(opts.db, (store) => {
    const s = moduleSummary(store, name);
    if (opts.json) return console.log(JSON.stringify(s));
    console.log(`${s.name}: ${s.title} (${s.survey}, ${s.kind}), revision ${s.revision}, deployed ${s.deployedVersion === null ? 'none' : `v${s.deployedVersion}`}`);
    console.log(JSON.stringify(s.declaration, null, 2));
    const rate = s.cuts.passRate === null ? `no ${s.survey} alerts stored` : `${s.cuts.passing} of ${s.cuts.alerts} stored ${s.survey} alerts (${(100 * s.cuts.passRate).toFixed(1)}%)`;
    console.log(`cuts${s.cuts.expression ? ` '${s.cuts.expression}'` : ''}: ${rate}`);
    console.log(`labelled objects per class: ${Object.entries(s.labels.objectsPerClass).map(([c, n]) => `${c} ${n}`).join(', ')}; not trained on: ${s.labels.objectsNotTrainedOn}`);
    console.log(`versions: ${s.versions.map((v) => `v${v.version} ${v.status}${v.currentRevision ? '' : ' (another revision)'}${v.provisional ? ' provisional' : ''}`).join(', ') || 'none'}`);
  });
}

/** A dry run of a declaration over alert files: what passes the cuts, which features are missing, the keys. */
export async function moduleCheckCommand(file: string, opts: { in: string[] }): Promise<void> {
  const d = parseDeclaration(readFileSync(file, 'utf8'), file);
  const def = moduleFromDeclaration(d);
  const ex = def.extractor();
  const cols = ex.spec.columns;
  const missing = new Array(cols.length).fill(0);
  let alerts = 0;
  let passing = 0;
  let bad = 0;
  const row = new Float64Array(cols.length);
  for (const f of opts.in) {
    const r = await readAlertFile(f);
    bad += r.errors.length;
    for (const a of r.alerts) {
      if (a.survey !== d.survey) continue;
      alerts++;
      ex.extract(a, row);
      for (let j = 0; j < cols.length; j++) if (!Number.isFinite(row[j])) missing[j]++;
      if (ex.passesCuts(a, row)) passing++;
    }
  }
  console.log(`${d.name}: declaration valid (${def.kind}, ${cols.length} features, classes ${def.classNames.join(', ')}, positive ${def.classNames[def.positiveClass]})`);
  console.log(`alerts: ${alerts} (${d.survey})${bad ? `, ${bad} bad record(s) skipped` : ''}; passing the cuts: ${passing}${alerts ? ` (${((100 * passing) / alerts).toFixed(1)}%)` : ''}`);
  const gaps = cols.map((c, j) => [c, missing[j]] as const).filter(([, n]) => n > 0);
  console.log(gaps.length ? `missing (NaN) features: ${gaps.map(([c, n]) => `${c} ${n}`).join(', ')}` : 'no missing features');
  console.log(`keys: ${def.labels.map((l) => `${l.key} ${l.label}`).join(', ')}, s skip`);
  console.log(`broker: ${def.broker.scoreColumn}${def.broker.tag ? `, tag ${def.broker.tag}` : ''}${def.broker.threshold !== null ? ` at ${def.broker.threshold}` : ''}`);
}

export function moduleDisableCommand(name: string, opts: { db: string; actor: string }): void {
  withStore(opts.db, (store) => {
    if (!storeModules(store).some((m) => m.name === name)) throw new Error(`no enabled module '${name}' (enabled: ${storeModules(store).map((m) => m.name).join(', ') || 'none'})`);
    store.disableModule(name, opts.actor);
    console.log(`${name}: disabled (its revisions, labels and model versions stay in the store)`);
  });
}
