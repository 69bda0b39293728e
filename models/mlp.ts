import type { Matrix } from './matrix.ts';
import { assertCols } from './matrix.ts';
import { Random } from '../datasets/index.ts';

export interface MLPParams {
  hiddenUnits: number[];
  dropout: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Forward passes with dropout kept on, for the predictive spread. */
  mcSamples: number;
  seed: number;
}

export const DEFAULT_MLP_PARAMS: MLPParams = { hiddenUnits: [64, 32], dropout: 0.2, epochs: 40, batchSize: 64, learningRate: 1e-3, mcSamples: 30, seed: 0 };
export const MLP_SCHEMA = 'sieve-mlp/1';

type Tf = typeof import('@tensorflow/tfjs');
let tfPromise: Promise<Tf> | null = null;

/**
 * TensorFlow.js: the native @tensorflow/tfjs-node when it is installed (an optional accelerator), else
 * the pure-JS @tensorflow/tfjs. Both give the same results for Sieve's small networks.
 */
export function loadTensorFlow(): Promise<Tf> {
  if (!tfPromise) {
    tfPromise = (async () => {
      const nodeBinding = '@tensorflow/tfjs-node';
      const native = await import(/* @vite-ignore */ nodeBinding).then((m) => m as Tf, () => null);
      const tf = native ?? (await import('@tensorflow/tfjs'));
      await tf.setBackend(native ? 'tensorflow' : 'cpu');
      return tf;
    })();
  }
  return tfPromise;
}

/**
 * A small multilayer perceptron (ReLU hidden layers, softmax output) trained with Adam in TensorFlow.js,
 * with inputs standardised. Dropout stays available at prediction time (Monte-Carlo dropout, Gal &
 * Ghahramani 2016): the spread of the class probability over `mcSamples` passes is the model's
 * uncertainty, which active learning queries on. Every random choice (initial weights, batch order,
 * dropout masks) comes from the seed; prediction runs in plain JS on the exported weights.
 */
export class MLPClassifier {
  readonly params: MLPParams;
  nFeatures = 0;
  nClasses = 0;
  mean: Float64Array = new Float64Array(0);
  scale: Float64Array = new Float64Array(0);
  /** Per layer: weights (in x out, row-major) and biases. */
  layers: Array<{ w: Float32Array; b: Float32Array; nIn: number; nOut: number }> = [];

  constructor(params: Partial<MLPParams> = {}) {
    this.params = { ...DEFAULT_MLP_PARAMS, ...params };
  }

  async fit(X: Matrix, y: ArrayLike<number>, nClasses?: number): Promise<this> {
    const tf = await loadTensorFlow();
    const p = this.params;
    const n = X.rows;
    const d = X.cols;
    if (y.length !== n) throw new RangeError(`MLPClassifier.fit: ${n} rows but ${y.length} labels`);
    let C = nClasses ?? 0;
    for (let i = 0; i < n; i++) C = Math.max(C, y[i] + 1);
    this.nFeatures = d;
    this.nClasses = C;
    // standardise (NaN -> 0 after centring, i.e. the mean)
    this.mean = new Float64Array(d);
    this.scale = new Float64Array(d).fill(1);
    for (let j = 0; j < d; j++) {
      let s = 0;
      let s2 = 0;
      let m = 0;
      for (let i = 0; i < n; i++) {
        const v = X.data[i * d + j];
        if (!Number.isFinite(v)) continue;
        s += v;
        s2 += v * v;
        m++;
      }
      const mu = m ? s / m : 0;
      const sd = m > 1 ? Math.sqrt(Math.max(0, s2 / m - mu * mu)) : 1;
      this.mean[j] = mu;
      this.scale[j] = sd > 0 ? sd : 1;
    }
    const Z = this.standardise(X);
    const rng = new Random(p.seed, 0x3a9);
    const sizes = [d, ...p.hiddenUnits, C];
    const vars = sizes.slice(1).map((nOut, k) => {
      const nIn = sizes[k];
      const limit = Math.sqrt(6 / (nIn + nOut)); // Glorot uniform
      const w = Float32Array.from({ length: nIn * nOut }, () => rng.uniform(-limit, limit));
      return { w: tf.variable(tf.tensor2d(w, [nIn, nOut])), b: tf.variable(tf.zeros([nOut])) };
    });
    const optimizer = tf.train.adam(p.learningRate);
    const order = Int32Array.from({ length: n }, (_, i) => i);
    const oneHot = new Float32Array(n * C);
    for (let i = 0; i < n; i++) oneHot[i * C + y[i]] = 1;
    for (let epoch = 0; epoch < p.epochs; epoch++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        const t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      for (let start = 0; start < n; start += p.batchSize) {
        const rows = order.subarray(start, Math.min(n, start + p.batchSize));
        const m = rows.length;
        const xb = new Float32Array(m * d);
        const yb = new Float32Array(m * C);
        rows.forEach((r, k) => {
          xb.set(Z.subarray(r * d, r * d + d), k * d);
          yb.set(oneHot.subarray(r * C, r * C + C), k * C);
        });
        const masks = p.hiddenUnits.map((u) => Float32Array.from({ length: m * u }, () => (rng.next() >= p.dropout ? 1 / (1 - p.dropout) : 0)));
        tf.tidy(() => {
          const xt = tf.tensor2d(xb, [m, d]);
          const yt = tf.tensor2d(yb, [m, C]);
          const maskTensors = masks.map((mk, k) => tf.tensor2d(mk, [m, p.hiddenUnits[k]]));
          optimizer.minimize(() => {
            let h: import('@tensorflow/tfjs').Tensor2D = xt;
            vars.forEach((v, k) => {
              h = h.matMul(v.w).add(v.b) as typeof h;
              if (k < vars.length - 1) h = tf.relu(h).mul(maskTensors[k]) as typeof h;
            });
            return tf.losses.softmaxCrossEntropy(yt, h) as import('@tensorflow/tfjs').Scalar;
          });
        });
      }
    }
    this.layers = vars.map((v, k) => ({ w: v.w.dataSync() as Float32Array, b: v.b.dataSync() as Float32Array, nIn: sizes[k], nOut: sizes[k + 1] }));
    for (const v of vars) {
      v.w.dispose();
      v.b.dispose();
    }
    optimizer.dispose();
    return this;
  }

  private standardise(X: Matrix): Float32Array {
    const d = X.cols;
    const Z = new Float32Array(X.data.length);
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < d; j++) {
      const v = X.data[i * d + j];
      Z[i * d + j] = Number.isFinite(v) ? (v - this.mean[j]) / this.scale[j] : 0;
    }
    return Z;
  }

  /** One forward pass; with `rng`, hidden units are dropped as in training (MC dropout). */
  private forward(Z: Float32Array, rows: number, rng: Random | null, out: Float64Array): void {
    const p = this.params;
    const C = this.nClasses;
    let h: Float64Array = Float64Array.from(Z);
    for (let k = 0; k < this.layers.length; k++) {
      const { w, b, nIn, nOut } = this.layers[k];
      const next = new Float64Array(rows * nOut);
      for (let i = 0; i < rows; i++) {
        for (let o = 0; o < nOut; o++) {
          let s = b[o];
          for (let q = 0; q < nIn; q++) s += h[i * nIn + q] * w[q * nOut + o];
          if (k < this.layers.length - 1) {
            s = s > 0 ? s : 0;
            if (rng) s = rng.next() >= p.dropout ? s / (1 - p.dropout) : 0;
          }
          next[i * nOut + o] = s;
        }
      }
      h = next;
    }
    for (let i = 0; i < rows; i++) {
      let mx = -Infinity;
      for (let c = 0; c < C; c++) mx = Math.max(mx, h[i * C + c]);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(h[i * C + c] - mx);
      for (let c = 0; c < C; c++) out[i * C + c] = Math.exp(h[i * C + c] - mx) / s;
    }
  }

  predictProba(X: Matrix): Float64Array {
    if (!this.layers.length) throw new Error('MLPClassifier: not fitted');
    assertCols(X, this.nFeatures, 'MLPClassifier');
    const out = new Float64Array(X.rows * this.nClasses);
    this.forward(this.standardise(X), X.rows, null, out);
    return out;
  }

  /** Monte-Carlo dropout: mean and standard deviation of the class probabilities over the passes. */
  predictProbaMC(X: Matrix, samples = this.params.mcSamples, seed = this.params.seed): { mean: Float64Array; std: Float64Array } {
    if (!this.layers.length) throw new Error('MLPClassifier: not fitted');
    assertCols(X, this.nFeatures, 'MLPClassifier');
    const Z = this.standardise(X);
    const n = X.rows * this.nClasses;
    const sum = new Float64Array(n);
    const sum2 = new Float64Array(n);
    const pass = new Float64Array(n);
    const rng = new Random(seed, 0xd0d0);
    for (let s = 0; s < samples; s++) {
      this.forward(Z, X.rows, rng, pass);
      for (let i = 0; i < n; i++) {
        sum[i] += pass[i];
        sum2[i] += pass[i] * pass[i];
      }
    }
    const mean = sum.map((v) => v / samples);
    const std = sum2.map((v, i) => Math.sqrt(Math.max(0, v / samples - mean[i] * mean[i])));
    return { mean, std };
  }

  predict(X: Matrix): Int32Array {
    const p = this.predictProba(X);
    const C = this.nClasses;
    return Int32Array.from({ length: X.rows }, (_, i) => {
      let best = 0;
      for (let c = 1; c < C; c++) if (p[i * C + c] > p[i * C + best]) best = c;
      return best;
    });
  }

  score(X: Matrix, y: ArrayLike<number>): number {
    const pred = this.predict(X);
    let ok = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) ok++;
    return pred.length ? ok / pred.length : NaN;
  }

  toJSON(): MLPJSON {
    return {
      schema: MLP_SCHEMA, params: this.params, nFeatures: this.nFeatures, nClasses: this.nClasses,
      mean: Array.from(this.mean), scale: Array.from(this.scale),
      layers: this.layers.map((l) => ({ nIn: l.nIn, nOut: l.nOut, w: Array.from(l.w), b: Array.from(l.b) })),
    };
  }

  static fromJSON(json: MLPJSON): MLPClassifier {
    if (json.schema !== MLP_SCHEMA) throw new Error(`MLPClassifier.fromJSON: schema '${json.schema}' is not ${MLP_SCHEMA}`);
    const m = new MLPClassifier(json.params);
    m.nFeatures = json.nFeatures;
    m.nClasses = json.nClasses;
    m.mean = Float64Array.from(json.mean);
    m.scale = Float64Array.from(json.scale);
    m.layers = json.layers.map((l) => ({ nIn: l.nIn, nOut: l.nOut, w: Float32Array.from(l.w), b: Float32Array.from(l.b) }));
    return m;
  }
}

export interface MLPJSON {
  schema: string;
  params: MLPParams;
  nFeatures: number;
  nClasses: number;
  mean: number[];
  scale: number[];
  layers: Array<{ nIn: number; nOut: number; w: number[]; b: number[] }>;
}
