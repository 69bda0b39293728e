import { assertCols, type Matrix } from './matrix.ts';
import { accumulateLeafValues, byLeafNumber, compileForest, leavesOf, setLeafValues, type CompiledForest } from './forestLayout.ts';
import { Random } from '../datasets/index.ts';
import { checkCount, checkFlatForest, checkNumbers, MODEL_LIMITS } from './structure.ts';

export interface RandomForestParams {
  nEstimators: number;
  /** null: grow until leaves are pure or too small. */
  maxDepth: number | null;
  minSamplesSplit: number;
  minSamplesLeaf: number;
  /** Features tried per split: 'sqrt' (default, as scikit-learn), 'log2', a count (>= 1) or a fraction (< 1). */
  maxFeatures: 'sqrt' | 'log2' | number;
  bootstrap: boolean;
  /** 'balanced': weights n / (k n_c), as scikit-learn; or explicit per-class weights; or none. */
  classWeight: 'balanced' | number[] | null;
  /** Draw the same number of bootstrap samples from every class (for rare classes). */
  balancedBootstrap: boolean;
  /** Split candidates per feature: quantile bins (at most 255). */
  maxBins: number;
  oobScore: boolean;
  seed: number;
}

export const DEFAULT_RANDOM_FOREST_PARAMS: RandomForestParams = {
  nEstimators: 100,
  maxDepth: null,
  minSamplesSplit: 2,
  minSamplesLeaf: 1,
  maxFeatures: 'sqrt',
  bootstrap: true,
  classWeight: null,
  balancedBootstrap: false,
  maxBins: 255,
  oobScore: false,
  seed: 0,
};

export const RANDOM_FOREST_SCHEMA = 'sieve-random-forest/1';

/** Flat arrays of all trees' nodes; a leaf has feature -1 and its class probabilities in `value`. */
export interface ForestNodes {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  /** nNodes x nClasses: the node's weighted class fractions (float64, as scikit-learn keeps them). */
  value: Float64Array;
  roots: Int32Array;
  /**
   * Per node, as scikit-learn's tree: distinct training rows reaching it, their summed weights (bootstrap
   * multiplicity x class weight) and the Gini impurity. Absent in forests fitted before they were kept.
   */
  nSamples?: Int32Array;
  wSamples?: Float64Array;
  impurity?: Float64Array;
}

const NAN_BIN = 255;

const MAX_FLOAT32 = 3.4028234663852886e38;

/** Per-feature split candidates: bin upper edges (x <= edge[b] is bin <= b); NaN goes to bin 255. */
function binFeatures(X: Matrix, maxBins: number): { codes: Uint8Array; edges: Float32Array[] } {
  const { rows: n, cols: d, data } = X;
  const codes = new Uint8Array(n * d); // column-major: codes[f * n + i]
  const edges: Float32Array[] = [];
  const col = new Float32Array(n);
  for (let f = 0; f < d; f++) {
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = data[i * d + f];
      if (!Number.isNaN(v)) col[m++] = v;
    }
    const sorted = col.subarray(0, m).slice().sort();
    const uniq: number[] = [];
    for (let i = 0; i < m; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) uniq.push(sorted[i]);
    let e: number[];
    if (uniq.length <= maxBins) e = uniq;
    else {
      e = [];
      for (let b = 1; b <= maxBins; b++) {
        const v = sorted[Math.min(m - 1, Math.floor((b * m) / maxBins) - 1)];
        if (e.length === 0 || v > e[e.length - 1]) e.push(v);
      }
      if (e[e.length - 1] !== sorted[m - 1]) e.push(sorted[m - 1]);
    }
    const ef = Float32Array.from(e);
    // A value beyond float32's range is an infinite edge, which a bundle (JSON) cannot hold: clamp it to the
    // largest finite float32. Every finite value keeps its side of the split (only a +Infinity feature value
    // would cross, to the right).
    for (let b = 0; b < ef.length; b++) if (!Number.isFinite(ef[b])) ef[b] = Math.sign(ef[b]) * MAX_FLOAT32;
    edges.push(ef);
    for (let i = 0; i < n; i++) {
      const v = data[i * d + f];
      if (Number.isNaN(v)) {
        codes[f * n + i] = NAN_BIN;
        continue;
      }
      let lo = 0;
      let hi = ef.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (v <= ef[mid]) hi = mid;
        else lo = mid + 1;
      }
      codes[f * n + i] = lo;
    }
  }
  return { codes, edges };
}

function featuresPerSplit(p: RandomForestParams['maxFeatures'], d: number): number {
  if (p === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(d)));
  if (p === 'log2') return Math.max(1, Math.floor(Math.log2(d)));
  if (p < 1) return Math.max(1, Math.floor(p * d));
  return Math.min(d, Math.floor(p));
}

/** Growable node storage while fitting. */
class NodeBuffer {
  feature = new Int32Array(1024);
  threshold = new Float32Array(1024);
  left = new Int32Array(1024);
  right = new Int32Array(1024);
  nSamples = new Int32Array(1024);
  wSamples = new Float64Array(1024);
  impurity = new Float64Array(1024);
  value: Float64Array;
  size = 0;
  constructor(readonly nClasses: number) {
    this.value = new Float64Array(1024 * nClasses);
  }
  add(): number {
    if (this.size === this.feature.length) {
      const grow = <T extends Int32Array | Float32Array | Float64Array>(a: T): T => {
        const b = new (a.constructor as { new (n: number): T })(a.length * 2);
        b.set(a);
        return b;
      };
      this.feature = grow(this.feature);
      this.threshold = grow(this.threshold);
      this.left = grow(this.left);
      this.right = grow(this.right);
      this.nSamples = grow(this.nSamples);
      this.wSamples = grow(this.wSamples);
      this.impurity = grow(this.impurity);
      this.value = grow(this.value);
    }
    this.feature[this.size] = -1;
    return this.size++;
  }
}

/**
 * Random forest classifier (Breiman 2001) with scikit-learn's semantics: bootstrap samples, a random subset
 * of features per split, Gini impurity, class probabilities as the mean of the trees' leaf class
 * frequencies. Split search uses per-feature quantile bins (histograms), O(n) per node and feature,
 * which is what makes retraining on every few labels affordable. Trees are flat typed arrays.
 */
export class RandomForestClassifier {
  readonly params: RandomForestParams;
  nFeatures = 0;
  nClasses = 0;
  nodes: ForestNodes | null = null;
  featureImportances: Float64Array | null = null;
  oobScore: number | null = null;

  constructor(params: Partial<RandomForestParams> = {}) {
    this.params = { ...DEFAULT_RANDOM_FOREST_PARAMS, ...params };
  }

  fit(X: Matrix, y: ArrayLike<number>, nClasses?: number): this {
    const p = this.params;
    const n = X.rows;
    const d = X.cols;
    if (y.length !== n) throw new RangeError(`RandomForestClassifier.fit: ${n} rows but ${y.length} labels`);
    if (n === 0) throw new RangeError('RandomForestClassifier.fit: no samples');
    let C = nClasses ?? 0;
    for (let i = 0; i < n; i++) {
      if (!Number.isInteger(y[i]) || y[i] < 0) throw new RangeError(`RandomForestClassifier.fit: label ${y[i]} at row ${i} is not a class index`);
      C = Math.max(C, y[i] + 1);
    }
    this.nFeatures = d;
    this.nClasses = C;
    const counts = new Float64Array(C);
    for (let i = 0; i < n; i++) counts[y[i]]++;
    const classWeight = new Float64Array(C).fill(1);
    if (p.classWeight === 'balanced') {
      let present = 0;
      for (let c = 0; c < C; c++) if (counts[c] > 0) present++;
      for (let c = 0; c < C; c++) classWeight[c] = counts[c] > 0 ? n / (present * counts[c]) : 0;
    } else if (Array.isArray(p.classWeight)) {
      if (p.classWeight.length !== C) throw new RangeError(`classWeight has ${p.classWeight.length} entries for ${C} classes`);
      classWeight.set(p.classWeight);
    }
    const { codes, edges } = binFeatures(X, Math.min(255, p.maxBins));
    const mtry = featuresPerSplit(p.maxFeatures, d);
    const buf = new NodeBuffer(C);
    const roots = new Int32Array(p.nEstimators);
    const importance = new Float64Array(d);
    const treeImportance = new Float64Array(d);
    const oobSum = p.oobScore ? new Float64Array(n * C) : null;
    const oobSeen = p.oobScore ? new Uint16Array(n) : null;
    const rng = new Random(p.seed, 0x5eed);
    const sampleCount = new Int32Array(n);
    const idx = new Int32Array(n);
    const perm = new Int32Array(d);
    const hist = new Float64Array(256 * C);
    const histN = new Int32Array(256);
    const wLeft = new Float64Array(C);
    const wTotal = new Float64Array(C);
    const byClass: Int32Array[] = [];
    if (p.balancedBootstrap) for (let c = 0; c < C; c++) byClass.push(Int32Array.from({ length: n }, (_, i) => i).filter((i) => y[i] === c));

    for (let t = 0; t < p.nEstimators; t++) {
      // Bootstrap as sample multiplicities (scikit-learn draws n with replacement).
      sampleCount.fill(0);
      if (!p.bootstrap) sampleCount.fill(1);
      else if (p.balancedBootstrap) {
        const present = byClass.filter((a) => a.length > 0);
        const per = Math.max(1, Math.round(n / present.length));
        for (const members of present) for (let k = 0; k < per; k++) sampleCount[members[Math.floor(rng.next() * members.length)]]++;
      } else for (let k = 0; k < n; k++) sampleCount[Math.floor(rng.next() * n)]++;
      let m = 0;
      for (let i = 0; i < n; i++) if (sampleCount[i] > 0) idx[m++] = i;
      treeImportance.fill(0);
      roots[t] = this.growTree(buf, codes, edges, y, classWeight, sampleCount, idx, m, n, d, C, mtry, rng, perm, hist, histN, wLeft, wTotal, treeImportance);
      let s = 0;
      for (let f = 0; f < d; f++) s += treeImportance[f];
      if (s > 0) for (let f = 0; f < d; f++) importance[f] += treeImportance[f] / s;
      if (oobSum && oobSeen) {
        const tmp = new Float64Array(C);
        for (let i = 0; i < n; i++) {
          if (sampleCount[i] > 0) continue;
          const leaf = this.leafOf(buf.feature, buf.threshold, buf.left, buf.right, roots[t], X.data, i * d);
          for (let c = 0; c < C; c++) oobSum[i * C + c] += buf.value[leaf * C + c];
          oobSeen[i]++;
          void tmp;
        }
      }
    }
    this.nodes = {
      feature: buf.feature.slice(0, buf.size),
      threshold: buf.threshold.slice(0, buf.size),
      left: buf.left.slice(0, buf.size),
      right: buf.right.slice(0, buf.size),
      value: buf.value.slice(0, buf.size * C),
      roots,
      nSamples: buf.nSamples.slice(0, buf.size),
      wSamples: buf.wSamples.slice(0, buf.size),
      impurity: buf.impurity.slice(0, buf.size),
    };
    this.layOut();
    let s = 0;
    for (let f = 0; f < d; f++) s += importance[f];
    this.featureImportances = importance.map((v) => (s > 0 ? v / s : 0));
    if (oobSum && oobSeen) {
      let ok = 0;
      let seen = 0;
      for (let i = 0; i < n; i++) {
        if (!oobSeen[i]) continue;
        seen++;
        let best = 0;
        for (let c = 1; c < C; c++) if (oobSum[i * C + c] > oobSum[i * C + best]) best = c;
        if (best === y[i]) ok++;
      }
      this.oobScore = seen ? ok / seen : NaN;
    }
    return this;
  }

  private leafOf(feature: Int32Array, threshold: Float32Array, left: Int32Array, right: Int32Array, root: number, data: Float32Array, offset: number): number {
    let node = root;
    while (feature[node] >= 0) node = data[offset + feature[node]] <= threshold[node] ? left[node] : right[node];
    return node;
  }

  private growTree(
    buf: NodeBuffer, codes: Uint8Array, edges: Float32Array[], y: ArrayLike<number>, classWeight: Float64Array,
    sampleCount: Int32Array, idx: Int32Array, m: number, n: number, d: number, C: number, mtry: number, rng: Random,
    perm: Int32Array, hist: Float64Array, histN: Int32Array, wLeft: Float64Array, wTotal: Float64Array, importance: Float64Array,
  ): number {
    const p = this.params;
    const maxDepth = p.maxDepth ?? Infinity;
    const root = buf.add();
    // explicit stack of (node, start, end, depth)
    const stack: number[] = [root, 0, m, 0];
    while (stack.length) {
      const depth = stack.pop()!;
      const end = stack.pop()!;
      const start = stack.pop()!;
      const node = stack.pop()!;
      wTotal.fill(0);
      let nSamples = 0;
      for (let k = start; k < end; k++) {
        const i = idx[k];
        wTotal[y[i]] += classWeight[y[i]] * sampleCount[i];
        nSamples += sampleCount[i];
      }
      let W = 0;
      let sq = 0;
      let nonZero = 0;
      for (let c = 0; c < C; c++) {
        W += wTotal[c];
        sq += wTotal[c] * wTotal[c];
        if (wTotal[c] > 0) nonZero++;
      }
      for (let c = 0; c < C; c++) buf.value[node * C + c] = W > 0 ? wTotal[c] / W : 0;
      buf.nSamples[node] = end - start;
      buf.wSamples[node] = W;
      buf.impurity[node] = W > 0 ? 1 - sq / (W * W) : 0;
      if (depth >= maxDepth || nSamples < p.minSamplesSplit || nSamples < 2 * p.minSamplesLeaf || nonZero <= 1) continue;
      const parentScore = W > 0 ? sq / W : 0;
      let bestGain = 1e-12 * W;
      let bestFeature = -1;
      let bestBin = -1;
      for (let f = 0; f < d; f++) perm[f] = f;
      let tried = 0;
      for (let k = 0; k < d && (tried < mtry || bestFeature < 0); k++) {
        const j = k + Math.floor(rng.next() * (d - k));
        const f = perm[j];
        perm[j] = perm[k];
        perm[k] = f;
        // class histogram over this node's samples: first the bin range, then the counts
        let minBin = 255;
        let maxBin = -1;
        let hasNaN = false;
        const base = f * n;
        for (let q = start; q < end; q++) {
          const b = codes[base + idx[q]];
          if (b === NAN_BIN) hasNaN = true;
          else {
            if (b < minBin) minBin = b;
            if (b > maxBin) maxBin = b;
          }
        }
        if (maxBin >= 0) {
          hist.fill(0, minBin * C, (maxBin + 1) * C);
          histN.fill(0, minBin, maxBin + 1);
        }
        for (let q = start; q < end; q++) {
          const i = idx[q];
          const b = codes[base + i];
          if (b === NAN_BIN) continue;
          hist[b * C + y[i]] += classWeight[y[i]] * sampleCount[i];
          histN[b] += sampleCount[i];
        }
        tried++;
        // the last non-NaN bin is a split candidate only when NaNs go right of it
        const lastCandidate = hasNaN ? maxBin : maxBin - 1;
        if (maxBin < 0 || lastCandidate < minBin) continue; // constant (or all-NaN) feature in this node
        wLeft.fill(0);
        let WL = 0;
        let nLeft = 0;
        for (let b = minBin; b <= lastCandidate; b++) {
          if (histN[b] === 0) continue;
          for (let c = 0; c < C; c++) wLeft[c] += hist[b * C + c];
          nLeft += histN[b];
          WL = 0;
          for (let c = 0; c < C; c++) WL += wLeft[c];
          const WR = W - WL;
          if (nLeft < p.minSamplesLeaf || nSamples - nLeft < p.minSamplesLeaf || WL <= 0 || WR <= 0) continue;
          let sl = 0;
          let sr = 0;
          for (let c = 0; c < C; c++) {
            sl += wLeft[c] * wLeft[c];
            const r = wTotal[c] - wLeft[c];
            sr += r * r;
          }
          const gain = sl / WL + sr / WR - parentScore;
          if (gain > bestGain) {
            bestGain = gain;
            bestFeature = f;
            bestBin = b;
          }
        }
      }
      if (bestFeature < 0) continue;
      importance[bestFeature] += bestGain;
      // partition idx[start, end) by bin <= bestBin
      const base = bestFeature * n;
      let lo = start;
      let hi = end - 1;
      while (lo <= hi) {
        if (codes[base + idx[lo]] <= bestBin) lo++;
        else {
          const tmp = idx[lo];
          idx[lo] = idx[hi];
          idx[hi] = tmp;
          hi--;
        }
      }
      const leftNode = buf.add();
      const rightNode = buf.add();
      buf.feature[node] = bestFeature;
      buf.threshold[node] = edges[bestFeature][bestBin];
      buf.left[node] = leftNode;
      buf.right[node] = rightNode;
      stack.push(rightNode, lo, end, depth + 1, leftNode, start, lo, depth + 1);
    }
    return root;
  }

  private requireFitted(): ForestNodes {
    if (!this.nodes) throw new Error('RandomForestClassifier: not fitted');
    return this.nodes;
  }

  private compiledCache: CompiledForest | null = null;

  /**
   * The prediction layout with the leaves' probabilities in it, made when the trees are (fit, load,
   * import): the first prediction, which is all a retrain's pool or a queue gets, pays for neither.
   */
  private layOut(): void {
    const compiled = compileForest(this.requireFitted());
    setLeafValues(compiled, byLeafNumber(compiled, this.nodeProba(), this.nClasses), this.nClasses);
    this.compiledCache = compiled;
  }

  private compiled(): CompiledForest {
    if (!this.compiledCache) this.layOut();
    return this.compiledCache!;
  }

  /**
   * Each node's class probabilities as scikit-learn's DecisionTreeClassifier.predict_proba computes them:
   * value / (sum of value, left to right; 1 when 0), in float64. With the trees' probabilities summed in
   * tree order and divided by the number of trees (RandomForestClassifier.predict_proba), a forest
   * exported to scikit-learn (or imported from it) gives bit-identical probabilities.
   */
  private nodeProba(): Float64Array {
    const { value } = this.requireFitted();
    const C = this.nClasses;
    const out = new Float64Array(value.length);
    for (let node = 0; node * C < value.length; node++) {
      let s = 0;
      for (let c = 0; c < C; c++) s += value[node * C + c];
      if (s === 0) s = 1;
      for (let c = 0; c < C; c++) out[node * C + c] = value[node * C + c] / s;
    }
    return out;
  }

  /** n x nClasses probabilities, row-major. */
  predictProba(X: Matrix): Float64Array {
    this.requireFitted();
    assertCols(X, this.nFeatures, 'RandomForestClassifier');
    const out = new Float64Array(X.rows * this.nClasses);
    const compiled = this.compiled();
    accumulateLeafValues(compiled, X, out);
    const T = compiled.roots.length;
    for (let i = 0; i < out.length; i++) out[i] /= T;
    return out;
  }

  /** Per-tree votes: for each row and class, how many trees' leaves favour that class (n x nClasses). */
  treeVotes(X: Matrix): Int32Array {
    const nodes = this.requireFitted();
    assertCols(X, this.nFeatures, 'RandomForestClassifier');
    const C = this.nClasses;
    const T = nodes.roots.length;
    const compiled = this.compiled();
    const leaves = leavesOf(compiled, X);
    const votes = new Int32Array(X.rows * C);
    for (let i = 0; i < X.rows; i++) {
      for (let t = 0; t < T; t++) {
        const leaf = compiled.leafNode[leaves[i * T + t]];
        let best = 0;
        for (let c = 1; c < C; c++) if (nodes.value[leaf * C + c] > nodes.value[leaf * C + best]) best = c;
        votes[i * C + best]++;
      }
    }
    return votes;
  }

  predict(X: Matrix): Int32Array {
    const p = this.predictProba(X);
    const C = this.nClasses;
    const out = new Int32Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let c = 1; c < C; c++) if (p[i * C + c] > p[i * C + best]) best = c;
      out[i] = best;
    }
    return out;
  }

  /** Mean accuracy, as scikit-learn's score. */
  score(X: Matrix, y: ArrayLike<number>): number {
    const pred = this.predict(X);
    let ok = 0;
    for (let i = 0; i < pred.length; i++) if (pred[i] === y[i]) ok++;
    return pred.length ? ok / pred.length : NaN;
  }

  toJSON(): RandomForestJSON {
    const nodes = this.requireFitted();
    return {
      schema: RANDOM_FOREST_SCHEMA,
      params: this.params,
      nFeatures: this.nFeatures,
      nClasses: this.nClasses,
      nodes: {
        feature: Array.from(nodes.feature),
        threshold: Array.from(nodes.threshold),
        left: Array.from(nodes.left),
        right: Array.from(nodes.right),
        value: Array.from(nodes.value),
        roots: Array.from(nodes.roots),
        ...(nodes.nSamples && nodes.wSamples && nodes.impurity
          ? { nSamples: Array.from(nodes.nSamples), wSamples: Array.from(nodes.wSamples), impurity: Array.from(nodes.impurity) } : {}),
      },
      featureImportances: Array.from(this.featureImportances ?? []),
      oobScore: this.oobScore,
    };
  }

  /**
   * Refuses JSON that is not a sound forest, whatever produced it (a bundle with a recomputed checksum, an
   * imported file): numbers where numbers belong, trees that are trees, features below nFeatures, finite
   * non-negative leaf values, bounded sizes. O(nodes).
   */
  static checkJSON(json: unknown, what = 'random forest'): asserts json is RandomForestJSON {
    const { nFeatures, n } = checkFlatForest(json, what, RANDOM_FOREST_SCHEMA);
    const j = json as RandomForestJSON;
    const C = checkCount(j.nClasses, `${what}: nClasses`, 1, MODEL_LIMITS.maxClasses);
    checkNumbers(j.nodes.value, `${what}: nodes.value`, { length: n * C, finite: true, min: 0 });
    for (const k of ['nSamples', 'wSamples', 'impurity'] as const) if (j.nodes[k] !== undefined) checkNumbers(j.nodes[k], `${what}: nodes.${k}`, { length: n, finite: true });
    checkNumbers(j.featureImportances, `${what}: featureImportances`, { maxLength: nFeatures, finite: true });
  }

  static fromJSON(json: RandomForestJSON): RandomForestClassifier {
    RandomForestClassifier.checkJSON(json, 'RandomForestClassifier.fromJSON');
    const rf = new RandomForestClassifier(json.params);
    rf.nFeatures = json.nFeatures;
    rf.nClasses = json.nClasses;
    rf.nodes = {
      feature: Int32Array.from(json.nodes.feature),
      threshold: Float32Array.from(json.nodes.threshold),
      left: Int32Array.from(json.nodes.left),
      right: Int32Array.from(json.nodes.right),
      value: Float64Array.from(json.nodes.value),
      roots: Int32Array.from(json.nodes.roots),
      ...(json.nodes.nSamples && json.nodes.wSamples && json.nodes.impurity
        ? { nSamples: Int32Array.from(json.nodes.nSamples), wSamples: Float64Array.from(json.nodes.wSamples), impurity: Float64Array.from(json.nodes.impurity) } : {}),
    };
    rf.featureImportances = Float64Array.from(json.featureImportances);
    rf.oobScore = json.oobScore;
    rf.layOut();
    return rf;
  }
}

export interface RandomForestJSON {
  schema: typeof RANDOM_FOREST_SCHEMA;
  params: RandomForestParams;
  nFeatures: number;
  nClasses: number;
  nodes: {
    feature: number[]; threshold: number[]; left: number[]; right: number[]; value: number[]; roots: number[];
    nSamples?: number[]; wSamples?: number[]; impurity?: number[];
  };
  featureImportances: number[];
  oobScore: number | null;
}
