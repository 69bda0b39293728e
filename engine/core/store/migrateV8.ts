import type Database from 'better-sqlite3';
import { encodeLightCurve } from '../../../datasets/index.ts';
import { featureSpecHash, type FeatureSpec } from '../../../features/index.ts';
import { alertFromRow, magpsfColumn, STAMP_KINDS, stampWriter, storedCandidateJson, type AlertRow } from './alertRow.ts';
import { encodeFeatureRow } from './featureCodec.ts';

const CHUNK = 500;

/**
 * Schema 8's data move (one transaction with the SQL): every alert rewritten in the compact form (light
 * curve SLC2, candidate differences, stamps by content, its ingest), then the feature rows of schema 1 split
 * per extractor, the rows that passed a module's cuts as its pool, and the unbroken run of computed alerts
 * from the first as its progress mark. Ids are kept, so labels keep pointing at their alerts.
 */
export function migrateToCompactRows(db: Database.Database): void {
  db.exec(`INSERT INTO ingests (source_file, ingested_at) SELECT source_file, ingested_at FROM alerts GROUP BY source_file, ingested_at ORDER BY MIN(id)`);
  const ingests = new Map<string, number>();
  for (const r of db.prepare('SELECT id, source_file, ingested_at FROM ingests').all() as Array<{ id: number; source_file: string | null; ingested_at: string }>) {
    ingests.set(`${r.source_file}\u0000${r.ingested_at}`, r.id);
  }
  const read = db.prepare('SELECT * FROM alerts WHERE id > ? ORDER BY id LIMIT ?');
  const insert = db.prepare(`INSERT INTO alerts_v7 (id, alert_key, candid, object_id, survey, ra, dec, jd, band, magpsf, source_label, candidate_json, light_curve,
    stamp_science, stamp_template, stamp_difference, ingest_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const stamp = stampWriter(db);
  for (let last = 0; ;) {
    const rows = read.all(last, CHUNK) as Array<AlertRow & Record<string, unknown>>;
    if (!rows.length) break;
    for (const r of rows) {
      const a = alertFromRow(r);
      const stamps = STAMP_KINDS.map((k) => stamp((r[`cutout_${k}`] as Buffer | null) ?? undefined));
      insert.run(r.id, r.alert_key, r.candid, r.object_id, r.survey, r.ra, r.dec, r.jd, r.band, magpsfColumn(a), r.source_label,
        storedCandidateJson(a), encodeLightCurve(a.lightCurve), ...stamps, ingests.get(`${r.source_file}\u0000${r.ingested_at}`) ?? null);
    }
    last = rows[rows.length - 1].id;
  }
  moveFeatureRows(db);
  db.exec(`DROP TABLE features;
    DROP TABLE alerts;
    ALTER TABLE alerts_v7 RENAME TO alerts;
    CREATE INDEX alerts_object ON alerts(object_id);
    CREATE INDEX alerts_candid ON alerts(candid);`);
}

function moveFeatureRows(db: Database.Database): void {
  const specIdOf = (spec: FeatureSpec): number => {
    const hash = featureSpecHash(spec);
    db.prepare('INSERT OR IGNORE INTO feature_specs (spec_hash, name, version, spec_json) VALUES (?, ?, ?, ?)').run(hash, spec.name, spec.version, JSON.stringify(spec));
    db.prepare('INSERT OR IGNORE INTO spec_ids (spec_hash) VALUES (?)').run(hash);
    return db.prepare('SELECT id FROM spec_ids WHERE spec_hash = ?').pluck().get(hash) as number;
  };
  const maxId = (db.prepare('SELECT COALESCE(MAX(id), 0) FROM alerts').pluck().get() as number);
  const addValues = db.prepare('INSERT OR IGNORE INTO feature_values (spec, alert_id, passes, vals) VALUES (?, ?, ?, ?)');
  const addPool = db.prepare('INSERT OR IGNORE INTO module_pool (spec, alert_id, fields) VALUES (?, ?, ?)');
  const setProgress = db.prepare('INSERT OR REPLACE INTO feature_progress (spec, through_alert) VALUES (?, ?)');
  for (const s of db.prepare('SELECT spec_hash, spec_json FROM feature_specs').all() as Array<{ spec_hash: string; spec_json: string }>) {
    const spec = JSON.parse(s.spec_json) as FeatureSpec;
    // the first alert without a row ends the run of computed alerts the progress mark stands for
    const gap = db.prepare(`SELECT MIN(a.id) FROM alerts a WHERE NOT EXISTS (SELECT 1 FROM features f WHERE f.alert_id = a.id AND f.spec_hash = ?)`).pluck().get(s.spec_hash) as number | null;
    const through = gap === null ? maxId : gap - 1;
    if (through <= 0) continue;
    const id = specIdOf(spec);
    const d = spec.columns.length;
    const parameters = spec.parameters as { survey?: string; parts?: Array<FeatureSpec | { alert: string[] }> };
    const module = spec.name.startsWith('module:') && Array.isArray(parameters.parts);
    let offset = 0;
    const parts = module ? parameters.parts!.map((p) => {
      const n = 'alert' in p ? p.alert.length : p.columns.length;
      const part = { offset, n, spec: 'alert' in p ? null : specIdOf(p) };
      offset += n;
      return part;
    }) : [];
    const rows = db.prepare(`SELECT f.alert_id, f.passes_cuts, f.vals, a.survey FROM features f JOIN alerts a ON a.id = f.alert_id
      WHERE f.spec_hash = ? AND f.alert_id <= ? ORDER BY f.alert_id`).all(s.spec_hash, through) as Array<{ alert_id: number; passes_cuts: number; vals: Buffer; survey: string }>;
    for (const r of rows) {
      const v = new Float64Array(r.vals.buffer.slice(r.vals.byteOffset, r.vals.byteOffset + r.vals.byteLength));
      if (v.length !== d) continue;
      if (!module) {
        addValues.run(id, r.alert_id, r.passes_cuts, encodeFeatureRow(v));
        continue;
      }
      // a module keeps the alerts that pass its cuts; their extractor values passed the extractors' cuts too
      if (r.passes_cuts !== 1 || r.survey !== parameters.survey) continue;
      const fields: number[] = [];
      for (const p of parts) {
        if (p.spec === null) for (let j = 0; j < p.n; j++) fields.push(v[p.offset + j]);
        else addValues.run(p.spec, r.alert_id, 1, encodeFeatureRow(v, p.offset, p.n));
      }
      addPool.run(id, r.alert_id, fields.length ? encodeFeatureRow(fields) : null);
    }
    setProgress.run(id, through);
  }
}
