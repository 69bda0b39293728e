/**
 * Model benchmarks, side by side in one run on simulated features (Gaussian blobs with 25 columns, the
 * width of Fink's anomaly features): random-forest fit/predict, isolation-forest fit/score, and one AAD
 * update followed by a full re-ranking.
 */
import { AADForest, IsolationForest, RandomForestClassifier, Random, type Matrix } from '../models/index.ts';

function blobs(n: number, d: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Random(seed, 5);
  const data = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < 0.3 ? 1 : 0;
    for (let j = 0; j < d; j++) data[i * d + j] = rng.normal(y[i] && j < 5 ? 1 : 0, 1);
  }
  return { X: { data, rows: n, cols: d }, y };
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
}

export function runModelBenchmarks(): Array<{ what: string; seconds: number; goal?: string }> {
  const rows: Array<{ what: string; seconds: number; goal?: string }> = [];
  const small = blobs(20_000, 25, 1);
  const big = blobs(100_000, 25, 2);
  const [rf, rfFit] = timed(() => new RandomForestClassifier({ nEstimators: 100, seed: 1 }).fit(small.X, small.y));
  rows.push({ what: 'random forest fit, 100 trees, 20,000 x 25', seconds: rfFit, goal: '< 5 s' });
  rows.push({ what: 'random forest predict, 20,000 rows', seconds: timed(() => rf.predictProba(small.X))[1] });
  const [iforest, ifFit] = timed(() => new IsolationForest({ nEstimators: 100, seed: 1 }).fit(small.X));
  rows.push({ what: 'isolation forest fit, 100 trees, 20,000 x 25', seconds: ifFit });
  rows.push({ what: 'isolation forest score, 20,000 rows', seconds: timed(() => iforest.score(small.X))[1] });
  const [, bigIf] = timed(() => new IsolationForest({ nEstimators: 100, seed: 2 }).fit(big.X).score(big.X));
  rows.push({ what: 'isolation forest fit + score, 100,000 x 25', seconds: bigIf, goal: '< 1 s' });
  const aad = new AADForest({ nEstimators: 150, seed: 3 }).fit(big.X);
  const leaves = aad.leafIndices(big.X);
  let scores = aad.scoreFromLeaves(leaves, big.X.rows);
  const T = aad.params.nEstimators;
  const labels = [{ leaves: leaves.subarray(0, T), anomaly: true }];
  const [, aadSeconds] = timed(() => {
    aad.update(labels, scores);
    scores = aad.scoreFromLeaves(leaves, big.X.rows, scores);
    return Array.from(scores.keys()).sort((a, b) => scores[a] - scores[b]);
  });
  rows.push({ what: 'AAD update after one label + full re-ranking of 100,000', seconds: aadSeconds, goal: '< 0.2 s' });
  return rows;
}
