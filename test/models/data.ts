import { Random, type Matrix } from '../../models/index.ts';

/** Two Gaussian classes that differ in the first `informative` features. */
export function twoClasses(n: number, d: number, seed: number, shift = 2, informative = 3, positiveFraction = 0.5): { X: Matrix; y: Int32Array } {
  const rng = new Random(seed, 77);
  const data = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.next() < positiveFraction ? 1 : 0;
    for (let j = 0; j < d; j++) data[i * d + j] = rng.normal(y[i] === 1 && j < informative ? shift : 0, 1);
  }
  return { X: { data, rows: n, cols: d }, y };
}

/**
 * Nominal Gaussian data with two planted anomaly groups equally easy to isolate: `interesting` ones
 * (truth 1, offset in features 0-1) and `boring` ones (truth 0, offset in features 2-3).
 */
export function plantedAnomalies(seed: number, nNominal = 4000, nEach = 40, d = 6): { X: Matrix; truth: Int32Array; boring: Int32Array } {
  const rng = new Random(seed, 91);
  const n = nNominal + 2 * nEach;
  const data = new Float32Array(n * d);
  const truth = new Int32Array(n);
  const boring = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const kind = i < nNominal ? 0 : i < nNominal + nEach ? 1 : 2;
    truth[i] = kind === 1 ? 1 : 0;
    boring[i] = kind === 2 ? 1 : 0;
    for (let j = 0; j < d; j++) {
      const offset = (kind === 1 && j < 2) || (kind === 2 && (j === 2 || j === 3));
      data[i * d + j] = offset ? rng.normal(4, 0.5) : rng.normal(0, 1);
    }
  }
  return { X: { data, rows: n, cols: d }, truth, boring };
}
