import { describe, expect, it } from 'vitest';
import { anomalyExtractor } from '../../features/index.ts';
import {
  MIN_OBJECTS_FOR_EARLY_STOPPING, MLPClassifier, Random, createBundle, dropoutThreshold, loadTensorFlow, modelFromBundle, parseBundle, selectRows, serializeBundle, type Matrix,
} from '../../models/index.ts';
import { twoClasses } from './data.ts';

const spec = anomalyExtractor().spec;
const accuracyOf = (m: MLPClassifier, X: Matrix, y: ArrayLike<number>) => {
  const pred = m.predict(X);
  return pred.filter((c, i) => c === y[i]).length / pred.length;
};

/** The network's Monte-Carlo mean by the definition (an independent stream of masks, every unit of every pass drawn). */
function naiveMcMean(m: MLPClassifier, X: Matrix, samples: number, seed: number): Float64Array {
  const rng = new Random(seed, 99);
  const keep = 1 - dropoutThreshold(m.params.dropout) / 65536;
  const C = m.nClasses;
  const out = new Float64Array(X.rows * C);
  for (let i = 0; i < X.rows; i++) {
    const robust = (v: number, j: number) => (m.robustScale.length ? Math.asinh((v - m.median[j]) / m.robustScale[j]) : v);
    const z = Array.from({ length: X.cols }, (_, j) => (robust(X.data[i * X.cols + j], j) - m.mean[j]) / m.scale[j]);
    for (let s = 0; s < samples; s++) {
      let h = z;
      m.layers.forEach((l, k) => {
        const next: number[] = [];
        for (let o = 0; o < l.nOut; o++) {
          let a = l.b[o];
          for (let q = 0; q < l.nIn; q++) a += h[q] * l.w[q * l.nOut + o];
          next.push(a);
        }
        h = k < m.layers.length - 1 ? next.map((v) => (rng.next() < keep ? Math.max(0, v) / keep : 0)) : next;
      });
      const mx = Math.max(...h);
      const e = h.map((v) => Math.exp(v - mx));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) out[i * C + c] += e[c] / sum / samples;
    }
  }
  return out;
}

describe('MLPClassifier (TensorFlow.js) with Monte-Carlo dropout', () => {
  const { X, y } = twoClasses(1500, 6, 2, 2.5, 2);
  const train = selectRows(X, Array.from({ length: 1000 }, (_, i) => i));
  const ytrain = y.subarray(0, 1000);
  const test = selectRows(X, Array.from({ length: 500 }, (_, i) => 1000 + i));
  const ytest = y.subarray(1000);

  it('learns, stops early on its validation split, and a seed gives the same bundle bytes', async () => {
    const fit = (seed: number) => new MLPClassifier({ seed, hiddenUnits: [16, 8], epochs: 300, patience: 5 }).fit(train, ytrain);
    const [a, b, c] = await Promise.all([fit(2), fit(2), fit(3)]);
    const bytes = (m: MLPClassifier) => serializeBundle(createBundle({ module: 'm', version: '1', model: m, featureSpec: spec, classNames: ['a', 'b'], training: { X: train, y: ytrain }, created: '2026-01-01T00:00:00.000Z' }));
    expect(bytes(a)).toBe(bytes(b));
    expect(bytes(a)).not.toBe(bytes(c));
    expect(accuracyOf(a, test, ytest)).toBeGreaterThan(0.9);
    // early stopping: 20% of the rows held out, training ended well before 300 epochs with the best epoch's weights kept
    expect(a.training).toMatchObject({ trainRows: 800, validationRows: 200 });
    expect(a.training!.epochs).toBeLessThan(300);
    expect(a.training!.epochs - a.training!.bestEpoch).toBe(5);
    expect(a.training!.validationLoss).toBeGreaterThan(0);
    // too few objects for a split: all epochs, no validation loss; from MIN_OBJECTS_FOR_EARLY_STOPPING on, a split
    const first = (k: number) => Array.from({ length: k }, (_, i) => i);
    const k = MIN_OBJECTS_FOR_EARLY_STOPPING;
    const small = await new MLPClassifier({ seed: 1, hiddenUnits: [8], epochs: 7 }).fit(selectRows(train, first(k - 1)), ytrain.subarray(0, k - 1));
    expect(small.training).toMatchObject({ epochs: 7, bestEpoch: 7, validationLoss: null, trainRows: k - 1, validationRows: 0 });
    const enough = await new MLPClassifier({ seed: 1, hiddenUnits: [8], epochs: 7 }).fit(selectRows(train, first(k)), ytrain.subarray(0, k));
    expect(enough.training!.validationRows).toBe(Math.round(0.2 * k));
    // the split is by group: two rows per object land on the same side
    const groups = Array.from({ length: 1000 }, (_, i) => `obj${i >> 1}`);
    const g = await new MLPClassifier({ seed: 1, hiddenUnits: [8], epochs: 2, validationFraction: 0.3 }).fit(train, ytrain, 2, { groups });
    expect(g.training!.validationRows % 2).toBe(0);
    expect(g.training!.validationRows).toBe(2 * Math.round(0.3 * 500));
  });

  it('Monte-Carlo dropout: the fast passes have the mean of the definition, a spread, BALD >= 0, and a row gets the same passes wherever it is scored', async () => {
    const m = await new MLPClassifier({ seed: 4, hiddenUnits: [16, 8], dropout: 0.3, epochs: 40 }).fit(train, ytrain);
    const rows = selectRows(test, Array.from({ length: 60 }, (_, i) => i));
    const S = 3000;
    const mc = m.predictProbaMC(rows, S, 7);
    const naive = naiveMcMean(m, rows, S, 11);
    for (let i = 0; i < rows.rows * 2; i++) {
      // two independent estimates of the same mean: within 5 standard errors of their difference
      const se = Math.sqrt(2 / S) * Math.max(mc.std[i], 1e-3);
      expect(Math.abs(mc.mean[i] - naive[i]) / se).toBeLessThan(5);
    }
    for (let i = 0; i < rows.rows; i++) {
      expect(mc.mean[2 * i] + mc.mean[2 * i + 1]).toBeCloseTo(1, 12);
      expect(mc.votes[2 * i] + mc.votes[2 * i + 1]).toBe(S);
      // entropy is concave: the mean pass entropy never exceeds the entropy of the mean (BALD >= 0)
      const p = mc.mean[2 * i + 1];
      const h = -(p * Math.log(p) + (1 - p) * Math.log(1 - p));
      expect(mc.expectedEntropy[i]).toBeLessThanOrEqual(h + 1e-12);
    }
    // dropout changes the answer: the passes spread, and their mean differs from the dropout-off probability
    const p0 = m.predictProba(rows);
    expect(Math.max(...mc.std)).toBeGreaterThan(0.01);
    expect(mc.mean.some((v, i) => Math.abs(v - p0[i]) > 1e-3)).toBe(true);
    // one row alone, or inside a batch: the same passes
    const alone = m.predictProbaMC(selectRows(rows, [17]), 30, 7);
    const inBatch = m.predictProbaMC(rows, 30, 7);
    expect(Array.from(alone.mean)).toEqual(Array.from(inBatch.mean.subarray(34, 36)));
    expect(Array.from(alone.std)).toEqual(Array.from(inBatch.std.subarray(34, 36)));
    expect(Array.from(m.predictProbaMC(rows, 30, 8).mean)).not.toEqual(Array.from(inBatch.mean));
    // through a bundle: the same probabilities and passes
    const back = modelFromBundle(parseBundle(serializeBundle(createBundle({ module: 'm', version: '1', model: m, featureSpec: spec, classNames: ['a', 'b'], training: { X: train } })))) as MLPClassifier;
    expect(Array.from(back.predictProba(rows))).toEqual(Array.from(p0));
    expect(Array.from(back.predictProbaMC(rows, 30, 7).mean)).toEqual(Array.from(inBatch.mean));
  });

  it('missing features: training medians plus missing indicators by default; refused rows with missing: refuse', async () => {
    // feature 0 is missing in 30% of the rows of class 1 and 5% of class 0: missingness itself carries information
    const rng = new Random(5, 5);
    const Xm = { data: Float32Array.from(train.data), rows: train.rows, cols: train.cols };
    for (let i = 0; i < Xm.rows; i++) if (rng.next() < (ytrain[i] ? 0.3 : 0.05)) Xm.data[i * 6] = NaN;
    Xm.data[3 * 6 + 4] = Infinity;
    const m = await new MLPClassifier({ seed: 1, hiddenUnits: [16], epochs: 30 }).fit(Xm, ytrain);
    expect(Array.from(m.indicators)).toEqual([0, 4]);
    expect(m.nInputs).toBe(8);
    const finite = Array.from({ length: Xm.rows }, (_, i) => Xm.data[i * 6]).filter(Number.isFinite).sort((a, b) => a - b);
    const mid = finite.length / 2;
    expect(m.median[0]).toBe(finite.length % 2 ? finite[(finite.length - 1) / 2] : (finite[mid - 1] + finite[mid]) / 2);
    const row = { data: Float32Array.from(test.data.subarray(0, 6)), rows: 1, cols: 6 };
    const filled = { data: Float32Array.from(row.data), rows: 1, cols: 6 };
    row.data[0] = NaN;
    filled.data[0] = m.median[0];
    const pMissing = m.predictProba(row);
    const pFilled = m.predictProba(filled);
    expect(pMissing.every(Number.isFinite)).toBe(true);
    // the indicator input moves the answer away from plain median imputation
    expect(Math.abs(pMissing[1] - pFilled[1])).toBeGreaterThan(1e-4);

    const r = await new MLPClassifier({ seed: 1, hiddenUnits: [16], epochs: 5, missing: 'refuse' }).fit(Xm, ytrain);
    const complete = Array.from({ length: Xm.rows }, (_, i) => i).filter((i) => Array.from(Xm.data.subarray(i * 6, i * 6 + 6)).every(Number.isFinite)).length;
    expect(r.training!.trainRows + r.training!.validationRows).toBe(complete);
    expect(r.indicators.length).toBe(0);
    expect(Array.from(r.predictProba(row)).every(Number.isNaN)).toBe(true);
    expect(Number.isNaN(r.predictProbaMC(row).expectedEntropy[0])).toBe(true);
    expect(r.predictProba(filled).every(Number.isFinite)).toBe(true);
    await expect(new MLPClassifier({ missing: 'refuse' }).fit({ data: new Float32Array([NaN, 1]), rows: 1, cols: 2 }, [0])).rejects.toThrow(/no training row with every feature present/);
  });

  it('robust-asinh scaling: the median, 1.4826 x the median absolute deviation (the mean one where that is 0), asinh, then standardised', async () => {
    const rng = new Random(8, 8);
    const n = 400;
    const data = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      data[2 * i] = Math.exp(rng.normal(0, 3)); // heavy-tailed, like a fitted flux
      data[2 * i + 1] = i % 10 === 0 ? rng.normal(5, 1) : 0; // mostly one value: its MAD is 0
    }
    const yy = Int32Array.from({ length: n }, (_, i) => (data[2 * i] > 1 ? 1 : 0));
    const X2 = { data, rows: n, cols: 2 };
    const m = await new MLPClassifier({ seed: 1, hiddenUnits: [4], epochs: 1 }).fit(X2, yy);
    const col = (j: number) => Float64Array.from({ length: n }, (_, i) => data[2 * i + j]).sort();
    const med = (a: Float64Array) => (a[n / 2 - 1] + a[n / 2]) / 2;
    const c0 = col(0);
    expect(m.median[0]).toBe(med(c0));
    expect(m.robustScale[0]).toBeCloseTo(1.4826 * med(Float64Array.from(c0, (v) => Math.abs(v - m.median[0])).sort()), 12);
    const c1 = col(1);
    expect(m.median[1]).toBe(0);
    expect(m.robustScale[1]).toBeCloseTo(c1.reduce((s, v) => s + Math.abs(v), 0) / n, 12);
    // the standardisation is of the asinh values: they have mean 0 and unit variance over the training rows
    const t = Array.from(c0, (v) => Math.asinh((v - m.median[0]) / m.robustScale[0]));
    const mu = t.reduce((a, b) => a + b, 0) / n;
    expect(m.mean[0]).toBeCloseTo(mu, 10);
    expect(m.scale[0]).toBeCloseTo(Math.sqrt(t.reduce((a, b) => a + (b - mu) ** 2, 0) / n), 10);
    const std = await new MLPClassifier({ seed: 1, hiddenUnits: [4], epochs: 1, scaling: 'standard' }).fit(X2, yy);
    expect(std.robustScale.length).toBe(0);
    expect(std.mean[0]).toBeCloseTo(c0.reduce((a, b) => a + b, 0) / n, 3);
  });

  it('trains on the WebAssembly backend, loaded from node_modules, and on the CPU backend', async () => {
    const tf = await loadTensorFlow('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const opts = { seed: 6, hiddenUnits: [16, 8], epochs: 25 };
    const wasm = await new MLPClassifier({ ...opts, backend: 'wasm' }).fit(train, ytrain);
    const cpu = await new MLPClassifier({ ...opts, backend: 'cpu' }).fit(train, ytrain);
    expect(tf.getBackend()).toBe('cpu');
    for (const m of [wasm, cpu]) expect(accuracyOf(m, test, ytest)).toBeGreaterThan(0.9);
    // the same masks and batches: the two backends' networks answer alike (their float rounding differs)
    const a = wasm.predictProba(test);
    const b = cpu.predictProba(test);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(0.05);
    expect(wasm.toJSON().params.backend).toBe('wasm');
  });

  it('takes three classes or more: softmax over K, class weights over K, K-way passes', async () => {
    const rng = new Random(10, 10);
    const n = 1200;
    const data = new Float32Array(n * 4);
    const y3 = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      // class 2 is rare (10%): balanced weights keep it from being ignored
      y3[i] = rng.next() < 0.1 ? 2 : rng.next() < 0.5 ? 1 : 0;
      for (let j = 0; j < 4; j++) data[i * 4 + j] = rng.normal(j === y3[i] ? 2.5 : 0, 1);
    }
    const X3 = { data, rows: n, cols: 4 };
    const m = await new MLPClassifier({ seed: 2, hiddenUnits: [16, 8], epochs: 60 }).fit(selectRows(X3, Array.from({ length: 900 }, (_, i) => i)), y3.subarray(0, 900));
    expect(m.nClasses).toBe(3);
    const test3 = selectRows(X3, Array.from({ length: 300 }, (_, i) => 900 + i));
    const pred = m.predict(test3);
    expect(pred.filter((c, i) => c === y3[900 + i]).length / 300).toBeGreaterThan(0.85);
    const rare = Array.from({ length: 300 }, (_, i) => i).filter((i) => y3[900 + i] === 2);
    expect(rare.filter((i) => pred[i] === 2).length / rare.length).toBeGreaterThan(0.7);
    const mc = m.predictProbaMC(test3, 20);
    for (let i = 0; i < 300; i++) {
      expect(mc.mean[3 * i] + mc.mean[3 * i + 1] + mc.mean[3 * i + 2]).toBeCloseTo(1, 12);
      expect(mc.votes[3 * i] + mc.votes[3 * i + 1] + mc.votes[3 * i + 2]).toBe(20);
    }
  });

  it('refuses bad parameters and inputs with one line', async () => {
    expect(() => new MLPClassifier({ hiddenUnits: [] })).toThrow(/hiddenUnits must be positive integers/);
    expect(() => new MLPClassifier({ dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    await expect(new MLPClassifier().fit(train, ytrain.subarray(0, 5))).rejects.toThrow(/1000 rows but 5 labels/);
    const m = await new MLPClassifier({ hiddenUnits: [4], epochs: 1 }).fit(train, ytrain);
    expect(() => m.predictProba({ data: new Float32Array(5), rows: 1, cols: 5 })).toThrow(/MLPClassifier/);
  });
});
