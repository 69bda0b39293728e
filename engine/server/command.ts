// `sieve serve` and the serving half of `sieve demo`: the entry points the CLI's program calls (wired by
// engine/main.ts), so that the CLI never imports the server.
import { Store } from '../core/store/store.ts';
import { assertPortFree, serveForever, type RunningServer } from './serve.ts';

export { assertPortFree };

export interface ServeOptionsFromCli {
  db: string;
  port: number;
  host: string;
  retrainEvery: number;
  leaseSeconds: number;
  seed: number;
  /** Print a fresh token for this admin account (the demo does; `serve` only with --admin-token). */
  adminToken?: string;
}

export function printBanner(s: RunningServer, token: { name: string; token: string } | null): void {
  console.log(`Sieve workbench: ${s.url}/`);
  if (token) {
    console.log(`admin token for ${token.name}: ${token.token}`);
    console.log(`open ${s.url}/#token=${token.token} to sign in as ${token.name}`);
  }
  console.log(`API health: ${s.url}/api/health  (Ctrl+C stops; retrains finish and AAD weights are saved first)`);
}

export async function serveCommand(o: ServeOptionsFromCli): Promise<void> {
  let token: { name: string; token: string } | null = null;
  if (o.adminToken) {
    const store = Store.open(o.db);
    try {
      token = { name: o.adminToken, token: store.addUser(o.adminToken, 'admin', 'cli').token };
    } finally {
      store.close();
    }
  }
  await serveForever({
    dbPath: o.db, port: o.port, host: o.host,
    workbench: { retrainEvery: o.retrainEvery, leaseMs: o.leaseSeconds * 1000, seed: o.seed },
  }, (s) => printBanner(s, token));
}

/** The demo's last step: the API and UI over the store it built, signed in with the given admin token. */
export async function serveDemo(o: { db: string; port: number; host: string; retrainEvery: number; seed: number }, token: { name: string; token: string }): Promise<void> {
  await serveForever({ dbPath: o.db, port: o.port, host: o.host, workbench: { retrainEvery: o.retrainEvery, seed: o.seed } }, (s) => printBanner(s, token));
}
