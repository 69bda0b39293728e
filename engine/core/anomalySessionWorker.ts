import { parentPort, workerData } from 'node:worker_threads';
import { modelFromBundle, type PerBandAADModel } from '../../models/index.ts';
import { sessionPool } from './anomalyPool.ts';
import { moduleOf } from './modules/index.ts';
import { Store } from './store/store.ts';

/** Computes an anomaly session's pool (every alert's leaf in every tree) on its own connection, and hands it over. */
const { dbPath, module } = workerData as { dbPath: string; module: string };
const store = Store.open(dbPath);
try {
  const def = moduleOf(store, module);
  const version = store.deployedVersion(module);
  if (version === null) throw new Error(`${module}: no deployed version to start a session from`);
  const pool = sessionPool(store, def, modelFromBundle(store.getBundle(module, version)) as unknown as PerBandAADModel);
  parentPort!.postMessage({ version, pool }, [...pool.leaves.map((l) => l.buffer), ...pool.rows.map((r) => r.buffer), pool.alertIds.buffer] as ArrayBuffer[]);
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
} finally {
  store.close();
}
