import { availableParallelism } from 'node:os';
import { startTsWorker } from '../core/workers.ts';
import { OutputFile } from './output.ts';
import { SIMULATED_CLASSES, type SimulatedClass, type SimulationOptions } from '../../datasets/index.ts';

const CHUNK = 1000;

/**
 * Objects are a pure function of (seed, index), so workers simulate contiguous index ranges and the
 * output is byte-identical whatever the number of workers.
 */
export async function simulateCommand(opts: { out: string; n: number; seed: number; classes?: string; progress: boolean; workers?: number; survey?: 'ztf' | 'lsst' }): Promise<void> {
  const options: SimulationOptions = opts.survey === 'lsst' ? { survey: 'lsst' } : {};
  if (opts.classes) {
    const classWeights: Partial<Record<SimulatedClass, number>> = {};
    for (const c of opts.classes.split(',').map((s) => s.trim())) {
      if (!(SIMULATED_CLASSES as readonly string[]).includes(c)) throw new Error(`unknown class '${c}' (known: ${SIMULATED_CLASSES.join(', ')})`);
      classWeights[c as SimulatedClass] = 1;
    }
    options.classWeights = classWeights;
  }
  const sink = new OutputFile(opts.out);
  const started = performance.now();
  const nWorkers = Math.max(1, Math.min(opts.workers ?? availableParallelism(), Math.ceil(opts.n / CHUNK)));
  // Ranges start on chunk boundaries so that chunks can be written back in index order.
  const per = Math.ceil(opts.n / nWorkers / CHUNK) * CHUNK;
  const pending = new Map<number, string>();
  let nextToWrite = 0;
  let written = 0;
  let writing = Promise.resolve();
  // a failed write (full disk) stops the workers; the command then fails with the write's own error
  let writeError: Error | null = null;
  const workers: Array<{ terminate(): Promise<number> }> = [];
  const flush = () => {
    while (pending.has(nextToWrite)) {
      const text = pending.get(nextToWrite)!;
      pending.delete(nextToWrite);
      const from = nextToWrite;
      nextToWrite = Math.min(opts.n, from + CHUNK);
      writing = writing.then(async () => {
        if (writeError) return;
        try {
          await sink.write(text);
        } catch (e) {
          writeError = e as Error;
          for (const w of workers) void w.terminate();
          return;
        }
        written = nextToWrite;
        if (opts.progress && process.stderr.isTTY) process.stderr.write(`\rsimulated ${written}/${opts.n}`);
      });
    }
  };
  const simulated = Promise.all(
    Array.from({ length: nWorkers }, (_, w) => {
      const start = w * per;
      const end = Math.min(opts.n, start + per);
      if (start >= end) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const worker = startTsWorker(new URL('./simulateWorker.ts', import.meta.url), { seed: opts.seed, start, end, options, chunkSize: CHUNK });
        workers.push(worker);
        worker.on('message', (msg: { from?: number; text?: string; done?: boolean }) => {
          if (msg.done) return resolve();
          pending.set(msg.from!, msg.text!);
          flush();
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulation worker exited with code ${code}`))));
      });
    }),
  );
  try {
    await simulated;
  } catch (e) {
    await writing;
    throw writeError ?? e;
  }
  await writing;
  if (writeError) throw writeError;
  if (nextToWrite !== opts.n) throw new Error(`simulation incomplete: ${nextToWrite}/${opts.n} objects written`);
  await sink.end();
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`${opts.progress && process.stderr.isTTY ? '\n' : ''}${opts.n} objects (seed ${opts.seed}) written to ${opts.out} in ${seconds.toFixed(1)} s with ${nWorkers} worker(s)\n`);
}
