import type { Worker } from 'node:worker_threads';
import { startTsWorker } from './workers.ts';
import type { TrainOptions, TrainResult } from './training.ts';

export interface RetrainHandle {
  worker: Worker;
  /** Resolves once the worker has opened the store and started training. */
  started: Promise<void>;
  result: Promise<TrainResult>;
}

/** Retrains a module in a worker thread; the promise rejects with the worker's error or exit. */
export function retrainInWorker(dbPath: string, module: string, options: TrainOptions = {}): RetrainHandle {
  const worker = startTsWorker(new URL('./retrainWorker.ts', import.meta.url), { dbPath, module, options });
  let markStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const result = new Promise<TrainResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (m: { phase?: string; ok?: boolean; result?: TrainResult; error?: string }) => {
      if (m.phase) return markStarted();
      settled = true;
      if (m.ok) resolve(m.result!);
      else reject(new Error(`retrain of ${module} failed: ${m.error}`));
    });
    worker.on('error', (e) => {
      settled = true;
      reject(e);
    });
    worker.on('exit', (code) => {
      if (!settled) reject(new Error(`retrain worker for ${module} exited with code ${code} before finishing`));
    });
  });
  return { worker, started, result };
}

/** How many labels were given since the last saved version of a module (for "retrain after N labels"). */
export function labelsSinceLastModel(store: import('./store/store.ts').Store, module: string): number {
  const last = store.db.prepare('SELECT MAX(created_at) AS t FROM models WHERE module = ?').get(module) as { t: string | null };
  const row = last.t
    ? store.db.prepare("SELECT COUNT(*) AS n FROM labels WHERE module = ? AND author_kind = 'person' AND created_at > ?").get(module, last.t)
    : store.db.prepare("SELECT COUNT(*) AS n FROM labels WHERE module = ? AND author_kind = 'person'").get(module);
  return (row as { n: number }).n;
}
