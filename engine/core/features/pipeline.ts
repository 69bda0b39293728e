import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { featureSpecHash, type FeatureExtractor } from '../../../features/index.ts';
import { moduleFeaturesOf, type ModuleDefinition } from '../modules/compile.ts';
import type { Store } from '../store/store.ts';
import type { AlertRow } from '../store/alertRow.ts';
import { startTsWorker } from '../workers.ts';
import { processBatch, type BatchResult, type BatchTask, type FeatureWorkerData, type StoredValues } from './batch.ts';

/**
 * Feature computation over the store: batches of stored alerts read in id order (memory holds one batch per
 * thread, whatever the store's size), every module and extractor brought up to date in one pass (each alert
 * decoded once, each extractor run once per alert), and each spec's progress mark moved with the batch's
 * rows in one transaction. A spec whose mark is at the newest alert costs one lookup: queues and retrains
 * call this before every read, and only new alerts, or a module whose features or cuts changed, cost work.
 */
export const FEATURE_BATCH = 1000;

export interface FeatureRun {
  /** Specs that were behind. */
  specs: number;
  /** Alerts read (of the surveys the behind specs need). */
  alerts: number;
  decoded: number;
  /** Extractor rows computed, and those a module's prefilter spared. */
  computed: number;
  skipped: number;
}

interface Plan {
  tasks: BatchTask[];
  extractorIds: Map<FeatureExtractor, number>;
  /** Only alerts of these surveys are read (all when a plain extractor is behind). */
  surveys: string[] | null;
  from: number;
  to: number;
}

function plan(store: Store, extractors: readonly FeatureExtractor[]): Plan | null {
  const to = store.maxAlertId();
  const tasks: BatchTask[] = [];
  const extractorIds = new Map<FeatureExtractor, number>();
  let plain = false;
  for (const ex of extractors) {
    const specId = store.specId(ex.spec);
    const through = store.featureProgress(specId);
    if (through >= to || tasks.some((t) => t.specId === specId)) continue;
    const m = moduleFeaturesOf(ex);
    if (m) {
      tasks.push({ specId, through, module: m });
      for (const p of m.extractors) extractorIds.set(p.extractor, store.specId(p.extractor.spec));
    } else {
      tasks.push({ specId, through, extractor: ex });
      extractorIds.set(ex, specId);
      plain = true;
    }
  }
  if (!tasks.length) return null;
  const surveys = plain ? null : [...new Set(tasks.map((t) => t.module!.survey))];
  return { tasks, extractorIds, surveys, from: Math.min(...tasks.map((t) => t.through)), to };
}

function storedFor(store: Store, p: Plan, rows: readonly AlertRow[]): StoredValues {
  return store.storedFeatureValues([...new Set(p.extractorIds.values())], rows[0].id, rows[rows.length - 1].id);
}

function emptyRun(specs: number): FeatureRun {
  return { specs, alerts: 0, decoded: 0, computed: 0, skipped: 0 };
}

function add(run: FeatureRun, rows: number, r: BatchResult): void {
  run.alerts += rows;
  run.decoded += r.decoded;
  run.computed += r.computed;
  run.skipped += r.skipped;
}

/**
 * Brings one extractor's features (a module's: its pool) up to date on this thread: only alerts after its
 * progress mark are read. `computed` counts the alerts read.
 */
export function computeFeatures(store: Store, extractor: FeatureExtractor): { computed: number; specHash: string } {
  return { computed: computeFeaturesInThread(store, [extractor]).alerts, specHash: featureSpecHash(extractor.spec) };
}

/** Brings the extractors' and modules' features up to date on this thread (queues, retrains, tests). */
export function computeFeaturesInThread(store: Store, extractors: readonly FeatureExtractor[]): FeatureRun {
  const p = plan(store, extractors);
  if (!p) return emptyRun(0);
  const run = emptyRun(p.tasks.length);
  for (let from = p.from; ;) {
    const rows = store.alertRowsAfter(from, p.to, FEATURE_BATCH, p.surveys);
    if (!rows.length) break;
    const r = processBatch(rows, p.tasks, p.extractorIds, storedFor(store, p, rows));
    from = rows[rows.length - 1].id;
    store.writeFeatureBatch(r, p.tasks.map((t) => [t.specId, Math.max(t.through, from)]));
    add(run, rows.length, r);
  }
  store.writeFeatureBatch(null, p.tasks.map((t) => [t.specId, p.to]));
  return run;
}

/**
 * The same over worker threads (`sieve features`, the bench): this thread reads batches and writes results
 * in order; `workers` threads decode and compute, at most two batches each in flight. Modules only (a
 * plain extractor has no declaration to send): the CLI's `--module` and the shipped ones.
 */
export async function computeFeaturesParallel(store: Store, modules: readonly ModuleDefinition[], o: { workers?: number; onBatch?: (run: FeatureRun) => void } = {}): Promise<FeatureRun> {
  const p = plan(store, modules.map((m) => m.extractor()));
  if (!p) return emptyRun(0);
  const nWorkers = Math.max(1, Math.min(o.workers ?? availableParallelism(), 16));
  const data: FeatureWorkerData = {
    modules: p.tasks.map((t) => ({ declaration: modules.find((m) => m.extractor().spec === t.module!.spec)!.declaration, specId: t.specId, through: t.through })),
    extractorIds: [...p.extractorIds].map(([ex, id]) => [featureSpecHash(ex.spec), id]),
  };
  const workers: Worker[] = Array.from({ length: nWorkers }, () => startTsWorker(new URL('./featureWorker.ts', import.meta.url), data as unknown as Record<string, unknown>));
  const run = emptyRun(p.tasks.length);
  try {
    const pending = new Map<number, { rows: number; last: number; result: Promise<BatchResult> }>();
    const waiting = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();
    let failure: Error | null = null;
    for (const w of workers) {
      w.on('message', (m: { seq: number; result?: BatchResult; error?: string }) => {
        const h = waiting.get(m.seq);
        waiting.delete(m.seq);
        if (m.error !== undefined) h?.reject(new Error(m.error));
        else h?.resolve(m.result!);
      });
      w.on('error', (e) => {
        failure = e;
        for (const h of waiting.values()) h.reject(e);
        waiting.clear();
      });
    }
    let seq = 0;
    let written = 0;
    let from = p.from;
    let done = false;
    while (!done || written < seq) {
      while (!done && seq - written < 2 * nWorkers) {
        const rows = store.alertRowsAfter(from, p.to, FEATURE_BATCH, p.surveys);
        if (!rows.length) {
          done = true;
          break;
        }
        const stored = storedFor(store, p, rows);
        from = rows[rows.length - 1].id;
        const s = seq++;
        if (failure) throw failure;
        const result = new Promise<BatchResult>((resolve, reject) => waiting.set(s, { resolve, reject }));
        workers[s % nWorkers].postMessage({ seq: s, rows, stored });
        pending.set(s, { rows: rows.length, last: from, result });
      }
      if (written === seq) break;
      const next = pending.get(written)!;
      const r = await next.result;
      pending.delete(written);
      store.writeFeatureBatch(r, p.tasks.map((t) => [t.specId, Math.max(t.through, next.last)]));
      add(run, next.rows, r);
      written++;
      o.onBatch?.(run);
    }
    store.writeFeatureBatch(null, p.tasks.map((t) => [t.specId, p.to]));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return run;
}
