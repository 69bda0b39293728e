import type { Matrix } from './matrix.ts';
import { forestWalk, type ForestWalk } from './forestWasm.ts';

/**
 * The forest laid out for prediction (measured against scikit-learn in bench/models.ts; notes in
 * bench/README.md). Training appends nodes in the order their splits are found, so a walk from the root
 * jumps across four separate arrays (feature, threshold, left, right): four cache lines per node. Here each
 * tree is renumbered in depth-first pre-order (the left child is the next node, so only the right child is
 * stored) and a node's fields sit together in one 16-byte slot of a WebAssembly memory, where the walk runs
 * (forestWasm.ts):
 *   [feature * 4, threshold (float32), right child's byte address, leaf field (-1 for a split)].
 * Leaves are numbered in the same pre-order, so a tree's leaf values sit together too (`leafNode` maps a leaf
 * number back to the trained node). The leaf field is that number, or what the caller asks for (an
 * isolation forest's global leaf ids).
 * A leaf points to itself (threshold NaN: every comparison is false, so it goes "right" to itself), so rows
 * that reached it can wait there for the rows walking the tree with them. Prediction walks the rows through
 * one tree at a time, and the per-row sums still run in tree order (scikit-learn's order, which keeps
 * exported forests bit-identical).
 * Everything is built when the trees are (fit, load): a prediction only copies its rows in and the result
 * out.
 */
export interface CompiledForest {
  memory: WebAssembly.Memory;
  walk: ForestWalk;
  /** Byte address of each tree's root slot. */
  roots: Int32Array;
  /** Leaf number -> node id in the trained numbering. */
  leafNode: Int32Array;
  /** Byte address of the leaf values (leafValues), -1 before they are set; C their classes per leaf. */
  values: number;
  C: number;
  /** Byte address where a prediction's rows and results go (after the slots and the values). */
  scratch: number;
}

const SLOT_BYTES = 16;
const PAGE_BYTES = 65536;

export function compileForest(
  nodes: { feature: Int32Array; threshold: Float32Array; left: Int32Array; right: Int32Array; roots: Int32Array },
  leafField?: Int32Array,
): CompiledForest {
  const n = nodes.feature.length;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((n * SLOT_BYTES + 1) / PAGE_BYTES) });
  const slots = new Int32Array(memory.buffer, 0, 4 * n);
  const thresholds = new Float32Array(memory.buffer, 0, 4 * n);
  const roots = new Int32Array(nodes.roots.length);
  const stack = new Int32Array(n + 1);
  // for each stacked node, the slot whose right-child field must point to it (-1: a root or a left child)
  const patch = new Int32Array(n + 1);
  const leafNode = new Int32Array(n);
  let leaves = 0;
  let next = 0;
  for (let t = 0; t < nodes.roots.length; t++) {
    roots[t] = next * SLOT_BYTES;
    // pre-order: a node, then its left subtree, then its right; a right child's slot is patched on arrival
    let sp = 0;
    patch[sp] = -1;
    stack[sp++] = nodes.roots[t];
    while (sp > 0) {
      const node = stack[--sp];
      const p = patch[sp];
      const k = next++;
      if (p >= 0) slots[4 * p + 2] = k * SLOT_BYTES;
      const f = nodes.feature[node];
      if (f < 0) {
        slots[4 * k] = 0;
        thresholds[4 * k + 1] = NaN;
        slots[4 * k + 2] = k * SLOT_BYTES;
        slots[4 * k + 3] = leafField ? leafField[node] : leaves;
        leafNode[leaves++] = node;
        continue;
      }
      slots[4 * k] = 4 * f;
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
  return { memory, walk: forestWalk(memory), roots, leafNode: leafNode.slice(0, leaves), values: -1, C: 0, scratch: n * SLOT_BYTES };
}

/** Room for `bytes` from the scratch address on (the memory only grows, so later calls reuse it). */
function scratchRoom(forest: CompiledForest, bytes: number): ArrayBuffer {
  const need = forest.scratch + bytes - forest.memory.buffer.byteLength;
  if (need > 0) forest.memory.grow(Math.ceil(need / PAGE_BYTES));
  return forest.memory.buffer;
}

/**
 * Places the leaves' values (leaves x C, by leaf field: see compileForest) after the slots, for
 * accumulateLeafValues; the scratch moves after them. Once per forest.
 */
export function setLeafValues(forest: CompiledForest, values: Float64Array, C: number): void {
  if (forest.values >= 0) throw new Error('forest layout: leaf values already set');
  if (values.length !== forest.leafNode.length * C) throw new RangeError(`forest layout: ${values.length} leaf values for ${forest.leafNode.length} leaves x ${C}`);
  forest.values = forest.scratch;
  forest.C = C;
  forest.scratch += values.length * 8;
  new Float64Array(scratchRoom(forest, 0), forest.values, values.length).set(values);
}

/** A per-node table (nNodes x C, trained numbering) by leaf number, for setLeafValues. */
export function byLeafNumber(forest: CompiledForest, value: Float64Array, C: number): Float64Array {
  const out = new Float64Array(forest.leafNode.length * C);
  for (let l = 0; l < forest.leafNode.length; l++) for (let c = 0; c < C; c++) out[l * C + c] = value[forest.leafNode[l] * C + c];
  return out;
}

/**
 * Bytes of rows and their sums per pass over the trees of accumulateLeafValues. Each tree is read once per
 * block: on the bench's random forests (100 trees, 320,000-475,000 nodes; 20,000 and 40,000 x 25 rows),
 * blocks of 64 KB / 256 KB / 1 MB / 8 MB took 0.118 / 0.086 / 0.068 / 0.071 s and 0.283 / 0.180 / 0.153 /
 * 0.141 s, so the block only bounds the memory a very large table takes.
 */
const BLOCK_BYTES = 1 << 20;

/**
 * The same for leavesOf (rows and their leaves in every tree): on an isolation forest of 150 trees x 256
 * samples, 40,000 x 25 rows, 64 KB / 256 KB / 1 MB / 8 MB / 32 MB blocks took 0.098 / 0.112 / 0.108 / 0.154 /
 * 0.144 s (small trees, while a block's rows and leaves stay in cache).
 */
const LEAF_BLOCK_BYTES = 256 << 10;

/**
 * Adds, per row and class, the leaf value of every tree (set by setLeafValues) into out (rows x C), in tree
 * order.
 */
export function accumulateLeafValues(forest: CompiledForest, X: Matrix, out: Float64Array): void {
  const { roots, walk, values, C } = forest;
  if (values < 0) throw new Error('forest layout: leaf values not set');
  byBlocks(forest, X, BLOCK_BYTES, out, C, (rows, x, sums) => {
    for (let t = 0; t < roots.length; t++) walk.addLeafValues(roots[t], rows, 4 * X.cols, x, values, C, sums);
  });
}

/**
 * Each row's leaf field in every tree (rows x T, row-major): the leaf number, or the leafField given to
 * compileForest.
 */
export function leavesOf(forest: CompiledForest, X: Matrix): Int32Array {
  const { roots, walk } = forest;
  const T = roots.length;
  const out = new Int32Array(X.rows * T);
  byBlocks(forest, X, LEAF_BLOCK_BYTES, out, T, (rows, x, leaves) => {
    for (let t = 0; t < T; t++) walk.leaves(roots[t], rows, 4 * X.cols, x, leaves + 4 * t, 4 * T);
  });
  return out;
}

/**
 * X's rows, a block of about blockBytes (rows and results) at a time, copied into the forest's scratch
 * memory for `pass`, which writes `perRow` results per row (zeroed first) at the address it is given; those
 * go to out.
 */
function byBlocks<A extends Float64Array | Int32Array>(
  forest: CompiledForest, X: Matrix, blockBytes: number, out: A, perRow: number,
  pass: (rows: number, x: number, results: number) => void,
): void {
  const d = X.cols;
  const bytes = out.BYTES_PER_ELEMENT;
  const block = Math.max(1, Math.min(X.rows, Math.floor(blockBytes / (4 * d + bytes * perRow))));
  const x = forest.scratch;
  const results = x + Math.ceil((block * d * 4) / 8) * 8;
  const buffer = scratchRoom(forest, results - x + block * perRow * bytes);
  const rowsIn = new Float32Array(buffer, x, block * d);
  const resultsOut = new (out.constructor as new (b: ArrayBuffer, at: number, n: number) => A)(buffer, results, block * perRow);
  for (let start = 0; start < X.rows; start += block) {
    const n = Math.min(X.rows, start + block) - start;
    rowsIn.set(X.data.subarray(start * d, (start + n) * d));
    resultsOut.fill(0, 0, n * perRow);
    pass(n, x, results);
    out.set(resultsOut.subarray(0, n * perRow), start * perRow);
  }
}
