import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { demoCommand } from '../../engine/cli/demo.ts';
import { Store } from '../../engine/index.ts';
import { buildApp, DEFAULT_WORKBENCH_OPTIONS, Workbench } from '../../engine/server/index.ts';
import { sharedPath } from '../shared.ts';

/**
 * A small demo store: 300 simulated objects plus the real ZTF sample (with its stamps) and the TNS-labelled
 * alerts (or the files given), seed labels from the known classes and the first version of every module
 * deployed, exactly as `sieve demo` builds it.
 */
export async function demoStore(n = 300, files = [sharedPath('ztf', 'alerts.jsonl'), sharedPath('tns', 'fink_cross_tns_nov2019.parquet'), sharedPath('tns', 'fink_cross_tns_202001.parquet')], seed = 1): Promise<string> {
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-api-')), 'demo.db');
  const log = console.log;
  console.log = () => {};
  try {
    await demoCommand({ db, n, seed, serve: false, in: files });
  } finally {
    console.log = log;
  }
  return db;
}

export interface ApiFixture {
  db: string;
  store: Store;
  wb: Workbench;
  app: FastifyInstance;
  /** Tokens of an admin and an expert made for the fixture. */
  admin: string;
  expert: string;
  close(): Promise<void>;
}

/** A demo store with its workbench (retraining on demand only) and API, and an admin's and an expert's token. */
export async function apiFixture(prefix: string): Promise<ApiFixture> {
  const db = await demoStore();
  const store = Store.create(db);
  const wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0 });
  const app = await buildApp(wb);
  return {
    db, store, wb, app, admin: store.addUser(`${prefix}-admin`, 'admin').token, expert: store.addUser(`${prefix}-expert`, 'expert').token,
    async close() {
      await app.close();
      await wb.close();
      store.close();
    },
  };
}
