/**
 * The forest walk as a small WebAssembly module, written here byte by byte (no toolchain): the same
 * lock-step walk as JavaScript would do, without its per-load bounds, overflow and map checks, which were
 * most of the instructions of the JavaScript walk (measured in bench/README.md). The module is generated
 * once per process and instantiated once per compiled forest, on that forest's memory (forestLayout.ts).
 *
 * Memory seen by the walk: 16-byte node slots at byte addresses [feature * 4, threshold (float32), right
 * child's address, leaf field], in pre-order (the left child is the next slot). A leaf's right child is
 * itself and its threshold NaN (x <= NaN is false), so a row that reached its leaf stays there while the
 * others of its group go on; the walk of a group ends when no row moved.
 *
 * Exports:
 *  - addLeafValues(root, rows, rowBytes, x, values, C, out): for each of `rows` float32 rows at x (rowBytes
 *    apart), out[row * C + c] += values[leaf * C + c] (float64; leaf = the reached slot's leaf field), so
 *    calls tree after tree add in tree order.
 *  - leaves(root, rows, rowBytes, x, out, strideBytes): the reached slot's leaf field (int32) at
 *    out + row * strideBytes.
 */
import {
  BLOCK, BR, BR_IF, END, F32_LE, F32_LOAD, F64, F64_ADD, F64_CONST, F64_LOAD, F64_STORE, GET, I32, I32_ADD, I32_GE_S, I32_GT_S,
  I32_LOAD, I32_LOAD16_U, I32_LOAD8_U, I32_LT_S, I32_MUL, I32_NE, I32_OR, I32_SHL, I32_STORE, I32_SUB, I32_XOR, IF, LOOP,
  MODULE_HEADER, SELECT, SET, TEE, VOID, i32, mem, name, section, uleb, vec,
} from '../features/wasmEncoding.ts';

/**
 * Rows walking a tree together: their paths are independent, so the processor overlaps their loads, and a
 * select (not a branch) picks each one's next node. On the bench's forests (forestPredict.mjs; best of 8,
 * alternated in one process) 4 / 6 / 8 rows took 0.094 / 0.073 / 0.073 s on blobs and 0.250 / 0.219 / 0.228
 * s on make_classification; 2 rows about twice 4. Ending a group's walk on "no row moved" or on "every row
 * is at a leaf" (one more load per row and step) measured the same.
 */
const LANES = 6;

/**
 * One function: params (all i32) then `extra` i32 locals. The body walks groups of LANES rows through the
 * tree at params[0] and hands each row's leaf field to `sink` (which finds the row in local ROW and the leaf
 * field on the stack, and must consume it).
 */
function walkFunction(nParams: number, sink: (row: number, scratch: number) => number[]): number[] {
  // locals: the params, then i, k[L], n[L], o[L], row, scratch (3)
  const [root, rows, rowBytes, x] = [0, 1, 2, 3];
  let next = nParams;
  const i = next++;
  const k = Array.from({ length: LANES }, () => next++);
  const n = Array.from({ length: LANES }, () => next++);
  const o = Array.from({ length: LANES }, () => next++);
  const row = next++;
  const scratch = next;
  next += 3;
  const code: number[] = [];
  code.push(...i32(0), SET, i);
  code.push(BLOCK, VOID, LOOP, VOID);
  code.push(GET, i, GET, rows, I32_GE_S, BR_IF, 1);
  for (let L = 0; L < LANES; L++) {
    // the lane's row: i + L, or the last row when past the end (it walks again, its result is not used)
    code.push(GET, i, ...i32(L), I32_ADD);
    if (L > 0) code.push(GET, rows, ...i32(1), I32_SUB, GET, i, ...i32(L), I32_ADD, GET, rows, I32_LT_S, SELECT);
    code.push(GET, rowBytes, I32_MUL, GET, x, I32_ADD, SET, o[L]);
    code.push(GET, root, SET, k[L]);
  }
  code.push(LOOP, VOID);
  for (let L = 0; L < LANES; L++) {
    // n = x[feature] <= threshold ? k + 16 : right
    code.push(GET, k[L], ...i32(16), I32_ADD);
    code.push(GET, k[L], ...mem(I32_LOAD, 2, 8));
    code.push(GET, o[L], GET, k[L], ...mem(I32_LOAD, 2, 0), I32_ADD, ...mem(F32_LOAD, 2, 0));
    code.push(GET, k[L], ...mem(F32_LOAD, 2, 4), F32_LE, SELECT, SET, n[L]);
  }
  // moved = OR of (n ^ k); k = n; again while a row moved
  for (let L = 0; L < LANES; L++) {
    code.push(GET, n[L], GET, k[L], I32_XOR);
    if (L > 0) code.push(I32_OR);
  }
  for (let L = 0; L < LANES; L++) code.push(GET, n[L], SET, k[L]);
  code.push(BR_IF, 0, END);
  for (let L = 0; L < LANES; L++) {
    const body = [GET, k[L], ...mem(I32_LOAD, 2, 12), ...sink(row, scratch)];
    if (L === 0) code.push(GET, i, SET, row, ...body);
    else code.push(GET, i, ...i32(L), I32_ADD, TEE, row, GET, rows, I32_LT_S, IF, VOID, ...body, END);
  }
  code.push(GET, i, ...i32(LANES), I32_ADD, SET, i, BR, 0, END, END, END);
  const locals = vec([[...uleb(next - nParams), I32]]);
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

/** out[row * C + c] += values[leaf * C + c] for c < C, float64 (params values = 4, C = 5, out = 6). */
function addValuesSink(row: number, s: number): number[] {
  const [values, C, out] = [4, 5, 6];
  const [vp, op, c] = [s, s + 1, s + 2];
  return [
    GET, C, I32_MUL, ...i32(8), I32_MUL, GET, values, I32_ADD, SET, vp,
    GET, row, GET, C, I32_MUL, ...i32(8), I32_MUL, GET, out, I32_ADD, SET, op,
    GET, C, SET, c,
    LOOP, VOID,
    GET, op, GET, op, ...mem(F64_LOAD, 3), GET, vp, ...mem(F64_LOAD, 3), F64_ADD, ...mem(F64_STORE, 3),
    GET, op, ...i32(8), I32_ADD, SET, op, GET, vp, ...i32(8), I32_ADD, SET, vp,
    GET, c, ...i32(1), I32_SUB, TEE, c, ...i32(0), I32_NE, BR_IF, 0,
    END,
  ];
}

/** The leaf field at out + row * strideBytes (params out = 4, strideBytes = 5). */
function storeLeafSink(row: number, s: number): number[] {
  const [out, stride] = [4, 5];
  return [SET, s, GET, row, GET, stride, I32_MUL, GET, out, I32_ADD, GET, s, ...mem(I32_STORE, 2)];
}

function moduleBytes(): Uint8Array {
  const type = (params: number) => [0x60, ...vec(Array.from({ length: params }, () => [I32])), 0];
  return Uint8Array.from([
    ...MODULE_HEADER,
    ...section(1, vec([type(7), type(6)])),
    ...section(2, vec([[...name('m'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec([[0], [1]])),
    ...section(7, vec([[...name('addLeafValues'), 0x00, 0], [...name('leaves'), 0x00, 1]])),
    ...section(10, vec([walkFunction(7, addValuesSink), walkFunction(6, storeLeafSink)])),
  ]);
}

export interface ForestWalk {
  addLeafValues(root: number, rows: number, rowBytes: number, x: number, values: number, C: number, out: number): void;
  leaves(root: number, rows: number, rowBytes: number, x: number, out: number, strideBytes: number): void;
}

let compiled: WebAssembly.Module | null = null;

/** The walk functions on a memory (compiled once per process). */
export function forestWalk(memory: WebAssembly.Memory): ForestWalk {
  compiled ??= new WebAssembly.Module(moduleBytes());
  return new WebAssembly.Instance(compiled, { m: { memory } }).exports as unknown as ForestWalk;
}

/**
 * An AAD session's re-scoring from cached leaves (engine/core/anomalySession.ts), a row's leaves being its
 * leaf's rank within each tree: out[k] = sum over trees t, in order, of wv[first[t] + leaves[k * T + t]]
 * (float64), SUM_LANES rows at once (each row's sum is a chain of dependent additions; independent chains
 * keep the processor busy). One function per leaf width: `sum8`, `sum16`, `sum32` (bytes, uint16, int32).
 * Each takes byte addresses (leaves, first (int32), wv (float64), out (float64)), T and rows. On the
 * session's pools: 1.3 ns per (row, tree), 4 rows at once; JavaScript's loop 3 ns (4 rows) to 5.5 ns (1 row).
 */
const SUM_LANES = 4;

function sumFunction(width: 1 | 2 | 4): number[] {
  const [leaves, first, wv, T, rows, out] = [0, 1, 2, 3, 4, 5];
  let next = 6;
  const [k, t, base, fp] = [next++, next++, next++, next++];
  // lane j's next leaf: leaves + ((k + j) T + t) width
  const o = Array.from({ length: SUM_LANES }, () => next++);
  const nI32 = next - 6;
  const s = Array.from({ length: SUM_LANES }, (_, j) => next + j);
  const load = width === 1 ? mem(I32_LOAD8_U, 0) : width === 2 ? mem(I32_LOAD16_U, 1) : mem(I32_LOAD, 2);
  const shift = width === 1 ? [] : [...i32(width === 2 ? 1 : 2), I32_SHL];
  // one group of `lanes` rows from row k
  const group = (lanes: number): number[] => {
    const code: number[] = [];
    for (let j = 0; j < lanes; j++) {
      code.push(F64_CONST, 0, 0, 0, 0, 0, 0, 0, 0, SET, s[j]);
      code.push(GET, k, ...i32(j), I32_ADD, GET, T, I32_MUL, ...shift, GET, leaves, I32_ADD, SET, o[j]);
    }
    code.push(GET, first, SET, fp, ...i32(0), SET, t);
    code.push(BLOCK, VOID, LOOP, VOID, GET, t, GET, T, I32_GE_S, BR_IF, 1);
    // base = wv + first[t] * 8
    code.push(GET, fp, ...mem(I32_LOAD, 2), ...i32(3), I32_SHL, GET, wv, I32_ADD, SET, base);
    for (let j = 0; j < lanes; j++) {
      // s_j += wv at base + leaf * 8
      code.push(GET, s[j], GET, o[j], ...load, ...i32(3), I32_SHL, GET, base, I32_ADD, ...mem(F64_LOAD, 3), F64_ADD, SET, s[j]);
      code.push(GET, o[j], ...i32(width), I32_ADD, SET, o[j]);
    }
    code.push(GET, t, ...i32(1), I32_ADD, SET, t, GET, fp, ...i32(4), I32_ADD, SET, fp, BR, 0, END, END);
    for (let j = 0; j < lanes; j++) code.push(GET, out, GET, k, ...i32(j), I32_ADD, ...i32(3), I32_SHL, I32_ADD, GET, s[j], ...mem(F64_STORE, 3));
    return code;
  };
  const code: number[] = [...i32(0), SET, k];
  // whole groups while k + SUM_LANES <= rows, then the rest one row at a time
  code.push(BLOCK, VOID, LOOP, VOID, GET, k, ...i32(SUM_LANES), I32_ADD, GET, rows, I32_GT_S, BR_IF, 1);
  code.push(...group(SUM_LANES), GET, k, ...i32(SUM_LANES), I32_ADD, SET, k, BR, 0, END, END);
  code.push(BLOCK, VOID, LOOP, VOID, GET, k, GET, rows, I32_GE_S, BR_IF, 1);
  code.push(...group(1), GET, k, ...i32(1), I32_ADD, SET, k, BR, 0, END, END, END);
  const locals = vec([[...uleb(nI32), I32], [...uleb(SUM_LANES), F64]]);
  return [...uleb(locals.length + code.length), ...locals, ...code];
}

export interface LeafSums {
  sum8(leaves: number, first: number, wv: number, T: number, rows: number, out: number): void;
  sum16(leaves: number, first: number, wv: number, T: number, rows: number, out: number): void;
  sum32(leaves: number, first: number, wv: number, T: number, rows: number, out: number): void;
}

const compiledSums: Array<WebAssembly.Module | null> = [null, null];

/** The leaf-sum functions on a memory, shared (between threads) or not (each variant compiled once per process). */
export function leafSums(memory: WebAssembly.Memory, shared = false): LeafSums {
  // a shared memory is imported as such: limits 0 to 65536 pages (4 GiB), flag 3 (shared, with a maximum)
  const limits = shared ? [0x03, 0x00, ...uleb(65536)] : [0x00, 0x00];
  const compiled = (compiledSums[shared ? 1 : 0] ??= new WebAssembly.Module(Uint8Array.from([
    ...MODULE_HEADER,
    ...section(1, vec([[0x60, ...vec(Array.from({ length: 6 }, () => [I32])), 0]])),
    ...section(2, vec([[...name('m'), ...name('memory'), 0x02, ...limits]])),
    ...section(3, vec([[0], [0], [0]])),
    ...section(7, vec([[...name('sum8'), 0x00, 0], [...name('sum16'), 0x00, 1], [...name('sum32'), 0x00, 2]])),
    ...section(10, vec([sumFunction(1), sumFunction(2), sumFunction(4)])),
  ])));
  return new WebAssembly.Instance(compiled, { m: { memory } }).exports as unknown as LeafSums;
}
