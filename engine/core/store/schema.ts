import type Database from 'better-sqlite3';
import { migrateToCompactRows } from './migrateV8.ts';

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Data moved by code after the SQL, in the same transaction. */
  run?: (db: Database.Database) => void;
  /** Rebuilds a table that others reference: foreign keys are checked once at the end instead of on the way. */
  rebuildsTables?: boolean;
}

/**
 * Versioned schema migrations, run in order on open. A migration is applied in one transaction together
 * with its row in schema_migrations, so a store is always at a well-defined version.
 */
export const MIGRATIONS: ReadonlyArray<Migration> = [
  {
    version: 1,
    description: 'alerts, features, labels, models, deployments, learning curves, audit log',
    sql: `
      CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        alert_key TEXT NOT NULL UNIQUE,
        candid TEXT,
        object_id TEXT NOT NULL,
        survey TEXT NOT NULL,
        ra REAL, dec REAL, jd REAL, band TEXT, magpsf REAL,
        source_label TEXT,
        candidate_json TEXT NOT NULL,
        light_curve BLOB NOT NULL,
        cutout_science BLOB, cutout_template BLOB, cutout_difference BLOB,
        source_file TEXT,
        ingested_at TEXT NOT NULL
      );
      CREATE INDEX alerts_object ON alerts(object_id);
      CREATE TABLE feature_specs (
        spec_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        spec_json TEXT NOT NULL
      );
      CREATE TABLE features (
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        spec_hash TEXT NOT NULL REFERENCES feature_specs(spec_hash),
        passes_cuts INTEGER NOT NULL,
        vals BLOB NOT NULL,
        PRIMARY KEY (alert_id, spec_hash)
      );
      CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        module TEXT NOT NULL,
        object_id TEXT NOT NULL,
        alert_id INTEGER REFERENCES alerts(id),
        label TEXT NOT NULL,
        author TEXT NOT NULL,
        author_kind TEXT NOT NULL CHECK (author_kind IN ('person', 'model')),
        queue TEXT,
        model_version TEXT,
        comment TEXT,
        created_at TEXT NOT NULL,
        undone_at TEXT
      );
      CREATE INDEX labels_module_object ON labels(module, object_id);
      CREATE TABLE models (
        module TEXT NOT NULL,
        version INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('candidate', 'deployed', 'retired')),
        model_type TEXT NOT NULL,
        feature_spec_hash TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        metrics_json TEXT NOT NULL,
        n_labels INTEGER NOT NULL,
        parent_version INTEGER,
        bundle_json TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (module, version)
      );
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY,
        module TEXT NOT NULL,
        version INTEGER NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('deploy', 'rollback')),
        actor TEXT NOT NULL,
        reason TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE learning_curve (
        module TEXT NOT NULL,
        version INTEGER NOT NULL,
        n_labels INTEGER NOT NULL,
        metrics_json TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        details_json TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'users with hashed tokens; queue leases',
    sql: `
      CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('expert', 'admin')),
        token_sha256 TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        disabled_at TEXT
      );
      CREATE TABLE leases (
        module TEXT NOT NULL,
        object_id TEXT NOT NULL,
        expert TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (module, object_id)
      );
      CREATE INDEX labels_module_created ON labels(module, created_at);
    `,
  },
  {
    version: 3,
    description: 'broker-side scores written by sieve score --to store',
    sql: `
      CREATE TABLE scores (
        candid TEXT NOT NULL,
        object_id TEXT NOT NULL,
        module TEXT NOT NULL,
        version INTEGER NOT NULL,
        scores_json TEXT NOT NULL,
        tags TEXT NOT NULL,
        scored_at TEXT NOT NULL,
        PRIMARY KEY (candid, object_id, module, version)
      );
      CREATE INDEX scores_object ON scores(object_id);
    `,
  },
  {
    version: 4,
    description: 'promotion gate report and provisional flag per model version',
    sql: `
      ALTER TABLE models ADD COLUMN gate_json TEXT;
      ALTER TABLE models ADD COLUMN provisional INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 5,
    description: 'module declarations: every revision with author and time; the current one per module',
    sql: `
      CREATE TABLE module_revisions (
        name TEXT NOT NULL,
        revision INTEGER NOT NULL,
        declaration_json TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        feature_spec_hash TEXT NOT NULL,
        author TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (name, revision)
      );
      CREATE TABLE modules (
        name TEXT PRIMARY KEY,
        revision INTEGER NOT NULL,
        disabled_at TEXT,
        disabled_by TEXT
      );
    `,
  },
  {
    version: 6,
    description: "labels from catalogues (author_kind 'catalog', e.g. Fink's TNS class); pages pulled from a broker's API",
    sql: `
      CREATE TABLE labels_v6 (
        id INTEGER PRIMARY KEY,
        module TEXT NOT NULL,
        object_id TEXT NOT NULL,
        alert_id INTEGER REFERENCES alerts(id),
        label TEXT NOT NULL,
        author TEXT NOT NULL,
        author_kind TEXT NOT NULL CHECK (author_kind IN ('person', 'model', 'catalog')),
        queue TEXT,
        model_version TEXT,
        comment TEXT,
        created_at TEXT NOT NULL,
        undone_at TEXT
      );
      INSERT INTO labels_v6 SELECT * FROM labels;
      DROP TABLE labels;
      ALTER TABLE labels_v6 RENAME TO labels;
      CREATE INDEX labels_module_object ON labels(module, object_id);
      CREATE INDEX labels_module_created ON labels(module, created_at);
      CREATE TABLE pulled_pages (
        source TEXT NOT NULL,
        page TEXT NOT NULL,
        alerts INTEGER NOT NULL,
        pulled_at TEXT NOT NULL,
        PRIMARY KEY (source, page)
      );
    `,
  },
  {
    version: 7,
    description: "search by the survey's own ids: candid / alertId indexed; SNID, diaSourceId and ssObjectId as exact strings",
    // The ids are kept as the decimal text the alert carries (64-bit ids never pass through a float). The
    // back-fill reads them from the stored JSON, where 64-bit integers were written as strings.
    sql: `
      CREATE INDEX alerts_candid ON alerts(candid);
      CREATE TABLE alert_ids (
        value TEXT NOT NULL,
        kind TEXT NOT NULL,
        alert_id INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        PRIMARY KEY (value, kind, alert_id)
      ) WITHOUT ROWID;
      INSERT OR IGNORE INTO alert_ids SELECT CAST(json_extract(candidate_json, '$.extra.SNID') AS TEXT), 'SNID', id FROM alerts
        WHERE json_type(candidate_json, '$.extra.SNID') IN ('integer', 'text');
      INSERT OR IGNORE INTO alert_ids SELECT CAST(json_extract(candidate_json, '$.raw.diaSourceId') AS TEXT), 'diaSourceId', id FROM alerts
        WHERE json_type(candidate_json, '$.raw.diaSourceId') IN ('integer', 'text');
      INSERT OR IGNORE INTO alert_ids SELECT CAST(json_extract(candidate_json, '$.raw.ssObjectId') AS TEXT), 'ssObjectId', id FROM alerts
        WHERE json_type(candidate_json, '$.raw.ssObjectId') IN ('integer', 'text') AND CAST(json_extract(candidate_json, '$.raw.ssObjectId') AS TEXT) != '0';
    `,
  },
  {
    version: 8,
    description: 'each value stored once: compact light curves and candidates, stamps by content, ingests; features per extractor with integer spec ids, module pools of the alerts that pass the cuts, progress marks; the pool rankings of deployed versions',
    sql: `
      CREATE TABLE stamps (
        id INTEGER PRIMARY KEY,
        sha256 BLOB NOT NULL UNIQUE,
        bytes BLOB NOT NULL
      );
      CREATE TABLE ingests (
        id INTEGER PRIMARY KEY,
        source_file TEXT,
        ingested_at TEXT NOT NULL
      );
      CREATE TABLE alerts_v7 (
        id INTEGER PRIMARY KEY,
        alert_key TEXT NOT NULL UNIQUE,
        candid TEXT,
        object_id TEXT NOT NULL,
        survey TEXT NOT NULL,
        ra REAL, dec REAL, jd REAL, band TEXT, magpsf REAL,
        source_label TEXT,
        candidate_json TEXT NOT NULL,
        light_curve BLOB NOT NULL,
        stamp_science INTEGER REFERENCES stamps(id),
        stamp_template INTEGER REFERENCES stamps(id),
        stamp_difference INTEGER REFERENCES stamps(id),
        ingest_id INTEGER REFERENCES ingests(id)
      );
      CREATE TABLE spec_ids (
        id INTEGER PRIMARY KEY,
        spec_hash TEXT NOT NULL UNIQUE REFERENCES feature_specs(spec_hash)
      );
      CREATE TABLE feature_values (
        spec INTEGER NOT NULL,
        alert_id INTEGER NOT NULL,
        passes INTEGER NOT NULL,
        vals BLOB NOT NULL,
        PRIMARY KEY (spec, alert_id)
      ) WITHOUT ROWID;
      CREATE TABLE module_pool (
        spec INTEGER NOT NULL,
        alert_id INTEGER NOT NULL,
        fields BLOB,
        PRIMARY KEY (spec, alert_id)
      ) WITHOUT ROWID;
      CREATE TABLE feature_progress (
        spec INTEGER PRIMARY KEY,
        through_alert INTEGER NOT NULL
      );
      CREATE TABLE rankings (
        module TEXT NOT NULL,
        version INTEGER NOT NULL,
        strategy TEXT NOT NULL,
        revision TEXT NOT NULL,
        through_alert INTEGER NOT NULL,
        alert_ids BLOB NOT NULL,
        scores BLOB NOT NULL,
        shown BLOB NOT NULL,
        PRIMARY KEY (module, version, strategy, revision)
      );
    `,
    run: migrateToCompactRows,
    rebuildsTables: true,
  },
];
