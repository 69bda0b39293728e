import { Store } from '../core/store/store.ts';
import { serveForever, type RunningServer } from '../server/serve.ts';

export interface ServeCliOptions {
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

export async function serveCommand(o: ServeCliOptions): Promise<void> {
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

export function userAddCommand(name: string, opts: { db: string; role: string }): void {
  const store = Store.open(opts.db);
  try {
    const { user, token } = store.addUser(name, opts.role as 'expert' | 'admin', 'cli');
    console.log(`${user.name} (${user.role}) token: ${token}`);
    console.log('Keep it: only its hash is stored. Running `sieve user add` again for the same name replaces it.');
  } finally {
    store.close();
  }
}

export function userListCommand(opts: { db: string }): void {
  const store = Store.open(opts.db);
  try {
    for (const u of store.listUsers()) console.log(`${u.name}\t${u.role}\t${u.createdAt}${u.disabled ? '\tdisabled' : ''}`);
  } finally {
    store.close();
  }
}

export function userDisableCommand(name: string, opts: { db: string }): void {
  const store = Store.open(opts.db);
  try {
    store.disableUser(name, 'cli');
    console.log(`${name} disabled`);
  } finally {
    store.close();
  }
}
