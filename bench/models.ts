/**
 * Model benchmarks on generated tables (Gaussian blobs; 25 columns is the width of Fink's anomaly
 * features): random-forest and isolation-forest fit/predict side by side with scikit-learn in the same run,
 * and one AAD update followed by a full re-ranking. scikit-learn is timed the same way (median of 3), without
 * warm-up runs: it has no JIT, and its first call was not slower when measured.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AADForest, IsolationForest, MLPClassifier, RandomForestClassifier, Random, dropoutThreshold, loadTensorFlow, type Matrix, type TfBackend } from '../models/index.ts';
import { benchFile, ROOT } from './paths.ts';

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

/**
 * CPU-seconds of this process for f (median of `repeat` runs after `warmup` untimed ones), as the baseline
 * counts them. Prediction is warmed up twice: in a scorer or a retrain loop it runs many times, so the time
 * that matters is the optimising compiler's, not the first call's.
 */
function cpuSeconds<T>(f: () => T, repeat = 3, warmup = 0): [T, number] {
  const times: number[] = [];
  let r!: T;
  for (let k = 0; k < warmup; k++) f();
  for (let k = 0; k < repeat; k++) {
    const c0 = process.cpuUsage();
    r = f();
    const c = process.cpuUsage(c0);
    times.push((c.user + c.system) / 1e6);
  }
  times.sort((x, y) => x - y);
  return [r, times[Math.floor(times.length / 2)]];
}

export interface SideBySideRow {
  what: string;
  sieveCpuSeconds: number;
  /** null: the baseline could not run here (the reason is in `baselineNote`). */
  baselineCpuSeconds: number | null;
  baseline: string;
  baselineNote?: string;
}

const DEBIAN_PYTHON = '/usr/bin/python3';

/** scikit-learn on the same tables, in a child process (Debian's python3-sklearn); null when it cannot run. */
function sklearnBaseline(tables: Array<{ name: string; X: Matrix; y: Int32Array }>): { result: Record<string, Record<string, number>> | null; note: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sieve-bench-'));
  try {
    for (const t of tables) {
      writeFileSync(path.join(dir, `${t.name}.f32`), Buffer.from(t.X.data.buffer, t.X.data.byteOffset, t.X.data.byteLength));
      writeFileSync(path.join(dir, `${t.name}.i32`), Buffer.from(t.y.buffer, t.y.byteOffset, t.y.byteLength));
    }
    const script = benchFile('baselines/sklearn_forests.py');
    const r = spawnSync(DEBIAN_PYTHON, ['-B', script, dir, ...tables.map((t) => `${t.name}:${t.X.rows}:${t.X.cols}`)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (r.error) return { result: null, note: `${DEBIAN_PYTHON}: ${r.error.message}` };
    if (r.status !== 0) return { result: null, note: (r.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 160) };
    const json = JSON.parse(r.stdout) as Record<string, Record<string, number>> & { sklearn: string };
    return { result: json, note: `scikit-learn ${json.sklearn}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Random forest and isolation forest against scikit-learn on the same generated tables (the two
 * sizes), one core each, CPU-seconds, median of 3 (fit of the random forest: one run each side).
 */
export function runForestSideBySide(): SideBySideRow[] {
  const tables = [
    { name: 't20k', label: '20,000 x 25', ...blobs(20_000, 25, 1) },
    { name: 't10k', label: '10,000 x 30', ...blobs(10_000, 30, 3) },
    { name: 't100k', label: '100,000 x 25', ...blobs(100_000, 25, 2) },
  ];
  const base = sklearnBaseline(tables);
  const rows: SideBySideRow[] = [];
  const row = (what: string, sieve: number, table: string, key: string) => rows.push({
    what, sieveCpuSeconds: sieve, baselineCpuSeconds: base.result?.[table]?.[key] ?? null, baseline: base.note,
    ...(base.result ? {} : { baselineNote: 'baseline unavailable' }),
  });
  for (const t of tables) {
    const [rf, fit] = cpuSeconds(() => new RandomForestClassifier({ nEstimators: 100, seed: 1 }).fit(t.X, t.y), 1);
    row(`random forest fit, 100 trees, ${t.label}`, fit, t.name, 'rfFit');
    row(`random forest predict, 100 trees, ${t.label}`, cpuSeconds(() => rf.predictProba(t.X), 3, 2)[1], t.name, 'rfPredict');
    const [iso, ifFit] = cpuSeconds(() => new IsolationForest({ nEstimators: 100, seed: 1 }).fit(t.X));
    row(`isolation forest fit, 100 trees, ${t.label}`, ifFit, t.name, 'ifFit');
    row(`isolation forest score, ${t.label}`, cpuSeconds(() => iso.score(t.X), 3, 2)[1], t.name, 'ifScore');
  }
  return rows;
}

export function runModelBenchmarks(): Array<{ what: string; seconds: number; goal?: string }> {
  const rows: Array<{ what: string; seconds: number; goal?: string }> = [];
  const big = blobs(100_000, 25, 2);
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

export interface NetworkRow {
  what: string;
  cpuSeconds: number;
  wallSeconds: number;
  goal?: string;
}

async function cpuAndWall<T>(f: () => Promise<T> | T): Promise<[T, number, number]> {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  const r = await f();
  const c = process.cpuUsage(c0);
  return [r, (c.user + c.system) / 1e6, (performance.now() - w0) / 1000];
}

/**
 * The same Monte-Carlo passes in TensorFlow.js, layer by layer on whole batches (tf.dropout draws the masks),
 * only to compare a backend with Sieve's JS passes; Sieve does not score this way.
 */
async function tfjsMcMean(m: MLPClassifier, X: Matrix, samples: number, backend: TfBackend): Promise<Float32Array> {
  const tf = await loadTensorFlow(backend);
  const rate = dropoutThreshold(m.params.dropout) / 65536;
  return tf.tidy(() => {
    const z = new Float32Array(X.rows * X.cols);
    for (let i = 0; i < z.length; i++) z[i] = (X.data[i] - m.mean[i % X.cols]) / m.scale[i % X.cols];
    const layers = m.layers.map((l) => ({ w: tf.tensor2d(l.w, [l.nIn, l.nOut]), b: tf.tensor1d(l.b) }));
    const first = tf.relu(tf.add(tf.matMul(tf.tensor2d(z, [X.rows, X.cols]), layers[0].w), layers[0].b));
    let sum = tf.zeros([X.rows, m.nClasses]);
    for (let s = 0; s < samples; s++) {
      let h = first;
      for (let k = 1; k < layers.length; k++) {
        h = tf.add(tf.matMul(tf.dropout(h, rate, undefined, s * 31 + k), layers[k].w), layers[k].b);
        if (k < layers.length - 1) h = tf.relu(h);
      }
      sum = tf.add(sum, tf.softmax(h));
    }
    return tf.div(sum, samples).dataSync() as Float32Array;
  });
}

/**
 * The MC-dropout network: a retrain on 1,000 labelled rows x 40 features (hidden [64, 32], the declaration's
 * defaults: at most 100 epochs, early stopping with patience 10 on a 20% validation split) on TensorFlow.js'
 * WASM and CPU backends, and Monte-Carlo dropout scoring of a 100,000-alert queue (30 passes) by Sieve's JS
 * passes, with TensorFlow.js' own batched passes on a 2,000-alert slice for comparison. CPU-seconds of this
 * process (the WASM backend runs on this thread) and wall seconds, one run each after a warm-up.
 */
export async function runNetworkBenchmarks(): Promise<NetworkRow[]> {
  const rows: NetworkRow[] = [];
  const train = blobs(1000, 40, 4);
  const queue = blobs(100_000, 40, 5);
  const fitted: Record<string, MLPClassifier> = {};
  for (const backend of ['wasm', 'cpu'] as const) {
    const [, loadCpu, loadWall] = await cpuAndWall(() => loadTensorFlow(backend));
    // the first backend pays for loading TensorFlow.js itself (a retrain worker pays it once per retrain)
    rows.push({ what: backend === 'wasm' ? 'TensorFlow.js load + WASM backend initialisation (once per retrain worker)' : 'CPU backend initialisation', cpuSeconds: loadCpu, wallSeconds: loadWall });
    await new MLPClassifier({ backend, seed: 9, epochs: 2 }).fit(train.X, train.y);
    const [m, cpu, wall] = await cpuAndWall(() => new MLPClassifier({ backend, seed: 1 }).fit(train.X, train.y));
    fitted[backend] = m;
    rows.push({ what: `MLP retrain, 1,000 x 40, [64, 32], ${backend} backend (${m.training!.epochs} epochs, best ${m.training!.bestEpoch})`, cpuSeconds: cpu, wallSeconds: wall, goal: '< 5 s' });
  }
  const net = fitted.wasm;
  const slice = { data: queue.X.data.subarray(0, 2000 * 40), rows: 2000, cols: 40 };
  net.predictProbaMC(slice, 30);
  const [, mcCpu, mcWall] = await cpuAndWall(() => net.predictProbaMC(queue.X, 30));
  rows.push({ what: 'MC-dropout scoring, 100,000 alerts x 40, 30 passes (Sieve JS passes)', cpuSeconds: mcCpu, wallSeconds: mcWall, goal: '< 10 s' });
  const [, pCpu, pWall] = await cpuAndWall(() => net.predictProba(queue.X));
  rows.push({ what: 'dropout-off probabilities, 100,000 alerts x 40 (what the scorer writes)', cpuSeconds: pCpu, wallSeconds: pWall });
  for (const backend of ['wasm', 'cpu'] as const) {
    await tfjsMcMean(net, { data: slice.data.subarray(0, 100 * 40), rows: 100, cols: 40 }, 30, backend);
    const [, c, w] = await cpuAndWall(() => tfjsMcMean(net, slice, 30, backend));
    rows.push({ what: `  same passes in TensorFlow.js ${backend}, 2,000 alerts, x50 for 100,000`, cpuSeconds: 50 * c, wallSeconds: 50 * w });
  }
  return rows;
}

export interface ForestPredictRow {
  what: string;
  nodes: number;
  depth: number;
  /** CPU-seconds of Sieve's first predictProba after loading the pickle, and the median of 3 after 2 more. */
  sieveFirst: number;
  sieveWarm: number;
  sklearnFirst: number;
  sklearnWarm: number;
  /** Probabilities that differ from scikit-learn's (0: bit-identical). */
  differ: number;
}

/**
 * Random-forest predict as the CLI and the scorer run it: plain node on the compiled code (dist/, built by
 * `npm run build`), in a child process (`forestPredict.mjs`), on the very trees scikit-learn fitted
 * (`baselines/sklearn_predict.py` pickles them), first call and warm, on blobs and on deep trees
 * (make_classification). Null with the reason when the baseline or dist/ is missing.
 */
export function runForestPredictCompiled(): { rows: ForestPredictRow[] | null; note: string } {
  const dist = path.join(ROOT, 'dist/models/index.js');
  if (!existsSync(dist)) return { rows: null, note: 'dist/ not built (npm run build)' };
  const dir = mkdtempSync(path.join(tmpdir(), 'sieve-bench-'));
  try {
    const t = blobs(20_000, 25, 1);
    writeFileSync(path.join(dir, 'blobs.f32'), Buffer.from(t.X.data.buffer, t.X.data.byteOffset, t.X.data.byteLength));
    writeFileSync(path.join(dir, 'blobs.i32'), Buffer.from(t.y.buffer, t.y.byteOffset, t.y.byteLength));
    const specs = ['blobs:20000:25', 'deep:40000:25'];
    const script = benchFile('baselines/sklearn_predict.py');
    const py = spawnSync(DEBIAN_PYTHON, ['-B', script, dir, specs[0], `${specs[1]}:make:10`], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (py.error) return { rows: null, note: `baseline unavailable: ${DEBIAN_PYTHON}: ${py.error.message}` };
    if (py.status !== 0) return { rows: null, note: `baseline unavailable: ${(py.stderr.trim().split('\n').pop() ?? 'failed').slice(0, 160)}` };
    const base = JSON.parse(py.stdout) as Record<string, { first: number; warm: number }> & { sklearn: string };
    const node = spawnSync(process.execPath, [benchFile('forestPredict.mjs'), dir, ...specs], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (node.status !== 0) throw new Error(`bench forestPredict.mjs: ${node.stderr.trim().split('\n').pop()}`);
    const sieve = JSON.parse(node.stdout) as Record<string, { first: number; warm: number; nodes: number; depth: number; differ: number }>;
    const label: Record<string, string> = { blobs: 'blobs 20,000 x 25', deep: 'make_classification 40,000 x 25, 10 informative' };
    return {
      note: `scikit-learn ${base.sklearn}`,
      rows: Object.keys(label).map((k) => ({
        what: `random forest predict, 100 trees, ${label[k]}`, nodes: sieve[k].nodes, depth: sieve[k].depth,
        sieveFirst: sieve[k].first, sieveWarm: sieve[k].warm, sklearnFirst: base[k].first, sklearnWarm: base[k].warm, differ: sieve[k].differ,
      })),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
