import { Worker } from 'node:worker_threads';

/** Starts a worker thread running a TypeScript module (works under tsx and vitest alike). */
export function startTsWorker(entry: URL, workerData: Record<string, unknown>): Worker {
  return new Worker(new URL('./workerBootstrap.mjs', import.meta.url), {
    workerData: { ...workerData, __entry: entry.href },
  });
}
