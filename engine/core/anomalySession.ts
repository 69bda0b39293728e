import { createBundle, minOverValid, modelFromBundle, type BandAADModel, type PerBandAADModel, type TwoBandAADModel } from '../../models/index.ts';
import { moduleOf, type ModuleDefinition } from './modules/index.ts';
import type { QueueEntry } from './queue.ts';
import type { Store } from './store/store.ts';
import { anomalyLabelCount, anomalyVerdict } from './training.ts';
import { leafLayout, sessionPool, type LeafTable, type SessionPool } from './anomalyPool.ts';
import { startTsWorker } from './workers.ts';

/**
 * An anomaly module live in memory: the deployed AAD forests, every pool alert's leaf in every tree
 * (computed once, a byte each), and the current scores. A label re-weights the leaves from all labels so far
 * (warm started from the current weights) and re-scores the whole pool from the cached leaves, so the next
 * queue reflects it at once without traversing a tree. `persist` saves the weights as a new version. The pool
 * is read in blocks: what is held is the leaves and scores, not the features. A large pool's leaves are
 * computed in a worker thread (`openInWorker`), so that a server keeps answering meanwhile.
 */
export class AnomalyQueueSession {
  private readonly leaves: LeafTable[];
  private readonly firstLeaf: Int32Array[];
  private readonly valid: Uint8Array[];
  private readonly scores: Float64Array[];
  private readonly final: Float64Array;
  private readonly alertIds: Int32Array;
  private readonly objectIds: string[];
  private readonly T: number;
  private labelsSinceSave = 0;

  private constructor(private readonly store: Store, readonly def: ModuleDefinition, private readonly model: PerBandAADModel, private currentVersion: number, pool: SessionPool) {
    this.T = model.nEstimators;
    this.firstLeaf = model.forests.map((f) => leafLayout(f).first);
    this.leaves = pool.leaves;
    this.valid = pool.valid;
    this.alertIds = pool.alertIds;
    this.objectIds = pool.objectIds;
    const n = pool.alertIds.length;
    this.scores = model.bands.map(() => new Float64Array(n));
    this.final = new Float64Array(n);
    this.rescore();
  }

  static open(store: Store, moduleName: string): AnomalyQueueSession {
    const def = moduleOf(store, moduleName);
    const v = store.deployedVersion(moduleName);
    if (v === null) throw new Error(`${moduleName}: no deployed version to start a session from`);
    const model = modelFromBundle(store.getBundle(moduleName, v)) as unknown as PerBandAADModel;
    return AnomalyQueueSession.withPool(store, def, model, v, sessionPool(store, def, model));
  }

  /** The same, the pool's leaves computed in a worker thread on its own connection to the store file. */
  static async openInWorker(store: Store, moduleName: string): Promise<AnomalyQueueSession> {
    const def = moduleOf(store, moduleName);
    const worker = startTsWorker(new URL('./anomalySessionWorker.ts', import.meta.url), { dbPath: store.path, module: moduleName });
    const m = await new Promise<{ version: number; pool: SessionPool } | { error: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the session worker of ${moduleName} exited with code ${code}`)));
    }).finally(() => void worker.terminate());
    if ('error' in m) throw new Error(m.error);
    const model = modelFromBundle(store.getBundle(moduleName, m.version)) as unknown as PerBandAADModel;
    return AnomalyQueueSession.withPool(store, def, model, m.version, m.pool);
  }

  private static withPool(store: Store, def: ModuleDefinition, model: PerBandAADModel, v: number, pool: SessionPool): AnomalyQueueSession {
    const session = new AnomalyQueueSession(store, def, model, v, pool);
    // Labels given after the saved weights (e.g. before a crash, or while the session opened) are applied now, so none is lost.
    const saved = store.getModel(def.name, v).nLabels;
    if (anomalyLabelCount(store, def) !== saved) session.reweight();
    return session;
  }

  get poolSize(): number {
    return this.alertIds.length;
  }

  /** Every band's scores from the cached leaves (the same sums, in the same order, as the forest's own). */
  private rescore(): void {
    const n = this.alertIds.length;
    const T = this.T;
    this.model.forests.forEach((f, b) => {
      const wv = f.weights.map((w, l) => w * f.leafValue[l]);
      const first = this.firstLeaf[b];
      const leaves = this.leaves[b];
      const out = this.scores[b];
      for (let i = 0; i < n; i++) {
        let s = 0;
        const off = i * T;
        for (let t = 0; t < T; t++) s += wv[first[t] + leaves[off + t]];
        out[i] = s;
      }
    });
    minOverValid(this.scores, this.valid, n, this.final);
  }

  get version(): number {
    return this.currentVersion;
  }

  /** Labels re-weighted in memory since the weights were last saved. */
  get unsavedLabels(): number {
    return this.labelsSinceSave;
  }

  /** Records the label in the store, re-weights from all labels, re-ranks. */
  label(alertId: number, label: string, author: string, comment: string | null = null): void {
    this.store.addLabel({ module: this.def.name, alertId, label, author, queue: 'aad', modelVersion: this.currentVersion, comment });
    if (anomalyVerdict(this.def, label) !== null) this.reweight();
  }

  /** A pool row's leaves in a band's forest, in the forest's own numbering. */
  private globalLeaves(b: number, i: number): Int32Array {
    const T = this.T;
    const first = this.firstLeaf[b];
    const out = new Int32Array(T);
    for (let t = 0; t < T; t++) out[t] = first[t] + this.leaves[b][i * T + t];
    return out;
  }

  /**
   * Re-weights the forests from every current anomaly/nominal label and re-ranks the pool. Warm-started
   * from the current weights; `fromScratch` (after an undo or a changed label) starts from uniform weights
   * so that a withdrawn label leaves no trace.
   */
  reweight(fromScratch = false): void {
    const labels = this.store.trainingLabels(this.def.name);
    // Every alert of a labelled object carries its label, as in updateAnomalyModule.
    const lab: Array<{ leaves: Array<Int32Array | null>; anomaly: boolean }> = [];
    for (let i = 0; i < this.objectIds.length; i++) {
      const l = labels.get(this.objectIds[i]);
      const verdict = l === undefined ? null : anomalyVerdict(this.def, l);
      if (verdict === null) continue;
      lab.push({ leaves: this.leaves.map((_, b) => (this.valid[b][i] ? this.globalLeaves(b, i) : null)), anomaly: verdict });
    }
    if (fromScratch) {
      this.model.resetWeights();
      this.rescore();
    }
    const pool = (s: Float64Array, v: Uint8Array) => s.filter((_, i) => v[i] === 1);
    if (lab.length) this.model.updateBands(lab, this.scores.map((s, b) => pool(s, this.valid[b])));
    this.rescore();
    this.labelsSinceSave++;
  }

  /**
   * The most anomalous alerts not yet labelled by this expert nor in `exclude` (one per object): the k + |done|
   * lowest scores are picked in one pass (a heap), not by sorting the pool on every request.
   */
  queue(k: number, expert?: string, exclude?: ReadonlySet<string>): QueueEntry[] {
    const done = exclude ? new Set([...this.store.labelledObjects(this.def.name, expert), ...exclude]) : this.store.labelledObjects(this.def.name, expert);
    for (let want = k + done.size + 16; ; want *= 4) {
      const order = lowest(this.final, want);
      const seen = new Set<string>();
      const out: QueueEntry[] = [];
      for (const i of order) {
        if (out.length >= k) break;
        const o = this.objectIds[i];
        if (done.has(o) || seen.has(o)) continue;
        seen.add(o);
        out.push({ alertId: this.alertIds[i], objectId: o, score: this.final[i], reason: `AAD score ${this.final[i].toFixed(5)} (lower = more anomalous)`, modelVersion: this.currentVersion });
      }
      if (out.length >= k || order.length < want) return out;
    }
  }

  /** Saves the current weights as the next version and deploys it. */
  persist(actor: string): number {
    const def = this.def;
    const nLabels = anomalyLabelCount(this.store, def);
    // the version is read inside the writing transaction: a concurrent update never takes the same number
    const version = this.store.db.transaction(() => {
      const v = this.store.nextVersion(def.name);
      const bundle = createBundle({
        module: def.name, version: String(v), model: this.model as TwoBandAADModel | BandAADModel, featureSpec: def.extractor().spec, classNames: def.classNames, decisionThreshold: 0,
        training: { X: { data: new Float32Array(0), rows: 0, cols: this.model.nFeatures } }, metrics: { labels: nLabels },
        parentVersion: String(this.currentVersion), declaration: def.declaration,
      });
      this.store.saveModel(bundle, nLabels, actor);
      this.store.deploy(def.name, v, actor, `AAD weights after ${this.labelsSinceSave} more label(s)`);
      return v;
    })();
    this.currentVersion = version;
    this.labelsSinceSave = 0;
    return version;
  }
}

/** Indices of the `k` lowest non-NaN values, lowest first (ties by index), by a bounded max-heap. */
function lowest(values: Float64Array, k: number): number[] {
  const heap: number[] = [];
  // "a above b" in the max-heap: a larger value, or the same value at a larger index
  const above = (a: number, b: number) => values[a] > values[b] || (values[a] === values[b] && a > b);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) continue;
    if (heap.length < k) {
      heap.push(i);
      for (let c = heap.length - 1; c > 0;) {
        const p = (c - 1) >> 1;
        if (!above(heap[c], heap[p])) break;
        [heap[c], heap[p]] = [heap[p], heap[c]];
        c = p;
      }
    } else if (above(heap[0], i)) {
      heap[0] = i;
      for (let p = 0; ;) {
        const l = 2 * p + 1;
        const r = l + 1;
        let m = p;
        if (l < heap.length && above(heap[l], heap[m])) m = l;
        if (r < heap.length && above(heap[r], heap[m])) m = r;
        if (m === p) break;
        [heap[m], heap[p]] = [heap[p], heap[m]];
        p = m;
      }
    }
  }
  return heap.sort((a, b) => values[a] - values[b] || a - b);
}
