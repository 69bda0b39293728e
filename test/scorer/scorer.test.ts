import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAvroContainer, readParquetRows, simulate, stringifyJsonExact, toSieveRecord, writeAvroContainer } from '../../datasets/index.ts';
import { Store, retrainClassifier, OffsetTracker, nextOffset, parseKafkaUrl } from '../../engine/index.ts';
import { FolderProvider, KafkaSink, KafkaSource, PathSource, RegistryProvider, runScorer, type ResultSink, type UnitResult } from '../../engine/scorer/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { demoStore } from '../server/fixture.ts';

const MODULES = ['early-snia', 'kilonova', 'anomaly'];
let db: string;
let tmp: string;
const quiet = () => {};

/** The 51 alerts of Fink's alerts.parquet re-written as single-alert ZTF Avro packets (schema of a real ZTF packet). */
async function parquetAsAvroFiles(dir: string): Promise<void> {
  const schema = readAvroContainer(readFileSync(sharedPath('ztf', 'avro', '472263571115115000.avro')), 'ztf packet').schema;
  const { rows } = await readParquetRows(readFileSync(sharedPath('ztf', 'parquet', 'alerts.parquet')), 'alerts.parquet');
  const toAvro = (v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v) : Array.isArray(v) ? v.map(toAvro)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toAvro(x)])) : v);
  mkdirSync(dir, { recursive: true });
  rows.forEach((r, i) => writeFileSync(path.join(dir, `alert-${String(i).padStart(3, '0')}.avro`), writeAvroContainer(schema, [toAvro(r)])));
}

class MemorySink implements ResultSink {
  lines: string[] = [];
  events: string[] = [];
  constructor(private readonly onWrite?: (n: number) => void) {}
  async write(r: UnitResult): Promise<void> {
    this.lines.push(...r.lines.split('\n').filter((l) => l));
    this.events.push(`write ${r.alerts}`);
    this.onWrite?.(this.events.length);
  }
  async close(): Promise<void> {}
}

beforeAll(async () => {
  db = await demoStore();
  tmp = mkdtempSync(path.join(tmpdir(), 'sieve-score-'));
});

describe('the broker-side scorer', () => {
  it('gives identical results for the real ZTF sample from Avro files and from Parquet, on 0 and 2 threads', async () => {
    const dir = path.join(tmp, 'avro51');
    await parquetAsAvroFiles(dir);
    const run = async (from: string, workers: number) => {
      const sink = new MemorySink();
      const stats = await runScorer({ source: new PathSource([from]), sink, provider: new RegistryProvider(db, MODULES, quiet), workers, log: quiet });
      return { sink, stats };
    };
    const avro = await run(dir, 2);
    const parquet = await run(sharedPath('ztf', 'parquet', 'alerts.parquet'), 0);
    expect(avro.stats.alerts).toBe(51);
    expect(avro.stats.units).toBe(2); // small files travel 32 to a unit
    expect(parquet.stats.alerts).toBe(51);
    expect(avro.sink.lines).toHaveLength(51 * 3);
    expect(avro.sink.lines).toEqual(parquet.sink.lines);
    const first = JSON.parse(avro.sink.lines[0]);
    expect(Object.keys(first)).toEqual(['objectId', 'candid', 'module', 'version', 'passesCuts', 'scores', 'tags']);
    expect(avro.stats.byVersion).toEqual({ 'early-snia@1': 51, 'kilonova@1': 51, 'anomaly@1': 51 });
  });

  it('writes Fink-style enriched rows: one per alert with the module columns and versions', async () => {
    const sink = new MemorySink();
    await runScorer({ source: new PathSource([sharedPath('ztf', 'alerts.jsonl')], { linesPerUnit: 50 }), sink, provider: new RegistryProvider(db, MODULES, quiet), workers: 0, format: 'fink', log: quiet });
    expect(sink.lines).toHaveLength(140);
    const rows = sink.lines.map((l) => JSON.parse(l));
    expect(rows[0]).toMatchObject({ sieve_versions: { 'early-snia': 1, kilonova: 1, anomaly: 1 } });
    // each enriched column is the module's own score for that alert (the results format, same versions)
    const per = new MemorySink();
    await runScorer({ source: new PathSource([sharedPath('ztf', 'alerts.jsonl')], { linesPerUnit: 50 }), sink: per, provider: new RegistryProvider(db, MODULES, quiet), workers: 0, log: quiet });
    const score = new Map(per.lines.map((l) => JSON.parse(l)).map((x) => [`${x.candid}/${x.module}`, x.scores]));
    const columns: Array<[string, string, string]> = [['rf_snia_vs_nonia', 'early-snia', 'rf_snia_vs_nonia'], ['rf_kn_vs_nonkn', 'kilonova', 'rf_kn_vs_nonkn'], ['anomaly_score', 'anomaly', 'anomaly_score']];
    for (const r of rows) for (const [col, module, key] of columns) {
      expect(r[col], `${r.candid} ${col}`).toBe(score.get(`${r.candid}/${module}`)[key]);
      if (col !== 'anomaly_score') expect(r[col] >= 0 && r[col] <= 1, `${col} = ${r[col]} is a probability`).toBe(true);
    }
    expect(rows.filter((r) => r.anomaly_score !== null).length).toBeGreaterThan(0);
    // the candid survives as an exact 64-bit integer string
    expect(sink.lines[0]).toMatch(/"candid":"\d{18,19}"/);
  });

  it('switches to a newly deployed version between batches, scoring every alert exactly once with the version in force', async () => {
    const copy = path.join(tmp, 'redeploy.db');
    copyFileSync(db, copy);
    const registry = Store.create(copy);
    const v2 = (await retrainClassifier(registry, 'early-snia', { seed: 7, autoDeploy: false, actor: 'test' })).version;
    expect(registry.deployedVersion('early-snia')).toBe(1);
    const stream = path.join(tmp, 'stream.jsonl');
    const n = 6000;
    writeFileSync(stream, [...simulate(n, 11)].map((o) => stringifyJsonExact(toSieveRecord(o.alert))).join('\n'));
    const deployedAt: Record<string, number> = {};
    const sink = new MemorySink((writes) => {
      // the registry changes while the scorer runs: deploy v2 after 5 batches, roll back after 15
      if (writes === 5) registry.deploy('early-snia', v2, 'test', 'hot redeploy');
      if (writes === 15) registry.rollback('early-snia', 'test', 'hot rollback');
      deployedAt[writes] = registry.deployedVersion('early-snia')!;
    });
    const stats = await runScorer({
      source: new PathSource([stream], { linesPerUnit: 200 }), sink, provider: new RegistryProvider(copy, ['early-snia'], quiet), workers: 2, maxInFlight: 4, log: quiet,
    });
    expect(stats.units).toBe(n / 200);
    const results = sink.lines.map((l) => JSON.parse(l) as { candid: string; objectId: string; version: number });
    // exactly once: every simulated alert, no duplicates
    expect(results).toHaveLength(n);
    expect(new Set(results.map((r) => r.objectId)).size).toBe(n);
    // one version per batch, and the sequence of versions is 1, then 2, then 1 again
    const perUnit = Array.from({ length: n / 200 }, (_, u) => new Set(results.slice(u * 200, (u + 1) * 200).map((r) => r.version)));
    expect(perUnit.every((s) => s.size === 1)).toBe(true);
    const seq = perUnit.map((s) => [...s][0]);
    const runs = seq.filter((v, i) => i === 0 || v !== seq[i - 1]);
    expect(runs).toEqual([1, v2, 1]);
    // the switch lands within the in-flight window (4 units) after the registry changed
    expect(seq.indexOf(v2)).toBeGreaterThanOrEqual(5);
    expect(seq.indexOf(v2)).toBeLessThanOrEqual(5 + 4);
    expect(stats.byVersion[`early-snia@${v2}`]).toBeGreaterThan(0);
    registry.close();
  });

  it('reports and skips a corrupt Avro file while the others are scored', async () => {
    const dir = path.join(tmp, 'corrupt');
    await parquetAsAvroFiles(dir);
    const good = readFileSync(path.join(dir, 'alert-000.avro'));
    writeFileSync(path.join(dir, 'alert-010.avro'), good.subarray(0, good.length - 300)); // truncated inside its data block
    writeFileSync(path.join(dir, 'alert-020.avro'), Buffer.from('this is not an alert packet at all'));
    const logs: string[] = [];
    const sink = new MemorySink();
    const stats = await runScorer({ source: new PathSource([dir]), sink, provider: new RegistryProvider(db, ['early-snia'], quiet), workers: 2, log: (l) => logs.push(l) });
    expect(stats.skippedFiles).toEqual([path.join(dir, 'alert-020.avro')]);
    expect(stats.badRecords).toBeGreaterThan(0);
    expect(stats.alerts).toBe(49);
    expect(sink.lines).toHaveLength(49);
    expect(logs.some((l) => l.includes('skipped') && l.includes('alert-020.avro'))).toBe(true);
    expect(logs.some((l) => l.includes('bad record') && l.includes('alert-010.avro'))).toBe(true);
  });

  it('refuses a bundle with a bad checksum or another FeatureSpec and keeps the previous version', async () => {
    const dir = path.join(tmp, 'bundles');
    mkdirSync(dir);
    const store = Store.create(db);
    const v1 = store.db.prepare("SELECT bundle_json FROM models WHERE module = 'early-snia' AND version = 1").get() as { bundle_json: string };
    store.close();
    writeFileSync(path.join(dir, 'early-snia_v1.json'), v1.bundle_json);
    const logs: string[] = [];
    const provider = new FolderProvider(dir, ['early-snia'], (l) => logs.push(l));
    expect(provider.poll().map((v) => v.version)).toEqual([1]);
    const tampered = JSON.parse(v1.bundle_json);
    tampered.manifest.version = '2';
    writeFileSync(path.join(dir, 'early-snia_v2.json'), JSON.stringify(tampered));
    expect(provider.poll().map((v) => v.version)).toEqual([1]);
    expect(logs.at(-1)).toMatch(/REFUSED early-snia v2 from .*early-snia_v2\.json: .*checksum mismatch.*keeping v1/);
    // a bundle trained on other features: checksum fine, FeatureSpec not the module's
    const { createBundle, RandomForestClassifier } = await import('../../models/index.ts');
    const rf = new RandomForestClassifier({ nEstimators: 3, seed: 1 }).fit({ data: Float32Array.from({ length: 40 }, (_, i) => i % 7), rows: 20, cols: 2 }, Int32Array.from({ length: 20 }, (_, i) => i % 2), 2);
    const declaration = JSON.parse(JSON.stringify(Store.create(db).getBundle('early-snia', 1).manifest.declaration));
    const alien = createBundle({ module: 'early-snia', version: '3', model: rf, featureSpec: { name: 'other', version: '1', parameters: {}, columns: ['x', 'y'] }, classNames: ['other', 'SN Ia'], training: { X: { data: new Float32Array(2), rows: 1, cols: 2 } }, metrics: {}, declaration });
    writeFileSync(path.join(dir, 'early-snia_v3.json'), JSON.stringify(alien));
    expect(provider.poll().map((v) => v.version)).toEqual([1]);
    expect(logs.at(-1)).toMatch(/REFUSED early-snia v3 .*feature spec mismatch.*keeping v1/);
  });

  it('follows a folder of bundles: a new valid file switches the scorer', async () => {
    const dir = path.join(tmp, 'bundles2');
    mkdirSync(dir);
    const store = Store.create(db);
    const row = (v: number) => (store.db.prepare("SELECT bundle_json FROM models WHERE module = 'kilonova' AND version = ?").get(v) as { bundle_json: string }).bundle_json;
    writeFileSync(path.join(dir, 'kn1.json'), row(1));
    const provider = new FolderProvider(dir, ['kilonova'], quiet);
    expect(provider.poll()[0].version).toBe(1);
    const v2 = (await retrainClassifier(store, 'kilonova', { seed: 3, autoDeploy: false })).version;
    writeFileSync(path.join(dir, 'kn2.json'), row(v2));
    expect(provider.poll()[0].version).toBe(v2);
    store.close();
  });
});

describe('scorer streaming', () => {
  it('keeps at most maxInFlight units between the source and a slow sink (backpressure)', async () => {
    let pulled = 0;
    let written = 0;
    let worst = 0;
    const stream = path.join(tmp, 'bp.jsonl');
    writeFileSync(stream, [...simulate(600, 5)].map((o) => stringifyJsonExact(toSieveRecord(o.alert))).join('\n'));
    const inner = new PathSource([stream], { linesPerUnit: 20 });
    const source = {
      units: async function* () {
        for await (const u of inner.units()) {
          pulled++;
          worst = Math.max(worst, pulled - written);
          yield u;
        }
      },
      close: async () => {},
    };
    const sink = new MemorySink();
    const write = sink.write.bind(sink);
    sink.write = async (r) => {
      await new Promise((res) => setTimeout(res, 5));
      written++;
      await write(r);
    };
    const stats = await runScorer({ source, sink, provider: new RegistryProvider(db, ['anomaly'], quiet), workers: 1, maxInFlight: 3, log: quiet });
    expect(stats.units).toBe(30);
    expect(worst).toBeLessThanOrEqual(3);
  });

  it('watches a folder: files that land while it runs are scored, once each', async () => {
    const src = path.join(tmp, 'avro-src');
    await parquetAsAvroFiles(src);
    const dir = path.join(tmp, 'watched');
    mkdirSync(dir);
    const names = Array.from({ length: 12 }, (_, i) => `alert-${String(i).padStart(3, '0')}.avro`);
    names.slice(0, 4).forEach((n) => copyFileSync(path.join(src, n), path.join(dir, n)));
    const source = new PathSource([dir], { watch: true, pollMs: 50, stateFile: path.join(tmp, 'watch-state.txt') });
    const sink = new MemorySink();
    const run = runScorer({ source, sink, provider: new RegistryProvider(db, ['early-snia'], quiet), workers: 0, log: quiet });
    for (const n of names.slice(4)) {
      await new Promise((r) => setTimeout(r, 30));
      copyFileSync(path.join(src, n), path.join(dir, n));
    }
    await expect.poll(() => sink.lines.length, { timeout: 10_000 }).toBe(12);
    source.stop();
    const stats = await run;
    expect(stats.alerts).toBe(12);
    expect(new Set(sink.lines.map((l) => JSON.parse(l).candid)).size).toBe(12);
    // a restarted scorer with the same state file scores nothing again
    const again = new MemorySink();
    await runScorer({ source: new PathSource([dir], { stateFile: path.join(tmp, 'watch-state.txt') }), sink: again, provider: new RegistryProvider(db, ['early-snia'], quiet), workers: 0, log: quiet });
    expect(again.lines).toEqual([]);
  });
});

describe('the Kafka path (kafkajs, no broker)', () => {
  it('parses kafka:// addresses and computes offsets as int64 strings', () => {
    expect(parseKafkaUrl('kafka://b1:9092,b2:9092/ztf_public?group=sieve-1&fromBeginning=true')).toEqual({ brokers: ['b1:9092', 'b2:9092'], topic: 'ztf_public', groupId: 'sieve-1', fromBeginning: true });
    expect(parseKafkaUrl('kafka://localhost:9092/alerts').groupId).toBe('sieve-scorer');
    expect(() => parseKafkaUrl('http://x/y')).toThrow(/kafka:\/\//);
    expect(nextOffset('9223372036854775806')).toBe('9223372036854775807');
  });

  it('commits only the finished prefix of a partition, whatever order units finish in', () => {
    const t = new OffsetTracker();
    const a = t.add('alerts', 0, '9');
    const b = t.add('alerts', 0, '19');
    const c = t.add('alerts', 1, '4');
    b();
    expect(t.committable('alerts', 0)).toBeNull();
    a();
    expect(t.committable('alerts', 0)).toBe('20');
    expect(t.committable('alerts', 1)).toBeNull();
    c();
    expect(t.committable('alerts', 1)).toBe('5');
  });

  it('scores Avro alert messages from a batch and commits each unit\'s offset only after its results are written', async () => {
    // real ZTF packets as Kafka message values (ZTF publishes one Avro container per message)
    const packets = ['472263571115115000.avro', '2019_01_10_739260766315010006.avro'].map((f) => readFileSync(sharedPath('ztf', 'avro', f)));
    const messages = Array.from({ length: 10 }, (_, i) => ({ offset: String(100 + i), value: packets[i % 2], key: null, timestamp: '0', attributes: 0, headers: {} }));
    const kafka = new Kafka({ clientId: 'test', brokers: ['127.0.0.1:1'] });
    const consumer = kafka.consumer({ groupId: 'sieve-test' });
    const events: string[] = [];
    consumer.commitOffsets = async (tp) => {
      events.push(`commit ${tp.map((x) => `${x.topic}[${x.partition}]=${x.offset}`).join(',')}`);
    };
    const source = new KafkaSource(consumer, parseKafkaUrl('kafka://127.0.0.1:1/ztf'), 4);
    const resolved: string[] = [];
    const handled = source.handleBatch({
      batch: { topic: 'ztf', partition: 3, highWatermark: '110', messages, isEmpty: () => false, firstOffset: () => '100', lastOffset: () => '109', offsetLag: () => '0', offsetLagLow: () => '0' },
      resolveOffset: (o) => void resolved.push(o), heartbeat: async () => {}, isRunning: () => true, isStale: () => false,
    });
    const sink = new MemorySink();
    const origWrite = sink.write.bind(sink);
    sink.write = async (r) => {
      await origWrite(r);
      events.push(`write ${r.alerts}`);
    };
    // the pipeline reads the units the batch produced; the source stops once they are queued
    const units = (source as unknown as { queue: unknown[] }).queue;
    expect(units).toHaveLength(3);
    const iterable = { units: async function* () { while (units.length) yield units.shift() as never; }, close: async () => {} };
    await runScorer({ source: iterable, sink, provider: new RegistryProvider(db, ['anomaly'], quiet), workers: 0, log: quiet });
    await handled;
    // every commit comes after the write of its unit, and the last commit is the offset after the batch
    const writes = events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('write'));
    const commits = events.map((e, i) => [e, i] as const).filter(([e]) => e.startsWith('commit'));
    expect(commits.map(([e]) => e)).toEqual(['commit ztf[3]=104', 'commit ztf[3]=108', 'commit ztf[3]=110']);
    commits.forEach(([, i], k) => expect(i).toBeGreaterThan(writes[k][1]));
    expect(resolved).toEqual(['103', '107', '109']);
    expect(sink.lines).toHaveLength(10);
    expect(sink.lines.map((l) => JSON.parse(l).candid)).toContain('472263571115115000');
  });

  it('gives on a scorer thread that hands its packing buffers back the results of the consumer thread, unit after unit of other schemas and sizes', async () => {
    const [a, b] = ['472263571115115000.avro', '2019_01_10_739260766315010006.avro'].map((f) => readFileSync(sharedPath('ztf', 'avro', f)));
    // the same packet under a schema of the same length whose candidate field magpsf is renamed: a bad record
    const renamed = Buffer.from(a);
    for (let at = renamed.indexOf('"magpsf"'); at >= 0 && at < 40_000; at = renamed.indexOf('"magpsf"', at + 1)) renamed.write('"magpsg"', at);
    const units = [[a, b, a], [b], [renamed, a, b, b, a], [a]];
    const run = async (workers: number) => {
      const sink = new MemorySink();
      const logs: string[] = [];
      const source = { units: async function* () {
        for (const [u, payloads] of units.entries()) yield { unit: { kind: 'messages' as const, origin: `ztf[0]@${u}`, payloads: payloads.map((p) => Buffer.from(p)) } };
      }, close: async () => {} };
      // one unit at a time: each is packed after the previous one's buffer came back
      const stats = await runScorer({ source, sink, provider: new RegistryProvider(db, MODULES, quiet), workers, maxInFlight: 1, log: (l) => logs.push(l) });
      return { lines: sink.lines, logs, alerts: stats.alerts };
    };
    const inline = await run(0);
    expect(inline.alerts).toBe(9);
    expect(inline.lines).toHaveLength(9 * MODULES.length);
    expect(inline.logs).toEqual([expect.stringMatching(/^scorer: bad record skipped: ztf\[0\]@2 message 0: .*missing field 'magpsf'/)]);
    expect(await run(1)).toEqual(inline);
  });

  it('scores a unit of small files read one after another into one buffer as it scores each file alone, whatever their sizes and formats', async () => {
    const { loadModuleVersion, processUnit } = await import('../../engine/scorer/index.ts');
    const modules = new RegistryProvider(db, MODULES, quiet).poll().map(loadModuleVersion);
    const dir = path.join(tmp, 'mixed-small');
    mkdirSync(dir, { recursive: true });
    // a large packet, a smaller one, a Parquet file (its reader may keep views into the bytes) and gzipped Avro
    const big = sharedPath('ztf', 'avro', '472263571115115000.avro');
    const small = sharedPath('ztf', 'fink_avro', 'ZTF19acihgng.avro');
    const parquet = sharedPath('ztf', 'parquet', 'alerts.parquet');
    const gz = path.join(dir, 'packet.avro.gz');
    writeFileSync(gz, gzipSync(readFileSync(small)));
    const paths = [big, small, parquet, big, gz, small];
    const alone = await Promise.all(paths.map((f) => processUnit({ kind: 'file', path: f }, modules, 'results')));
    const together = await processUnit({ kind: 'files', paths }, modules, 'results');
    expect(together.lines).toBe(alone.map((r) => r.lines).join(''));
    expect(together.alerts).toBe(alone.reduce((n, r) => n + r.alerts, 0));
    expect(together.alerts).toBeGreaterThan(50);
    expect([together.errors, together.skipped]).toEqual([[], []]);
  });

  it('encodes results as messages keyed by objectId', () => {
    const r: UnitResult = { lines: '{"objectId":"ZTF1","x":1}\n{"objectId":"ZTF2","x":2}\n', keys: ['ZTF1', 'ZTF2'], alerts: 2, errors: [], skipped: [], versions: {} };
    expect(KafkaSink.messages(r)).toEqual([{ key: 'ZTF1', value: '{"objectId":"ZTF1","x":1}' }, { key: 'ZTF2', value: '{"objectId":"ZTF2","x":2}' }]);
    const producer = new Kafka({ clientId: 'test', brokers: ['127.0.0.1:1'] }).producer();
    expect(new KafkaSink(producer, 'scores').topic).toBe('scores');
  });
});

describe('sieve score (CLI)', () => {
  it('scores a folder to JSONL, reports the bad file, and exits 1', async () => {
    const dir = path.join(tmp, 'cli');
    await parquetAsAvroFiles(dir);
    writeFileSync(path.join(dir, 'zz-broken.avro'), Buffer.from('Obj\u0001 but nothing else'));
    const out = path.join(tmp, 'cli.jsonl');
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'score', '--db', db, '--module', 'early-snia', 'anomaly', '--from', dir, '--to', out, '--workers', '2'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/skipped .*zz-broken\.avro/);
    expect(r.stderr).toMatch(/scorer: 51 alerts in .* versions early-snia@1: 51, anomaly@1: 51; 1 file\(s\) skipped/);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(102);
  });
});


describe('result rendering', () => {
  it('renders the same JSON text as the result objects, with and without candid', async () => {
    const { readAlertFile } = await import('../../datasets/index.ts');
    const { loadModuleVersion, renderResultLines, scoreAlerts, scoreColumns } = await import('../../engine/scorer/index.ts');
    const store = Store.create(db);
    const modules = MODULES.map((m) => {
      const v = store.deployedVersion(m)!;
      return loadModuleVersion({ module: m, version: v, bundleJson: (store.db.prepare('SELECT bundle_json FROM models WHERE module = ? AND version = ?').get(m, v) as { bundle_json: string }).bundle_json });
    });
    store.close();
    const ztf = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts;
    const tns = (await readAlertFile(sharedPath('tns', 'fink_cross_tns_nov2019.parquet'))).alerts.slice(0, 50);
    for (const alerts of [ztf, tns]) {
      const text = renderResultLines(alerts, scoreColumns(alerts, modules)).lines.trimEnd().split('\n');
      expect(text).toEqual(scoreAlerts(alerts, modules).map((r) => JSON.stringify(r)));
    }
    expect(tns[0].candid).toBeNull();
  });
});
