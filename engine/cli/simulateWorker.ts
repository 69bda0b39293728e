import { parentPort, workerData } from 'node:worker_threads';
import { simulateObject, stringifyJsonExact, toSieveRecord, type SimulationOptions } from '../../datasets/index.ts';

/** Simulates and serialises objects [start, end) in chunks; the parent writes them in index order. */
const { seed, start, end, options, chunkSize } = workerData as { seed: number; start: number; end: number; options: SimulationOptions; chunkSize: number };
for (let i = start; i < end; i += chunkSize) {
  const lines: string[] = [];
  for (let k = i; k < Math.min(end, i + chunkSize); k++) {
    const sim = simulateObject(seed, k, options);
    lines.push(stringifyJsonExact(toSieveRecord(sim.alert, sim.modelMag)));
  }
  parentPort!.postMessage({ from: i, text: lines.join('\n') + '\n' });
}
parentPort!.postMessage({ done: true });
