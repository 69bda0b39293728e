import { createBundle, modelFromBundle, updateForestBand, type AADForest, type BandAADModel, type PerBandAADModel, type TwoBandAADModel } from '../../models/index.ts';
import { moduleOf, type ModuleDefinition } from './modules/index.ts';
import type { QueueEntry } from './queue.ts';
import type { Store } from './store/store.ts';
import { rankRows, saveRanking } from './ranking.ts';
import { anomalyLabelCount, anomalyVerdict } from './training.ts';
import { BandLeaves, leafLayout, sessionPool, type SessionPool } from './anomalyPool.ts';
import { startTsWorker } from './workers.ts';

/**
 * An anomaly module live in memory: the deployed AAD forests, every pool alert's leaf in every tree of each
 * band where its features are complete (computed once, a byte each, held in a WebAssembly memory per band),
 * and the current scores. A label re-weights the leaves from all labels so far (warm started from the
 * current weights) and re-scores the pool from the cached leaves, so the next queue reflects it at once
 * without traversing a tree. The scores are the forest's own (`scoreSamples`) with the same weights, bit for
 * bit: each row's leaf values are added in tree order, as the forest adds them. `persist` saves the weights
 * as a new version. The pool is read in blocks: what is held is the leaves and scores, not the features. A
 * large pool's leaves are computed in a worker thread (`openInWorker`), so that a server keeps answering
 * meanwhile; a server re-weights with `reweightAsync`, which re-scores on worker threads and yields to its other
 * requests between steps.
 */
export class AnomalyQueueSession {
  /** Per band: the pool rows whose features in the band are complete (ascending), their leaves and scores. */
  private readonly rows: Int32Array[];
  private readonly leaves: BandLeaves[];
  private scores: Float64Array[];
  /** Per band, where the next scores are written before they replace `scores` (a queue never sees half of them). */
  private spare: Float64Array[];
  /** Per band, the scores under uniform weights (where an undo restarts), kept from the first undo on. */
  private readonly uniformScores: Array<Float64Array | null>;
  private readonly final: Float64Array;
  private readonly alertIds: Int32Array;
  private readonly objectIds: string[];
  /** Pool rows of the objects labelled so far (the pool is fixed for the session's life). */
  private readonly rowsOfObject = new Map<string, number[]>();
  /** The re-weighting under way (reweightAsync), if any: the next one starts after it. */
  private running: Promise<void> = Promise.resolve();
  private labelsSinceSave = 0;

  private constructor(private readonly store: Store, readonly def: ModuleDefinition, readonly model: PerBandAADModel, private currentVersion: number, pool: SessionPool) {
    const T = model.nEstimators;
    this.rows = pool.rows;
    this.leaves = model.forests.map((f, b) => new BandLeaves(pool.leaves[b], leafLayout(f).first, f.weights.length, T));
    this.alertIds = pool.alertIds;
    this.objectIds = pool.objectIds;
    this.scores = pool.rows.map((r) => new Float64Array(r.length));
    this.spare = pool.rows.map((r) => new Float64Array(r.length));
    this.uniformScores = pool.rows.map(() => null);
    this.final = new Float64Array(pool.alertIds.length);
  }

  static open(store: Store, moduleName: string): AnomalyQueueSession {
    const def = moduleOf(store, moduleName);
    const v = store.deployedVersion(moduleName);
    if (v === null) throw new Error(`${moduleName}: no deployed version to start a session from`);
    const model = modelFromBundle(store.getBundle(moduleName, v)) as unknown as PerBandAADModel;
    const session = new AnomalyQueueSession(store, def, model, v, sessionPool(store, def, model));
    drain(session.firstSteps(false));
    return session;
  }

  /** The same, the pool's leaves computed in a worker thread on its own connection to the store file. */
  static async openInWorker(store: Store, moduleName: string): Promise<AnomalyQueueSession> {
    const def = moduleOf(store, moduleName);
    // the pool as the worker sent it is copied into the session's memories: not held here while they are scored
    const session = await (async () => {
      const worker = startTsWorker(new URL('./anomalySessionWorker.ts', import.meta.url), { dbPath: store.path, module: moduleName });
      const m = await new Promise<{ version: number; pool: SessionPool } | { error: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the session worker of ${moduleName} exited with code ${code}`)));
      }).finally(() => void worker.terminate());
      if ('error' in m) throw new Error(m.error);
      const model = modelFromBundle(store.getBundle(moduleName, m.version)) as unknown as PerBandAADModel;
      return new AnomalyQueueSession(store, def, model, m.version, m.pool);
    })();
    // scored on the re-scoring threads: the server keeps answering meanwhile; a label it took then (without
    // this session) is applied before the session is handed over
    const counted = anomalyLabelCount(store, def);
    await runSteps(session.firstSteps(true));
    if (anomalyLabelCount(store, def) !== counted) session.reweight();
    return session;
  }

  /** The pool scored with the deployed weights; then labels given after them (e.g. before a crash, or while the session opened) applied, so none is lost. */
  private *firstSteps(inThreads: boolean): Steps {
    // the labelled objects' pool rows looked up now, not at the next label
    for (const objectId of this.store.trainingLabels(this.def.name).keys()) this.poolRowsOf(objectId);
    yield* this.rescoreSteps(inThreads);
    if (anomalyLabelCount(this.store, this.def) !== this.store.getModel(this.def.name, this.currentVersion).nLabels) yield* this.reweightSteps(false, inThreads);
  }

  get poolSize(): number {
    return this.alertIds.length;
  }

  /** Each pool alert's id and its current score (the minimum over its valid bands; NaN where none is), in pool order. */
  poolScores(): { alertIds: Int32Array; scores: Float64Array } {
    return { alertIds: this.alertIds.slice(), scores: this.final.slice() };
  }

  /**
   * Every band's scores from the cached leaves with the forests' current weights (the same sums, in the same
   * order, as the forest's own), written to `spare`, then swapped in with their minimum; step by step.
   */
  private *rescoreSteps(inThreads: boolean): Steps {
    for (let b = 0; b < this.leaves.length; b++) yield* this.scoreSteps(b, leafScores(this.model.forests[b].weights, this.model.forests[b]), this.spare[b], inThreads);
    [this.scores, this.spare] = [this.spare, this.scores];
    this.combine();
  }

  /** Band b's scores with leaf scores wv into out: on worker threads (one step to wait for), or here a slice of rows per step. */
  private *scoreSteps(b: number, wv: Float64Array, out: Float64Array, inThreads: boolean): Steps {
    const leaves = this.leaves[b];
    leaves.setLeafScores(wv);
    if (inThreads) {
      yield leaves.scoreInThreads(out);
      return;
    }
    for (let from = 0; from < leaves.rows; from += BandLeaves.sliceRows) {
      leaves.score(from, Math.min(leaves.rows, from + BandLeaves.sliceRows), out);
      yield;
    }
  }

  /** Per pool row, the minimum over its valid bands, compared band after band as `minOverValid` does. */
  private combine(): void {
    const final = this.final;
    final.fill(NaN);
    this.rows.forEach((rows, b) => {
      const s = this.scores[b];
      for (let k = 0; k < rows.length; k++) {
        const i = rows[k];
        if (!(s[k] >= final[i])) final[i] = s[k];
      }
    });
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

  /** A pool row's leaves in a band's forest, in the forest's own numbering; null where the row is not valid in the band. */
  private globalLeaves(b: number, row: number): Int32Array | null {
    const k = indexOf(this.rows[b], row);
    return k < 0 ? null : this.leaves[b].globalLeaves(k);
  }

  /** The pool rows of an object's alerts (looked up once per object: pool rows are in alert id order). */
  private poolRowsOf(objectId: string): number[] {
    let rows = this.rowsOfObject.get(objectId);
    if (!rows) {
      rows = [];
      for (const id of this.store.alertIdsOfObject(objectId)) {
        const i = indexOf(this.alertIds, id);
        if (i >= 0) rows.push(i);
      }
      this.rowsOfObject.set(objectId, rows);
    }
    return rows;
  }

  /**
   * Re-weights the forests from every current anomaly/nominal label and re-ranks the pool. Warm-started
   * from the current weights; `fromScratch` (after an undo or a changed label) starts from uniform weights
   * so that a withdrawn label leaves no trace.
   */
  reweight(fromScratch = false): void {
    drain(this.reweightSteps(fromScratch, false));
  }

  /**
   * The same for a server: the pool is re-scored on worker threads and the event loop is yielded between the
   * other steps (a band's update), so other requests are answered meanwhile, from the previous ranking until
   * this one is complete. Calls run one after the other.
   */
  reweightAsync(fromScratch = false): Promise<void> {
    const run = this.running.then(() => runSteps(this.reweightSteps(fromScratch, true)));
    // a failed run leaves the next one free to start
    this.running = run.catch(() => undefined);
    return run;
  }

  /** Resolves when the re-weightings started so far are complete. */
  settled(): Promise<void> {
    return this.running;
  }

  private *reweightSteps(fromScratch: boolean, inThreads: boolean): Steps {
    // Every alert of a labelled object carries its label, as in updateAnomalyModule; in pool order, as the
    // gradient sums over the labels in that order.
    const labelled: Array<{ row: number; anomaly: boolean }> = [];
    for (const [objectId, l] of this.store.trainingLabels(this.def.name)) {
      const anomaly = anomalyVerdict(this.def, l);
      if (anomaly !== null) for (const row of this.poolRowsOf(objectId)) labelled.push({ row, anomaly });
    }
    labelled.sort((a, b) => a.row - b.row);
    const lab = labelled.map(({ row, anomaly }) => ({ leaves: this.leaves.map((_, b) => this.globalLeaves(b, row)), anomaly }));
    // the pool's scores that set q_tau: the current ones, or after an undo those of the uniform weights
    // (computed once, as rescore would compute them after resetWeights)
    let pool = this.scores;
    if (fromScratch) {
      for (let b = 0; b < this.leaves.length; b++) {
        if (this.uniformScores[b]) continue;
        const f = this.model.forests[b];
        const uniform = new Float64Array(this.rows[b].length);
        yield* this.scoreSteps(b, leafScores(f.uniformWeights(), f), uniform, inThreads);
        this.uniformScores[b] = uniform;
      }
      pool = this.uniformScores as Float64Array[];
      this.model.resetWeights();
    }
    this.labelsSinceSave++;
    if (lab.length) {
      for (let b = 0; b < this.leaves.length; b++) {
        updateForestBand(this.model.forests[b], b, lab, pool[b]);
        yield;
      }
      yield* this.rescoreSteps(inThreads);
    } else if (fromScratch) {
      this.scores.forEach((s, b) => s.set(pool[b]));
      this.combine();
    }
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
    // the new version's ranking from the scores in hand, over the rows the session holds: a server started later
    // answers its first queue from it, instead of scoring the whole pool again on its main thread
    const final = this.final;
    let through = 0;
    for (const id of this.alertIds) if (id > through) through = id;
    saveRanking(this.store, def, version, 'aad', rankRows(this.alertIds, this.objectIds, final.map((x) => -x), final), through);
    this.currentVersion = version;
    this.labelsSinceSave = 0;
    return version;
  }
}

/** Each leaf's weighted value w_l v_l, the terms of a score. */
function leafScores(weights: Float64Array, f: AADForest): Float64Array {
  return weights.map((w, l) => w * f.leafValue[l]);
}

/** A computation in steps: each yields when the thread may do something else, or what to wait for. */
type Steps = Generator<Promise<void> | void>;

/** Runs a computation of steps, waiting for what a step gives and yielding to the event loop after the others. */
async function runSteps(steps: Steps): Promise<void> {
  for (const step of steps) await (step ?? new Promise((resolve) => setImmediate(resolve)));
}

/** Runs a computation of steps on this thread to its end at once (none of its steps waits for another thread). */
function drain(steps: Steps): void {
  for (;;) if (steps.next().done) return;
}

/** Where `value` is in an ascending array, or -1. */
function indexOf(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else if (sorted[mid] > value) hi = mid - 1;
    else return mid;
  }
  return -1;
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
