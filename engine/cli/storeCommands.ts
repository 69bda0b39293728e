import { ensureBuiltinModules, moduleOf, storeModules, surveyMismatch } from '../core/modules/index.ts';
import { nextQueue } from '../core/queue.ts';
import { labelsSinceLastModel, retrainInWorker } from '../core/retrain.ts';
import { Store } from '../core/store/store.ts';
import type { StrategyName } from '../core/strategies.ts';
import { exportBundle } from './export.ts';
import { finkScienceContext } from '../core/export.ts';
import { writeChart } from '../adapters/plot/render.ts';
import { learningCurveChart, moduleReportHtml } from '../adapters/report.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { importSklearnModel } from '../core/importSklearn.ts';
import { pullFink } from '../adapters/finkApi.ts';
import type { PullCall, PullFlags } from './pullOptions.ts';
import { UsageError } from './options.ts';
import { alertFilesOf } from '../../datasets/index.ts';
import { withStore } from './withStore.ts';
import { computeFeaturesParallel } from '../core/features/pipeline.ts';
import { featureSpecHash } from '../../features/index.ts';

export { DEFAULT_DB, DEFAULT_SHARED_DATA } from './names.ts';

export async function ingestCommand(paths: string[], opts: { db: string; actor: string }): Promise<void> {
  // a folder gives its alert files, read by content; Fink's schema files and notes beside them are skipped
  const { files, skipped } = alertFilesOf(paths);
  for (const s of skipped) console.log(`skipped ${s.file}: ${s.reason}`);
  if (!files.length) throw new UsageError(`${paths.join(' ')}: no alert files there (Avro, Parquet or JSON lines)`);
  const store = Store.create(opts.db);
  try {
    const r = await store.importFiles(files, opts.actor);
    // a new store starts with the shipped module declarations (sieve module add for your own)
    const added = ensureBuiltinModules(store, opts.actor);
    if (added.length) console.log(`modules: ${added.join(', ')} (the shipped declarations)`);
    console.log(`${r.inserted} alerts stored, ${r.duplicates} already there (${files.length} file(s)) -> ${opts.db}`);
  } finally {
    store.close();
  }
}

export async function storeFeaturesCommand(opts: { db: string; module?: string; workers?: number }): Promise<void> {
  const store = Store.open(opts.db);
  try {
    const modules = opts.module ? [moduleOf(store, opts.module)] : storeModules(store);
    const before = new Map(modules.map((m) => [m.name, store.poolCounts(m.extractor().spec, m.survey).alerts]));
    const run = await computeFeaturesParallel(store, modules, { ...(opts.workers ? { workers: opts.workers } : {}) });
    for (const m of modules) {
      const ex = m.extractor();
      const c = store.poolCounts(ex.spec, m.survey);
      console.log(`${m.name}: ${c.alerts - before.get(m.name)!} alerts featurised, ${c.passing} of ${c.alerts} pass the cuts (${ex.spec.name}@${ex.spec.version}, spec ${featureSpecHash(ex.spec).slice(0, 12)})`);
    }
    if (run.alerts) console.log(`${run.alerts} alerts read, ${run.decoded} decoded once each; ${run.computed} extractor rows computed, ${run.skipped} spared by the modules' cuts`);
  } finally {
    store.close();
  }
}

export async function trainCommand(module: string, opts: { db: string; seed: number; trees?: number; actor: string }): Promise<void> {
  withStore(opts.db, (store) => moduleOf(store, module));
  const { result } = retrainInWorker(opts.db, module, { seed: opts.seed, actor: opts.actor, ...(opts.trees ? { nEstimators: opts.trees } : {}) });
  const r = await result;
  console.log(`${r.module} v${r.version}: ${r.nLabels} labelled rows; ${r.promoted ? 'deployed' : 'kept as candidate'} (${r.reason})`);
  console.log(`  metrics: ${JSON.stringify(r.metrics)}`);
}

export function queueCommand(module: string, opts: { db: string; k: number; strategy?: StrategyName; expert?: string; seed: number; json: boolean }): void {
  withStore(opts.db, (store) => {
    const def = moduleOf(store, module);
    if (opts.strategy && def.kind === 'anomaly') throw new UsageError(`--strategy: ${module} is an anomaly module, ranked by its AAD score; strategies apply to classifier modules`);
    const q = nextQueue(store, module, { k: opts.k, seed: opts.seed, ...(opts.strategy ? { strategy: opts.strategy } : {}), ...(opts.expert ? { expert: opts.expert } : {}) });
    if (opts.json) console.log(JSON.stringify(q));
    else for (const e of q) console.log(`${String(e.alertId).padStart(8)}  ${e.objectId.padEnd(20)}  ${e.reason}`);
  });
}

export async function labelCommand(alertId: string, label: string, opts: { db: string; module: string; expert: string; comment?: string; queue?: string; retrainEvery?: number }): Promise<void> {
  const store = Store.open(opts.db);
  let due = false;
  try {
    const def = moduleOf(store, opts.module);
    const known = def.labels.map((l) => l.label);
    if (!known.includes(label) && label !== 'skip') throw new UsageError(`label '${label}' is not one of ${opts.module}'s labels: ${[...known, 'skip'].join(', ')}`);
    const id = Number(alertId);
    const alert = store.alertSurvey(id);
    const mismatch = alert ? surveyMismatch(def, { id, survey: alert.survey }, storeModules(store).filter((m) => m.survey === alert.survey).map((m) => m.name)) : null;
    if (mismatch) throw new Error(`label: ${mismatch}`);
    const deployed = store.deployedVersion(opts.module);
    const row = store.addLabel({ module: opts.module, alertId: id, label, author: opts.expert, comment: opts.comment ?? null, queue: opts.queue ?? null, modelVersion: deployed });
    console.log(`label ${row.id}: ${row.objectId} = ${label} (${opts.module}, by ${opts.expert})`);
    // a label on an alert the module's cuts exclude is kept, but the module never trains on that alert: say so
    // now rather than at the first `train` that finds no rows
    const ex = def.extractor();
    if (def.labelToClass(label) !== null && !ex.passesCuts(store.getAlert(id))) {
      console.log(`note: alert ${id} does not pass ${opts.module}'s cuts${def.declaration.cuts ? ` ('${def.declaration.cuts}')` : ''}: the label is kept, but ${opts.module} trains on and scores only alerts that pass them (sieve queue ${opts.module} lists those)`);
    }
    due = def.kind === 'anomaly' || labelsSinceLastModel(store, opts.module) >= (opts.retrainEvery ?? def.retrainEvery ?? 10);
  } finally {
    store.close();
  }
  if (due) {
    const r = await retrainInWorker(opts.db, opts.module, { actor: 'auto-retrain' }).result.catch((e: Error) => {
      console.log(`automatic retrain not done: ${e.message}`);
      return null;
    });
    if (r) console.log(`automatic retrain: ${r.module} v${r.version} ${r.promoted ? 'deployed' : 'kept as candidate'} (${r.reason})`);
  }
}

export async function modelsCommand(opts: { db: string; module?: string; json: boolean; plot?: string; report?: string }): Promise<void> {
  const store = Store.open(opts.db);
  try {
    if (opts.plot || opts.report) {
      if (!opts.module) throw new UsageError('--plot and --report need a module');
      moduleOf(store, opts.module);
      if (opts.plot) {
        if (!store.listModels(opts.module).length) throw new Error(`${opts.module}: no model version yet, so no learning curve`);
        // NAME.svg, NAME.png and NAME.vl.json (an extension given with the name is dropped)
        const base = opts.plot.replace(/\.(png|svg|json|vl\.json)$/i, '');
        const files = await writeChart(learningCurveChart(store, opts.module), base);
        console.log(`${opts.module}: learning curve of ${store.listModels(opts.module).length} version(s) -> ${files.svg}, ${files.png}, ${files.spec}`);
      }
      if (opts.report) {
        writeFileSync(opts.report, await moduleReportHtml(store, opts.module));
        console.log(`${opts.module}: report -> ${opts.report}`);
      }
      return;
    }
    const rows = store.listModels(opts.module);
    if (opts.json) {
      console.log(JSON.stringify(rows));
      return;
    }
    for (const m of rows) console.log(`${m.module.padEnd(12)} v${String(m.version).padEnd(4)} ${m.status.padEnd(10)} ${m.modelType.padEnd(14)} labels ${String(m.nLabels).padEnd(6)} ${JSON.stringify(m.metrics)}`);
  } finally {
    store.close();
  }
}

export function deployCommand(module: string, version: number, opts: { db: string; actor: string; reason?: string }): void {
  withStore(opts.db, (store) => {
    store.deploy(module, version, opts.actor, opts.reason ?? null);
    console.log(`${module} v${version} deployed by ${opts.actor}`);
  });
}

export function rollbackCommand(module: string, opts: { db: string; actor: string; reason?: string }): void {
  withStore(opts.db, (store) => {
    const v = store.rollback(module, opts.actor, opts.reason ?? null);
    console.log(`${module} rolled back to v${v} by ${opts.actor}`);
  });
}

export function exportFromStore(module: string, opts: { db: string; version?: string; format: string; out: string; name?: string }): void {
  withStore(opts.db, (store) => {
    moduleOf(store, module);
    const version = opts.version ? Number(opts.version) : store.deployedVersion(module);
    if (version === null) {
      const versions = store.listModels(module).map((m) => m.version);
      throw new Error(versions.length
        ? `${module} has no deployed version (it has ${versions.map((v) => `v${v}`).join(', ')}): give --version N or deploy one (sieve deploy ${module} N)`
        : `${module} has no version yet: train one first (sieve train ${module} --db ${opts.db}), then export it`);
    }
    const bundle = store.getBundle(module, version);
    exportBundle(bundle, `${module} v${version}`, opts, opts.format === 'fink-science' ? finkScienceContext(store, bundle) : undefined);
  });
}

export async function backupCommand(destination: string, opts: { db: string }): Promise<void> {
  const store = Store.open(opts.db);
  try {
    await store.backup(destination);
    console.log(`${opts.db} backed up to ${destination}`);
  } finally {
    store.close();
  }
}


export function importSklearnCommand(file: string, opts: { module: string; db: string; deploy: boolean; actor: string }): void {
  withStore(opts.db, (store) => {
    const r = importSklearnModel(store, opts.module, new Uint8Array(readFileSync(file)), file, { actor: opts.actor, deploy: opts.deploy });
    const m = Object.entries(r.metrics).filter(([k]) => ['accuracy', 'fom', 'auc', 'n'].includes(k)).map(([k, v]) => `${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`).join(', ');
    console.log(`${r.module} v${r.version}: imported from ${file} (scikit-learn ${r.sklearnVersion ?? 'unknown version'}, classes ${r.classes.join(', ')}); ${r.deployed ? 'deployed' : 'a candidate'}; held-out: ${m || 'no labelled objects yet'}`);
  });
}

export async function pullFinkCommand(call: PullCall, opts: PullFlags): Promise<void> {
  const store = Store.create(opts.db);
  try {
    const added = ensureBuiltinModules(store, 'pull');
    if (added.length) console.log(`modules: ${added.join(', ')} (the shipped declarations)`);
    const r = await pullFink(store, call.query, {
      survey: call.survey, baseUrl: call.baseUrl, cutouts: call.cutouts, rate: opts.rate, retries: opts.retries,
      timeoutSeconds: opts.timeout, deadlineSeconds: opts.deadline, maxWaitSeconds: opts.maxWait,
    });
    console.log(`${r.pages} page(s) pulled (${r.skipped} already stored), ${r.alerts} alerts, ${r.inserted} new (${r.alreadyStored} already stored); ${r.tnsLabels} TNS label(s) -> ${opts.db}`);
  } finally {
    store.close();
  }
}
