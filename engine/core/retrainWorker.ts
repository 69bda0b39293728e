import { parentPort, workerData } from 'node:worker_threads';
import { Store } from './store/store.ts';
import { retrainClassifier, updateAnomalyModule, type TrainOptions } from './training.ts';
import { moduleOf } from './modules/index.ts';

/** Runs one retrain on its own connection to the store, so the server thread keeps answering. */
const { dbPath, module, options } = workerData as { dbPath: string; module: string; options: TrainOptions };
const store = Store.open(dbPath);
parentPort!.postMessage({ phase: 'training' });
try {
  const result = moduleOf(store, module).kind === 'anomaly' ? updateAnomalyModule(store, module, options) : await retrainClassifier(store, module, options);
  parentPort!.postMessage({ ok: true, result });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
} finally {
  store.close();
}
