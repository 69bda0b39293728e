import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Alert } from '../../../datasets/index.ts';
import { alertFileBatches, encodeLightCurve, stringifyJsonExact } from '../../../datasets/index.ts';
import { featureSpecHash, type FeatureExtractor, type FeatureSpec } from '../../../features/index.ts';
import { parseBundle, serializeBundle, type ModelBundle } from '../../../models/index.ts';
import { MIGRATIONS } from './schema.ts';
import { alertFromRow, magpsfColumn, STAMP_KINDS, stampWriter, storedCandidateJson, type AlertRow, type StampKind } from './alertRow.ts';
import { decodeFeatureRow } from './featureCodec.ts';
import type { GateReport } from '../gate.ts';

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreError';
  }
}

/**
 * A failed write or an unusable file as one line naming the store: SQLite's own messages ("database or disk
 * is full") say neither which file nor that nothing was written (a transaction is all or nothing).
 */
export function storeFailure(path: string, e: unknown): Error {
  const code = (e as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^SQLITE_(FULL|IOERR|READONLY|CORRUPT|NOTADB|CANTOPEN)/.test(code)) return e as Error;
  const what = code.startsWith('SQLITE_FULL') ? 'the disk (or the database) is full'
    : code.startsWith('SQLITE_READONLY') ? 'the store is read-only'
      : code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB') ? 'the file is not a usable SQLite store' : (e as Error).message;
  return new StoreError(`store ${path}: ${what} (${code}: ${(e as Error).message}); this write stored nothing`);
}

/** Labels that are recorded but never trained on. */
export const NON_TRAINING_LABELS: ReadonlySet<string> = new Set(['unsure', 'skip']);

export interface LabelInput {
  module: string;
  alertId: number;
  label: string;
  author: string;
  authorKind?: 'person' | 'model' | 'catalog';
  queue?: string | null;
  modelVersion?: number | null;
  comment?: string | null;
}

export interface LabelRow {
  id: number;
  module: string;
  objectId: string;
  alertId: number | null;
  label: string;
  author: string;
  /** person: an expert; catalog: a catalogue's class (e.g. TNS through Fink), trained on unless an expert says otherwise; model: a prediction. */
  authorKind: 'person' | 'model' | 'catalog';
  queue: string | null;
  modelVersion: number | null;
  comment: string | null;
  createdAt: string;
}

/** One alert a search found, with the fields the query matched (objectId, diaObjectId, candid, alertId, SNID, diaSourceId, ssObjectId or id). */
export interface AlertSearchHit {
  id: number;
  objectId: string;
  candid: string | null;
  survey: Alert['survey'];
  jd: number;
  band: string;
  matched: string[];
}

export type Role = 'expert' | 'admin';

export interface ModuleDeclarationRow {
  name: string;
  revision: number;
  declarationJson: string;
  sha256: string;
  featureSpecHash: string;
  author: string;
  createdAt: string;
  disabled: boolean;
}

/** Feature rows of one spec: alert ids, object ids, passes_cuts and an n x d Float64 matrix. */
export interface FeatureTable {
  alertIds: Int32Array;
  objectIds: string[];
  passesCuts: Uint8Array;
  values: Float64Array;
  cols: number;
}

/** A version's row without its bundle (an AAD bundle is megabytes of JSON; the views read the row, not the model). */
const MODEL_ROW_COLUMNS = 'module, version, status, model_type, feature_spec_hash, sha256, metrics_json, n_labels, parent_version, created_at, gate_json, provisional';

type TableRow = { alert_id: number; object_id: string; passes: number; fields?: Buffer | null } & Record<string, Buffer>;


const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

export interface User {
  name: string;
  role: Role;
  createdAt: string;
}

/** Tokens are 256 random bits, so one unsalted SHA-256 is enough to make the stored hash useless to a thief. */
const tokenHash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export interface ModelRow {
  module: string;
  version: number;
  status: 'candidate' | 'deployed' | 'retired';
  modelType: string;
  featureSpecHash: string;
  sha256: string;
  metrics: Record<string, number>;
  nLabels: number;
  parentVersion: number | null;
  createdAt: string;
  /** Deployed (or deployable) on a held-out set too small to trust: the UI and API warn about it. */
  provisional: boolean;
  /** The promotion gate's report (intervals, decision), when the version came from a retrain. */
  gate: GateReport | null;
}

/**
 * The survey's own ids of an alert besides objectId and candid, that an expert may search by: ELAsTiCC's SNID,
 * Rubin's diaSourceId and ssObjectId. Exact decimal text only (a float that is not a safe integer is no id).
 */
export const SEARCHABLE_ID_FIELDS = [['SNID', 'extra'], ['diaSourceId', 'raw'], ['ssObjectId', 'raw']] as const;

export function exactIdText(v: unknown): string | null {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : null;
  if (typeof v === 'string') return /^-?\d+$/.test(v) ? v : null;
  return null;
}

function searchableIds(a: Alert): Array<[kind: string, value: string]> {
  const out: Array<[string, string]> = [];
  for (const [kind, where] of SEARCHABLE_ID_FIELDS) {
    const v = exactIdText(where === 'extra' ? a.extra[kind] : a.raw?.[kind]);
    // Rubin writes ssObjectId 0 for a source that is not a solar-system object
    if (v !== null && !(kind === 'ssObjectId' && v === '0')) out.push([kind, v]);
  }
  return out;
}

/** The key an alert is stored under (unique in the store): survey and alert id, else object and time. */
export function alertKey(a: Alert): string {
  return a.candid !== null ? `${a.survey}:${a.candid}` : `${a.survey}:${a.objectId}@${a.candidate.jd}`;
}

const now = () => new Date().toISOString();

/**
 * Sieve's embedded store: one SQLite file (WAL) with alerts and light curves, features keyed by
 * FeatureSpec hash, labels with provenance, model bundles, deployments, learning curves and an audit
 * log. Every multi-row write is one transaction.
 */
export class Store {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly specIds = new Map<string, number>();
  /** Per survey, how many alerts have an id up to `through` (alerts are only ever appended, with larger ids). */
  private readonly surveyCounts = new Map<string, { through: number; n: number }>();
  private modulesChanged = 0;
  private readonly declarations: Array<{ version: string; rows: ModuleDeclarationRow[] } | undefined> = [];

  constructor(readonly path: string) {
    try {
      this.db = new Database(path);
      // a file that is not a store fails at the first statement: say so with its name
      this.db.pragma('schema_version');
    } catch (e) {
      throw storeFailure(path, e);
    }
    // Alerts carry ~20 KB of stamps and light curve: large pages keep them off long overflow chains.
    // (Only takes effect on a new, empty database.)
    this.db.pragma('page_size = 32768');
    this.db.pragma('journal_mode = WAL');
    // WAL with synchronous=NORMAL cannot corrupt the file; a power cut may lose the last commits only.
    this.db.pragma('synchronous = NORMAL');
    // 64 MB of page cache (the default is 2 MB): with 100k+ alerts the alert_key and object_id index
    // pages no longer fit in 2 MB, and every insert then reads them back from the file.
    this.db.pragma('cache_size = -65536');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // Every transaction on a store connection takes the write lock at BEGIN (IMMEDIATE). A deferred one
    // that reads first and writes later fails at once with SQLITE_BUSY, without waiting on busy_timeout,
    // when another connection (a retrain worker, a second server) committed in between.
    const deferred = this.db.transaction.bind(this.db);
    this.db.transaction = ((fn: (...args: unknown[]) => unknown) => {
      const t = deferred(fn);
      const run = (...args: unknown[]) => {
        try {
          return t.immediate(...args);
        } catch (e) {
          throw storeFailure(path, e);
        }
      };
      return Object.assign(run, { deferred: t.deferred, immediate: t.immediate, exclusive: t.exclusive, default: t.immediate });
    }) as typeof this.db.transaction;
    this.migrate();
  }

  /** Opens an existing store; a missing file is an error (a mistyped --db must not create an empty store). */
  static open(path: string): Store {
    if (!path) throw new StoreError('--db: the store path is empty');
    if (!existsSync(path)) throw new StoreError(`store ${path} does not exist (create one with 'sieve ingest FILES --db ${path}' or 'sieve demo --db ${path}')`);
    return new Store(path);
  }

  /** Opens a store, creating it when the file does not exist (ingest, demo and tests create stores). */
  static create(path: string): Store {
    if (!path) throw new StoreError('--db: the store path is empty');
    return new Store(path);
  }

  close(): void {
    this.db.close();
  }

  /** A prepared statement, prepared once per connection (the hot paths run them thousands of times). */
  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) this.statements.set(sql, (st = this.db.prepare(sql)));
    return st;
  }

  get schemaVersion(): number {
    return (this.stmt('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = this.schemaVersion;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      // a table that others reference is rebuilt with the checks off (they cannot change inside a
      // transaction), and every reference is checked before the migration commits
      if (m.rebuildsTables) this.db.pragma('foreign_keys = OFF');
      try {
        this.db.transaction(() => {
          this.db.exec(m.sql);
          m.run?.(this.db);
          if (m.rebuildsTables) {
            const broken = this.db.pragma('foreign_key_check') as unknown[];
            if (broken.length) throw new StoreError(`migration ${m.version}: ${broken.length} broken reference(s): ${JSON.stringify(broken.slice(0, 3))}`);
          }
          this.stmt('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)').run(m.version, m.description, now());
        })();
      } finally {
        if (m.rebuildsTables) this.db.pragma('foreign_keys = ON');
      }
    }
  }

  audit(actor: string, action: string, details: Record<string, unknown>): void {
    this.stmt('INSERT INTO audit (at, actor, action, details_json) VALUES (?, ?, ?, ?)').run(now(), actor, action, stringifyJsonExact(details));
  }

  /**
   * Inserts alerts in one transaction (an alert already present, by candid, is skipped). Returns the
   * numbers inserted and skipped.
   */
  insertAlerts(alerts: readonly Alert[], sourceFile: string, actor = 'system'): { inserted: number; duplicates: number } {
    let inserted = 0;
    this.db.transaction(() => {
      inserted = this.insertAlertRows(alerts, this.newIngest(sourceFile, now()));
      this.audit(actor, 'ingest', { file: sourceFile, inserted, duplicates: alerts.length - inserted });
    })();
    return { inserted, duplicates: alerts.length - inserted };
  }

  /** Inserts alerts (already-stored ones are skipped); the caller holds the transaction. */
  private insertAlertRows(alerts: readonly Alert[], ingestId: number): number {
    const insert = this.stmt(`INSERT OR IGNORE INTO alerts
      (alert_key, candid, object_id, survey, ra, dec, jd, band, magpsf, source_label, candidate_json, light_curve,
       stamp_science, stamp_template, stamp_difference, ingest_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const exists = this.stmt('SELECT 1 AS x FROM alerts WHERE alert_key = ?');
    const stamp = stampWriter(this.db);
    const insertId = this.stmt('INSERT OR IGNORE INTO alert_ids (value, kind, alert_id) VALUES (?, ?, ?)');
    let inserted = 0;
    for (const a of alerts) {
      const key = alertKey(a);
      // a duplicate's stamps are not stored either
      if (exists.get(key) !== undefined) continue;
      const r = insert.run(
        key, a.candid === null ? null : a.candid.toString(), a.objectId, a.survey, a.ra, a.dec, a.candidate.jd, a.candidate.band,
        magpsfColumn(a), a.label ?? null, storedCandidateJson(a), encodeLightCurve(a.lightCurve),
        stamp(a.cutouts.science?.bytes), stamp(a.cutouts.template?.bytes), stamp(a.cutouts.difference?.bytes), ingestId,
      );
      inserted += r.changes;
      if (r.changes) for (const [kind, value] of searchableIds(a)) insertId.run(value, kind, r.lastInsertRowid);
    }
    return inserted;
  }

  /** One ingest (a file, a batch): alerts point at it for where and when they came from. */
  private newIngest(sourceFile: string, at: string): number {
    return Number(this.stmt('INSERT INTO ingests (source_file, ingested_at) VALUES (?, ?)').run(sourceFile, at).lastInsertRowid);
  }

  /**
   * Imports alert files all-or-nothing: any unreadable record in any file rolls the import back, and the error
   * lists every problem (file and record). Files are read as streams and written in batches inside one
   * transaction, so memory holds a chunk and one batch, whatever the files' sizes (Parquet files are still
   * decoded whole). The transaction stays open across the reads: the store must not be used by anything else meanwhile
   * (the CLI's ingest and demo own theirs).
   */
  async importFiles(files: readonly string[], actor = 'system'): Promise<{ inserted: number; duplicates: number; files: Array<{ file: string; alerts: number; inserted: number }> }> {
    const problems: string[] = [];
    const summaries: Array<{ file: string; alerts: number; inserted: number }> = [];
    this.db.exec('BEGIN IMMEDIATE');
    try {
      for (const f of files) {
        let ingest: number | null = null;
        const summary = { file: f, alerts: 0, inserted: 0 };
        for await (const batch of alertFileBatches(f)) {
          for (const e of batch.errors) problems.push(e.message);
          // after a bad record nothing more is written, but reading goes on so that every problem is reported
          if (problems.length) continue;
          summary.inserted += this.insertAlertRows(batch.alerts, (ingest ??= this.newIngest(f, now())));
          summary.alerts += batch.alerts.length;
        }
        if (!problems.length) this.audit(actor, 'ingest', { file: f, inserted: summary.inserted, duplicates: summary.alerts - summary.inserted });
        summaries.push(summary);
      }
      // the first problem on the first line: that line is what the CLI prints without SIEVE_DEBUG
      if (problems.length) throw new StoreError(`import refused, nothing stored: ${problems.length === 1 ? '1 bad record' : `${problems.length} bad records, the first`}: ${problems[0]}${problems.length > 1 ? `\n  ${problems.slice(1).join('\n  ')}` : ''}`);
      this.db.exec('COMMIT');
    } catch (e) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw storeFailure(this.path, e);
    }
    const inserted = summaries.reduce((s, x) => s + x.inserted, 0);
    return { inserted, duplicates: summaries.reduce((s, x) => s + x.alerts, 0) - inserted, files: summaries };
  }

  countAlerts(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM alerts').get() as { n: number }).n;
  }

  /** An alert back as the common type (light curve and candidate; cutouts attached). */
  getAlert(id: number): Alert & { id: number } {
    const row = this.stmt(`SELECT a.*, s.bytes AS science, t.bytes AS template, d.bytes AS difference FROM alerts a
      LEFT JOIN stamps s ON s.id = a.stamp_science LEFT JOIN stamps t ON t.id = a.stamp_template LEFT JOIN stamps d ON d.id = a.stamp_difference
      WHERE a.id = ?`).get(id) as (AlertRow & Record<StampKind, Buffer | null>) | undefined;
    if (!row) throw new StoreError(`no alert with id ${id}`);
    const cutouts: Record<string, { fileName: string; bytes: Uint8Array }> = {};
    for (const k of STAMP_KINDS) if (row[k]) cutouts[k] = { fileName: `cutout_${k}`, bytes: new Uint8Array(row[k]!) };
    return alertFromRow(row, cutouts);
  }

  /** One stamp of an alert (the stored bytes: gzipped FITS for ZTF, FITS for Rubin), or null. */
  stamp(alertId: number, kind: StampKind): Buffer | null {
    const r = this.stmt(`SELECT s.bytes FROM alerts a JOIN stamps s ON s.id = a.stamp_${kind} WHERE a.id = ?`).get(alertId) as { bytes: Buffer } | undefined;
    return r ? r.bytes : null;
  }

  /**
   * The alerts an expert's search names. `#123` or `id:123` is Sieve's own alert id; anything else is matched
   * exactly, as text (a 64-bit id never passes through a float), against the objectId (ZTF's name, Rubin's
   * diaObjectId), the candid (ZTF's candid, Rubin's alertId) and the ids of SEARCHABLE_ID_FIELDS (SNID,
   * diaSourceId, ssObjectId). Each hit says which field matched; oldest alert first.
   */
  searchAlerts(query: string, limit = 50): AlertSearchHit[] {
    const q = query.trim();
    const own = /^(?:#|id:)\s*(\d{1,15})$/i.exec(q);
    const columns = 'a.id, a.object_id, a.candid, a.survey, a.jd, a.band';
    let rows: Array<Record<string, unknown> & { matched: string }>;
    if (own) rows = this.db.prepare(`SELECT ${columns}, 'id' AS matched FROM alerts a WHERE a.id = ?`).all(Number(own[1])) as typeof rows;
    else {
      if (!q) return [];
      rows = this.db.prepare(`SELECT ${columns}, m.matched FROM (
          SELECT id, 'objectId' AS matched FROM alerts WHERE object_id = @q
          UNION SELECT id, 'candid' FROM alerts WHERE candid = @q
          UNION SELECT alert_id, kind FROM alert_ids WHERE value = @q
        ) m JOIN alerts a ON a.id = m.id ORDER BY a.id LIMIT @limit`).all({ q, limit }) as typeof rows;
    }
    // one hit per alert, naming the field as the alert's survey calls it
    const byId = new Map<number, AlertSearchHit>();
    for (const r of rows) {
      const survey = r.survey as Alert['survey'];
      const matched = r.matched === 'objectId' ? (survey === 'lsst' ? 'diaObjectId' : 'objectId') : r.matched === 'candid' ? (survey === 'lsst' ? 'alertId' : 'candid') : r.matched;
      const id = r.id as number;
      const hit = byId.get(id);
      if (hit) hit.matched.push(matched);
      else byId.set(id, { id, objectId: r.object_id as string, candid: r.candid as string | null, survey, jd: r.jd as number, band: r.band as string, matched: [matched] });
    }
    return [...byId.values()];
  }

  /** An alert's object and survey, or null when there is no such alert. */
  alertSurvey(id: number): { objectId: string; survey: Alert['survey'] } | null {
    const r = this.stmt('SELECT object_id, survey FROM alerts WHERE id = ?').get(id) as { object_id: string; survey: Alert['survey'] } | undefined;
    return r ? { objectId: r.object_id, survey: r.survey } : null;
  }

  /** Alert ids in insertion order. */
  alertIds(): number[] {
    return (this.stmt('SELECT id FROM alerts ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
  }

  maxAlertId(): number {
    return (this.stmt('SELECT COALESCE(MAX(id), 0) AS m FROM alerts').get() as { m: number }).m;
  }

  /** Stored alert rows after `afterId` up to `toId`, in id order, without stamps (what feature computation reads). */
  alertRowsAfter(afterId: number, toId: number, limit: number, surveys: readonly string[] | null = null): AlertRow[] {
    const cols = 'id, survey, object_id, candid, ra, dec, jd, band, magpsf, source_label, candidate_json, light_curve';
    if (!surveys) return this.stmt(`SELECT ${cols} FROM alerts WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`).all(afterId, toId, limit) as unknown as AlertRow[];
    return this.stmt(`SELECT ${cols} FROM alerts WHERE id > ? AND id <= ? AND survey IN (${surveys.map(() => '?').join(', ')}) ORDER BY id LIMIT ?`)
      .all(afterId, toId, ...surveys, limit) as unknown as AlertRow[];
  }

  /** A spec's id in this store, registered on first use (features and pools are keyed by it). */
  specId(spec: FeatureSpec): number {
    const hash = featureSpecHash(spec);
    let id = this.specIds.get(hash);
    if (id !== undefined) return id;
    this.stmt('INSERT OR IGNORE INTO feature_specs (spec_hash, name, version, spec_json) VALUES (?, ?, ?, ?)').run(hash, spec.name, spec.version, JSON.stringify(spec));
    this.stmt('INSERT OR IGNORE INTO spec_ids (spec_hash) VALUES (?)').run(hash);
    id = (this.stmt('SELECT id FROM spec_ids WHERE spec_hash = ?').get(hash) as { id: number }).id;
    this.specIds.set(hash, id);
    return id;
  }

  /** Every alert with an id up to this one has been through the spec (0: none). */
  featureProgress(specId: number): number {
    return (this.stmt('SELECT through_alert AS t FROM feature_progress WHERE spec = ?').get(specId) as { t: number } | undefined)?.t ?? 0;
  }

  /** Stored extractor rows of alerts fromId..toId, per spec id. */
  storedFeatureValues(specIds: readonly number[], fromId: number, toId: number): Map<number, Map<number, { passes: number; vals: Uint8Array }>> {
    const out = new Map<number, Map<number, { passes: number; vals: Uint8Array }>>();
    const q = this.stmt('SELECT alert_id, passes, vals FROM feature_values WHERE spec = ? AND alert_id BETWEEN ? AND ?');
    for (const id of specIds) {
      const m = new Map<number, { passes: number; vals: Uint8Array }>();
      for (const r of q.iterate(id, fromId, toId) as Iterable<{ alert_id: number; passes: number; vals: Buffer }>) m.set(r.alert_id, { passes: r.passes, vals: r.vals });
      if (m.size) out.set(id, m);
    }
    return out;
  }

  /** Writes a batch's extractor rows and pool rows and moves the progress marks, in one transaction. */
  writeFeatureBatch(batch: { values: ReadonlyArray<[number, number, number, Uint8Array]>; pool: ReadonlyArray<[number, number, Uint8Array | null]> } | null, progress: ReadonlyArray<[number, number]>): void {
    const addValues = this.stmt('INSERT OR REPLACE INTO feature_values (spec, alert_id, passes, vals) VALUES (?, ?, ?, ?)');
    const addPool = this.stmt('INSERT OR REPLACE INTO module_pool (spec, alert_id, fields) VALUES (?, ?, ?)');
    const mark = this.stmt('INSERT INTO feature_progress (spec, through_alert) VALUES (?, ?) ON CONFLICT(spec) DO UPDATE SET through_alert = MAX(through_alert, excluded.through_alert)');
    this.db.transaction(() => {
      if (batch) {
        for (const [spec, alert, passes, vals] of batch.values) addValues.run(spec, alert, passes, asBuffer(vals));
        for (const [spec, alert, fields] of batch.pool) addPool.run(spec, alert, fields === null ? null : asBuffer(fields));
      }
      for (const [spec, through] of progress) mark.run(spec, through);
    })();
  }

  /**
   * Feature rows of one spec in alert order: a plain extractor's every computed row, a module's pool (the
   * alerts that pass its cuts, passesCuts all 1) with its extractors' values and alert fields assembled in
   * column order. `objects` keeps the rows of those objects only (a retrain reads its labelled objects).
   */
  featureTable(spec: FeatureSpec, o: { objects?: Iterable<string> } = {}): FeatureTable {
    const q = this.tableQuery(spec);
    if (o.objects) {
      const st = this.stmt(`${q.sql} AND a.object_id = ? ORDER BY p.alert_id`);
      const rows: TableRow[] = [];
      for (const obj of new Set(o.objects)) rows.push(...(st.all(q.id, obj) as TableRow[]));
      rows.sort((x, y) => x.alert_id - y.alert_id);
      return q.fill(rows, rows.length);
    }
    const n = (this.stmt(`SELECT COUNT(*) AS n FROM ${q.module ? 'module_pool' : 'feature_values'} WHERE spec = ?`).get(q.id) as { n: number }).n;
    const t = q.fill(this.stmt(`${q.sql} ORDER BY p.alert_id`).iterate(q.id) as Iterable<TableRow>, n);
    if (t.alertIds.length < n) throw new StoreError(`${spec.name}: ${n} rows counted, ${t.alertIds.length} read (a part's values are missing)`);
    return t;
  }

  /**
   * The same rows in blocks of at most `blockRows`, each read when it is taken (the store stays usable
   * between blocks): what passes over a million-row pool hold in memory is one block.
   */
  *featureBlocks(spec: FeatureSpec, blockRows = 16384, afterAlert = 0): Generator<FeatureTable> {
    const q = this.tableQuery(spec);
    const st = this.stmt(`${q.sql} AND p.alert_id > ? ORDER BY p.alert_id LIMIT ?`);
    for (let after = afterAlert; ;) {
      const rows = st.all(q.id, after, blockRows) as TableRow[];
      if (!rows.length) return;
      after = rows[rows.length - 1].alert_id;
      yield q.fill(rows, rows.length);
    }
  }

  /** The SQL that reads a spec's rows (a module's pool joined with its extractors' values) and how to decode them. */
  private tableQuery(spec: FeatureSpec): { id: number; module: boolean; sql: string; fill: (rows: Iterable<TableRow>, n: number) => FeatureTable } {
    const d = spec.columns.length;
    const parts = this.moduleParts(spec);
    const id = this.specId(spec);
    const stored = parts ? parts.filter((p) => p.spec !== null) : [];
    const joins = stored.map((p, k) => `JOIN feature_values v${k} ON v${k}.spec = ${p.spec} AND v${k}.alert_id = p.alert_id`).join(' ');
    const sql = parts
      ? `SELECT p.alert_id, a.object_id, 1 AS passes, p.fields${stored.map((_, k) => `, v${k}.vals AS v${k}`).join('')} FROM module_pool p JOIN alerts a ON a.id = p.alert_id ${joins} WHERE p.spec = ?`
      : 'SELECT p.alert_id, a.object_id, p.passes, p.vals AS v0 FROM feature_values p JOIN alerts a ON a.id = p.alert_id WHERE p.spec = ?';
    const fieldParts = parts?.filter((p) => p.spec === null) ?? [];
    const nFields = fieldParts.reduce((s, p) => s + p.n, 0);
    const fields = new Float64Array(nFields);
    const fill = (rows: Iterable<TableRow>, n: number): FeatureTable => {
      const alertIds = new Int32Array(n);
      const objectIds: string[] = new Array(n);
      const passesCuts = new Uint8Array(n);
      const values = new Float64Array(n * d);
      let i = 0;
      for (const r of rows) {
        if (i >= n) break;
        alertIds[i] = r.alert_id;
        objectIds[i] = r.object_id;
        passesCuts[i] = r.passes;
        const where = `alert ${r.alert_id}, ${spec.name}`;
        if (!parts) decodeFeatureRow(r.v0, d, values, i * d, where);
        else {
          stored.forEach((p, k) => decodeFeatureRow(r[`v${k}`], p.n, values, i * d + p.offset, where));
          if (nFields) {
            decodeFeatureRow(r.fields!, nFields, fields, 0, where);
            let f = 0;
            for (const p of fieldParts) for (let j = 0; j < p.n; j++) values[i * d + p.offset + j] = fields[f++];
          }
        }
        i++;
      }
      return i === n ? { alertIds, objectIds, passesCuts, values, cols: d } : { alertIds: alertIds.subarray(0, i), objectIds: objectIds.slice(0, i), passesCuts: passesCuts.subarray(0, i), values: values.subarray(0, i * d), cols: d };
    };
    return { id, module: parts !== null, sql, fill };
  }

  /** A spec's rows without their values: alert and object ids, in alert order (a random queue reads no more). */
  poolIds(spec: FeatureSpec): { alertIds: Int32Array; objectIds: string[] } {
    const q = this.tableQuery(spec);
    const table = q.module ? 'module_pool' : 'feature_values';
    const rows = this.stmt(`SELECT p.alert_id, a.object_id FROM ${table} p JOIN alerts a ON a.id = p.alert_id WHERE p.spec = ? ORDER BY p.alert_id`).all(q.id) as Array<{ alert_id: number; object_id: string }>;
    return { alertIds: Int32Array.from(rows, (r) => r.alert_id), objectIds: rows.map((r) => r.object_id) };
  }

  /** An alert's object id. */
  objectOf(alertId: number): string {
    const r = this.stmt('SELECT object_id FROM alerts WHERE id = ?').get(alertId) as { object_id: string } | undefined;
    if (!r) throw new StoreError(`no alert with id ${alertId}`);
    return r.object_id;
  }

  /** The ids of an object's alerts. */
  alertIdsOfObject(objectId: string): number[] {
    return (this.stmt('SELECT id FROM alerts WHERE object_id = ?').all(objectId) as Array<{ id: number }>).map((r) => r.id);
  }

  /** A deployed version's stored ranking of its module's pool (ranking.ts), or null. */
  loadRanking(module: string, version: number, strategy: string, revision: string): { through: number; alertIds: Int32Array; score: Float64Array; shown: Float64Array } | null {
    const r = this.stmt('SELECT through_alert, alert_ids, scores, shown FROM rankings WHERE module = ? AND version = ? AND strategy = ? AND revision = ?')
      .get(module, version, strategy, revision) as { through_alert: number; alert_ids: Buffer; scores: Buffer; shown: Buffer } | undefined;
    if (!r) return null;
    const copy = (b: Buffer) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    return { through: r.through_alert, alertIds: new Int32Array(copy(r.alert_ids)), score: new Float64Array(copy(r.scores)), shown: new Float64Array(copy(r.shown)) };
  }

  /** Stores a ranking; the module's rankings of other versions go (they are recomputed if asked for again). */
  saveRanking(module: string, version: number, strategy: string, revision: string, r: { through: number; alertIds: Int32Array; score: Float64Array; shown: Float64Array }): void {
    const bytes = (a: Int32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    this.db.transaction(() => {
      this.stmt('DELETE FROM rankings WHERE module = ? AND (version != ? OR revision != ?)').run(module, version, revision);
      this.stmt('INSERT OR REPLACE INTO rankings (module, version, strategy, revision, through_alert, alert_ids, scores, shown) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(module, version, strategy, revision, r.through, bytes(r.alertIds), bytes(r.score), bytes(r.shown));
    })();
  }

  /**
   * How many alerts pass a module's cuts (its pool rows) — poolCounts without the count of the survey's
   * alerts, which reads every alert row (0.7 s on a million alerts).
   */
  poolPassing(spec: FeatureSpec): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM module_pool WHERE spec = ?').get(this.specId(spec)) as { n: number }).n;
  }

  /** How many stored alerts of the module's survey went through a module's cuts, and how many pass. */
  poolCounts(spec: FeatureSpec, survey: string): { alerts: number; passing: number } {
    const id = this.specId(spec);
    const through = this.featureProgress(id);
    return { alerts: this.surveyAlertsThrough(survey, through), passing: this.poolPassing(spec) };
  }

  /**
   * How many alerts of a survey have an id up to `through`. Counting reads every alert row (0.7 s on
   * a million alerts, with nothing else answered meanwhile in a server), so the count is kept and extended by
   * the ids added since: a store only appends alerts, each with an id above every earlier one.
   */
  private surveyAlertsThrough(survey: string, through: number): number {
    const count = (after: number, upTo: number) => (this.stmt('SELECT COUNT(*) AS n FROM alerts WHERE id > ? AND id <= ? AND survey = ?').get(after, upTo, survey) as { n: number }).n;
    const kept = this.surveyCounts.get(survey);
    const n = kept && kept.through <= through ? kept.n + count(kept.through, through) : count(0, through);
    if (!kept || through >= kept.through) this.surveyCounts.set(survey, { through, n });
    return n;
  }

  /**
   * One alert's stored feature row under a spec, or null when none is stored (a module keeps the rows of
   * the alerts that pass its cuts only: the caller computes the others).
   */
  featureRow(alertId: number, spec: FeatureSpec): { passesCuts: boolean; values: Float64Array } | null {
    const parts = this.moduleParts(spec);
    const d = spec.columns.length;
    const values = new Float64Array(d);
    const one = (specId: number) => this.stmt('SELECT passes, vals FROM feature_values WHERE spec = ? AND alert_id = ?').get(specId, alertId) as { passes: number; vals: Buffer } | undefined;
    if (!parts) {
      const r = one(this.specId(spec));
      if (!r) return null;
      decodeFeatureRow(r.vals, d, values);
      return { passesCuts: r.passes === 1, values };
    }
    const pool = this.stmt('SELECT fields FROM module_pool WHERE spec = ? AND alert_id = ?').get(this.specId(spec), alertId) as { fields: Buffer | null } | undefined;
    if (!pool) return null;
    const fieldParts = parts.filter((p) => p.spec === null);
    const fields = new Float64Array(fieldParts.reduce((s, p) => s + p.n, 0));
    if (pool.fields) decodeFeatureRow(pool.fields, fields.length, fields);
    let f = 0;
    for (const p of parts) {
      if (p.spec === null) {
        for (let j = 0; j < p.n; j++) values[p.offset + j] = fields[f++];
        continue;
      }
      const r = one(p.spec);
      if (!r) return null;
      decodeFeatureRow(r.vals, p.n, values, p.offset);
    }
    return { passesCuts: true, values };
  }

  /** A module spec's parts (extractor specs by id, alert fields as null) with their column offsets; null for a plain spec. */
  private moduleParts(spec: FeatureSpec): Array<{ spec: number | null; offset: number; n: number }> | null {
    const parts = (spec.parameters as { parts?: Array<FeatureSpec | { alert: string[] }> }).parts;
    if (!spec.name.startsWith('module:') || !Array.isArray(parts)) return null;
    let offset = 0;
    return parts.map((p) => {
      const n = 'alert' in p ? p.alert.length : p.columns.length;
      const part = { spec: 'alert' in p ? null : this.specId(p), offset, n };
      offset += n;
      return part;
    });
  }

  /** Records a label; it belongs to the alert's object. */
  addLabel(input: LabelInput): LabelRow {
    const alert = this.stmt('SELECT object_id FROM alerts WHERE id = ?').get(input.alertId) as { object_id: string } | undefined;
    if (!alert) throw new StoreError(`label: no alert with id ${input.alertId}`);
    if (!input.label.trim()) throw new StoreError('label: empty label');
    const at = now();
    const info = this.db.transaction(() => {
      // One decision per expert, object and module: a second label by the same person replaces the first
      // (kept, undone, in the table and the audit log), so contradictory labels never both count.
      const previous = input.authorKind === 'model' ? [] : this.stmt(`SELECT id, label FROM labels WHERE module = ? AND object_id = ? AND author = ?
        AND author_kind = ? AND undone_at IS NULL`).all(input.module, alert.object_id, input.author, input.authorKind ?? 'person') as Array<{ id: number; label: string }>;
      for (const p of previous) {
        this.stmt('UPDATE labels SET undone_at = ? WHERE id = ?').run(at, p.id);
        this.audit(input.author, 'replace-label', { id: p.id, module: input.module, objectId: alert.object_id, from: p.label, to: input.label });
      }
      const r = this.stmt(`INSERT INTO labels (module, object_id, alert_id, label, author, author_kind, queue, model_version, comment, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(input.module, alert.object_id, input.alertId, input.label, input.author, input.authorKind ?? 'person',
        input.queue ?? null, input.modelVersion ?? null, input.comment ?? null, at);
      this.audit(input.author, 'label', { module: input.module, alertId: input.alertId, label: input.label });
      return r;
    })();
    return this.getLabel(Number(info.lastInsertRowid));
  }

  getLabel(id: number): LabelRow {
    const r = this.stmt('SELECT * FROM labels WHERE id = ?').get(id) as Record<string, unknown> | undefined;
    if (!r) throw new StoreError(`no label with id ${id}`);
    return {
      id: r.id as number, module: r.module as string, objectId: r.object_id as string, alertId: r.alert_id as number | null, label: r.label as string,
      author: r.author as string, authorKind: r.author_kind as LabelRow['authorKind'], queue: r.queue as string | null, modelVersion: r.model_version === null ? null : Number(r.model_version),
      comment: r.comment as string | null, createdAt: r.created_at as string,
    };
  }

  /** Undoes a label (kept in the table with its undo time, for the audit trail). */
  undoLabel(id: number, actor: string): void {
    const r = this.stmt('UPDATE labels SET undone_at = ? WHERE id = ? AND undone_at IS NULL').run(now(), id);
    if (r.changes === 0) throw new StoreError(`label ${id} does not exist or is already undone`);
    this.audit(actor, 'undo-label', { id });
  }

  /**
   * The training labels of a module: the latest non-undone label of each object by a person, unless
   * it is unsure/skip. Every alert of the object inherits it.
   */
  trainingLabels(module: string): Map<string, string> {
    // catalogue labels first, experts' after: an expert's decision on an object overrides its catalogue class
    const rows = this.stmt(`SELECT object_id, label FROM labels WHERE module = ? AND undone_at IS NULL AND author_kind IN ('person', 'catalog')
      ORDER BY author_kind = 'person', id`).all(module) as Array<{ object_id: string; label: string }>;
    const out = new Map<string, string>();
    for (const r of rows) {
      if (NON_TRAINING_LABELS.has(r.label)) out.delete(r.object_id);
      else out.set(r.object_id, r.label);
    }
    return out;
  }

  /** Whether a person has a current label on an object in a module. */
  hasPersonLabel(module: string, objectId: string, author: string): boolean {
    return this.stmt("SELECT 1 FROM labels WHERE module = ? AND object_id = ? AND author = ? AND author_kind = 'person' AND undone_at IS NULL LIMIT 1")
      .get(module, objectId, author) !== undefined;
  }

  /** Objects an expert has already decided on for a module (any label, including unsure/skip). */
  labelledObjects(module: string, author?: string): Set<string> {
    const rows = (author
      ? this.stmt('SELECT DISTINCT object_id FROM labels WHERE module = ? AND author = ? AND undone_at IS NULL').all(module, author)
      : this.stmt('SELECT DISTINCT object_id FROM labels WHERE module = ? AND undone_at IS NULL').all(module)) as Array<{ object_id: string }>;
    return new Set(rows.map((r) => r.object_id));
  }

  countLabels(module: string): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM labels WHERE module = ? AND undone_at IS NULL').get(module) as { n: number }).n;
  }

  /** Stores a verified bundle as the module's next version (a candidate until deployed). */
  saveModel(bundle: ModelBundle, nLabels: number, actor = 'system', gate: GateReport | null = null): ModelRow {
    parseBundle(serializeBundle(bundle));
    const module = bundle.manifest.module;
    const version = Number(bundle.manifest.version);
    if (!Number.isInteger(version) || version < 1) throw new StoreError(`bundle version '${bundle.manifest.version}' is not a positive integer`);
    this.db.transaction(() => {
      this.stmt(`INSERT INTO models (module, version, status, model_type, feature_spec_hash, sha256, metrics_json, n_labels, parent_version, bundle_json, created_at, gate_json, provisional)
        VALUES (?, ?, 'candidate', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(module, version, bundle.manifest.modelType, bundle.manifest.featureSpecHash, bundle.sha256,
        JSON.stringify(bundle.manifest.metrics), nLabels, bundle.manifest.parentVersion === null ? null : Number(bundle.manifest.parentVersion),
        serializeBundle(bundle), now(), gate === null ? null : JSON.stringify(gate), gate?.decision === 'deploy-provisional' || gate?.tooSmall ? 1 : 0);
      this.stmt('INSERT INTO learning_curve (module, version, n_labels, metrics_json, created_at) VALUES (?, ?, ?, ?, ?)').run(module, version, nLabels, JSON.stringify(bundle.manifest.metrics), now());
      this.audit(actor, 'save-model', { module, version, sha256: bundle.sha256 });
    })();
    return this.getModel(module, version);
  }

  nextVersion(module: string): number {
    return (this.stmt('SELECT COALESCE(MAX(version), 0) + 1 AS v FROM models WHERE module = ?').get(module) as { v: number }).v;
  }

  private toModelRow(r: Record<string, unknown>): ModelRow {
    return {
      module: r.module as string, version: r.version as number, status: r.status as ModelRow['status'], modelType: r.model_type as string,
      featureSpecHash: r.feature_spec_hash as string, sha256: r.sha256 as string, metrics: JSON.parse(r.metrics_json as string), nLabels: r.n_labels as number,
      parentVersion: r.parent_version as number | null, createdAt: r.created_at as string,
      provisional: r.provisional === 1, gate: r.gate_json ? (JSON.parse(r.gate_json as string) as GateReport) : null,
    };
  }

  getModel(module: string, version: number): ModelRow {
    const r = this.stmt(`SELECT ${MODEL_ROW_COLUMNS} FROM models WHERE module = ? AND version = ?`).get(module, version) as Record<string, unknown> | undefined;
    if (!r) throw new StoreError(`no model ${module} v${version}`);
    return this.toModelRow(r);
  }

  listModels(module?: string): ModelRow[] {
    const rows = (module ? this.stmt(`SELECT ${MODEL_ROW_COLUMNS} FROM models WHERE module = ? ORDER BY version`).all(module) : this.stmt(`SELECT ${MODEL_ROW_COLUMNS} FROM models ORDER BY module, version`).all()) as Array<Record<string, unknown>>;
    return rows.map((r) => this.toModelRow(r));
  }

  /** The verified bundle of a version (checksum checked on the way out too). */
  getBundle(module: string, version: number): ModelBundle {
    const r = this.stmt('SELECT bundle_json FROM models WHERE module = ? AND version = ?').get(module, version) as { bundle_json: string } | undefined;
    if (!r) throw new StoreError(`no model ${module} v${version}`);
    return parseBundle(r.bundle_json, undefined, `${module} v${version}`);
  }

  deployedVersion(module: string): number | null {
    const r = this.stmt("SELECT version FROM models WHERE module = ? AND status = 'deployed'").get(module) as { version: number } | undefined;
    return r ? r.version : null;
  }

  /** Deploys a version (the previous one is retired), recording who, when and why. */
  deploy(module: string, version: number, actor: string, reason: string | null = null, action: 'deploy' | 'rollback' = 'deploy'): void {
    this.getModel(module, version);
    this.db.transaction(() => {
      this.stmt("UPDATE models SET status = 'retired' WHERE module = ? AND status = 'deployed'").run(module);
      this.stmt("UPDATE models SET status = 'deployed' WHERE module = ? AND version = ?").run(module, version);
      this.stmt('INSERT INTO deployments (module, version, action, actor, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(module, version, action, actor, reason, now());
      this.audit(actor, action, { module, version, reason });
    })();
  }

  /** Back to the version deployed before the current one. */
  rollback(module: string, actor: string, reason: string | null = null): number {
    const history = this.stmt('SELECT version FROM deployments WHERE module = ? ORDER BY id').all(module) as Array<{ version: number }>;
    const current = this.deployedVersion(module);
    if (current === null) throw new StoreError(`rollback: ${module} has no deployed version`);
    // walk back past every entry of the current version to the one deployed before it
    let i = history.length - 1;
    while (i >= 0 && history[i].version === current) i--;
    if (i < 0) throw new StoreError(`rollback: ${module} v${current} is the only version ever deployed`);
    this.deploy(module, history[i].version, actor, reason, 'rollback');
    return history[i].version;
  }

  deploymentHistory(module: string): Array<{ version: number; action: string; actor: string; reason: string | null; createdAt: string }> {
    return (this.stmt('SELECT version, action, actor, reason, created_at FROM deployments WHERE module = ? ORDER BY id').all(module) as Array<Record<string, unknown>>)
      .map((r) => ({ version: r.version as number, action: r.action as string, actor: r.actor as string, reason: r.reason as string | null, createdAt: r.created_at as string }));
  }

  learningCurve(module: string): Array<{ version: number; nLabels: number; metrics: Record<string, number> }> {
    return (this.stmt('SELECT version, n_labels, metrics_json FROM learning_curve WHERE module = ? ORDER BY n_labels, version').all(module) as Array<Record<string, unknown>>)
      .map((r) => ({ version: r.version as number, nLabels: r.n_labels as number, metrics: JSON.parse(r.metrics_json as string) }));
  }

  /** Creates an account (or gives an existing one a new token); the token is returned once and stored hashed. */
  addUser(name: string, role: Role, actor = 'system'): { user: User; token: string } {
    if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new StoreError(`user name '${name}': use 1-64 letters, digits, _ . @ -`);
    if (role !== 'expert' && role !== 'admin') throw new StoreError(`role '${String(role)}': expert or admin`);
    const token = `sv_${randomBytes(32).toString('base64url')}`;
    const at = now();
    this.db.transaction(() => {
      this.stmt(`INSERT INTO users (name, role, token_sha256, created_at) VALUES (?, ?, ?, ?)
        ON CONFLICT(name) DO UPDATE SET role = excluded.role, token_sha256 = excluded.token_sha256, disabled_at = NULL`).run(name, role, tokenHash(token), at);
      this.audit(actor, 'add-user', { name, role });
    })();
    return { user: { name, role, createdAt: at }, token };
  }

  userByToken(token: string): User | null {
    const r = this.stmt('SELECT name, role, created_at FROM users WHERE token_sha256 = ? AND disabled_at IS NULL').get(tokenHash(token)) as Record<string, string> | undefined;
    return r ? { name: r.name, role: r.role as Role, createdAt: r.created_at } : null;
  }

  listUsers(): Array<User & { disabled: boolean }> {
    return (this.stmt('SELECT name, role, created_at, disabled_at FROM users ORDER BY name').all() as Array<Record<string, string | null>>)
      .map((r) => ({ name: r.name!, role: r.role as Role, createdAt: r.created_at!, disabled: r.disabled_at !== null }));
  }

  disableUser(name: string, actor: string): void {
    const r = this.stmt('UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL').run(now(), name);
    if (r.changes === 0) throw new StoreError(`no active user '${name}'`);
    this.audit(actor, 'disable-user', { name });
  }

  /**
   * Leases objects of a module's queue to an expert until expiresAtMs, so two experts are not shown the
   * same alert at once. An object already leased by someone else (and not expired) is not taken; returns
   * the objects this expert now holds.
   */
  leaseObjects(module: string, objectIds: readonly string[], expert: string, expiresAtMs: number, nowMs = Date.now()): Set<string> {
    const held = new Set<string>();
    const upsert = this.stmt(`INSERT INTO leases (module, object_id, expert, expires_at) VALUES (?, ?, ?, ?)
      ON CONFLICT(module, object_id) DO UPDATE SET expert = excluded.expert, expires_at = excluded.expires_at
      WHERE leases.expert = excluded.expert OR leases.expires_at <= ?`);
    this.db.transaction(() => {
      for (const o of objectIds) if (upsert.run(module, o, expert, expiresAtMs, nowMs).changes > 0) held.add(o);
    })();
    return held;
  }

  /** Objects of a module leased, unexpired, to anyone but this expert. */
  leasedByOthers(module: string, expert: string, nowMs = Date.now()): Set<string> {
    const rows = this.stmt('SELECT object_id FROM leases WHERE module = ? AND expert != ? AND expires_at > ?').all(module, expert, nowMs) as Array<{ object_id: string }>;
    return new Set(rows.map((r) => r.object_id));
  }

  releaseLease(module: string, objectId: string, expert: string): void {
    this.stmt('DELETE FROM leases WHERE module = ? AND object_id = ? AND expert = ?').run(module, objectId, expert);
  }

  /** Replaces a label by another (the old one is kept, undone) in one transaction; only its author may. */
  changeLabel(id: number, label: string, comment: string | null, actor: string): LabelRow {
    const old = this.getLabel(id);
    if (old.author !== actor) throw new StoreError(`label ${id} belongs to ${old.author}, not ${actor}`);
    if (old.alertId === null) throw new StoreError(`label ${id} has no alert`);
    return this.db.transaction(() => {
      this.undoLabel(id, actor);
      return this.addLabel({ module: old.module, alertId: old.alertId!, label, author: actor, queue: old.queue, modelVersion: old.modelVersion, comment: comment ?? old.comment });
    })();
  }

  /** An object's current labels in every module, oldest first, with who gave them (an expert, a model, a catalogue). */
  objectLabels(objectId: string): LabelRow[] {
    const ids = this.stmt('SELECT id FROM labels WHERE object_id = ? AND undone_at IS NULL ORDER BY id').all(objectId) as Array<{ id: number }>;
    return ids.map((r) => this.getLabel(r.id));
  }

  /** An author's latest labels for a module, newest first (undone ones left out). */
  recentLabels(module: string, author: string, limit = 10): LabelRow[] {
    const ids = this.stmt('SELECT id FROM labels WHERE module = ? AND author = ? AND undone_at IS NULL ORDER BY id DESC LIMIT ?').all(module, author, limit) as Array<{ id: number }>;
    return ids.map((r) => this.getLabel(r.id));
  }

  /** Progress of a module: labels today (UTC), in total, and per label (current, non-undone labels by people). */
  labelProgress(module: string, author?: string): { today: number; total: number; perLabel: Record<string, number> } {
    const day = now().slice(0, 10);
    const who = author ? ' AND author = ?' : '';
    const args = author ? [module, author] : [module];
    const rows = this.stmt(`SELECT label, COUNT(*) AS n, SUM(created_at >= ?) AS today FROM labels
      WHERE module = ? AND undone_at IS NULL AND author_kind = 'person'${who} GROUP BY label`).all(day, ...args) as Array<{ label: string; n: number; today: number }>;
    const perLabel: Record<string, number> = {};
    let total = 0;
    let today = 0;
    for (const r of rows) {
      perLabel[r.label] = r.n;
      total += r.n;
      today += r.today;
    }
    return { today, total, perLabel };
  }

  /**
   * Stores a module declaration (canonical JSON) as the module's next revision and makes it current; the
   * same declaration as the current revision changes nothing. Returns the revision in force.
   */
  addModuleRevision(name: string, declarationJson: string, sha256: string, featureSpecHash: string, author: string): { revision: number; created: boolean; featureSpaceChanged: boolean } {
    this.modulesChanged++;
    return this.db.transaction(() => {
      const cur = this.stmt('SELECT m.revision, r.sha256, r.feature_spec_hash, m.disabled_at FROM modules m JOIN module_revisions r ON r.name = m.name AND r.revision = m.revision WHERE m.name = ?')
        .get(name) as { revision: number; sha256: string; feature_spec_hash: string; disabled_at: string | null } | undefined;
      if (cur && cur.sha256 === sha256 && cur.disabled_at === null) return { revision: cur.revision, created: false, featureSpaceChanged: false };
      const revision = (this.stmt('SELECT COALESCE(MAX(revision), 0) + 1 AS v FROM module_revisions WHERE name = ?').get(name) as { v: number }).v;
      this.stmt('INSERT INTO module_revisions (name, revision, declaration_json, sha256, feature_spec_hash, author, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(name, revision, declarationJson, sha256, featureSpecHash, author, now());
      this.stmt(`INSERT INTO modules (name, revision) VALUES (?, ?)
        ON CONFLICT(name) DO UPDATE SET revision = excluded.revision, disabled_at = NULL, disabled_by = NULL`).run(name, revision);
      const featureSpaceChanged = cur !== undefined && cur.feature_spec_hash !== featureSpecHash;
      this.audit(author, 'module-revision', { name, revision, sha256, featureSpecHash, featureSpaceChanged });
      return { revision, created: true, featureSpaceChanged };
    })();
  }

  /** Current declarations of the enabled modules (or of every module with `includeDisabled`), by name. */
  moduleDeclarations(includeDisabled = false): ModuleDeclarationRow[] {
    // read again only when this connection changed them or another connection committed (data_version)
    // a kept statement: db.pragma() prepares one per call, several times per request in a server
    const version = `${this.modulesChanged}:${(this.stmt('PRAGMA data_version').get() as { data_version: number }).data_version}`;
    const hit = this.declarations[includeDisabled ? 1 : 0];
    if (hit && hit.version === version) return hit.rows;
    const rows = (this.stmt(`SELECT m.name, m.revision, m.disabled_at, r.declaration_json, r.sha256, r.feature_spec_hash, r.author, r.created_at
      FROM modules m JOIN module_revisions r ON r.name = m.name AND r.revision = m.revision ${includeDisabled ? '' : 'WHERE m.disabled_at IS NULL'} ORDER BY m.rowid`).all() as Array<Record<string, string | number | null>>)
      .map((r) => ({
        name: r.name as string, revision: r.revision as number, declarationJson: r.declaration_json as string, sha256: r.sha256 as string,
        featureSpecHash: r.feature_spec_hash as string, author: r.author as string, createdAt: r.created_at as string, disabled: r.disabled_at !== null,
      }));
    this.declarations[includeDisabled ? 1 : 0] = { version, rows };
    return rows;
  }

  moduleRevisions(name: string): Array<{ revision: number; sha256: string; featureSpecHash: string; author: string; createdAt: string }> {
    return (this.stmt('SELECT revision, sha256, feature_spec_hash, author, created_at FROM module_revisions WHERE name = ? ORDER BY revision').all(name) as Array<Record<string, string | number>>)
      .map((r) => ({ revision: r.revision as number, sha256: r.sha256 as string, featureSpecHash: r.feature_spec_hash as string, author: r.author as string, createdAt: r.created_at as string }));
  }

  disableModule(name: string, actor: string): void {
    this.modulesChanged++;
    const r = this.stmt('UPDATE modules SET disabled_at = ?, disabled_by = ? WHERE name = ? AND disabled_at IS NULL').run(now(), actor, name);
    if (r.changes === 0) throw new StoreError(`no enabled module '${name}'`);
    this.audit(actor, 'disable-module', { name });
  }

  /** Whether a page of a broker's API was already stored (a resumed pull skips it). */
  pagePulled(source: string, page: string): boolean {
    return this.stmt('SELECT 1 FROM pulled_pages WHERE source = ? AND page = ?').get(source, page) !== undefined;
  }

  markPagePulled(source: string, page: string, alerts: number): void {
    this.stmt('INSERT OR REPLACE INTO pulled_pages (source, page, alerts, pulled_at) VALUES (?, ?, ?, ?)').run(source, page, alerts, now());
  }

  /** A consistent copy of the whole store, safe while other connections write (SQLite online backup). */
  async backup(destination: string): Promise<void> {
    await this.db.backup(destination);
  }
}
