import { assertCols, type Matrix } from './matrix.ts';
import { accumulateLeafValues, compileForest, leavesOf, setLeafValues, type CompiledForest } from './forestLayout.ts';
import { Random } from '../datasets/index.ts';
import { checkCount, checkFlatForest, checkNumbers, ModelStructureError } from './structure.ts';

const EULER_GAMMA = 0.5772156649015329;

/** Average path length of an unsuccessful BST search among n points, c(n) (Liu et al. 2008). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

export interface IsolationForestParams {
  nEstimators: number;
  /** Rows drawn (without replacement) per tree: a count, a fraction of N (< 1), or 'auto' = min(256, N). */
  maxSamples: number | 'auto';
  /** Depth limit; null = ceil(log2(maxSamples)) as in the original algorithm. */
  maxDepth: number | null;
  seed: number;
}

export const DEFAULT_ISOLATION_FOREST_PARAMS: IsolationForestParams = { nEstimators: 100, maxSamples: 'auto', maxDepth: null, seed: 0 };

/**
 * Flat isolation trees. Leaves are numbered 0..nLeaves-1 across the forest (`leafId`), which is what
 * Active Anomaly Discovery puts its weights on.
 */
export interface IsolationNodes {
  feature: Int32Array; // -1 at leaves
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  /** At leaves: global leaf number; -1 elsewhere. */
  leafId: Int32Array;
  roots: Int32Array;
  /** Per leaf: depth + c(n_leaf), the path length a point ending there gets. */
  leafPathLength: Float64Array;
  /** Per leaf: the tree it belongs to. */
  leafTree: Int32Array;
}

export const ISOLATION_FOREST_SCHEMA = 'sieve-isolation-forest/1';

/**
 * The prediction layout (forestLayout.ts) of each set of trees, built when the trees are set (fit, load):
 * forests cloned for other experts share their trees and so their layout.
 */
const layouts = new WeakMap<IsolationNodes, CompiledForest>();

/**
 * Isolation forest (Liu, Ting & Zhou 2008) with scikit-learn's conventions: `scoreSamples` is minus the
 * anomaly score 2^(-E[h(x)]/c(psi)), `decisionFunction` adds 0.5 so that negative means anomalous, and
 * `score` returns the anomaly score in [0, 1] (higher = more anomalous). NaN feature values go right at
 * every split, as ONNX's BRANCH_LEQ does.
 */
export class IsolationForest {
  readonly params: IsolationForestParams;
  nFeatures = 0;
  /** The subsample size actually used (psi). */
  psi = 0;
  private fitted: IsolationNodes | null = null;

  /** The trees; setting them (fit, load, a clone) also builds their prediction layout. */
  get nodes(): IsolationNodes | null {
    return this.fitted;
  }

  set nodes(nodes: IsolationNodes | null) {
    this.fitted = nodes;
    if (!nodes || layouts.has(nodes)) return;
    const layout = compileForest(nodes, nodes.leafId);
    setLeafValues(layout, nodes.leafPathLength, 1);
    layouts.set(nodes, layout);
  }

  constructor(params: Partial<IsolationForestParams> = {}) {
    this.params = { ...DEFAULT_ISOLATION_FOREST_PARAMS, ...params };
  }

  fit(X: Matrix): this {
    const { rows: n, cols: d, data } = X;
    if (n < 2) throw new RangeError('IsolationForest.fit: need at least 2 rows');
    const p = this.params;
    const psi = p.maxSamples === 'auto' ? Math.min(256, n) : p.maxSamples < 1 ? Math.max(2, Math.floor(p.maxSamples * n)) : Math.min(n, Math.floor(p.maxSamples));
    this.psi = psi;
    this.nFeatures = d;
    const maxDepth = p.maxDepth ?? Math.ceil(Math.log2(Math.max(psi, 2)));
    const rng = new Random(p.seed, 0x1f0);
    let cap = Math.max(1024, p.nEstimators * 2 * psi);
    let feature = new Int32Array(cap);
    let threshold = new Float32Array(cap);
    let left = new Int32Array(cap);
    let right = new Int32Array(cap);
    let leafId = new Int32Array(cap);
    const leafPath: number[] = [];
    const leafTree: number[] = [];
    let size = 0;
    const roots = new Int32Array(p.nEstimators);
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const idx = new Int32Array(psi);
    const featOrder = new Int32Array(d);
    const addNode = (): number => {
      if (size === cap) {
        cap *= 2;
        const grow = <T extends Int32Array | Float32Array>(a: T): T => {
          const b = new (a.constructor as { new (k: number): T })(cap);
          b.set(a);
          return b;
        };
        feature = grow(feature);
        threshold = grow(threshold);
        left = grow(left);
        right = grow(right);
        leafId = grow(leafId);
      }
      feature[size] = -1;
      leafId[size] = -1;
      return size++;
    };
    for (let t = 0; t < p.nEstimators; t++) {
      // psi distinct rows (partial Fisher-Yates over a persistent permutation)
      for (let k = 0; k < psi; k++) {
        const j = k + Math.floor(rng.next() * (n - k));
        const tmp = perm[k];
        perm[k] = perm[j];
        perm[j] = tmp;
        idx[k] = perm[k];
      }
      const root = addNode();
      roots[t] = root;
      const stack: number[] = [root, 0, psi, 0];
      while (stack.length) {
        const depth = stack.pop()!;
        const end = stack.pop()!;
        const start = stack.pop()!;
        const node = stack.pop()!;
        const count = end - start;
        let split = false;
        if (depth < maxDepth && count > 1) {
          // a random feature that is not constant here, then a uniform threshold in [min, max)
          for (let f = 0; f < d; f++) featOrder[f] = f;
          for (let k = 0; k < d && !split; k++) {
            const j = k + Math.floor(rng.next() * (d - k));
            const f = featOrder[j];
            featOrder[j] = featOrder[k];
            featOrder[k] = f;
            let lo = Infinity;
            let hi = -Infinity;
            for (let q = start; q < end; q++) {
              const v = data[idx[q] * d + f];
              if (v < lo) lo = v;
              if (v > hi) hi = v;
            }
            if (!(hi > lo)) continue;
            let thr = Math.fround(lo + rng.next() * (hi - lo));
            if (thr >= hi) thr = Math.fround(lo);
            let a = start;
            let b = end - 1;
            while (a <= b) {
              if (data[idx[a] * d + f] <= thr) a++;
              else {
                const tmp = idx[a];
                idx[a] = idx[b];
                idx[b] = tmp;
                b--;
              }
            }
            if (a === start || a === end) continue;
            const l = addNode();
            const r = addNode();
            feature[node] = f;
            threshold[node] = thr;
            left[node] = l;
            right[node] = r;
            stack.push(r, a, end, depth + 1, l, start, a, depth + 1);
            split = true;
          }
        }
        if (!split) {
          leafId[node] = leafPath.length;
          leafPath.push(depth + averagePathLength(count));
          leafTree.push(t);
        }
      }
    }
    this.nodes = {
      feature: feature.slice(0, size),
      threshold: threshold.slice(0, size),
      left: left.slice(0, size),
      right: right.slice(0, size),
      leafId: leafId.slice(0, size),
      roots,
      leafPathLength: Float64Array.from(leafPath),
      leafTree: Int32Array.from(leafTree),
    };
    return this;
  }

  protected requireFitted(): IsolationNodes {
    if (!this.nodes) throw new Error(`${this.constructor.name}: not fitted`);
    return this.nodes;
  }

  get nLeaves(): number {
    return this.requireFitted().leafPathLength.length;
  }

  /** Global leaf id of every (row, tree): n x T, row-major. */
  leafIndices(X: Matrix): Int32Array {
    const nodes = this.requireFitted();
    assertCols(X, this.nFeatures, this.constructor.name);
    // the layout's leaf field is the global leaf id, set once when the trees are (a scorer calls this per
    // small batch: mapping the 150 trees' leaves at every call cost more than walking them)
    return leavesOf(layouts.get(nodes)!, X);
  }

  /** Mean path length E[h(x)] per row: the leaves' path lengths summed in tree order (the layout's walk). */
  meanPathLength(X: Matrix): Float64Array {
    const nodes = this.requireFitted();
    assertCols(X, this.nFeatures, this.constructor.name);
    const out = new Float64Array(X.rows);
    accumulateLeafValues(layouts.get(nodes)!, X, out);
    const T = nodes.roots.length;
    for (let i = 0; i < out.length; i++) out[i] /= T;
    return out;
  }

  /** Anomaly score 2^(-E[h]/c(psi)) in [0, 1]; higher is more anomalous. */
  score(X: Matrix): Float64Array {
    const c = averagePathLength(this.psi);
    return this.meanPathLength(X).map((h) => Math.pow(2, -h / c));
  }

  /** scikit-learn's score_samples: minus the anomaly score. */
  scoreSamples(X: Matrix): Float64Array {
    return this.score(X).map((s) => -s);
  }

  /** scikit-learn's decision_function with contamination 'auto': 0.5 - score; negative = anomalous. */
  decisionFunction(X: Matrix): Float64Array {
    return this.score(X).map((s) => 0.5 - s);
  }

  /** -1 for anomalies (decision < 0), +1 otherwise, as scikit-learn. */
  predict(X: Matrix): Int32Array {
    return Int32Array.from(this.decisionFunction(X), (v) => (v < 0 ? -1 : 1));
  }

  protected nodesJSON(): IsolationForestJSON['nodes'] {
    const n = this.requireFitted();
    return {
      feature: Array.from(n.feature), threshold: Array.from(n.threshold), left: Array.from(n.left), right: Array.from(n.right),
      leafId: Array.from(n.leafId), roots: Array.from(n.roots), leafPathLength: Array.from(n.leafPathLength), leafTree: Array.from(n.leafTree),
    };
  }

  /**
   * Refuses JSON that is not a sound isolation forest: trees that are trees over nFeatures features, one
   * leaf number per leaf (0..nLeaves-1, each once), a positive finite path length per leaf, a valid tree per
   * leaf, bounded sizes. O(nodes).
   */
  static checkJSON(json: unknown, what = 'isolation forest', schema = ISOLATION_FOREST_SCHEMA): asserts json is IsolationForestJSON {
    const { n, feature, left, right, roots } = checkFlatForest(json, what, schema);
    const j = json as IsolationForestJSON;
    checkCount(j.psi, `${what}: psi`, 1, 2 ** 31 - 1);
    const nodes = j.nodes;
    // scoring takes a split's right child to be left + 1 (children are allocated in pairs)
    for (let i = 0; i < n; i++) if (feature[i] >= 0 && right[i] !== left[i] + 1) throw new ModelStructureError(`${what}: nodes: node ${i}'s children ${left[i]} and ${right[i]} are not a pair`);
    const leafPathLength = checkNumbers(nodes.leafPathLength, `${what}: nodes.leafPathLength`, { finite: true, maxLength: n });
    const nLeaves = leafPathLength.length;
    for (let k = 0; k < nLeaves; k++) if (!(leafPathLength[k] > 0)) throw new ModelStructureError(`${what}: nodes.leafPathLength: entry ${k} is ${leafPathLength[k]}, not positive`);
    checkNumbers(nodes.leafTree, `${what}: nodes.leafTree`, { length: nLeaves, integer: true, min: 0 });
    for (let k = 0; k < nLeaves; k++) if (nodes.leafTree[k] >= roots.length) throw new ModelStructureError(`${what}: nodes.leafTree: leaf ${k} is in tree ${nodes.leafTree[k]} of ${roots.length}`);
    const leafId = checkNumbers(nodes.leafId, `${what}: nodes.leafId`, { length: n, integer: true });
    const seen = new Uint8Array(nLeaves);
    for (let i = 0; i < n; i++) {
      const id = leafId[i];
      if (feature[i] >= 0) continue;
      if (!(id >= 0 && id < nLeaves)) throw new ModelStructureError(`${what}: nodes.leafId: leaf node ${i} has leaf number ${id}, outside 0..${nLeaves - 1}`);
      if (seen[id]++) throw new ModelStructureError(`${what}: nodes.leafId: leaf number ${id} is given twice`);
    }
    for (let k = 0; k < nLeaves; k++) if (!seen[k]) throw new ModelStructureError(`${what}: nodes.leafId: no node has leaf number ${k}`);
  }

  protected static nodesFromJSON(j: IsolationForestJSON['nodes']): IsolationNodes {
    return {
      feature: Int32Array.from(j.feature), threshold: Float32Array.from(j.threshold), left: Int32Array.from(j.left), right: Int32Array.from(j.right),
      leafId: Int32Array.from(j.leafId), roots: Int32Array.from(j.roots), leafPathLength: Float64Array.from(j.leafPathLength), leafTree: Int32Array.from(j.leafTree),
    };
  }

  toJSON(): IsolationForestJSON {
    return { schema: ISOLATION_FOREST_SCHEMA, params: this.params, nFeatures: this.nFeatures, psi: this.psi, nodes: this.nodesJSON() };
  }

  static fromJSON(json: IsolationForestJSON): IsolationForest {
    IsolationForest.checkJSON(json, 'IsolationForest.fromJSON');
    const f = new IsolationForest(json.params);
    f.nFeatures = json.nFeatures;
    f.psi = json.psi;
    f.nodes = IsolationForest.nodesFromJSON(json.nodes);
    return f;
  }
}

export interface IsolationForestJSON {
  schema: string;
  params: IsolationForestParams;
  nFeatures: number;
  psi: number;
  nodes: {
    feature: number[]; threshold: number[]; left: number[]; right: number[]; leafId: number[]; roots: number[];
    leafPathLength: number[]; leafTree: number[];
  };
}
