import type { Matrix } from './matrix.ts';

/**
 * The forest laid out for prediction (measured against scikit-learn in bench/models.ts; notes in
 * bench/README.md). Training appends nodes in the order their splits are found, so a walk from the root
 * jumps across four separate arrays (feature, threshold, left, right): four cache lines per node. Here each
 * tree is renumbered in depth-first pre-order (the left child is the next node, so only the right child is
 * stored) and a node's fields sit together in one 16-byte slot:
 *   [feature, threshold (float32), right child, the leaf's number (-1 for a split)].
 * Leaves are numbered in the same pre-order, so a tree's leaf values sit together too (`leafNode` maps a leaf
 * number back to the trained node).
 * A leaf points to itself (feature 0, threshold NaN: every comparison is false, so it goes "right" to
 * itself), so rows that reached it can wait there for the rows walking the tree with them. Prediction walks
 * the rows through one tree at a time, and the per-row sums still run in tree order (scikit-learn's order,
 * which keeps exported forests bit-identical).
 */
export interface CompiledForest {
  slots: Int32Array;
  thresholds: Float32Array;
  roots: Int32Array;
  /** Leaf number -> node id in the trained numbering. */
  leafNode: Int32Array;
}

export function compileForest(nodes: { feature: Int32Array; threshold: Float32Array; left: Int32Array; right: Int32Array; roots: Int32Array }): CompiledForest {
  const n = nodes.feature.length;
  const buffer = new ArrayBuffer(n * 16);
  const slots = new Int32Array(buffer);
  const thresholds = new Float32Array(buffer);
  const roots = new Int32Array(nodes.roots.length);
  const stack = new Int32Array(n + 1);
  // for each stacked node, the slot whose right-child field must point to it (-1: a root or a left child)
  const patch = new Int32Array(n + 1);
  const leafNode = new Int32Array(n);
  let leaves = 0;
  let next = 0;
  for (let t = 0; t < nodes.roots.length; t++) {
    roots[t] = next;
    // pre-order: a node, then its left subtree, then its right; a right child's slot is patched on arrival
    let sp = 0;
    patch[sp] = -1;
    stack[sp++] = nodes.roots[t];
    while (sp > 0) {
      const node = stack[--sp];
      const p = patch[sp];
      const k = next++;
      if (p >= 0) slots[4 * p + 2] = k;
      const f = nodes.feature[node];
      if (f < 0) {
        slots[4 * k] = 0;
        thresholds[4 * k + 1] = NaN;
        slots[4 * k + 2] = k;
        slots[4 * k + 3] = leaves;
        leafNode[leaves++] = node;
        continue;
      }
      slots[4 * k] = f;
      slots[4 * k + 3] = -1;
      thresholds[4 * k + 1] = nodes.threshold[node];
      // right pushed first so the left child is visited next (and so lands in slot k + 1)
      patch[sp] = k;
      stack[sp++] = nodes.right[node];
      patch[sp] = -1;
      stack[sp++] = nodes.left[node];
    }
  }
  if (next !== n) throw new Error(`forest layout: ${n - next} node(s) are not reachable from a root`);
  return { slots, thresholds, roots, leafNode: leafNode.slice(0, leaves) };
}

// Rows per pass over the trees. Each tree is read once per block; measured here, smaller blocks (64 to
// 8,192 rows) were slower than one pass over 20,000 rows, so the block only bounds very large tables.
const BLOCK_ROWS = 65536;

/**
 * Adds, per row and class, the leaf value of every tree (value is nLeaves x C by leaf number: see
 * `leafValues`) into out (rows x C), in tree order.
 */
export function accumulateLeafValues(forest: CompiledForest, X: Matrix, value: Float64Array, C: number, out: Float64Array): void {
  const { slots, thresholds, roots } = forest;
  const leaf = new Int32Array(Math.min(X.rows, BLOCK_ROWS));
  for (let start = 0; start < X.rows; start += BLOCK_ROWS) {
    const end = Math.min(X.rows, start + BLOCK_ROWS);
    for (let t = 0; t < roots.length; t++) {
      leafNumbersOfTree(slots, thresholds, roots[t], X.data, X.cols, start, end, leaf);
      for (let i = start; i < end; i++) addLeaf(out, i * C, value, leaf[i - start] * C, C);
    }
  }
}

function addLeaf(out: Float64Array, o: number, value: Float64Array, v: number, C: number): void {
  for (let c = 0; c < C; c++) out[o + c] += value[v + c];
}

/** A per-node table (nNodes x C, trained numbering) by leaf number, for accumulateLeafValues. */
export function leafValues(forest: CompiledForest, value: Float64Array, C: number): Float64Array {
  const out = new Float64Array(forest.leafNode.length * C);
  for (let l = 0; l < forest.leafNode.length; l++) for (let c = 0; c < C; c++) out[l * C + c] = value[forest.leafNode[l] * C + c];
  return out;
}

/**
 * Rows per block of leavesOf: a block's rows stay in cache while every tree walks them (measured on an
 * isolation forest of 150 trees x 256 samples, 40,000 x 25 rows: 64 rows 411 ms, 1,024 rows 332 ms, all rows
 * at once 468 ms, row by row through the trees 800 ms).
 */
const LEAF_BLOCK_ROWS = 1024;

/**
 * Each row's leaf in every tree (rows x T, row-major): `forest.leafNode` of the leaf it reaches (the node id in
 * the trained numbering; an isolation forest maps it to its global leaf ids once, when it builds its layout).
 * Tree by tree over a block of rows, four rows in lock-step, as accumulateLeafValues.
 */
export function leavesOf(forest: CompiledForest, X: Matrix): Int32Array {
  const { slots, thresholds, roots } = forest;
  const byLeaf = forest.leafNode;
  const T = roots.length;
  const out = new Int32Array(X.rows * T);
  const leaf = new Int32Array(Math.min(X.rows, LEAF_BLOCK_ROWS));
  for (let start = 0; start < X.rows; start += LEAF_BLOCK_ROWS) {
    const end = Math.min(X.rows, start + LEAF_BLOCK_ROWS);
    for (let t = 0; t < T; t++) {
      leafNumbersOfTree(slots, thresholds, roots[t], X.data, X.cols, start, end, leaf);
      for (let i = start; i < end; i++) out[i * T + t] = byLeaf[leaf[i - start]];
    }
  }
  return out;
}

/**
 * The leaf number each row of start..end reaches in the tree at root, into leaf[i - start]. Four rows walk
 * the tree together: their paths are independent, and a select (not a branch) picks each one's next node, so
 * the processor overlaps them instead of guessing directions.
 */
function leafNumbersOfTree(slots: Int32Array, thresholds: Float32Array, root: number, data: ArrayLike<number>, d: number, start: number, end: number, leaf: Int32Array): void {
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const o0 = i * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    let k0 = root; let k1 = root; let k2 = root; let k3 = root;
    while ((slots[4 * k0 + 3] | slots[4 * k1 + 3] | slots[4 * k2 + 3] | slots[4 * k3 + 3]) < 0) {
      const r0 = slots[4 * k0 + 2];
      k0 = r0 + ((k0 + 1 - r0) & -(data[o0 + slots[4 * k0]] <= thresholds[4 * k0 + 1]));
      const r1 = slots[4 * k1 + 2];
      k1 = r1 + ((k1 + 1 - r1) & -(data[o1 + slots[4 * k1]] <= thresholds[4 * k1 + 1]));
      const r2 = slots[4 * k2 + 2];
      k2 = r2 + ((k2 + 1 - r2) & -(data[o2 + slots[4 * k2]] <= thresholds[4 * k2 + 1]));
      const r3 = slots[4 * k3 + 2];
      k3 = r3 + ((k3 + 1 - r3) & -(data[o3 + slots[4 * k3]] <= thresholds[4 * k3 + 1]));
    }
    leaf[i - start] = slots[4 * k0 + 3];
    leaf[i + 1 - start] = slots[4 * k1 + 3];
    leaf[i + 2 - start] = slots[4 * k2 + 3];
    leaf[i + 3 - start] = slots[4 * k3 + 3];
  }
  for (; i < end; i++) {
    const off = i * d;
    let k = root;
    while (slots[4 * k + 3] < 0) k = data[off + slots[4 * k]] <= thresholds[4 * k + 1] ? k + 1 : slots[4 * k + 2];
    leaf[i - start] = slots[4 * k + 3];
  }
}
