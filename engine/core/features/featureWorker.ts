import { parentPort, workerData } from 'node:worker_threads';
import { featureSpecHash, type FeatureExtractor } from '../../../features/index.ts';
import { moduleFromDeclaration } from '../modules/registry.ts';
import type { ModuleDeclaration } from '../modules/declaration.ts';
import type { AlertRow } from '../store/alertRow.ts';
import { processBatch, type BatchTask, type FeatureWorkerData, type StoredValues } from './batch.ts';

/** One thread of computeFeaturesParallel: batches of stored alert rows in, feature and pool rows out. */
const data = workerData as FeatureWorkerData;
const ids = new Map(data.extractorIds);
const extractorIds = new Map<FeatureExtractor, number>();
const tasks: BatchTask[] = data.modules.map((m) => {
  const features = moduleFromDeclaration(m.declaration as ModuleDeclaration).features();
  for (const p of features.extractors) extractorIds.set(p.extractor, ids.get(featureSpecHash(p.extractor.spec))!);
  return { specId: m.specId, through: m.through, module: features };
});

parentPort!.on('message', (m: { seq: number; rows: AlertRow[]; stored: StoredValues }) => {
  try {
    const result = processBatch(m.rows, tasks, extractorIds, m.stored);
    parentPort!.postMessage({ seq: m.seq, result });
  } catch (e) {
    parentPort!.postMessage({ seq: m.seq, error: (e as Error).message });
  }
});
