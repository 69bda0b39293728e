import { SIMULATED_CLASSES, type SimulatedClass } from '../../datasets/index.ts';
import { DEFAULT_RARE_CLASSES, runAnomalyExperiment } from '../experiments/anomaly.ts';
import type { AlStrategy } from '../experiments/activeLearning.ts';

export async function experimentAnomalyCommand(opts: {
  seeds: number; n: number; out: string; budget: number; trees: number; maxSamples: number; rareFraction: number; rareClasses?: string;
  data?: string; labelColumn?: string; positive?: string; positiveFraction?: number;
}): Promise<void> {
  let rareClasses: SimulatedClass[] = DEFAULT_RARE_CLASSES;
  if (opts.rareClasses) {
    rareClasses = opts.rareClasses.split(',').map((s) => s.trim()) as SimulatedClass[];
    for (const c of rareClasses) if (!(SIMULATED_CLASSES as readonly string[]).includes(c)) throw new Error(`unknown class '${c}' (known: ${SIMULATED_CLASSES.join(', ')})`);
  }
  if (opts.data && (!opts.labelColumn || opts.positive === undefined)) throw new Error('--data needs --label-column and --positive');
  const summary = await runAnomalyExperiment({
    seeds: opts.seeds, n: opts.n, rareFraction: opts.rareFraction, rareClasses, budget: opts.budget, nEstimators: opts.trees, maxSamples: opts.maxSamples, out: opts.out,
    ...(opts.data ? { data: { file: opts.data, labelColumn: opts.labelColumn!, positive: opts.positive!, ...(opts.positiveFraction !== undefined ? { positiveFraction: opts.positiveFraction } : {}) } } : {}),
  });
  console.log(`${summary.data}; mean over ${summary.seeds} seeds of true rare objects among the first alerts shown:`);
  console.log(`  first 50:  isolation forest ${summary.if_top50.toFixed(1)}, AAD ${summary.aad_top50.toFixed(1)}`);
  console.log(`  first 100: isolation forest ${summary.if_top100.toFixed(1)}, AAD ${summary.aad_top100.toFixed(1)}`);
  console.log(`written: ${opts.out}/summary.json, curves.csv, discovery.svg/.png/.vl.json${opts.data ? '' : ', anomaly-module.bundle.json'}`);
}

export async function experimentAlCommand(opts: {
  module: string[]; strategy: AlStrategy[]; seed: number; seeds: number; data: string[]; labelColumn?: string; positive?: string; out: string;
  queries: number; batch: number; initial: number; trees: number; simN: number; positiveFraction?: number;
}): Promise<void> {
  const { runAlExperiment } = await import('../experiments/activeLearning.ts');
  const { summary } = await runAlExperiment({
    module: opts.module, strategies: opts.strategy, seeds: opts.seeds, firstSeed: opts.seed, data: opts.data, batch: opts.batch,
    ...(opts.labelColumn ? { labelColumn: opts.labelColumn } : {}), ...(opts.positive ? { positive: opts.positive } : {}),
    nInitial: opts.initial, nQueries: opts.queries, testFraction: 0.4, nEstimators: opts.trees, simN: opts.simN, out: opts.out,
    ...(opts.positiveFraction !== undefined ? { positiveFraction: opts.positiveFraction } : {}),
  });
  console.log(JSON.stringify(summary, null, 2));
  console.log(`written: ${opts.out}/curves.csv, curves.svg/.png/.vl.json, summary.json`);
}
