import { IsolationForest, type IsolationForestJSON, type IsolationForestParams, DEFAULT_ISOLATION_FOREST_PARAMS } from './isolationForest.ts';
import type { Matrix } from './matrix.ts';
import { checkNumbers } from './structure.ts';

export interface AADParams extends IsolationForestParams {
  /** Weight of the anomaly hinge term (Fink: C_a = 1000). */
  Ca: number;
  /** Weight of the nominal hinge term. */
  Cn: number;
  /** Strength of the pull towards the uniform weights w0. */
  priorInfluence: number;
  /** Expected number of anomalies the expert looks at: tau = 1 - budget / N (Fink: 10). */
  budget: number;
  /** Gradient steps per update. */
  maxIterations: number;
}

export const DEFAULT_AAD_PARAMS: AADParams = {
  ...DEFAULT_ISOLATION_FOREST_PARAMS,
  nEstimators: 150,
  Ca: 1000,
  Cn: 1,
  priorInfluence: 1,
  budget: 10,
  maxIterations: 60,
};

export const AAD_SCHEMA = 'sieve-aad-forest/1';

const SCORE_BLOCK_ROWS = 8192;

/**
 * The k-th smallest value (0-based) of values without NaN: for a small k (q_tau is the budget-th lowest
 * score of a pool of up to millions) the k + 1 lowest kept in a max-heap in one pass, else quickselect on a
 * copy. Both O(n); the first neither copies nor moves the pool.
 */
export function kthSmallest(values: ArrayLike<number>, k: number): number {
  if (k < 64 && k < values.length) return kthSmallestByHeap(values, k);
  const a = Float64Array.from(values);
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

function kthSmallestByHeap(values: ArrayLike<number>, k: number): number {
  // a max-heap of the k + 1 lowest values seen: its top is the k-th smallest once every value is seen
  const heap = new Float64Array(k + 1);
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (size <= k) {
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (heap[p] >= x) break;
        heap[c] = heap[p];
        c = p;
      }
      heap[c] = x;
    } else if (x < heap[0]) {
      let p = 0;
      for (;;) {
        const l = 2 * p + 1;
        if (l >= size) break;
        const m = l + 1 < size && heap[l + 1] > heap[l] ? l + 1 : l;
        if (heap[m] <= x) break;
        heap[p] = heap[m];
        p = m;
      }
      heap[p] = x;
    }
  }
  return heap[0];
}

export interface AADLabel {
  /** Global leaf ids of the labelled point in every tree (length T), from `leafIndices`. */
  leaves: ArrayLike<number>;
  /** true: the expert says anomaly; false: nominal. */
  anomaly: boolean;
}

/**
 * Active Anomaly Discovery on an isolation forest (Das et al. 2016, 2017), as SNAD's coniferest and Fink's
 * anomaly module use it: every leaf l has a weight w_l and a value v_l = -1/(depth_l + c(n_l)); a point's
 * score is s(x) = sum over trees of w_l v_l at the leaf it reaches, lower meaning more anomalous. The weights
 * start uniform (w0 = 1/sqrt(L)) and each round of expert labels minimises
 *   C_a/|A| sum_A ReLU(s(x) - q_tau) + C_n/|N| sum_N ReLU(q_tau - s(x)) + alpha/2 |w - w0|^2
 * with q_tau the score below which the `budget` most anomalous points of the pool lie, then rescales w to
 * unit length. q_tau is held fixed during one update (as Das et al.'s gradient steps do).
 */
export class AADForest extends IsolationForest {
  declare readonly params: AADParams;
  weights: Float64Array = new Float64Array(0);
  leafValue: Float64Array = new Float64Array(0);

  constructor(params: Partial<AADParams> = {}) {
    super({ ...DEFAULT_AAD_PARAMS, ...params });
    (this as { params: AADParams }).params = { ...DEFAULT_AAD_PARAMS, ...params };
  }

  override fit(X: Matrix): this {
    super.fit(X);
    this.resetWeights();
    return this;
  }

  /** Back to the uniform weights of a plain isolation forest. */
  resetWeights(): void {
    const nodes = this.requireFitted();
    this.leafValue = nodes.leafPathLength.map((h) => -1 / h);
    this.weights = this.uniformWeights();
  }

  /** The uniform weights w0 = 1/sqrt(L) that `resetWeights` sets (a new array; the forest's own are left as they are). */
  uniformWeights(): Float64Array {
    const L = this.requireFitted().leafPathLength.length;
    return new Float64Array(L).fill(1 / Math.sqrt(L));
  }

  /** Scores from precomputed leaf ids (n x T): re-ranking after an update needs no tree traversal. */
  scoreFromLeaves(leaves: Int32Array, n: number, out: Float64Array = new Float64Array(n)): Float64Array {
    const T = this.requireFitted().roots.length;
    const w = this.weights;
    const v = this.leafValue;
    for (let i = 0; i < n; i++) {
      let s = 0;
      const off = i * T;
      for (let t = 0; t < T; t++) {
        const l = leaves[off + t];
        s += w[l] * v[l];
      }
      out[i] = s;
    }
    return out;
  }

  /** Fink's `score`: lower is more anomalous. */
  override scoreSamples(X: Matrix): Float64Array {
    // in blocks of rows: the leaves of a whole pool (rows x trees) would not fit in memory at a million rows
    const out = new Float64Array(X.rows);
    const d = X.cols;
    for (let start = 0; start < X.rows; start += SCORE_BLOCK_ROWS) {
      const end = Math.min(X.rows, start + SCORE_BLOCK_ROWS);
      const block = { data: X.data.subarray(start * d, end * d), rows: end - start, cols: d };
      this.scoreFromLeaves(this.leafIndices(block), end - start, out.subarray(start, end));
    }
    return out;
  }

  /** Higher is more anomalous (the negated Fink score), for rankings. */
  override score(X: Matrix): Float64Array {
    return this.scoreSamples(X).map((s) => -s);
  }

  override decisionFunction(X: Matrix): Float64Array {
    return this.scoreSamples(X);
  }

  /** The anomaly threshold q_tau on a pool's scores: the budget-th lowest score. */
  threshold(poolScores: ArrayLike<number>): number {
    const n = poolScores.length;
    const k = Math.min(n - 1, Math.max(0, Math.ceil(this.params.budget) - 1));
    return kthSmallest(poolScores, k);
  }

  /**
   * Re-weights the leaves from all labels given so far. `poolScores` are the current scores of the
   * unlabelled pool (they set q_tau). Returns the objective before and after.
   */
  update(labels: readonly AADLabel[], poolScores: ArrayLike<number>): { before: number; after: number; q: number } {
    const nodes = this.requireFitted();
    const T = nodes.roots.length;
    const L = this.weights.length;
    const p = this.params;
    const q = this.threshold(poolScores);
    const w0 = 1 / Math.sqrt(L);
    const nA = labels.filter((l) => l.anomaly).length;
    const nN = labels.length - nA;
    const nLab = labels.length;
    // the labels' leaves and leaf values in one flat array each (label k's tree t at k T + t): the loops
    // below are over these, with the same products in the same order as over the forest's own arrays
    const leafAt = new Int32Array(nLab * T);
    const valueAt = new Float64Array(nLab * T);
    const isAnomaly = new Uint8Array(nLab);
    labels.forEach((lab, k) => {
      isAnomaly[k] = lab.anomaly ? 1 : 0;
      for (let t = 0; t < T; t++) {
        const l = lab.leaves[t];
        leafAt[k * T + t] = l;
        valueAt[k * T + t] = this.leafValue[l];
      }
    });
    const w = Float64Array.from(this.weights);
    // sign * sum over t of x[leaf] v[leaf] per label, 4 labels at once (independent chains of additions;
    // each label's sum in tree order): the labels' scores (x = w, sign 1) and their change along -g (x = g, sign -1)
    const sums = (x: Float64Array, sign: 1 | -1, out: Float64Array) => {
      let k = 0;
      for (; k + 4 <= nLab; k += 4) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        for (let j = k * T, end = j + T; j < end; j++) {
          s0 += sign * (x[leafAt[j]] * valueAt[j]);
          s1 += sign * (x[leafAt[j + T]] * valueAt[j + T]);
          s2 += sign * (x[leafAt[j + 2 * T]] * valueAt[j + 2 * T]);
          s3 += sign * (x[leafAt[j + 3 * T]] * valueAt[j + 3 * T]);
        }
        out[k] = s0;
        out[k + 1] = s1;
        out[k + 2] = s2;
        out[k + 3] = s3;
      }
      for (; k < nLab; k++) {
        let s = 0;
        for (let j = k * T, end = j + T; j < end; j++) s += sign * (x[leafAt[j]] * valueAt[j]);
        out[k] = s;
      }
    };
    const scoreOf = (wv: Float64Array, k: number) => {
      let s = 0;
      for (let j = k * T, end = j + T; j < end; j++) s += wv[leafAt[j]] * valueAt[j];
      return s;
    };
    const hingeCoef = new Float64Array(nLab);
    for (let k = 0; k < nLab; k++) hingeCoef[k] = isAnomaly[k] ? p.Ca / nA : p.Cn / nN;
    const objective = (wv: Float64Array): number => {
      let prior = 0;
      for (let l = 0; l < L; l++) prior += (wv[l] - w0) ** 2;
      let hinge = 0;
      for (let k = 0; k < nLab; k++) {
        const s = scoreOf(wv, k);
        if (isAnomaly[k]) hinge += (p.Ca / nA) * Math.max(0, s - q);
        else hinge += (p.Cn / nN) * Math.max(0, q - s);
      }
      return hinge + 0.5 * p.priorInfluence * prior;
    };
    const before = objective(w);
    let current = before;
    const g = new Float64Array(L);
    const s0 = new Float64Array(nLab);
    const ds = new Float64Array(nLab);
    let lastStep = 1 / p.priorInfluence;
    // Along a search direction d, label scores and the prior are exact low-cost functions of the step t:
    // s(w + t d) = s0 + t ds, |w + t d - w0|^2 = c + 2 t b + t^2 a. A line-search trial is then O(labels).
    const along = (t: number, a: number, b: number, c: number): number => {
      let hinge = 0;
      for (let k = 0; k < nLab; k++) {
        const sk = s0[k] + t * ds[k];
        hinge += hingeCoef[k] * (isAnomaly[k] ? Math.max(0, sk - q) : Math.max(0, q - sk));
      }
      return hinge + 0.5 * p.priorInfluence * (c + 2 * t * b + t * t * a);
    };
    for (let it = 0; it < p.maxIterations; it++) {
      for (let l = 0; l < L; l++) g[l] = p.priorInfluence * (w[l] - w0);
      sums(w, 1, s0);
      for (let k = 0; k < nLab; k++) {
        const sk = s0[k];
        const coef = isAnomaly[k] ? (sk > q ? hingeCoef[k] : 0) : (sk < q ? -hingeCoef[k] : 0);
        if (coef === 0) continue;
        for (let j = k * T, end = j + T; j < end; j++) g[leafAt[j]] += coef * valueAt[j];
      }
      let g2 = 0;
      let a = 0;
      let b = 0;
      let c = 0;
      for (let l = 0; l < L; l++) {
        g2 += g[l] * g[l];
        const dw = w[l] - w0;
        b -= dw * g[l];
        c += dw * dw;
      }
      if (g2 === 0) break;
      a = g2;
      sums(g, -1, ds);
      // backtracking from twice the last accepted step (at most the prior's natural step 1/alpha)
      let step = Math.min(1 / p.priorInfluence, 2 * lastStep);
      let accepted = false;
      const previous = current;
      for (let k = 0; k < 60; k++) {
        const value = along(step, a, b, c);
        if (value <= current - 1e-4 * step * g2) {
          current = value;
          accepted = true;
          break;
        }
        step *= 0.5;
      }
      if (!accepted) break;
      lastStep = step;
      for (let l = 0; l < L; l++) w[l] -= step * g[l];
      if (previous - current <= 1e-9 * Math.max(previous, 1e-300)) break;
    }
    let norm = 0;
    for (let l = 0; l < L; l++) norm += w[l] * w[l];
    norm = Math.sqrt(norm);
    this.weights = norm > 0 ? w.map((x) => x / norm) : w;
    return { before, after: current, q };
  }

  /** A copy sharing the trees but with its own weights (one model per expert). */
  cloneWeights(): AADForest {
    const c = new AADForest(this.params);
    c.nFeatures = this.nFeatures;
    c.psi = this.psi;
    c.nodes = this.nodes;
    c.leafValue = this.leafValue;
    c.weights = Float64Array.from(this.weights);
    return c;
  }

  override toJSON(): AADForestJSON {
    return { ...super.toJSON(), schema: AAD_SCHEMA, params: this.params, weights: Array.from(this.weights) };
  }

  /** The isolation forest's checks, and one finite weight per leaf. */
  static override checkJSON(json: unknown, what = 'AAD forest'): asserts json is AADForestJSON {
    IsolationForest.checkJSON(json, what, AAD_SCHEMA);
    const j = json as AADForestJSON;
    checkNumbers(j.weights, `${what}: weights`, { length: j.nodes.leafPathLength.length, finite: true });
  }

  static override fromJSON(json: AADForestJSON): AADForest {
    AADForest.checkJSON(json, 'AADForest.fromJSON');
    const f = new AADForest(json.params as AADParams);
    f.nFeatures = json.nFeatures;
    f.psi = json.psi;
    f.nodes = IsolationForest.nodesFromJSON(json.nodes);
    f.leafValue = f.nodes.leafPathLength.map((h) => -1 / h);
    f.weights = Float64Array.from(json.weights);
    return f;
  }
}

export interface AADForestJSON extends IsolationForestJSON {
  weights: number[];
}
