import { createBundle, minOverValid, modelFromBundle, type BandAADModel, type PerBandAADModel, type TwoBandAADModel } from '../../models/index.ts';
import { moduleOf, type ModuleDefinition } from './modules/index.ts';
import type { QueueEntry } from './queue.ts';
import type { Store } from './store/store.ts';
import { anomalyLabelCount, anomalyVerdict, bandInputs } from './training.ts';

/**
 * An anomaly module kept live in memory: the deployed AAD forests, every pool alert's leaf in every tree
 * (computed once), and the current scores. A label re-weights the leaves from all labels so far (warm
 * started from the current weights) and re-ranks the whole pool from the cached leaves, so the next queue
 * reflects it at once without traversing a tree. `persist` saves the weights as a new version.
 */
export class AnomalyQueueSession {
  /** Per band of the model: every pool alert's leaf in every tree, whether its features are complete, its score. */
  private readonly leaves: Int32Array[];
  private readonly valid: Uint8Array[];
  private readonly scores: Float64Array[];
  private readonly final: Float64Array;
  private readonly alertIds: Int32Array;
  private readonly objectIds: string[];
  private readonly passes: Uint8Array;
  private readonly rowOfAlert = new Map<number, number>();
  private readonly T: number;
  private labelsSinceSave = 0;

  private constructor(private readonly store: Store, readonly def: ModuleDefinition, private readonly model: PerBandAADModel, private currentVersion: number) {
    store.computeFeatures(def.extractor());
    const t = store.featureTable(def.extractor().spec);
    const n = t.alertIds.length;
    this.alertIds = t.alertIds;
    this.objectIds = t.objectIds;
    this.passes = t.passesCuts;
    t.alertIds.forEach((id, i) => this.rowOfAlert.set(id, i));
    const inputs = bandInputs(def, t.values, n, model.bands);
    const F = model.nFeatures;
    this.leaves = model.forests.map((f, b) => f.leafIndices({ data: inputs[b], rows: n, cols: F }));
    this.T = model.nEstimators;
    const s = model.scoreBands(inputs, n);
    this.valid = s.valid;
    this.scores = s.scores;
    this.final = s.final;
  }

  static open(store: Store, moduleName: string): AnomalyQueueSession {
    const def = moduleOf(store, moduleName);
    const v = store.deployedVersion(moduleName);
    if (v === null) throw new Error(`${moduleName}: no deployed version to start a session from`);
    const session = new AnomalyQueueSession(store, def, modelFromBundle(store.getBundle(moduleName, v)) as unknown as PerBandAADModel, v);
    // Labels given after the saved weights (e.g. before a crash) are applied now, so none is lost.
    const saved = store.getModel(moduleName, v).nLabels;
    if (anomalyLabelCount(store, def) !== saved) session.reweight();
    return session;
  }

  get poolSize(): number {
    return this.alertIds.length;
  }

  private rescore(): void {
    this.model.forests.forEach((f, b) => f.scoreFromLeaves(this.leaves[b], this.alertIds.length, this.scores[b]));
    minOverValid(this.scores, this.valid, this.final.length, this.final);
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

  /**
   * Re-weights the forests from every current anomaly/nominal label and re-ranks the pool. Warm-started
   * from the current weights; `fromScratch` (after an undo or a changed label) starts from uniform weights
   * so that a withdrawn label leaves no trace.
   */
  reweight(fromScratch = false): void {
    const labels = this.store.trainingLabels(this.def.name);
    const T = this.T;
    // Every alert of a labelled object carries its label, as in updateAnomalyModule.
    const lab: Array<{ leaves: Array<Int32Array | null>; anomaly: boolean }> = [];
    for (let i = 0; i < this.objectIds.length; i++) {
      const l = labels.get(this.objectIds[i]);
      const verdict = l === undefined ? null : anomalyVerdict(this.def, l);
      if (verdict === null) continue;
      lab.push({ leaves: this.leaves.map((lv, b) => (this.valid[b][i] ? lv.subarray(i * T, i * T + T) : null)), anomaly: verdict });
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

  /** The most anomalous alerts not yet labelled by this expert nor in `exclude` (one per object). */
  queue(k: number, expert?: string, exclude?: ReadonlySet<string>): QueueEntry[] {
    const done = exclude ? new Set([...this.store.labelledObjects(this.def.name, expert), ...exclude]) : this.store.labelledObjects(this.def.name, expert);
    const seen = new Set<string>();
    const order: number[] = [];
    for (let i = 0; i < this.final.length; i++) if (this.passes[i] && !Number.isNaN(this.final[i]) && !done.has(this.objectIds[i])) order.push(i);
    order.sort((a, b) => this.final[a] - this.final[b] || a - b);
    const out: QueueEntry[] = [];
    for (const i of order) {
      if (out.length >= k) break;
      if (seen.has(this.objectIds[i])) continue;
      seen.add(this.objectIds[i]);
      out.push({ alertId: this.alertIds[i], objectId: this.objectIds[i], score: this.final[i], reason: `AAD score ${this.final[i].toFixed(5)} (lower = more anomalous)`, modelVersion: this.currentVersion });
    }
    return out;
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
