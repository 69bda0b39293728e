import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FinkMessageDecoder, readAlertsFromBuffer, writeAvroContainer } from '../../datasets/index.ts';
import { fuzz, isolated, mutateBytes, prvCountBomb, varint } from '../hostile.ts';
import { sharedPath } from '../shared.ts';

/** An Avro container (null codec) holding the given encoded records as one block. */
function containerOf(schema: unknown, records: Buffer[], count = records.length): Buffer {
  const header = writeAvroContainer(schema, []);
  const sync = header.subarray(header.length - 16);
  const data = Buffer.concat(records);
  return Buffer.concat([header, varint(count), varint(data.length), data, sync]);
}

type Summary = { alerts: number; errors: string[] };

describe('Avro decoding within budgets (issue 23, point 1)', () => {
  it("skips a livestream message cut after a prv_candidates count of 1e8 with Fink's real schema, naming topic/partition/offset", async () => {
    const { schema, message, good } = prvCountBomb();
    expect(message.length).toBeLessThan(700);
    const key = Buffer.from(JSON.stringify(schema));
    const r = await isolated<Summary>('finkMessages', { messages: [
      { value: message, key, where: 'fink_ztf[3]@77' },
      { value: good, key, where: 'fink_ztf[3]@78' },
    ] }, { heapMb: 256, timeoutMs: 30_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.value.alerts).toBe(1);
    expect(r.value.errors).toEqual([expect.stringMatching(/^fink_ztf\[3\]@77: message: not a datum of its schema: array block of 100000000 items at byte \d+ needs at least \d+ bytes, 0 left$/)]);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('reports the same record in a ~22 KB Avro container with file and record, and reads the good record after it', async () => {
    const { schema, message, good } = prvCountBomb();
    const bytes = Buffer.concat([containerOf(schema, [message]), containerOf(schema, [good]).subarray(writeAvroContainer(schema, []).length)]);
    expect(bytes.length).toBeGreaterThan(20_000);
    expect(bytes.length).toBeLessThan(80_000);
    const r = await isolated<Summary>('readAlerts', { bytes, file: 'bomb.avro' }, { heapMb: 256, timeoutMs: 30_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.value.alerts).toBe(1);
    expect(r.value.errors).toEqual([expect.stringMatching(/^bomb\.avro: block 0 \(byte \d+\), record 0 \(records 0\.\.0\): array block of 100000000 items/)]);
  });

  it('refuses a 6-byte map<null> message at once', async () => {
    const key = Buffer.from(JSON.stringify({ type: 'map', values: 'null' }));
    const value = Buffer.concat([varint(2 ** 33), Buffer.from([0])]);
    expect(value.length).toBe(6);
    const r = await isolated<Summary>('finkMessages', { messages: [{ value, key, where: 't[0]@1' }] }, { heapMb: 256, timeoutMs: 30_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.value.errors).toEqual([expect.stringMatching(/^t\[0\]@1: message: not a datum of its schema: map block of 8589934592 items at byte 0 needs at least 8589934592 bytes, 1 left$/)]);
    expect(r.ms).toBeLessThan(5_000);
  });

  it('bounds items that take no bytes (array<null>) by the per-datum item budget, and a container block count by its bytes', async () => {
    const d = new FinkMessageDecoder();
    const nulls = await d.decode([{ value: Buffer.concat([varint(2 ** 21), varint(0)]), key: Buffer.from('{"type":"array","items":"null"}'), where: 't[0]@2' }]);
    expect(nulls.errors.map((e) => e.message)).toEqual([expect.stringMatching(/t\[0\]@2: message: not a datum of its schema: array block of 2097152 items at byte 0: more than the 1048576 items left/)]);
    const r = await isolated<Summary>('readAlerts', { bytes: containerOf('null', [], 2 ** 40), file: 'nulls.avro' }, { heapMb: 256, timeoutMs: 30_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (r.ok) expect(r.value.errors).toEqual([expect.stringMatching(/^nulls\.avro: block 0 \(byte \d+\), records 0\.\.1099511627775: a block of 1099511627776 records: more than the 1048576 a block may hold$/)]);
    const schema = { type: 'record', name: 'r', fields: [{ name: 'x', type: 'double' }] };
    const dense = await readAlertsFromBuffer(containerOf(schema, [Buffer.alloc(16)], 1000), 'dense.avro');
    expect(dense.errors.map((e) => e.message)).toEqual([expect.stringMatching(/dense\.avro: block 0 .*: a block of 1000 records in 16 bytes: each takes at least 8$/)]);
  });

  it('holds at most 16 schemas however many distinct keys arrive, and refuses a key over 1 MiB', async () => {
    const d = new FinkMessageDecoder();
    for (let i = 0; i < 200; i++) {
      const schema = { type: 'record', name: `r${i}`, fields: [{ name: 'pad', type: 'string', doc: 'x'.repeat(100_000) }] };
      await d.decode([{ value: Buffer.from([0]), key: Buffer.from(JSON.stringify(schema)), where: `t[0]@${i}` }]);
    }
    expect(d.cacheSize.entries).toBe(16);
    expect(d.cacheSize.bytes).toBeLessThan(16 * 110_000);
    const big = await d.decode([{ value: Buffer.from([0]), key: Buffer.alloc((1 << 20) + 1, 0x20), where: 't[0]@999' }]);
    expect(big.errors.map((e) => e.message)).toEqual(['t[0]@999: message: the key is 1048577 bytes, over the 1048576-byte limit of a schema']);
  });

  it('fuzz: mutated livestream messages (fixed seed) are decoded or refused with their offset, never thrown or hung', async () => {
    const { schema, good } = prvCountBomb();
    const key = Buffer.from(JSON.stringify(schema));
    const d = new FinkMessageDecoder();
    let refused = 0;
    const n = await fuzz(23, 3000, 2000, async (rng, i) => {
      const value = mutateBytes(rng, good);
      const t = Date.now();
      const r = await d.decode([{ value, key, where: `fuzz[0]@${i}` }]);
      expect(Date.now() - t).toBeLessThan(2500);
      expect(r.alerts.length + r.errors.length).toBe(1);
      for (const e of r.errors) expect(e.message).toMatch(new RegExp(`^fuzz\\[0\\]@${i}: message: \\S`));
      refused += r.errors.length;
    });
    expect(n).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(0);
  });

  it('fuzz: mutated Avro containers (fixed seed) give alerts or errors naming file and record, never a throw other than a bad header', async () => {
    const file = sharedPath('ztf', 'fink_avro', 'fink-broker-sample-alert-1.avro');
    const valid = readFileSync(file);
    const n = await fuzz(2023, 3000, 2000, async (rng, i) => {
      const bytes = mutateBytes(rng, valid);
      const t = Date.now();
      try {
        const r = await readAlertsFromBuffer(bytes, `f${i}.avro`);
        for (const e of r.errors) expect(e.message).toMatch(new RegExp(`^f${i}\\.avro: (header|block \\d+|record \\d+)`));
      } catch (e) {
        // a file that cannot be read at all throws an AlertReadError naming the file
        expect((e as Error).name).toBe('AlertReadError');
        expect((e as Error).message).toMatch(new RegExp(`^f${i}\\.avro: (header|file): `));
      }
      expect(Date.now() - t).toBeLessThan(2500);
    });
    expect(n).toBeGreaterThan(20);
  });
});
