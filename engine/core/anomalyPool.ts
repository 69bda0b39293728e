import { leafSums, validRows, type AADForest, type LeafSums, type PerBandAADModel } from '../../models/index.ts';
import { bandInputs } from './bandInputs.ts';
import { computeFeatures } from './features/pipeline.ts';
import type { ModuleDefinition } from './modules/index.ts';
import type { Store } from './store/store.ts';

/** Per band: every pool alert's leaf in every tree, as its rank among its tree's leaves (a byte for up to 256 leaves). */
export type LeafTable = Uint8Array | Uint16Array | Int32Array;

/** Where each tree's leaves start in the forest's numbering, and the smallest array type their ranks fit in. */
export function leafLayout(f: AADForest): { first: Int32Array; make: (n: number) => LeafTable } {
  const nodes = f.nodes!;
  const T = nodes.roots.length;
  const first = new Int32Array(T + 1).fill(-1);
  for (let l = nodes.leafTree.length - 1; l >= 0; l--) first[nodes.leafTree[l]] = l;
  first[T] = nodes.leafTree.length;
  let most = 0;
  for (let t = 0; t < T; t++) most = Math.max(most, first[t + 1] - first[t]);
  return { first, make: most <= 256 ? (n) => new Uint8Array(n) : most <= 65536 ? (n) => new Uint16Array(n) : (n) => new Int32Array(n) };
}

const BLOCK_ROWS = 16384;

/**
 * What a session holds besides the model, per band only the pool rows whose features in that band are complete
 * (the others have no score there): their pool row numbers, ascending, and their leaves (row-major, T per
 * row). Most Rubin alerts are complete in a few of the six bands, so this is a fraction of rows x bands.
 */
export interface SessionPool {
  rows: Int32Array[];
  leaves: LeafTable[];
  alertIds: Int32Array;
  objectIds: string[];
}

/** The leaves of every pool alert in every tree of the model's forests, read from the store in blocks. */
export function sessionPool(store: Store, def: ModuleDefinition, model: PerBandAADModel): SessionPool {
  computeFeatures(store, def.extractor());
  const spec = def.extractor().spec;
  const n = store.poolCounts(spec, def.survey).passing;
  const T = model.nEstimators;
  const F = model.nFeatures;
  const layouts = model.forests.map(leafLayout);
  const alertIds = new Int32Array(n);
  const objectIds: string[] = new Array(n);
  // per band, each block's valid rows and their leaves, joined at the end (the pool's size per band is not known before)
  const rowParts: Int32Array[][] = model.bands.map(() => []);
  const leafParts: LeafTable[][] = model.bands.map(() => []);
  let row = 0;
  for (const t of store.featureBlocks(spec, BLOCK_ROWS)) {
    const m = t.alertIds.length;
    if (row + m > n) throw new Error(`${def.name}: the pool grew while the session was opening`);
    alertIds.set(t.alertIds, row);
    for (let i = 0; i < m; i++) objectIds[row + i] = t.objectIds[i];
    const inputs = bandInputs(def, t.values, m, model.bands);
    model.forests.forEach((f, b) => {
      const valid = validRows(inputs[b], m, F);
      let kept = 0;
      for (let i = 0; i < m; i++) kept += valid[i];
      const rows = new Int32Array(kept);
      const data = new Float32Array(kept * F);
      for (let i = 0, k = 0; i < m; i++) {
        if (!valid[i]) continue;
        rows[k] = row + i;
        data.set(inputs[b].subarray(i * F, i * F + F), k++ * F);
      }
      const first = layouts[b].first;
      const out = layouts[b].make(kept * T);
      const global = kept ? f.leafIndices({ data, rows: kept, cols: F }) : new Int32Array(0);
      for (let k = 0; k < kept; k++) for (let j = 0; j < T; j++) out[k * T + j] = global[k * T + j] - first[j];
      rowParts[b].push(rows);
      leafParts[b].push(out);
    });
    row += m;
  }
  if (row !== n) throw new Error(`${def.name}: ${n} pool rows counted, ${row} read`);
  return {
    rows: rowParts.map((parts) => joined(parts, new Int32Array(parts.reduce((s, p) => s + p.length, 0)))),
    leaves: leafParts.map((parts, b) => joined(parts, layouts[b].make(parts.reduce((s, p) => s + p.length, 0)))),
    alertIds,
    objectIds,
  };
}

function joined<A extends { length: number; set(a: A, offset: number): void }>(parts: A[], out: A): A {
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * One band's cached leaves (a session pool's `leaves[b]`, copied once) in a WebAssembly memory with the
 * tree offsets, the leaf scores w_l v_l of the current weights and room for a slice of scores: re-scoring
 * rows [from, to) is a call of the leaf-sum kernel (forestWasm.ts), the terms added in tree order as
 * `AADForest.scoreFromLeaves` adds them, so the scores are the forest's own bit for bit.
 */
export class BandLeaves {
  /** Rows scored per call (about 10-20 ms at 150 trees, so a caller can yield between slices); read when a band is made (tests make it small). */
  static sliceRows = 65536;
  readonly rows: number;
  readonly sliceRows = BandLeaves.sliceRows;
  private readonly memory: WebAssembly.Memory;
  private readonly sum: LeafSums['sum8'];
  private readonly table: LeafTable;
  private readonly firstAt: number;
  private readonly wvAt: number;
  private readonly outAt: number;
  private readonly wv: Float64Array;
  private readonly out: Float64Array;

  constructor(leaves: LeafTable, private readonly first: Int32Array, nLeaves: number, private readonly T: number) {
    this.rows = T ? leaves.length / T : 0;
    const width = leaves.BYTES_PER_ELEMENT;
    const align8 = (x: number) => Math.ceil(x / 8) * 8;
    this.firstAt = align8(leaves.byteLength);
    this.wvAt = align8(this.firstAt + 4 * first.length);
    this.outAt = this.wvAt + 8 * nLeaves;
    const bytes = this.outAt + 8 * Math.min(this.rows, this.sliceRows);
    if (bytes > 2 ** 32) throw new Error(`an AAD session band of ${this.rows} rows x ${T} trees does not fit in one WebAssembly memory (4 GiB)`);
    this.memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
    const buffer = this.memory.buffer;
    this.table = width === 1 ? new Uint8Array(buffer, 0, leaves.length) : width === 2 ? new Uint16Array(buffer, 0, leaves.length) : new Int32Array(buffer, 0, leaves.length);
    this.table.set(leaves);
    new Int32Array(buffer, this.firstAt, first.length).set(first);
    this.wv = new Float64Array(buffer, this.wvAt, nLeaves);
    this.out = new Float64Array(buffer, this.outAt, Math.min(this.rows, this.sliceRows));
    const sums = leafSums(this.memory);
    this.sum = width === 1 ? sums.sum8 : width === 2 ? sums.sum16 : sums.sum32;
  }

  /** Sets the leaf scores w_l v_l the next calls of `score` add. */
  setLeafScores(wv: Float64Array): void {
    this.wv.set(wv);
  }

  /** out[k] for k in [from, to) (at most sliceRows rows): the score of row k from its leaves. */
  score(from: number, to: number, out: Float64Array): void {
    this.sum(from * this.T * this.table.BYTES_PER_ELEMENT, this.firstAt, this.wvAt, this.T, to - from, this.outAt);
    out.set(this.out.subarray(0, to - from), from);
  }

  /** Row k's leaves in the forest's own numbering. */
  globalLeaves(k: number): Int32Array {
    const T = this.T;
    const out = new Int32Array(T);
    for (let t = 0; t < T; t++) out[t] = this.first[t] + this.table[k * T + t];
    return out;
  }
}
