import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Store } from '../core/store/store.ts';
import { buildApp, type AppOptions } from './app.ts';
import { ensureUiBuilt } from './uiBuild.ts';
import { DEFAULT_WORKBENCH_OPTIONS, Workbench, type WorkbenchOptions } from './workbench.ts';

export interface ServeOptions extends AppOptions {
  dbPath: string;
  port: number;
  host?: string;
  ui?: boolean;
  workbench?: Partial<WorkbenchOptions>;
}

export interface RunningServer {
  app: FastifyInstance;
  workbench: Workbench;
  store: Store;
  url: string;
  close(): Promise<void>;
}

/** Fails with a one-line error when host:port cannot be listened on (in use, or not allowed). */
export async function assertPortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => reject(new Error(`port ${port} on ${host} ${e.code === 'EADDRINUSE' ? 'is already in use' : `cannot be used (${e.code ?? e.message})`}: choose another with --port`)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

/** Opens the store, builds the UI if needed, and serves API + UI; close() finishes retrains and saves AAD weights. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  // the store first: a mistyped --db fails at once, before the UI is built
  const store = Store.open(o.dbPath);
  let uiDist: string | null;
  try {
    uiDist = o.ui === false ? null : await ensureUiBuilt();
  } catch (e) {
    store.close();
    throw e;
  }
  const workbench = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, ...o.workbench });
  workbench.warmUp();
  const app = await buildApp(workbench, { ...o, uiDist });
  const address = await app.listen({ port: o.port, host: o.host ?? '127.0.0.1' });
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= (async () => {
    await app.close();
    await workbench.close();
    store.close();
  })());
  return { app, workbench, store, url: address.replace('127.0.0.1', 'localhost'), close };
}

/** Runs until SIGINT/SIGTERM, then shuts down cleanly. */
export async function serveForever(o: ServeOptions, banner: (s: RunningServer) => void): Promise<void> {
  const s = await startServer(o);
  banner(s);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.stderr.write('shutting down: waiting for retrains, saving AAD weights…\n');
      void s.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
