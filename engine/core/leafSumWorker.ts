import { parentPort } from 'node:worker_threads';
import { leafSums } from '../../models/index.ts';

/**
 * A thread of the AAD sessions' re-scoring (anomalyPool.ts `LeafSumThreads`): sums the leaf values of a range
 * of a band's rows in the band's shared WebAssembly memory, where the main thread reads them.
 */
export interface LeafSumTask {
  id: number;
  memory: WebAssembly.Memory;
  width: 1 | 2 | 4;
  leaves: number;
  first: number;
  wv: number;
  T: number;
  rows: number;
  out: number;
}

parentPort!.on('message', (task: LeafSumTask) => {
  try {
    const sums = leafSums(task.memory, true);
    (task.width === 1 ? sums.sum8 : task.width === 2 ? sums.sum16 : sums.sum32)(task.leaves, task.first, task.wv, task.T, task.rows, task.out);
    parentPort!.postMessage({ id: task.id });
  } catch (e) {
    parentPort!.postMessage({ id: task.id, error: (e as Error).message });
  }
});
