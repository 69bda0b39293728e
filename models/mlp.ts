import type { Matrix } from './matrix.ts';
import { assertCols } from './matrix.ts';
import { Random } from '../datasets/index.ts';
import { checkCount, checkNumbers, MODEL_LIMITS, ModelStructureError } from './structure.ts';

/** TensorFlow.js backends Sieve trains on: WebAssembly (XNNPACK) or plain JavaScript. */
export type TfBackend = 'wasm' | 'cpu';

export interface MLPParams {
  hiddenUnits: number[];
  /** Dropout rate after every hidden layer, in training and in the Monte-Carlo passes. */
  dropout: number;
  /** Most passes over the training rows; early stopping usually ends training sooner. */
  epochs: number;
  /** Epochs without a lower validation loss before training stops (the best epoch's weights are kept). */
  patience: number;
  /** Share of the training objects (groups) held out for early stopping; 0 trains all `epochs`. */
  validationFraction: number;
  batchSize: number;
  learningRate: number;
  /** Forward passes with dropout kept on, for the predictive mean and spread. */
  mcSamples: number;
  /** 'balanced': each class weighs n / (K n_c) in the loss, as the forests' class weights. */
  classWeight: 'balanced' | null;
  /**
   * A missing feature (NaN, infinite): 'impute' puts the training median in its place and adds an input that
   * is 1 where the feature was missing (for every feature missing somewhere in the training rows); 'refuse'
   * trains on complete rows only and gives NaN probabilities for a row with a missing feature.
   */
  missing: 'impute' | 'refuse';
  /**
   * 'robust-asinh': each feature centred on its training median, divided by its robust spread (1.4826 x the
   * median absolute deviation; the mean absolute deviation where that is 0) and passed through asinh, then
   * standardised: linear within about one spread, logarithmic in the tails, whatever the feature's units
   * (fluxes, chi2 and fit amplitudes are heavy-tailed). 'standard': standardised as they are.
   */
  scaling: 'robust-asinh' | 'standard';
  backend: TfBackend;
  seed: number;
}

export const DEFAULT_MLP_PARAMS: MLPParams = {
  hiddenUnits: [64, 32], dropout: 0.2, epochs: 100, patience: 10, validationFraction: 0.2, batchSize: 64, learningRate: 1e-3, mcSamples: 30,
  classWeight: 'balanced', missing: 'impute', scaling: 'robust-asinh', backend: 'wasm', seed: 0,
};
export const MLP_SCHEMA = 'sieve-mlp/2';
/** Fewer training objects than this: no validation split, training runs all `epochs`. */
export const MIN_OBJECTS_FOR_EARLY_STOPPING = 20;

type Tf = typeof import('@tensorflow/tfjs');
const tfLoaded = new Map<TfBackend, Promise<Tf>>();

/**
 * TensorFlow.js (@tensorflow/tfjs) on the chosen backend, loaded on first use: only a process that trains a
 * network pays for it (prediction runs in plain JS on the exported weights). The WASM backend's binary is
 * read from node_modules, so it needs no network.
 */
export function loadTensorFlow(backend: TfBackend): Promise<Tf> {
  let p = tfLoaded.get(backend);
  if (!p) {
    p = (async () => {
      const tf = await import('@tensorflow/tfjs');
      // production mode: no debug checks, and no "install tfjs-node" banner on stderr
      tf.enableProdMode();
      if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend(backend))) throw new Error(`TensorFlow.js: the ${backend} backend did not initialise`);
      return tf;
    })();
    tfLoaded.set(backend, p);
  }
  return p.then(async (tf) => {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    return tf;
  });
}

/** A dropout decision takes 16 random bits: the unit is dropped when they are below round(rate x 65536). */
export function dropoutThreshold(rate: number): number {
  return Math.round(rate * 65536);
}

/** 16-bit random draws, two per 32-bit output of the generator. */
class Bits16 {
  private spare = -1;
  constructor(private readonly rng: Random) {}
  next(): number {
    if (this.spare >= 0) {
      const v = this.spare;
      this.spare = -1;
      return v;
    }
    const u = this.rng.nextUint32();
    this.spare = u >>> 16;
    return u & 0xffff;
  }
}

interface Layer {
  w: Float32Array;
  b: Float32Array;
  nIn: number;
  nOut: number;
}

/** Scratch buffers of one forward pass (the compacted non-zero inputs of a layer and their weight rows). */
interface Scratch {
  values: Float64Array;
  rows: Int32Array;
  /** A layer's biases as float64: `accumulate` then reads one array type only (V8 keeps it monomorphic). */
  bias: Float64Array;
}

/**
 * out = init + sum over t of values[t] x W[rows[t] .. rows[t] + nOut) (W row-major nIn x nOut, rows[t] the
 * offset of an input's row), with ReLU on hidden layers. Eight outputs accumulate at once in registers: on
 * this VM a loop that stores every iteration runs several times slower.
 */
function accumulate(s: Scratch, nz: number, w: Float32Array, init: Float64Array, out: Float64Array, nOut: number, relu: boolean): void {
  const iv = s.values;
  const ii = s.rows;
  let o = 0;
  for (; o + 8 <= nOut; o += 8) {
    let s0 = init[o], s1 = init[o + 1], s2 = init[o + 2], s3 = init[o + 3], s4 = init[o + 4], s5 = init[o + 5], s6 = init[o + 6], s7 = init[o + 7];
    for (let t = 0; t < nz; t++) {
      const x = iv[t];
      const k = ii[t] + o;
      s0 += x * w[k];
      s1 += x * w[k + 1];
      s2 += x * w[k + 2];
      s3 += x * w[k + 3];
      s4 += x * w[k + 4];
      s5 += x * w[k + 5];
      s6 += x * w[k + 6];
      s7 += x * w[k + 7];
    }
    if (relu) {
      out[o] = s0 > 0 ? s0 : 0; out[o + 1] = s1 > 0 ? s1 : 0; out[o + 2] = s2 > 0 ? s2 : 0; out[o + 3] = s3 > 0 ? s3 : 0;
      out[o + 4] = s4 > 0 ? s4 : 0; out[o + 5] = s5 > 0 ? s5 : 0; out[o + 6] = s6 > 0 ? s6 : 0; out[o + 7] = s7 > 0 ? s7 : 0;
    } else {
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3; out[o + 4] = s4; out[o + 5] = s5; out[o + 6] = s6; out[o + 7] = s7;
    }
  }
  for (; o < nOut; o++) {
    let acc = init[o];
    for (let t = 0; t < nz; t++) acc += iv[t] * w[ii[t] + o];
    out[o] = relu && !(acc > 0) ? 0 : acc;
  }
}

/**
 * One dense layer for one row: out = inputs x W + b, ReLU on hidden layers. Zero inputs (ReLU's, dropped
 * units) are skipped; with `drop`, each non-zero input is dropped or scaled by 1/(1 - rate) (Monte-Carlo
 * dropout).
 */
function dense(inputs: Float64Array, layer: Layer, out: Float64Array, relu: boolean, s: Scratch, drop: Dropout | null): void {
  const iv = s.values;
  const ii = s.rows;
  const nOut = layer.nOut;
  let nz = 0;
  for (let q = 0; q < layer.nIn; q++) {
    let x = inputs[q];
    if (x === 0) continue;
    if (drop) {
      if (drop.bits.next() < drop.threshold) continue;
      x *= drop.scale;
    }
    iv[nz] = x;
    ii[nz++] = q * nOut;
  }
  accumulate(s, nz, layer.w, biasOf(layer, s), out, nOut, relu);
}

function biasOf(layer: Layer, s: Scratch): Float64Array {
  const b = s.bias;
  for (let o = 0; o < layer.nOut; o++) b[o] = layer.b[o];
  return b;
}

interface Dropout {
  bits: Bits16;
  threshold: number;
  scale: number;
}

/** Softmax of logits into out (both length C); returns the entropy of the result in nats. */
function softmax(logits: Float64Array, out: Float64Array, C: number): number {
  let mx = -Infinity;
  for (let c = 0; c < C; c++) if (logits[c] > mx) mx = logits[c];
  let s = 0;
  for (let c = 0; c < C; c++) s += (out[c] = Math.exp(logits[c] - mx));
  let h = 0;
  for (let c = 0; c < C; c++) {
    const p = (out[c] /= s);
    if (p > 0) h -= p * Math.log(p);
  }
  return h;
}

/** A row's own random stream for its Monte-Carlo passes: a hash of its feature bits, so an alert gets the same passes wherever it is scored. */
function rowStream(data: Float32Array, bits: Int32Array, offset: number, d: number): number {
  let h = 0x811c9dc5 | 0;
  for (let j = offset; j < offset + d; j++) h = Math.imul(h ^ (data[j] !== data[j] ? 0x7fc00000 : bits[j]), 0x01000193);
  return h;
}

/** Monte-Carlo dropout output: per class (n x C) the mean and standard deviation over the passes, and per row the mean entropy of a pass and each class's votes. */
export interface MCPrediction {
  mean: Float64Array;
  std: Float64Array;
  /** Mean over the passes of each pass's entropy (nats): predictive entropy minus this is BALD's mutual information. */
  expectedEntropy: Float64Array;
  /** Passes whose most probable class is c (n x C): a committee of the passes. */
  votes: Float64Array;
  samples: number;
}

/**
 * A multilayer perceptron (ReLU hidden layers, dropout after each, softmax output) trained with Adam in
 * TensorFlow.js, for two classes or more. Inputs are standardised with training statistics kept in the model;
 * missing features are imputed (training median + missing-indicator inputs) or refused (`missing`). Training
 * stops early on the loss of a validation split of the training objects and keeps the best epoch's weights.
 * Dropout stays on in `predictProbaMC` (Monte-Carlo dropout, Gal & Ghahramani 2016): the mean and spread of
 * the class probabilities over the passes are the network's uncertainty. Every random choice (initial
 * weights, validation split, batch order, dropout masks) comes from the seed, so a seed gives the same weights
 * on a backend; prediction runs in plain JS on the weights.
 */
export class MLPClassifier {
  readonly params: MLPParams;
  nFeatures = 0;
  nClasses = 0;
  /**
   * Per feature: the value a missing one takes (training median), the robust spread of 'robust-asinh' (empty
   * for 'standard'), and the standardisation (mean and scale of the finite training values, after asinh).
   */
  median: Float64Array = new Float64Array(0);
  robustScale: Float64Array = new Float64Array(0);
  mean: Float64Array = new Float64Array(0);
  scale: Float64Array = new Float64Array(0);
  /** Features that get a missing-indicator input, in input order after the standardised features. */
  indicators: Int32Array = new Int32Array(0);
  layers: Layer[] = [];
  /** What training did: epochs run, the epoch whose weights were kept, its validation loss (null: no split). */
  training: { epochs: number; bestEpoch: number; validationLoss: number | null; trainRows: number; validationRows: number } | null = null;
  private forwardBuffers: ReturnType<MLPClassifier['scratch']> | null = null;

  constructor(params: Partial<MLPParams> = {}) {
    this.params = { ...DEFAULT_MLP_PARAMS, ...params };
    const p = this.params;
    if (!p.hiddenUnits.length || p.hiddenUnits.some((u) => !Number.isInteger(u) || u < 1)) throw new RangeError(`MLPClassifier: hiddenUnits must be positive integers (got ${JSON.stringify(p.hiddenUnits)})`);
    if (!(p.dropout >= 0 && p.dropout < 1)) throw new RangeError(`MLPClassifier: dropout must be in [0, 1) (got ${p.dropout})`);
  }

  get nInputs(): number {
    return this.nFeatures + this.indicators.length;
  }

  /** Rows with every feature finite; `refuse` trains and predicts on these only. */
  private complete(X: Matrix, i: number): boolean {
    const d = X.cols;
    for (let j = 0; j < d; j++) if (!Number.isFinite(X.data[i * d + j])) return false;
    return true;
  }

  /** Training statistics of the feature columns over the given rows. */
  private learnInputs(X: Matrix, rows: readonly number[]): void {
    const d = X.cols;
    const asinh = this.params.scaling === 'robust-asinh';
    this.median = new Float64Array(d);
    this.robustScale = asinh ? new Float64Array(d).fill(1) : new Float64Array(0);
    this.mean = new Float64Array(d);
    this.scale = new Float64Array(d).fill(1);
    const missing: number[] = [];
    const col = new Float64Array(rows.length);
    const dev = new Float64Array(rows.length);
    const median = (sorted: Float64Array) => (sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2);
    for (let j = 0; j < d; j++) {
      let m = 0;
      for (const i of rows) {
        const v = X.data[i * d + j];
        if (Number.isFinite(v)) col[m++] = v;
      }
      if (m < rows.length) missing.push(j);
      if (!m) continue;
      const finite = col.subarray(0, m).sort();
      const med = (this.median[j] = median(finite));
      if (asinh) {
        let sum = 0;
        for (let k = 0; k < m; k++) sum += (dev[k] = Math.abs(finite[k] - med));
        const mad = 1.4826 * median(dev.subarray(0, m).sort());
        const spread = mad > 0 ? mad : sum / m;
        this.robustScale[j] = spread > 0 ? spread : 1;
        for (let k = 0; k < m; k++) finite[k] = Math.asinh((finite[k] - med) / this.robustScale[j]);
      }
      let s = 0;
      for (let k = 0; k < m; k++) s += finite[k];
      const mu = s / m;
      let ss = 0;
      for (let k = 0; k < m; k++) ss += (finite[k] - mu) ** 2;
      const sd = Math.sqrt(ss / m);
      this.mean[j] = mu;
      this.scale[j] = sd > 0 ? sd : 1;
    }
    this.indicators = Int32Array.from(this.params.missing === 'impute' ? missing : []);
  }

  /** The network's input row: the features scaled (missing: the median), then the missing indicators. False: a refused row. */
  private inputRow(X: Matrix, i: number, out: Float64Array): boolean {
    const d = X.cols;
    const refuse = this.params.missing === 'refuse';
    const asinh = this.robustScale.length > 0;
    for (let j = 0; j < d; j++) {
      let v = X.data[i * d + j];
      if (!Number.isFinite(v)) {
        if (refuse) return false;
        v = this.median[j];
      }
      if (asinh) v = Math.asinh((v - this.median[j]) / this.robustScale[j]);
      out[j] = (v - this.mean[j]) / this.scale[j];
    }
    for (let k = 0; k < this.indicators.length; k++) out[d + k] = Number.isFinite(X.data[i * d + this.indicators[k]]) ? 0 : 1;
    return true;
  }

  /**
   * Trains from scratch. `groups` (e.g. object ids: the alerts of one object are not independent) decides the
   * validation split; without it each row is its own group.
   */
  async fit(X: Matrix, y: ArrayLike<number>, nClasses?: number, opts: { groups?: ArrayLike<string> } = {}): Promise<this> {
    const p = this.params;
    const n = X.rows;
    const d = X.cols;
    if (y.length !== n) throw new RangeError(`MLPClassifier.fit: ${n} rows but ${y.length} labels`);
    if (opts.groups && opts.groups.length !== n) throw new RangeError(`MLPClassifier.fit: ${n} rows but ${opts.groups.length} groups`);
    let C = nClasses ?? 0;
    for (let i = 0; i < n; i++) C = Math.max(C, y[i] + 1);
    const used: number[] = [];
    for (let i = 0; i < n; i++) if (p.missing === 'impute' || this.complete(X, i)) used.push(i);
    if (!used.length) throw new Error(`MLPClassifier.fit: no training row${p.missing === 'refuse' ? ' with every feature present (missing: refuse)' : ''}`);
    this.nFeatures = d;
    this.nClasses = C;
    this.forwardBuffers = null;
    this.learnInputs(X, used);
    const nIn = this.nInputs;
    const rng = new Random(p.seed, 0x3a9);

    // validation split by group, seeded; kept only when the training part still has every class
    const groupOf = (i: number) => (opts.groups ? String(opts.groups[i]) : String(i));
    const groups = [...new Set(used.map(groupOf))];
    const nValGroups = groups.length >= MIN_OBJECTS_FOR_EARLY_STOPPING ? Math.round(p.validationFraction * groups.length) : 0;
    const splitRng = new Random(p.seed, 0x5a1);
    for (let i = groups.length - 1; i > 0; i--) {
      const j = Math.floor(splitRng.next() * (i + 1));
      [groups[i], groups[j]] = [groups[j], groups[i]];
    }
    const valGroups = new Set(groups.slice(0, nValGroups));
    let trainRows = used.filter((i) => !valGroups.has(groupOf(i)));
    let valRows = used.filter((i) => valGroups.has(groupOf(i)));
    const classesOf = (rows: number[]) => new Set(rows.map((i) => y[i])).size;
    if (!valRows.length || classesOf(trainRows) < classesOf(used)) {
      trainRows = used;
      valRows = [];
    }

    const nTr = trainRows.length;
    const count = new Float64Array(C);
    for (const i of trainRows) count[y[i]]++;
    const present = count.filter((c) => c > 0).length;
    const classWeight = Float64Array.from(count, (c) => (p.classWeight === 'balanced' && c > 0 ? nTr / (present * c) : 1));
    const Z = new Float32Array(nTr * nIn);
    const oneHot = new Float32Array(nTr * C);
    const weight = new Float32Array(nTr);
    const row = new Float64Array(nIn);
    trainRows.forEach((i, k) => {
      this.inputRow(X, i, row);
      Z.set(row, k * nIn);
      oneHot[k * C + y[i]] = 1;
      weight[k] = classWeight[y[i]];
    });

    const tf = await loadTensorFlow(p.backend);
    // from here on everything is synchronous: no other fit can switch the backend meanwhile
    const sizes = [nIn, ...p.hiddenUnits, C];
    const init = sizes.slice(1).map((nOut, k) => {
      const nInK = sizes[k];
      const limit = Math.sqrt(6 / (nInK + nOut)); // Glorot uniform
      return { nIn: nInK, nOut, w: Float32Array.from({ length: nInK * nOut }, () => rng.uniform(-limit, limit)), b: new Float32Array(nOut) };
    });
    const vars = init.map((l) => ({ w: tf.variable(tf.tensor2d(l.w, [l.nIn, l.nOut])), b: tf.variable(tf.tensor1d(l.b)) }));
    const optimizer = tf.train.adam(p.learningRate);
    const xAll = tf.tensor2d(Z, [nTr, nIn]);
    const yAll = tf.tensor2d(oneHot, [nTr, C]);
    const wAll = tf.tensor1d(weight);
    const order = Int32Array.from({ length: nTr }, (_, i) => i);
    const threshold = dropoutThreshold(p.dropout);
    const keepScale = 65536 / (65536 - threshold);
    const bits = new Bits16(rng);
    const snapshot = (): Layer[] => vars.map((v, k) => ({ nIn: sizes[k], nOut: sizes[k + 1], w: Float32Array.from(v.w.dataSync() as Float32Array), b: Float32Array.from(v.b.dataSync() as Float32Array) }));
    let best: Layer[] | null = null;
    let bestLoss = Infinity;
    let bestEpoch = 0;
    let epochs = 0;
    try {
      for (let epoch = 1; epoch <= p.epochs; epoch++) {
        for (let i = nTr - 1; i > 0; i--) {
          const j = Math.floor(rng.next() * (i + 1));
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
        for (let start = 0; start < nTr; start += p.batchSize) {
          const idx = order.slice(start, Math.min(nTr, start + p.batchSize));
          const m = idx.length;
          const masks = p.hiddenUnits.map((u) => {
            const mk = new Float32Array(m * u);
            for (let k = 0; k < mk.length; k++) mk[k] = bits.next() < threshold ? 0 : keepScale;
            return mk;
          });
          tf.tidy(() => {
            const ib = tf.tensor1d(idx, 'int32');
            const xb = tf.gather(xAll, ib) as import('@tensorflow/tfjs').Tensor2D;
            const yb = tf.gather(yAll, ib);
            const wb = tf.gather(wAll, ib);
            const maskTensors = masks.map((mk, k) => tf.tensor2d(mk, [m, p.hiddenUnits[k]]));
            optimizer.minimize(() => {
              let h = xb;
              vars.forEach((v, k) => {
                h = tf.add(tf.matMul(h, v.w), v.b);
                if (k < vars.length - 1) h = tf.mul(tf.relu(h), maskTensors[k]);
              });
              return tf.losses.softmaxCrossEntropy(yb, h, wb) as import('@tensorflow/tfjs').Scalar;
            });
          });
        }
        epochs = epoch;
        if (!valRows.length) continue;
        this.layers = snapshot();
        const loss = this.weightedLoss(X, y, valRows, classWeight);
        if (loss < bestLoss) {
          bestLoss = loss;
          bestEpoch = epoch;
          best = this.layers;
        } else if (epoch - bestEpoch >= p.patience) break;
      }
      this.layers = best ?? snapshot();
    } finally {
      for (const v of vars) {
        v.w.dispose();
        v.b.dispose();
      }
      xAll.dispose();
      yAll.dispose();
      wAll.dispose();
      optimizer.dispose();
    }
    this.training = { epochs, bestEpoch: best ? bestEpoch : epochs, validationLoss: best ? bestLoss : null, trainRows: nTr, validationRows: valRows.length };
    return this;
  }

  /** Mean class-weighted cross-entropy over rows, dropout off (the early-stopping criterion, as the training loss). */
  private weightedLoss(X: Matrix, y: ArrayLike<number>, rows: readonly number[], classWeight: Float64Array): number {
    const C = this.nClasses;
    const out = new Float64Array(C);
    let s = 0;
    for (const i of rows) {
      this.forwardRow(X, i, out);
      s += classWeight[y[i]] * -Math.log(Math.max(out[y[i]], 1e-30));
    }
    return s / rows.length;
  }

  private scratch(): { a: Float64Array; b: Float64Array; p: Float64Array; s: Scratch } {
    // one slot more than the widest layer: the pass loop writes a candidate past the last before deciding on it
    const width = Math.max(this.nInputs, ...this.layers.map((l) => l.nOut)) + 1;
    return { a: new Float64Array(width), b: new Float64Array(width), p: new Float64Array(this.nClasses), s: { values: new Float64Array(width), rows: new Int32Array(width), bias: new Float64Array(width) } };
  }

  /** One row, dropout off: its C probabilities (NaN for a refused row) into out from offset o. */
  private forwardRow(X: Matrix, i: number, out: Float64Array, o = 0): void {
    const buf = (this.forwardBuffers ??= this.scratch());
    const C = this.nClasses;
    let h = buf.a;
    let next = buf.b;
    if (!this.inputRow(X, i, h)) {
      out.fill(NaN, o, o + C);
      return;
    }
    const L = this.layers.length;
    for (let k = 0; k < L; k++) {
      dense(h, this.layers[k], next, k < L - 1, buf.s, null);
      [h, next] = [next, h];
    }
    softmax(h, buf.p, C);
    for (let c = 0; c < C; c++) out[o + c] = buf.p[c];
  }

  private assertFitted(X: Matrix): void {
    if (!this.layers.length) throw new Error('MLPClassifier: not fitted');
    assertCols(X, this.nFeatures, 'MLPClassifier');
  }

  /** Class probabilities with dropout off (n x C, row-major): what the broker scores and the ONNX export computes. */
  predictProba(X: Matrix): Float64Array {
    this.assertFitted(X);
    const C = this.nClasses;
    const out = new Float64Array(X.rows * C);
    for (let i = 0; i < X.rows; i++) this.forwardRow(X, i, out, i * C);
    return out;
  }

  /**
   * Monte-Carlo dropout: `samples` passes per row with dropout on. The first layer's output does not depend
   * on the masks and is computed once per row; each row draws its passes from its own stream (its features'
   * hash and `seed`), so results do not depend on what else is scored with it.
   */
  predictProbaMC(X: Matrix, samples = this.params.mcSamples, seed = this.params.seed): MCPrediction {
    this.assertFitted(X);
    const C = this.nClasses;
    const n = X.rows;
    const d = X.cols;
    const mean = new Float64Array(n * C);
    const std = new Float64Array(n * C);
    const expectedEntropy = new Float64Array(n);
    const votes = new Float64Array(n * C);
    const threshold = dropoutThreshold(this.params.dropout);
    const drop: Dropout = { bits: new Bits16(new Random(seed)), threshold, scale: 65536 / (65536 - threshold) };
    const { a: input, s } = this.scratch();
    const first = new Float64Array(this.layers[0].nOut);
    const width = Math.max(...this.layers.map((l) => l.nOut));
    const buffers = [new Float64Array(width), new Float64Array(width)];
    const allKept = new Float64Array(this.layers[1].nOut);
    const active = new Int32Array(this.layers[0].nOut);
    const dropValue = new Float64Array(this.layers[0].nOut + 1);
    const dropRow = new Int32Array(this.layers[0].nOut + 1);
    const probs = new Float64Array(C);
    const L = this.layers.length;
    const dataBits = new Int32Array(X.data.buffer, X.data.byteOffset, X.data.length);
    for (let i = 0; i < n; i++) {
      const o = i * C;
      if (!this.inputRow(X, i, input)) {
        mean.fill(NaN, o, o + C);
        std.fill(NaN, o, o + C);
        expectedEntropy[i] = NaN;
        continue;
      }
      // hidden units exist (L >= 2): dropout acts on every layer's input but the first. The first hidden
      // layer's output is the same in every pass, so the second layer's input sum with every unit kept is
      // computed once, and each pass subtracts its dropped units (about a fifth) instead of adding the rest.
      dense(input, this.layers[0], first, true, s, null);
      const second = this.layers[1];
      const H = second.nOut;
      let nz = 0;
      for (let q = 0; q < first.length; q++) if (first[q] !== 0) active[nz++] = q;
      for (let t = 0; t < nz; t++) {
        s.values[t] = drop.scale * first[active[t]];
        s.rows[t] = active[t] * H;
        dropValue[t] = -s.values[t];
        dropRow[t] = s.rows[t];
      }
      accumulate(s, nz, second.w, biasOf(second, s), allKept, H, false);
      const rng = new Random(seed, rowStream(X.data, dataBits, i * d, d));
      drop.bits = new Bits16(rng);
      let hSum = 0;
      for (let k = 0; k < samples; k++) {
        const pre = buffers[1];
        let nDropped = 0;
        // branch-free, two 16-bit decisions per draw: which units drop is a coin flip no branch predictor guesses
        for (let t = 0; t < nz; t += 2) {
          const u = rng.nextUint32();
          s.values[nDropped] = dropValue[t];
          s.rows[nDropped] = dropRow[t];
          nDropped += (u & 0xffff) < threshold ? 1 : 0;
          s.values[nDropped] = dropValue[t + 1];
          s.rows[nDropped] = dropRow[t + 1];
          nDropped += t + 1 < nz && u >>> 16 < threshold ? 1 : 0;
        }
        accumulate(s, nDropped, second.w, allKept, pre, H, L > 2);
        let cur = pre;
        for (let l = 2; l < L; l++) {
          const out = buffers[l & 1];
          dense(cur, this.layers[l], out, l < L - 1, s, drop);
          cur = out;
        }
        hSum += softmax(cur, probs, C);
        let top = 0;
        for (let c = 0; c < C; c++) {
          mean[o + c] += probs[c];
          std[o + c] += probs[c] * probs[c];
          if (probs[c] > probs[top]) top = c;
        }
        votes[o + top]++;
      }
      expectedEntropy[i] = hSum / samples;
      for (let c = 0; c < C; c++) {
        const m = mean[o + c] / samples;
        mean[o + c] = m;
        std[o + c] = Math.sqrt(Math.max(0, std[o + c] / samples - m * m));
      }
    }
    return { mean, std, expectedEntropy, votes, samples };
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

  toJSON(): MLPJSON {
    return {
      schema: MLP_SCHEMA, params: this.params, nFeatures: this.nFeatures, nClasses: this.nClasses,
      median: Array.from(this.median), robustScale: Array.from(this.robustScale), mean: Array.from(this.mean), scale: Array.from(this.scale), indicators: Array.from(this.indicators),
      layers: this.layers.map((l) => ({ nIn: l.nIn, nOut: l.nOut, w: Array.from(l.w), b: Array.from(l.b) })),
      training: this.training,
    };
  }

  /** Layers that chain (nFeatures in, nClasses out), weights and biases of their sizes, all finite. */
  static checkJSON(json: unknown, what = 'MLP'): asserts json is MLPJSON {
    if (!json || typeof json !== 'object' || (json as MLPJSON).schema !== MLP_SCHEMA) throw new ModelStructureError(`${what}: not a ${MLP_SCHEMA} model`);
    const j = json as MLPJSON;
    const d = checkCount(j.nFeatures, `${what}: nFeatures`, 1, MODEL_LIMITS.maxFeatures);
    const C = checkCount(j.nClasses, `${what}: nClasses`, 1, MODEL_LIMITS.maxClasses);
    checkNumbers(j.mean, `${what}: mean`, { length: d, finite: true });
    checkNumbers(j.scale, `${what}: scale`, { length: d, finite: true });
    if (!Array.isArray(j.layers) || j.layers.length === 0 || j.layers.length > 64) throw new ModelStructureError(`${what}: layers is not a list of 1 to 64 layers`);
    let nIn = d;
    j.layers.forEach((l, k) => {
      if (!l || typeof l !== 'object' || l.nIn !== nIn) throw new ModelStructureError(`${what}: layer ${k} does not take the ${nIn} inputs the previous layer gives`);
      const nOut = checkCount(l.nOut, `${what}: layer ${k} nOut`, 1, 1 << 14);
      if (nIn * nOut > MODEL_LIMITS.maxNodes) throw new ModelStructureError(`${what}: layer ${k} has ${nIn * nOut} weights, more than ${MODEL_LIMITS.maxNodes}`);
      checkNumbers(l.w, `${what}: layer ${k} w`, { length: nIn * nOut, finite: true });
      checkNumbers(l.b, `${what}: layer ${k} b`, { length: nOut, finite: true });
      nIn = nOut;
    });
    if (nIn !== C) throw new ModelStructureError(`${what}: the last layer gives ${nIn} outputs for ${C} classes`);
  }

  static fromJSON(json: MLPJSON): MLPClassifier {
    MLPClassifier.checkJSON(json, 'MLPClassifier.fromJSON');
    const m = new MLPClassifier(json.params);
    m.nFeatures = json.nFeatures;
    m.nClasses = json.nClasses;
    m.median = Float64Array.from(json.median);
    m.robustScale = Float64Array.from(json.robustScale);
    m.mean = Float64Array.from(json.mean);
    m.scale = Float64Array.from(json.scale);
    m.indicators = Int32Array.from(json.indicators);
    m.layers = json.layers.map((l) => ({ nIn: l.nIn, nOut: l.nOut, w: Float32Array.from(l.w), b: Float32Array.from(l.b) }));
    m.training = json.training;
    return m;
  }
}

export interface MLPJSON {
  schema: string;
  params: MLPParams;
  nFeatures: number;
  nClasses: number;
  median: number[];
  robustScale: number[];
  mean: number[];
  scale: number[];
  indicators: number[];
  layers: Array<{ nIn: number; nOut: number; w: number[]; b: number[] }>;
  training: MLPClassifier['training'];
}
