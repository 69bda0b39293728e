import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { leafSums, validRows, type AADForest, type LeafSums, type PerBandAADModel } from '../../models/index.ts';
import type { LeafSumTask } from './leafSumWorker.ts';
import { startTsWorker } from './workers.ts';
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
 * Worker threads that re-score AAD session bands (leafSumWorker.ts), one per core up to two: a band's rows
 * are split between them, each sums its range in the band's shared memory. Started at the first use, shared
 * by every session of the process; they keep the process alive only while they have work.
 */
class LeafSumThreads {
  private workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private next = 0;

  get size(): number {
    return Math.max(1, Math.min(2, availableParallelism()));
  }

  /** Starts the threads if they are not running (they start in the order of a second). */
  ensureStarted(): void {
    if (!this.workers.length) this.start();
  }

  run(task: Omit<LeafSumTask, 'id'>, thread: number): Promise<void> {
    this.ensureStarted();
    if (!this.pending.size) for (const w of this.workers) w.ref();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[thread % this.workers.length].postMessage({ ...task, id });
    });
  }

  /** Ends the threads (what they were given fails); the next use starts new ones. */
  async stop(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    for (const p of this.pending.values()) p.reject(new Error('the AAD re-scoring threads were stopped'));
    this.pending.clear();
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private start(): void {
    for (let k = 0; k < this.size; k++) {
      const w = startTsWorker(new URL('./leafSumWorker.ts', import.meta.url), {});
      w.unref();
      w.on('message', (m: { id: number; error?: string }) => {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!this.pending.size) for (const x of this.workers) x.unref();
        if (m.error) p?.reject(new Error(`AAD re-scoring thread: ${m.error}`));
        else p?.resolve();
      });
      // a thread that fails fails what it was given, and the next use starts new threads
      const fail = (e: Error) => {
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
        for (const x of this.workers) void x.terminate();
        this.workers = [];
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (this.workers.includes(w)) fail(new Error(`an AAD re-scoring thread exited with code ${code}`));
      });
      this.workers.push(w);
    }
  }
}

const threads = new LeafSumThreads();

/** Starts the re-scoring threads ahead of their first use (a server does as its AAD sessions open). */
export function startLeafSumThreads(): void {
  threads.ensureStarted();
}

/**
 * Ends the re-scoring threads, for a server that closes: unreferenced while idle, their message ports still
 * kept the process from exiting once the server had closed.
 */
export function stopLeafSumThreads(): Promise<void> {
  return threads.stop();
}

/**
 * One band's cached leaves (a session pool's `leaves[b]`, copied once) in a shared WebAssembly memory with the
 * tree offsets, the leaf scores w_l v_l of the current weights and room for every row's score: re-scoring
 * rows is a call of the leaf-sum kernel (forestWasm.ts), the terms added in tree order as
 * `AADForest.scoreFromLeaves` adds them, so the scores are the forest's own bit for bit. `score` runs it on
 * the calling thread a slice of rows at a time; `scoreInThreads` on worker threads, the calling thread free.
 */
export class BandLeaves {
  /** Rows scored per call of `score` (about 10 ms at 150 trees, so a caller can yield between slices); tests make it small. */
  static sliceRows = 65536;
  readonly rows: number;
  private readonly memory: WebAssembly.Memory;
  private readonly sum: LeafSums['sum8'];
  private readonly table: LeafTable;
  private readonly width: 1 | 2 | 4;
  private readonly firstAt: number;
  private readonly wvAt: number;
  private readonly outAt: number;
  private readonly wv: Float64Array;
  private readonly out: Float64Array;

  constructor(leaves: LeafTable, private readonly first: Int32Array, nLeaves: number, private readonly T: number) {
    this.rows = T ? leaves.length / T : 0;
    this.width = leaves.BYTES_PER_ELEMENT as 1 | 2 | 4;
    const align8 = (x: number) => Math.ceil(x / 8) * 8;
    this.firstAt = align8(leaves.byteLength);
    this.wvAt = align8(this.firstAt + 4 * first.length);
    this.outAt = this.wvAt + 8 * nLeaves;
    const bytes = this.outAt + 8 * this.rows;
    if (bytes > 2 ** 32) throw new Error(`an AAD session band of ${this.rows} rows x ${T} trees does not fit in one WebAssembly memory (4 GiB)`);
    const pages = Math.max(1, Math.ceil(bytes / 65536));
    // shared (SharedArrayBuffer): the re-scoring threads read the leaves and write the scores in place
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true } as { initial: number; maximum: number });
    const buffer = this.memory.buffer;
    this.table = this.width === 1 ? new Uint8Array(buffer, 0, leaves.length) : this.width === 2 ? new Uint16Array(buffer, 0, leaves.length) : new Int32Array(buffer, 0, leaves.length);
    this.table.set(leaves);
    new Int32Array(buffer, this.firstAt, first.length).set(first);
    this.wv = new Float64Array(buffer, this.wvAt, nLeaves);
    this.out = new Float64Array(buffer, this.outAt, this.rows);
    const sums = leafSums(this.memory, true);
    this.sum = this.width === 1 ? sums.sum8 : this.width === 2 ? sums.sum16 : sums.sum32;
  }

  /** Sets the leaf scores w_l v_l the next scoring adds. */
  setLeafScores(wv: Float64Array): void {
    this.wv.set(wv);
  }

  /** out[k] for k in [from, to): the score of row k from its leaves, on this thread. */
  score(from: number, to: number, out: Float64Array): void {
    this.sum(from * this.T * this.width, this.firstAt, this.wvAt, this.T, to - from, this.outAt + 8 * from);
    out.set(this.out.subarray(from, to), from);
  }

  /** Every row's score into out, the rows split between the worker threads. */
  async scoreInThreads(out: Float64Array): Promise<void> {
    const parts = threads.size;
    const per = Math.ceil(this.rows / parts);
    const runs: Array<Promise<void>> = [];
    for (let p = 0; p < parts && p * per < this.rows; p++) {
      const from = p * per;
      const rows = Math.min(this.rows, from + per) - from;
      runs.push(threads.run({ memory: this.memory, width: this.width, leaves: from * this.T * this.width, first: this.firstAt, wv: this.wvAt, T: this.T, rows, out: this.outAt + 8 * from }, p));
    }
    await Promise.all(runs);
    out.set(this.out);
  }

  /** Row k's leaves in the forest's own numbering. */
  globalLeaves(k: number): Int32Array {
    const T = this.T;
    const out = new Int32Array(T);
    for (let t = 0; t < T; t++) out[t] = this.first[t] + this.table[k * T + t];
    return out;
  }
}
