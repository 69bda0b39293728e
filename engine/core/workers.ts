import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread running a module of ours given by its TypeScript URL. Compiled (dist/, where this
 * file is .js) the worker is the .js file beside it and starts directly; from TypeScript (tsx, vitest) a
 * plain-JS bootstrap registers tsx's loader first, since workers do not inherit it.
 */
export function startTsWorker(entry: URL, workerData: Record<string, unknown>): Worker {
  if (import.meta.url.endsWith('.js')) return new Worker(new URL(entry.href.replace(/\.ts$/, '.js')), { workerData });
  return new Worker(new URL('./workerBootstrap.mjs', import.meta.url), {
    workerData: { ...workerData, __entry: entry.href },
  });
}
