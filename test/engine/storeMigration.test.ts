import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { decodeLightCurve, parseJsonExact } from '../../datasets/index.ts';
import { moduleOf, storeModules } from '../../engine/core/modules/index.ts';
import { nextQueue } from '../../engine/core/queue.ts';
import { exactIdText, SEARCHABLE_ID_FIELDS, Store } from '../../engine/core/store/store.ts';
import { computeFeatures } from '../../engine/core/features/pipeline.ts';
import { featureSpecHash } from '../../features/index.ts';

const FIXTURE = new URL('../fixtures/store/schema6.db', import.meta.url).pathname;

/** The fixture's rows as schema 6 holds them, read with plain SQL. */
function oldRows() {
  const db = new Database(FIXTURE, { readonly: true });
  try {
    return {
      alerts: db.prepare('SELECT * FROM alerts ORDER BY id').all() as Array<Record<string, unknown>>,
      features: db.prepare('SELECT f.alert_id, f.passes_cuts, f.vals, s.spec_json FROM features f JOIN feature_specs s USING (spec_hash)').all() as Array<{ alert_id: number; passes_cuts: number; vals: Buffer; spec_json: string }>,
      labels: db.prepare('SELECT * FROM labels ORDER BY id').all(),
      models: db.prepare('SELECT module, version, status, sha256 FROM models ORDER BY module, version').all(),
    };
  } finally {
    db.close();
  }
}

describe('a store of schema 6 opens and migrates to schema 8 (7: the survey ids searched by; 8: compact rows)', () => {
  it('keeps every alert, stamp, label and model, and moves the computed features into the module pools', () => {
    const old = oldRows();
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-migrate-')), 'old.db');
    copyFileSync(FIXTURE, file);
    const store = Store.open(file);
    expect(store.schemaVersion).toBe(8);
    // the survey's own ids (schema 7) survive the rebuild of the alerts table (schema 8), for every alert
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'alerts_candid'").all()).toHaveLength(1);
    const ids = store.db.prepare('SELECT value, kind, alert_id FROM alert_ids ORDER BY alert_id, kind').all() as Array<{ value: string; kind: string; alert_id: number }>;
    const expectedIds = old.alerts.flatMap((r) => {
      const { extra, raw } = parseJsonExact(r.candidate_json as string) as { extra?: Record<string, unknown>; raw?: Record<string, unknown> };
      return SEARCHABLE_ID_FIELDS.flatMap(([kind, where]) => {
        const v = exactIdText(where === 'extra' ? extra?.[kind] : raw?.[kind]);
        return v === null || (kind === 'ssObjectId' && v === '0') ? [] : [{ value: v, kind, alert_id: r.id as number }];
      });
    }).sort((x, y) => x.alert_id - y.alert_id || x.kind.localeCompare(y.kind));
    expect(ids).toEqual(expectedIds);
    expect(store.db.pragma('foreign_key_check')).toEqual([]);
    expect(store.countAlerts()).toBe(old.alerts.length);
    for (const r of old.alerts) {
      const a = store.getAlert(r.id as number);
      expect(a.objectId).toBe(r.object_id);
      expect(a.candid?.toString() ?? null).toBe(r.candid);
      // every value of the light curve, the candidate, the broker's columns and the packet's own record
      const lc = decodeLightCurve(r.light_curve as Buffer);
      for (const k of ['jd', 'band', 'detected', 'mag', 'magErr', 'fluxNanoJy', 'fluxErrNanoJy', 'limitMag', 'mjd', 'isdiffpos', 'distnr', 'magnr', 'sigmagnr'] as const) {
        expect(a.lightCurve[k] && Array.from(a.lightCurve[k]!), `${r.id} ${k}`).toEqual(lc[k] && Array.from(lc[k]!));
      }
      const { extra, raw, ...candidate } = parseJsonExact(r.candidate_json as string) as Record<string, unknown>;
      for (const [k, v] of Object.entries(candidate)) expect((a.candidate as unknown as Record<string, unknown>)[k], `${r.id} candidate.${k}`).toEqual(v === null && k !== 'isdiffpos' ? NaN : v);
      expect(a.extra).toEqual(extra ?? {});
      expect(a.raw).toEqual(raw);
      for (const kind of ['science', 'template', 'difference'] as const) {
        const bytes = r[`cutout_${kind}`] as Buffer | null;
        expect(a.cutouts[kind] ? Buffer.from(a.cutouts[kind]!.bytes).equals(bytes!) : bytes, `${r.id} ${kind}`).toEqual(a.cutouts[kind] ? true : null);
      }
    }
    expect((store.db.prepare('SELECT COUNT(*) AS n FROM stamps').get() as { n: number }).n).toBe(9);
    expect(store.db.prepare('SELECT source_file FROM ingests ORDER BY id').all().map((x) => path.basename((x as { source_file: string }).source_file))).toEqual(['ztf3.jsonl', 'ztf30.jsonl', 'lsst12.jsonl']);
    expect(store.db.prepare('SELECT * FROM labels ORDER BY id').all()).toEqual(old.labels);
    expect(store.db.prepare('SELECT module, version, status, sha256 FROM models ORDER BY module, version').all()).toEqual(old.models);
    store.getBundle('microlensing', 1);

    // microlensing reads the anomaly features, whose extractor changed since the fixture was made (version 2:
    // Fink's DC magnitudes): its schema-6 rows are of another feature space and are recomputed, not moved
    const specHashOf = (name: string) => (store.db.prepare('SELECT spec_hash FROM feature_specs WHERE name = ?').all(`module:${name}`) as Array<{ spec_hash: string }>).map((r) => r.spec_hash);
    expect(specHashOf('microlensing')).not.toContain(featureSpecHash(moduleOf(store, 'microlensing').extractor().spec));
    const ztfAlerts = old.alerts.filter((a) => a.survey === 'ztf').length;
    expect(store.featureTable(moduleOf(store, 'microlensing').extractor().spec).alertIds.length).toBe(0);
    expect(computeFeatures(store, moduleOf(store, 'microlensing').extractor()).computed).toBe(ztfAlerts);
    // the module rows of schema 6 that passed the cuts are each module's pool, with the same values
    for (const name of ['anomaly-rubin', 'satellite-glints']) {
      const ex = moduleOf(store, name).extractor();
      expect(specHashOf(name)).toContain(featureSpecHash(ex.spec));
      const rows = old.features.filter((f) => JSON.parse(f.spec_json).name === `module:${name}`);
      const t = store.featureTable(ex.spec);
      const survey = moduleOf(store, name).survey;
      const passing = rows.filter((f) => f.passes_cuts === 1 && store.getAlert(f.alert_id).survey === survey).sort((x, y) => x.alert_id - y.alert_id);
      expect(Array.from(t.alertIds), name).toEqual(passing.map((f) => f.alert_id));
      passing.forEach((f, i) => expect(Array.from(t.values.subarray(i * t.cols, (i + 1) * t.cols))).toEqual(Array.from(new Float64Array(f.vals.buffer.slice(f.vals.byteOffset, f.vals.byteOffset + f.vals.byteLength)))));
      // nothing left to compute for them; the modules schema 6 never computed start from the first alert
      expect(computeFeatures(store, ex).computed, name).toBe(0);
    }
    const pending = storeModules(store).filter((m) => !['microlensing', 'anomaly-rubin', 'satellite-glints'].includes(m.name));
    for (const m of pending) expect(computeFeatures(store, m.extractor()).computed, m.name).toBe(old.alerts.filter((a) => a.survey === m.survey).length);
    expect(nextQueue(store, 'microlensing', { k: 5 }).length).toBe(5);
    store.close();
  });
});
