import { readdirSync, readFileSync } from 'node:fs';
import { Kafka } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { avroTypeForSchema, FinkMessageDecoder, readAlertFile, readAvroContainer, stringifyJsonExact, type Alert } from '../../datasets/index.ts';
import { KafkaSource, RegistryProvider, packMessages, unpackMessages, runScorer, type ResultSink, type UnitResult } from '../../engine/scorer/index.ts';
import { kafkaClientConfig, parseKafkaUrl } from '../../engine/index.ts';
import { sharedPath } from '../shared.ts';
import { demoStore } from '../server/fixture.ts';
import { prvCountBomb } from '../hostile.ts';

let db: string;
beforeAll(async () => {
  db = await demoStore();
}, 200_000);

/** An alert as comparable data: every field, bigints and typed arrays included. */
const plain = (a: Alert) => JSON.parse(stringifyJsonExact({ ...a, lightCurve: Object.fromEntries(Object.entries(a.lightCurve).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v])) }));

/** Each record of an Avro file re-encoded as a schemaless Kafka message whose key is the schema JSON (Fink's livestream). */
function asLivestream(file: string, schema?: unknown): Array<{ value: Buffer; key: Buffer }> {
  const c = readAvroContainer(readFileSync(file), file);
  const writer = schema ?? c.schema;
  const type = avroTypeForSchema(writer);
  return c.records.map((r) => ({ value: type.toBuffer(r.value) as Buffer, key: Buffer.from(JSON.stringify(writer)) }));
}

describe("Fink's livestream: schemaless Avro with the schema as key", () => {
  const files = () => [
    ...readdirSync(sharedPath('ztf', 'fink_avro')).filter((f) => f.endsWith('.avro')).map((f) => sharedPath('ztf', 'fink_avro', f)),
    ...readdirSync(sharedPath('lsst')).filter((f) => f.endsWith('.avro')).map((f) => sharedPath('lsst', f)),
  ];

  it('decodes every alert of the ZTF and LSST transfer files to the same alert as the file gives', async () => {
    const decoder = new FinkMessageDecoder();
    let n = 0;
    for (const file of files()) {
      const fromFile = await readAlertFile(file);
      expect(fromFile.errors).toEqual([]);
      const msgs = asLivestream(file).map((m, i) => ({ value: m.value, key: m.key, where: `fink_ztf[0]@${i}` }));
      const fromStream = await decoder.decode(msgs);
      expect(fromStream.errors, file).toEqual([]);
      expect(fromStream.alerts.map(plain), file).toEqual(fromFile.alerts.map(plain));
      n += fromStream.alerts.length;
    }
    expect(n).toBeGreaterThan(40);
    // the ZTF transfer file also decodes with the schema Fink's data transfer publishes beside it
    const transfer = JSON.parse(readFileSync(sharedPath('ztf', 'fink_avro', 'avro_schema_ftransfer_ztf_2026-03-23_11487.json'), 'utf8'));
    const part = sharedPath('ztf', 'fink_avro', 'part-3-305711.avro');
    const r = await decoder.decode(asLivestream(part, transfer).map((m, i) => ({ value: m.value, key: m.key, where: `t[0]@${i}` })));
    expect(r.alerts.map(plain)).toEqual((await readAlertFile(part)).alerts.map(plain));
    // Fink's added columns are alert fields (cuts, UI)
    expect(r.alerts[0].extra).toHaveProperty('cdsxmatch');
  });

  it('reports an unknown schema key, a truncated message and a key that is not JSON with topic/partition/offset, and decodes the rest', async () => {
    const good = asLivestream(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro'));
    const schema = JSON.parse(good[0].key.toString());
    const named = new FinkMessageDecoder({ namedSchemas: new Map([['4.02', schema]]) });
    const r = await named.decode([
      { value: good[0].value, key: good[0].key, where: 'fink_ztf[2]@10' },
      { value: good[1].value, key: Buffer.from('9.99'), where: 'fink_ztf[2]@11' },
      { value: good[2].value.subarray(0, 200), key: good[2].key, where: 'fink_ztf[2]@12' },
      { value: good[3].value, key: Buffer.from('{not json'), where: 'fink_ztf[2]@13' },
      { value: good[4].value, key: Buffer.from('4.02'), where: 'fink_ztf[2]@14' },
    ]);
    expect(r.alerts).toHaveLength(2);
    expect(r.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^fink_ztf\[2\]@11: message: the key '9\.99' is neither a schema \(JSON\) nor a known schema version \(known: 4\.02\); give --schema FILE\.avsc$/),
      expect.stringMatching(/^fink_ztf\[2\]@12: message: (truncated|not a datum of its schema)/),
      expect.stringMatching(/^fink_ztf\[2\]@13: message: the key '\{not json' is neither a schema/),
    ]);
    // --schema decodes keyless messages (fink-client's schema_path)
    const withSchema = new FinkMessageDecoder({ schema });
    expect((await withSchema.decode([{ value: good[5].value, key: null, where: 'x[0]@1' }])).alerts).toHaveLength(1);
  });

  it.each([0, 1])('scores livestream messages through the Kafka source, skipping the bad ones (garbage, a 1e8 array count) and committing after the write (%i scorer threads)', async (workers) => {
    const good = asLivestream(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro')).slice(0, 6);
    // a message of Fink's schema cut after a prv_candidates count of 1e8 (issue 23): skipped, the process lives
    const bomb = prvCountBomb().message;
    const messages = good.map((m, i) => ({ offset: String(50 + i), value: i === 3 ? Buffer.from('garbage') : i === 1 ? bomb : m.value, key: m.key, timestamp: '0', attributes: 0, headers: {} }));
    const consumer = new Kafka({ clientId: 'test', brokers: ['127.0.0.1:1'] }).consumer({ groupId: 'g' });
    const commits: string[] = [];
    consumer.commitOffsets = async (tp) => void commits.push(tp.map((x) => `${x.partition}=${x.offset}`).join(','));
    const source = new KafkaSource(consumer, parseKafkaUrl('kafka://127.0.0.1:1/fink_early_sn_candidates_ztf'), 100);
    const handled = source.handleBatch({
      batch: { topic: 'fink_early_sn_candidates_ztf', partition: 1, highWatermark: '56', messages, isEmpty: () => false, firstOffset: () => '50', lastOffset: () => '55', offsetLag: () => '0', offsetLagLow: () => '0' },
      resolveOffset: () => {}, heartbeat: async () => {}, isRunning: () => true, isStale: () => false,
    });
    const lines: string[] = [];
    const sink: ResultSink = { write: async (r: UnitResult) => void lines.push(...r.lines.split('\n').filter(Boolean)), close: async () => {} };
    const logs: string[] = [];
    const units = (source as unknown as { queue: unknown[] }).queue;
    const iterable = { units: async function* () { while (units.length) yield units.shift() as never; }, close: async () => {} };
    const stats = await runScorer({ source: iterable, sink, provider: new RegistryProvider(db, ['early-snia'], () => {}), workers, log: (l) => logs.push(l) });
    await handled;
    expect(stats.alerts).toBe(4);
    expect(lines).toHaveLength(4);
    expect(stats.badRecords).toBe(2);
    expect(logs.filter((l) => l.includes('bad record'))).toEqual([
      expect.stringMatching(/^scorer: bad record skipped: fink_early_sn_candidates_ztf\[1\]@51: message: not a datum of its schema: array block of 100000000 items/),
      expect.stringMatching(/^scorer: bad record skipped: fink_early_sn_candidates_ztf\[1\]@53: message: /),
    ]);
    expect(commits).toEqual(['1=56']);
  });

  it('packs the next unit into the buffer a scorer thread handed back when it is large enough, else into a new one', () => {
    const first = packMessages({ kind: 'messages', origin: 'a', payloads: [Buffer.from('first unit')] });
    // the thread received the buffer (transferred) and hands it back the same way
    const spare = structuredClone(first.packed, { transfer: first.transfer }).data.buffer as ArrayBuffer;
    const next = packMessages({ kind: 'messages', origin: 'b', payloads: [Buffer.from('second'), Buffer.from('unit')], keys: [null, Buffer.from('k')] }, spare);
    expect(next.packed.data.buffer).toBe(spare);
    const back = unpackMessages(structuredClone(next.packed, { transfer: next.transfer }));
    expect(back.payloads.map((b) => Buffer.from(b).toString())).toEqual(['second', 'unit']);
    expect(back.keys?.map((k) => k && Buffer.from(k).toString())).toEqual([null, 'k']);
    const tooSmall = new ArrayBuffer(4);
    const big = packMessages({ kind: 'messages', origin: 'c', payloads: [Buffer.alloc(10, 1)] }, tooSmall);
    expect(big.packed.data.buffer).not.toBe(tooSmall);
    expect(Array.from(unpackMessages(big.packed).payloads[0])).toEqual(Array(10).fill(1));
  });

  it('decodes one-alert containers of different schemas in one batch as their files give them; a schema changed in one byte is not taken from the cache', async () => {
    const paths = [sharedPath('ztf', 'avro', '472263571115115000.avro'), sharedPath('ztf', 'avro', '2019_01_10_739260766315010006.avro'), sharedPath('ztf', 'fink_avro', 'ZTF19acihgng.avro')];
    const [a, b, c] = paths.map((f) => readFileSync(f));
    // the same packet under a schema of the same length in which the field magpsf is called magpsg
    const renamed = Buffer.from(a);
    const header = renamed.subarray(0, 40_000);
    let renames = 0;
    for (let at = header.indexOf('"magpsf"'); at >= 0; at = header.indexOf('"magpsf"', at + 1), renames++) renamed.write('"magpsg"', at);
    expect(renames).toBe(2); // candidate and prv_candidate
    const decoder = new FinkMessageDecoder();
    const batch = [a, b, a, c, renamed, a, b].map((value, i) => ({ value, key: null, where: `ztf[0]@${i}` }));
    for (const lean of [false, true]) {
      const r = await decoder.decode(batch, { lean });
      const own = await Promise.all(paths.map(async (f) => (await readAlertFile(f, { lean })).alerts.map(plain)));
      expect(r.alerts.map(plain)).toEqual([...own[0], ...own[1], ...own[0], ...own[2], ...own[0], ...own[1]]);
      expect(r.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^ztf\[0\]@4: .*missing field 'magpsf'/)]);
    }
  });

  it('packs a unit of messages into one transferable buffer and back, keys and missing keys included', () => {
    // views into one shared backing store, as kafkajs hands them out
    const store = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    const unit = { kind: 'messages' as const, origin: 't[0]@5', payloads: [store.subarray(0, 4), store.subarray(10, 10), store.subarray(20, 36)], keys: [store.subarray(4, 6), null, store.subarray(6, 9)], wheres: ['a', 'b', 'c'] };
    const { packed, transfer } = packMessages(unit);
    expect(packed.data.byteLength).toBe(4 + 0 + 16 + 2 + 3);
    expect(transfer).toContain(packed.data.buffer);
    const back = unpackMessages(structuredClone(packed, { transfer }));
    expect(back.payloads.map((b) => Buffer.from(b).toString())).toEqual(['0123', '', 'klmnopqrstuvwxyz']);
    expect(back.keys?.map((k) => (k === null ? null : Buffer.from(k).toString()))).toEqual(['45', null, '678']);
    expect(back).toMatchObject({ kind: 'messages', origin: 't[0]@5', wheres: ['a', 'b', 'c'] });
    expect(unpackMessages(packMessages({ kind: 'messages', origin: 'o', payloads: [store.subarray(0, 1)] }).packed).keys).toBeUndefined();
  });

  it('authenticates as fink-client does (SASL SCRAM-SHA-512) from the environment, and names a half-given credential', () => {
    const brokers = ['kafka-ztf.fink-broker.org:24499'];
    expect(kafkaClientConfig('c', brokers, {})).toEqual({ clientId: 'c', brokers, ssl: false });
    expect(kafkaClientConfig('c', brokers, { SIEVE_KAFKA_USERNAME: 'u', SIEVE_KAFKA_PASSWORD: 'p' }).sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
    expect(kafkaClientConfig('c', brokers, { SIEVE_KAFKA_USERNAME: 'u', SIEVE_KAFKA_PASSWORD: 'p', SIEVE_KAFKA_SASL_MECHANISM: 'PLAIN', SIEVE_KAFKA_SSL: '1' })).toMatchObject({ ssl: true, sasl: { mechanism: 'plain' } });
    expect(() => kafkaClientConfig('c', brokers, { SIEVE_KAFKA_USERNAME: 'u' })).toThrow(/^SIEVE_KAFKA_PASSWORD is not set/);
    expect(() => kafkaClientConfig('c', brokers, { SIEVE_KAFKA_USERNAME: 'u', SIEVE_KAFKA_PASSWORD: 'p', SIEVE_KAFKA_SASL_MECHANISM: 'gssapi' })).toThrow(/SIEVE_KAFKA_SASL_MECHANISM: 'gssapi'/);
    expect(() => kafkaClientConfig('c', brokers, { SIEVE_KAFKA_SSL: 'yes' })).toThrow(/SIEVE_KAFKA_SSL/);
  });
});
