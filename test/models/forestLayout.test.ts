import { describe, expect, it } from 'vitest';
import { IsolationForest, RandomForestClassifier, Random, type Matrix } from '../../models/index.ts';

/** The textbook walk over the forest as trained (feature/threshold/left/right arrays), for comparison. */
function naiveProba(rf: RandomForestClassifier, X: Matrix): Float64Array {
  const { nodes, nClasses: C } = rf.toJSON();
  const out = new Float64Array(X.rows * C);
  for (let i = 0; i < X.rows; i++) {
    for (const root of nodes.roots) {
      let k = root;
      while (nodes.feature[k] >= 0) k = X.data[i * X.cols + nodes.feature[k]] <= Math.fround(nodes.threshold[k]) ? nodes.left[k] : nodes.right[k];
      let s = 0;
      for (let c = 0; c < C; c++) s += nodes.value[k * C + c];
      for (let c = 0; c < C; c++) out[i * C + c] += nodes.value[k * C + c] / (s || 1);
    }
    for (let c = 0; c < C; c++) out[i * C + c] /= nodes.roots.length;
  }
  return out;
}

describe('the forest layout used for prediction', () => {
  it('gives bit-identical probabilities to the plain walk, for NaN, signed zeros, infinities, values on a threshold and any row count', () => {
    const rng = new Random(7, 1);
    const n = 600;
    const d = 4;
    const data = new Float32Array(n * d);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = rng.next() < 0.4 ? 1 : rng.next() < 0.5 ? 2 : 0;
      for (let j = 0; j < d; j++) data[i * d + j] = Math.round(rng.normal(y[i] === j ? 1 : 0, 1) * 4) / 4;
    }
    const rf = new RandomForestClassifier({ nEstimators: 25, seed: 3 }).fit({ data, rows: n, cols: d }, y);
    const { nodes } = rf.toJSON();
    const thresholds = nodes.threshold.filter((t, k) => nodes.feature[k] >= 0);
    // probe rows: exactly on thresholds, just above them, NaN, -0/+0, infinities; 1..13 rows (the rows that
    // walk a tree together, six in forestWasm.ts, and the group the last rows leave incomplete)
    const specials = [NaN, -0, 0, Infinity, -Infinity, thresholds[0], Math.fround(thresholds[1] + 1e-6), thresholds[2]];
    for (let rows = 1; rows <= 13; rows++) {
      const X: Matrix = { data: new Float32Array(rows * d), rows, cols: d };
      for (let k = 0; k < X.data.length; k++) X.data[k] = specials[(k * 5 + rows) % specials.length];
      expect(Array.from(rf.predictProba(X))).toEqual(Array.from(naiveProba(rf, X)));
    }
    const all: Matrix = { data, rows: n, cols: d };
    expect(Array.from(rf.predictProba(all))).toEqual(Array.from(naiveProba(rf, all)));
    // votes from the same layout: each row's votes add up to the number of trees
    const votes = rf.treeVotes(all);
    for (let i = 0; i < n; i++) expect(votes[i * 3] + votes[i * 3 + 1] + votes[i * 3 + 2]).toBe(25);
  });

  it('gives the same probabilities across blocks of rows and after its memory grew', () => {
    const rng = new Random(9, 4);
    const d = 4;
    const fit = 400;
    const data = new Float32Array(fit * d).map(() => Math.round(rng.normal(0, 1) * 8) / 8);
    const y = Int32Array.from({ length: fit }, (_, i) => (data[i * d] + data[i * d + 1] > 0 ? 1 : 0));
    const rf = new RandomForestClassifier({ nEstimators: 5, seed: 2 }).fit({ data, rows: fit, cols: d }, y);
    // 40,000 rows x (4 features + 2 classes) take more than one 1 MB block (forestLayout.ts)
    const n = 40_000;
    const big: Matrix = { data: new Float32Array(n * d).map(() => Math.round(rng.normal(0, 1.5) * 8) / 8), rows: n, cols: d };
    const small: Matrix = { data: big.data.subarray(0, 10 * d), rows: 10, cols: d };
    const smallFirst = Array.from(rf.predictProba(small));
    expect(Array.from(rf.predictProba(big))).toEqual(Array.from(naiveProba(rf, big)));
    expect(Array.from(rf.predictProba(small))).toEqual(smallFirst);
    expect(smallFirst).toEqual(Array.from(naiveProba(rf, small)));
  });

  it('handles a tree that is a single leaf', () => {
    const data = Float32Array.from([1, 2, 3, 4, 5]);
    const rf = new RandomForestClassifier({ nEstimators: 3, seed: 1 }).fit({ data, rows: 5, cols: 1 }, Int32Array.from([1, 1, 1, 1, 1]));
    const X: Matrix = { data: Float32Array.from([0, NaN, 9, 2, 3]), rows: 5, cols: 1 };
    expect(Array.from(rf.predictProba(X))).toEqual(Array.from(naiveProba(rf, X)));
  });

  it("gives an isolation forest's leaves and mean path lengths as the plain walk does, across blocks of rows, NaN going right", () => {
    const rng = new Random(11, 2);
    const d = 5;
    const n = 2500;
    const data = new Float32Array(n * d).map(() => rng.normal(0, 1));
    for (let k = 0; k < n * d; k += 37) data[k] = [NaN, -0, Infinity, -Infinity][k % 4];
    const f = new IsolationForest({ nEstimators: 40, seed: 5 }).fit({ data: data.subarray(0, 1000 * d), rows: 1000, cols: d });
    const { feature, threshold, left, right, leafId, roots } = f.nodes!;
    for (const rows of [1, 3, 4, 7, n]) {
      const got = f.leafIndices({ data: data.subarray(0, rows * d), rows, cols: d });
      const want = new Int32Array(rows * roots.length);
      for (let i = 0; i < rows; i++) roots.forEach((root, t) => {
        let k = root;
        while (feature[k] >= 0) k = data[i * d + feature[k]] <= threshold[k] ? left[k] : right[k];
        want[i * roots.length + t] = leafId[k];
      });
      expect(Array.from(got), `${rows} rows`).toEqual(Array.from(want));
      // the mean path length: the leaves' path lengths summed in tree order, over the same walk
      const meanPath = new Float64Array(rows);
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let t = 0; t < roots.length; t++) s += f.nodes!.leafPathLength[want[i * roots.length + t]];
        meanPath[i] = s / roots.length;
      }
      expect(Array.from(f.meanPathLength({ data: data.subarray(0, rows * d), rows, cols: d })), `${rows} rows`).toEqual(Array.from(meanPath));
    }
  });
});
