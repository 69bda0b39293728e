import { modelFromBundle } from '../../models/index.ts';
import { AnomalyQueueSession } from '../core/anomalySession.ts';
import { startLeafSumThreads, stopLeafSumThreads } from '../core/anomalyPool.ts';
import { moduleOf, storeModules, surveyMismatch, UnknownModuleError, type ModuleDefinition } from '../core/modules/index.ts';
import { nextQueue, rankedQueue, type QueueEntry } from '../core/queue.ts';
import { labelsSinceLastModel, retrainInWorker } from '../core/retrain.ts';
import { Store, StoreError, type LabelRow, type User } from '../core/store/store.ts';
import { MC_STRATEGIES, type StrategyName } from '../core/strategies.ts';
import type { TrainResult } from '../core/training.ts';
import { EventHub } from './events.ts';
import { computeFeatures } from '../core/features/pipeline.ts';

export interface WorkbenchOptions {
  /** Retrain a classifier module after this many new labels (0: only on demand). */
  retrainEvery: number;
  /** How long an alert handed out in a queue stays reserved for that expert. */
  leaseMs: number;
  /** Save the live AAD weights as a new version after this many anomaly labels. */
  persistAnomalyEvery: number;
  seed: number;
  nEstimators?: number;
  /** Where failures the API cannot answer (a background retrain) are written; stderr by default. */
  log?: (line: string) => void;
  /** An anomaly pool this large has its session opened in a worker thread (the API answers meanwhile). */
  backgroundSessionRows: number;
}

export const DEFAULT_WORKBENCH_OPTIONS: WorkbenchOptions = { retrainEvery: 10, leaseMs: 120_000, persistAnomalyEvery: 25, seed: 0, backgroundSessionRows: 50_000 };

/** A module's deployed version, loaded: the model, and the features it was trained on (a version never changes). */
export interface DeployedModel {
  version: number;
  model: unknown;
  featureSpecHash: string;
}

/** A 4xx for the API: the message names what was wrong. */
export class RequestError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

/**
 * The workbench's live state behind the API: queues (ranked once per deployed version, then filtered per
 * expert and lease), labels, the anomaly session (re-weighted on every label), retrains in worker threads
 * and deployments, announced on the event hub.
 */
export class Workbench {
  readonly events = new EventHub();
  private readonly retrains = new Map<string, Promise<TrainResult | null>>();
  private readonly models = new Map<string, DeployedModel>();
  /** Each anomaly module's live session, and its labels since the weights were saved. */
  private readonly anomaly = new Map<string, AnomalyQueueSession>();
  private readonly anomalyLabels = new Map<string, number>();
  /** Each anomaly module's latest re-weighting after a label, under way or done. */
  private readonly reweighting = new Map<string, Promise<void>>();
  private readonly warming = new Map<string, Promise<void>>();
  private closed = false;

  constructor(readonly store: Store, readonly options: WorkbenchOptions = DEFAULT_WORKBENCH_OPTIONS) {}

  module(name: string): ModuleDefinition {
    try {
      return moduleOf(this.store, name);
    } catch (e) {
      if (e instanceof UnknownModuleError) throw new RequestError(404, e.message);
      throw e;
    }
  }

  modules(): ModuleDefinition[] {
    return storeModules(this.store);
  }

  /** The deployed model of a module, loaded once per version. */
  deployedModel(name: string): DeployedModel | null {
    const v = this.store.deployedVersion(name);
    if (v === null) return null;
    const cached = this.models.get(name);
    if (cached && cached.version === v) return cached;
    const loaded = { version: v, model: modelFromBundle(this.store.getBundle(name, v)), featureSpecHash: this.store.getModel(name, v).featureSpecHash };
    this.models.set(name, loaded);
    return loaded;
  }

  /**
   * The module's live AAD session. A pool of backgroundSessionRows alerts or more is opened in a worker
   * thread: until it is ready (null here), queues come from the deployed version's stored ranking and labels
   * are recorded, to be applied when it opens.
   */
  private anomalySession(def: ModuleDefinition): AnomalyQueueSession | null {
    const v = this.store.deployedVersion(def.name);
    if (v === null) return null;
    const s = this.anomaly.get(def.name);
    // a new version, or a new revision of the declaration (another feature space): a new session
    if (s && s.version === v && s.def.revisionSha256 === def.revisionSha256) return s;
    // the threads that re-score a session after a label: started now, not at the first label
    startLeafSumThreads();
    if (this.store.poolPassing(def.extractor().spec) < this.options.backgroundSessionRows) {
      const opened = AnomalyQueueSession.open(this.store, def.name);
      this.anomaly.set(def.name, opened);
      return opened;
    }
    const key = `${def.name}:${v}:${def.revisionSha256}`;
    if (!this.warming.has(key)) {
      // one session opens at a time: the other core keeps answering requests
      const previous = Promise.all(this.warming.values());
      this.warming.set(key, previous.then(() => AnomalyQueueSession.openInWorker(this.store, def.name)).then((opened) => {
        this.warming.delete(key);
        if (!this.closed) this.anomaly.set(def.name, opened);
      }, (e: Error) => {
        this.warming.delete(key);
        (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`sieve: the AAD session of ${def.name} did not open: ${e.message}`);
      }));
    }
    return null;
  }

  /**
   * Loads every deployed model and opens the anomaly modules' sessions (large ones in the background): a
   * server calls it as it starts, so that the first alert views do not each pay a bundle's parse and checks
   * (an AAD bundle takes 100-200 ms) while other experts wait behind them.
   */
  warmUp(): void {
    for (const def of this.modules()) {
      try {
        this.deployedModel(def.name);
      } catch (e) {
        // the alert view says so in that module's panel; the other modules are served
        (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`sieve: the deployed model of ${def.name} did not load: ${(e as Error).message}`);
      }
      if (def.kind === 'anomaly') this.anomalySession(def);
    }
  }

  /** Anomaly modules whose session is being opened in the background. */
  get warmingSessions(): string[] {
    return [...this.warming.keys()].map((k) => k.split(':')[0]);
  }

  /**
   * The next k alerts for an expert: not labelled by them, not leased to someone else; the returned
   * objects are leased to this expert for leaseMs.
   */
  queue(name: string, user: User | null, k: number, strategy?: StrategyName): QueueEntry[] {
    const def = this.module(name);
    const expert = user?.name;
    const others = expert ? this.store.leasedByOthers(name, expert) : new Set<string>();
    // The unlabelled pool: objects nobody has a training label for, less those this expert already decided
    // on (an 'unsure' from one expert stays open to the others).
    const done = new Set(this.store.trainingLabels(name).keys());
    if (expert) for (const o of this.store.labelledObjects(name, expert)) done.add(o);
    let pool: QueueEntry[];
    const skip = (obj: string) => done.has(obj) || others.has(obj);
    const deployed = this.store.deployedVersion(name);
    const chosen = strategy ?? def.queueStrategy;
    // new alerts since the last call are featurised and ranked now (nothing when there are none)
    computeFeatures(this.store, def.extractor());
    if (def.kind === 'anomaly') {
      const s = this.anomalySession(def);
      const exclude = new Set([...done, ...others]);
      pool = s ? s.queue(k, expert, exclude) : nextQueue(this.store, name, { k: k + exclude.size, expert, seed: this.options.seed });
    } else if (deployed === null || chosen === 'random' || MC_STRATEGIES.has(chosen) || this.store.getModel(name, deployed).modelType === 'mlp') {
      // no stored ranking: random draws, a network's dropout passes, or a strategy the deployed forest cannot run
      pool = nextQueue(this.store, name, { strategy: chosen, k: k + done.size + others.size, expert: ' ', seed: this.options.seed });
    } else pool = rankedQueue(this.store, def, deployed, chosen, k, skip);
    const out: QueueEntry[] = [];
    for (const e of pool) {
      if (out.length >= k) break;
      if (done.has(e.objectId) || others.has(e.objectId)) continue;
      out.push(e);
    }
    if (expert && out.length) {
      const held = this.store.leaseObjects(name, out.map((e) => e.objectId), expert, Date.now() + this.options.leaseMs);
      // Another expert may have leased one between our read and write: leave it to them.
      return out.filter((e) => held.has(e.objectId));
    }
    return out;
  }

  label(user: User, body: { module: string; alertId: number; label: string; comment?: string | null; queue?: string | null }): LabelRow {
    const def = this.module(body.module);
    const allowed = def.labels.map((l) => l.label);
    if (!allowed.includes(body.label) && body.label !== 'skip') throw new RequestError(400, `label '${body.label}' is not one of ${[...allowed, 'skip'].join(', ')} for ${def.name}`);
    const alert = this.store.alertSurvey(body.alertId);
    if (!alert) throw new RequestError(404, `label: no alert with id ${body.alertId}`);
    // the label goes to the module the page shows, and only if that module reads this alert's survey
    const mismatch = surveyMismatch(def, { id: body.alertId, survey: alert.survey }, this.modules().filter((m) => m.survey === alert.survey).map((m) => m.name));
    if (mismatch) throw new RequestError(409, mismatch);
    const deployed = this.store.deployedVersion(def.name);
    let row: LabelRow;
    try {
      row = this.store.addLabel({
        module: def.name, alertId: body.alertId, label: body.label, author: user.name, authorKind: 'person',
        queue: body.queue ?? null, modelVersion: deployed, comment: body.comment ?? null,
      });
    } catch (e) {
      if (e instanceof StoreError) throw new RequestError(404, e.message);
      throw e;
    }
    this.store.releaseLease(def.name, row.objectId, user.name);
    this.afterLabelChange(def, user.name);
    this.events.publish('label', def.name, { id: row.id, author: user.name, alertId: row.alertId, label: row.label });
    return row;
  }

  /**
   * A recorded label with what blind labelling kept from the expert until now: the object's catalogue class,
   * the label the module maps it to, and whether the expert's label agrees with it (same label, same class).
   */
  withTruth(row: LabelRow): LabelRow & { truth: { catalogueClass: string; truthLabel: string | null; sameLabel: boolean | null; sameClass: boolean | null } | null } {
    const def = this.module(row.module);
    const r = this.store.db.prepare('SELECT source_label FROM alerts WHERE object_id = ? AND source_label IS NOT NULL LIMIT 1').get(row.objectId) as { source_label: string } | undefined;
    if (!r) return { ...row, truth: null };
    const truthLabel = def.catalogLabel(r.source_label);
    const mine = def.labelToClass(row.label);
    return {
      ...row,
      truth: {
        catalogueClass: r.source_label, truthLabel,
        sameLabel: truthLabel === null || mine === null ? null : truthLabel === row.label,
        sameClass: truthLabel === null || mine === null ? null : def.labelToClass(truthLabel) === mine,
      },
    };
  }

  undo(user: User, id: number): LabelRow {
    const row = this.ownLabel(user, id);
    this.store.undoLabel(id, user.name);
    this.afterLabelChange(this.module(row.module), user.name, true);
    return this.store.getLabel(id);
  }

  change(user: User, id: number, label: string, comment: string | null): LabelRow {
    const row = this.ownLabel(user, id);
    const def = this.module(row.module);
    if (!def.labels.some((l) => l.label === label) && label !== 'skip') throw new RequestError(400, `label '${label}' is not one of ${def.labels.map((l) => l.label).join(', ')}, skip`);
    const next = this.store.changeLabel(id, label, comment, user.name);
    this.afterLabelChange(def, user.name, true);
    return next;
  }

  private ownLabel(user: User, id: number): LabelRow {
    let row: LabelRow;
    try {
      row = this.store.getLabel(id);
    } catch (e) {
      throw new RequestError(404, (e as Error).message);
    }
    if (row.author !== user.name) throw new RequestError(403, `label ${id} was given by ${row.author}; only its author can change it`);
    if ((this.store.db.prepare('SELECT undone_at FROM labels WHERE id = ?').get(id) as { undone_at: string | null }).undone_at) throw new RequestError(409, `label ${id} is already undone`);
    return row;
  }

  /** AAD re-weights on every label (saved every persistAnomalyEvery); classifiers retrain every retrainEvery. */
  private afterLabelChange(def: ModuleDefinition, actor: string, withdrawn = false): void {
    if (def.kind === 'anomaly') {
      const s = this.anomalySession(def);
      if (!s) return;
      // the pool re-scored on worker threads: the server answers other requests meanwhile, from the ranking before this label
      const done = s.reweightAsync(withdrawn).then(() => {
        const n = (this.anomalyLabels.get(def.name) ?? 0) + 1;
        this.anomalyLabels.set(def.name, n);
        if (n >= this.options.persistAnomalyEvery && this.options.persistAnomalyEvery > 0) this.persistAnomaly(def.name, actor);
      });
      this.reweighting.set(def.name, done);
      // the label's request reports a failure (reweighted()); an operator sees it in the log in any case
      done.catch((e: Error) => (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`sieve: re-weighting ${def.name} after a label failed: ${e.message}`));
      return;
    }
    // the server's --retrain-every 0 turns automatic retraining off; otherwise the module's own cadence
    const every = this.options.retrainEvery === 0 ? 0 : def.retrainEvery ?? this.options.retrainEvery;
    if (every > 0 && !this.retrains.has(def.name) && labelsSinceLastModel(this.store, def.name) >= every) {
      void this.retrain(def.name, 'auto-retrain');
    }
  }

  /**
   * Resolves when the anomaly module's re-weighting after its latest label is complete (at once for a
   * classifier, or while the session is still opening): a label's response waits for it, so the expert's
   * next queue is the re-ranked one.
   */
  reweighted(name: string): Promise<void> {
    return this.reweighting.get(name) ?? Promise.resolve();
  }

  private persistAnomaly(name: string, actor: string): number | null {
    const s = this.anomaly.get(name);
    if (!s || s.unsavedLabels === 0) return null;
    const v = s.persist(actor);
    this.anomalyLabels.set(name, 0);
    this.events.publish('deployed', name, { version: v, actor, reason: 'AAD weights saved' });
    return v;
  }

  get runningRetrains(): string[] {
    return [...this.retrains.keys()];
  }

  /**
   * Retrains a module in a worker thread (one at a time per module; a second call joins the running one).
   * The anomaly module saves its live weights instead.
   */
  retrain(name: string, actor: string): Promise<TrainResult | null> {
    const def = this.module(name);
    if (def.kind === 'anomaly') {
      // the weights of every label so far: after the re-weighting under way
      return (this.anomaly.get(name)?.settled() ?? Promise.resolve()).then(() => {
        const v = this.persistAnomaly(name, actor);
        return v === null ? null : { module: name, version: v, nLabels: this.store.trainingLabels(name).size, metrics: {}, deployedMetrics: null, promoted: true, reason: 'AAD weights saved' };
      }).catch((e: Error) => {
        (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`sieve: saving the AAD weights of ${name} (${actor}) failed: ${e.message}`);
        return null;
      });
    }
    const running = this.retrains.get(name);
    if (running) return running;
    this.events.publish('retrain-started', name, { actor });
    const handle = retrainInWorker(this.store.path, name, { seed: this.options.seed, actor, ...(this.options.nEstimators ? { nEstimators: this.options.nEstimators } : {}) });
    const p = handle.result.then(
      (r) => {
        this.retrains.delete(name);
        this.events.publish('retrain-finished', name, { ...r });
        if (r.promoted) this.events.publish('deployed', name, { version: r.version, actor, reason: r.summary ?? r.reason, automatic: true });
        return r;
      },
      (e: Error) => {
        this.retrains.delete(name);
        // an automatic retrain has no request to answer: the log is where an operator sees it failed
        (this.options.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`sieve: retrain of ${name} (${actor}) failed: ${e.message}`);
        this.events.publish('retrain-failed', name, { error: e.message });
        return null;
      },
    );
    this.retrains.set(name, p);
    return p;
  }

  deploy(user: User, name: string, version: number, reason: string | null): void {
    this.module(name);
    try {
      this.store.deploy(name, version, user.name, reason);
    } catch (e) {
      if (e instanceof StoreError) throw new RequestError(404, e.message);
      throw e;
    }
    this.events.publish('deployed', name, { version, actor: user.name, reason });
  }

  rollback(user: User, name: string, reason: string | null): number {
    this.module(name);
    let v: number;
    try {
      v = this.store.rollback(name, user.name, reason);
    } catch (e) {
      if (e instanceof StoreError) throw new RequestError(409, e.message);
      throw e;
    }
    this.events.publish('deployed', name, { version: v, actor: user.name, reason, rollback: true });
    return v;
  }

  /** Waits for running retrains and AAD re-weightings and saves unsaved AAD weights. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // the AAD weights saved are those of every label: after the re-weightings under way
    await Promise.all([...this.retrains.values(), ...this.warming.values(), ...[...this.anomaly.values()].map((s) => s.settled())]);
    for (const name of this.anomaly.keys()) this.persistAnomaly(name, 'shutdown');
    await stopLeafSumThreads();
  }
}

