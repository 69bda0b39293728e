import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Store, StoreError } from '../../engine/core/store/store.ts';
import { MIGRATIONS } from '../../engine/core/store/schema.ts';
import { earlySnIaExtractor, anomalyExtractor, DEFAULT_SIGMOID_PARAMS } from '../../features/index.ts';
import { RandomForestClassifier, createBundle, type Matrix } from '../../models/index.ts';
import { sharedPath } from '../shared.ts';
import { computeFeatures } from '../../engine/core/features/pipeline.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-store-'));

describe('the SQLite store', () => {
  const file = path.join(tmp, 'sieve.db');

  it('imports real alerts once, keeps them intact, and refuses a bad file without storing anything', async () => {
    const store = Store.create(file);
    expect(store.schemaVersion).toBe(MIGRATIONS.length);
    const r = await store.importFiles([sharedPath('ztf', 'alerts.jsonl')], 'alice');
    expect(r.inserted).toBe(140);
    // the Parquet file holds 51 of the same alerts: all duplicates
    const again = await store.importFiles([sharedPath('ztf', 'parquet', 'alerts.parquet')]);
    expect(again).toMatchObject({ inserted: 0, duplicates: 51 });
    const a = store.getAlert(1);
    expect(a.candid).toBe(975188143515015117n);
    expect(a.cutouts.science!.bytes[0]).toBe(0x1f);
    expect(a.lightCurve.jd.length).toBe(22);
    // one bad line in an otherwise good file: nothing from it (or from the good file beside it) is stored
    const lines = readFileSync(sharedPath('ztf', 'alerts.jsonl'), 'utf8').trim().split('\n');
    const bad = path.join(tmp, 'bad.jsonl');
    writeFileSync(bad, [lines[0].replace('"objectId"', '"objectID"'), ...lines.slice(1, 5)].join('\n'));
    await expect(store.importFiles([sharedPath('lsst', 'part-2-918301.avro'), bad])).rejects.toThrow(/import refused, nothing stored: 1 bad record: .*bad\.jsonl: line 1/);
    expect(store.countAlerts()).toBe(140);
    store.close();
  });

  it('writes a large file batch by batch, and a bad record after several written batches still rolls back all', async () => {
    const store = Store.create(path.join(tmp, 'big.db'));
    const lines = readFileSync(sharedPath('ztf', 'alerts.jsonl'), 'utf8').trim().split('\n');
    expect(await store.importFiles([sharedPath('ztf', 'alerts.jsonl')])).toMatchObject({ inserted: 140 });
    const big = path.join(tmp, 'big.jsonl');
    const many = Array.from({ length: 8 }, (_, r) => lines.map((l) => l.replace(/"candid":(\d+)/, (_m, d: string) => `"candid":${BigInt(d) + BigInt(r + 1) * 10n ** 17n}`))).flat();
    writeFileSync(big, `${[...many, '{"objectId": "ZTF_bad"', ...lines.slice(0, 3)].join('\n')}\n`);
    await expect(store.importFiles([big])).rejects.toThrow(new RegExp(`import refused, nothing stored: 1 bad record: .*big\\.jsonl: line ${many.length + 1}: invalid JSON`));
    expect(store.countAlerts()).toBe(140);
    expect(store.db.inTransaction).toBe(false);
    // and the same file without the bad line goes in whole, in one audit entry
    writeFileSync(big, `${many.join('\n')}\n`);
    expect(await store.importFiles([big], 'bob')).toMatchObject({ inserted: many.length, duplicates: 0 });
    expect(store.countAlerts()).toBe(140 + many.length);
    store.close();
  });

  it('keys features by FeatureSpec hash so that versions never mix', () => {
    const store = Store.create(file);
    const v1 = computeFeatures(store, earlySnIaExtractor());
    expect(v1.computed).toBe(140);
    expect(computeFeatures(store, earlySnIaExtractor()).computed).toBe(0);
    const v2 = computeFeatures(store, earlySnIaExtractor({ ...DEFAULT_SIGMOID_PARAMS, minDataPoints: 3 }));
    expect(v2.specHash).not.toBe(v1.specHash);
    expect(v2.computed).toBe(140);
    const t = store.featureTable(earlySnIaExtractor().spec);
    expect(t.values.length).toBe(140 * 12);
    expect(t.passesCuts.reduce((s, x) => s + x, 0)).toBe(3);
    expect(computeFeatures(store, anomalyExtractor()).computed).toBe(140);
    store.close();
  });

  it('records labels with provenance; objects inherit them; unsure, skip and undone labels are not trained on', () => {
    const store = Store.create(file);
    const objectOf = (id: number) => store.getAlert(id).objectId;
    const l1 = store.addLabel({ module: 'early-snia', alertId: 1, label: 'SN Ia', author: 'alice', queue: 'uncertainty', modelVersion: 1, comment: 'clear rise' });
    expect(l1).toMatchObject({ author: 'alice', authorKind: 'person', queue: 'uncertainty', modelVersion: 1, comment: 'clear rise', objectId: objectOf(1) });
    store.addLabel({ module: 'early-snia', alertId: 2, label: 'unsure', author: 'bob' });
    store.addLabel({ module: 'early-snia', alertId: 3, label: 'other', author: 'model-v1', authorKind: 'model' });
    const l4 = store.addLabel({ module: 'early-snia', alertId: 4, label: 'other', author: 'alice' });
    store.undoLabel(l4.id, 'alice');
    const train = store.trainingLabels('early-snia');
    expect([...train.entries()]).toEqual([[objectOf(1), 'SN Ia']]);
    expect(store.labelledObjects('early-snia', 'bob')).toEqual(new Set([objectOf(2)]));
    expect(() => store.undoLabel(l4.id, 'alice')).toThrow(/already undone/);
    expect(() => store.addLabel({ module: 'early-snia', alertId: 99999, label: 'x', author: 'a' })).toThrow(StoreError);
    store.close();
  });

  it('a second label by the same expert on the same object replaces the first (audit kept), in every module', () => {
    const store = Store.create(file);
    const pair = store.db.prepare('SELECT object_id AS o, MIN(id) AS a, MAX(id) AS b FROM alerts GROUP BY object_id HAVING COUNT(*) > 1 LIMIT 1').get() as { o: string; a: number; b: number };
    for (const module of ['kilonova', 'anomaly']) {
      const first = store.addLabel({ module, alertId: pair.a, label: module === 'anomaly' ? 'anomaly' : 'kilonova', author: 'dana' });
      // a contradictory label on another alert of the same object, by the same expert
      const second = store.addLabel({ module, alertId: pair.b, label: module === 'anomaly' ? 'nominal' : 'other', author: 'dana' });
      expect(store.trainingLabels(module).get(pair.o)).toBe(second.label);
      const live = store.db.prepare('SELECT id FROM labels WHERE module = ? AND object_id = ? AND author = ? AND undone_at IS NULL').all(module, pair.o, 'dana') as Array<{ id: number }>;
      expect(live.map((r) => r.id)).toEqual([second.id]);
      const audit = store.db.prepare("SELECT details_json FROM audit WHERE action = 'replace-label' ORDER BY id DESC LIMIT 1").get() as { details_json: string };
      expect(JSON.parse(audit.details_json)).toMatchObject({ id: first.id, module, objectId: pair.o, from: first.label, to: second.label });
      // another expert's label on the object is a separate decision and stays
      store.addLabel({ module, alertId: pair.a, label: second.label, author: 'erin' });
      expect(store.db.prepare('SELECT COUNT(*) AS n FROM labels WHERE module = ? AND object_id = ? AND undone_at IS NULL').get(module, pair.o)).toEqual({ n: 2 });
    }
    store.close();
  });

  it('keeps model versions, deploys, rolls back, and remembers who did it', () => {
    const store = Store.create(file);
    const t = store.featureTable(earlySnIaExtractor().spec);
    const X: Matrix = { data: Float32Array.from(t.values), rows: t.alertIds.length, cols: t.cols };
    const y = Int32Array.from({ length: X.rows }, (_, i) => i % 2);
    const save = (seed: number) => {
      const version = store.nextVersion('early-snia');
      const bundle = createBundle({ module: 'early-snia', version: String(version), model: new RandomForestClassifier({ nEstimators: 5, seed }).fit(X, y),
        featureSpec: earlySnIaExtractor().spec, classNames: ['other', 'SN Ia'], training: { X, y }, metrics: { accuracy: 0.5 + seed / 10 } });
      return store.saveModel(bundle, 10 * seed);
    };
    expect(save(1).version).toBe(1);
    expect(save(2).version).toBe(2);
    store.deploy('early-snia', 1, 'admin', 'first');
    store.deploy('early-snia', 2, 'admin', 'better');
    expect(store.deployedVersion('early-snia')).toBe(2);
    expect(store.rollback('early-snia', 'admin', 'regression seen')).toBe(1);
    expect(store.deployedVersion('early-snia')).toBe(1);
    expect(store.listModels('early-snia').map((m) => m.status)).toEqual(['deployed', 'retired']);
    expect(store.deploymentHistory('early-snia').map((d) => [d.version, d.action, d.actor])).toEqual([[1, 'deploy', 'admin'], [2, 'deploy', 'admin'], [1, 'rollback', 'admin']]);
    expect(store.learningCurve('early-snia').map((p) => p.nLabels)).toEqual([10, 20]);
    expect(store.getBundle('early-snia', 2).manifest.version).toBe('2');
    expect(() => store.deploy('early-snia', 7, 'admin')).toThrow(/no model early-snia v7/);
    // a bundle altered inside the store is refused when read
    store.db.prepare("UPDATE models SET bundle_json = replace(bundle_json, '\"accuracy\":0.7', '\"accuracy\":0.99') WHERE version = 2").run();
    expect(() => store.getBundle('early-snia', 2)).toThrow(/checksum mismatch/);
    store.close();
  });

  it('backs up while open, and a reopened store runs no migration twice', async () => {
    const store = Store.create(file);
    const copy = path.join(tmp, 'backup.db');
    await store.backup(copy);
    const other = Store.create(copy);
    expect(other.countAlerts()).toBe(140);
    expect(other.schemaVersion).toBe(MIGRATIONS.length);
    expect((other.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(MIGRATIONS.length);
    expect(other.deployedVersion('early-snia')).toBe(1);
    other.close();
    store.close();
  });
});
