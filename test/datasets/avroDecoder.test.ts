import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { avroTypeForSchema, compileAvroDecoder, readAlertsFromBuffer, readAvroContainer, ztfLeanFields } from '../../datasets/index.ts';
import { COMPILE_AFTER_DATUMS, type FieldFilter } from '../../datasets/avroDecoder.ts';
import { sharedPath } from '../shared.ts';

/**
 * The decoder twice: fresh (records go through the interpreter) and after COMPILE_AFTER_DATUMS datums of
 * `warm` (records compiled into straight-line code), so that every check below covers both.
 */
function bothTiers(schema: unknown, warm: Buffer, keep?: FieldFilter) {
  const compiled = compileAvroDecoder(schema, keep);
  for (let i = 0; i < COMPILE_AFTER_DATUMS; i++) compiled(warm, 0);
  return [['interpreted', compileAvroDecoder(schema, keep)], ['compiled', compiled]] as const;
}

const packets = () => [
  ...readdirSync(sharedPath('ztf', 'avro')).filter((f) => f.endsWith('.avro')).map((f) => sharedPath('ztf', 'avro', f)),
  ...readdirSync(sharedPath('ztf', 'fink_avro')).filter((f) => f.endsWith('.avro')).map((f) => sharedPath('ztf', 'fink_avro', f)),
];

describe('the compiled Avro decoder', () => {
  it('decodes real ZTF, Fink and Rubin packets exactly as avsc does', () => {
    for (const file of [...packets(), sharedPath('lsst', 'part-2-918301.avro')]) {
      const c = readAvroContainer(readFileSync(file), file);
      const type = avroTypeForSchema(c.schema);
      for (const [tier, decode] of bothTiers(c.schema, type.toBuffer(c.records[0].value))) {
        // the transfer files' records are alike: a few of each keep the deep comparison of stamps quick
        for (const r of c.records.slice(0, 6)) {
          const bytes = type.toBuffer(r.value);
          const mine = decode(bytes, 0);
          expect(mine.offset, `${file} ${tier}`).toBe(bytes.length);
          expect(mine.value, `${file} ${tier}`).toEqual(type.decode(bytes, 0).value);
        }
      }
    }
  });

  it('reads the same alerts in lean mode (no stamps) as in full mode, from every real packet', async () => {
    let n = 0;
    for (const file of packets()) {
      const buf = readFileSync(file);
      const full = await readAlertsFromBuffer(buf, file);
      const lean = await readAlertsFromBuffer(buf, file, { lean: true });
      expect(lean.errors).toEqual([]);
      expect(lean.alerts.length).toBe(full.alerts.length);
      lean.alerts.forEach((a, i) => {
        const b = full.alerts[i];
        expect(a.candid).toBe(b.candid);
        expect(a.objectId).toBe(b.objectId);
        expect([a.ra, a.dec]).toEqual([b.ra, b.dec]);
        expect(a.candidate).toEqual(b.candidate);
        expect(a.lightCurve).toEqual(b.lightCurve);
        expect(a.cutouts.science).toBeUndefined();
        n++;
      });
    }
    expect(n).toBeGreaterThanOrEqual(9);
  });

  it('reads and skips primitive and null-or-primitive fields in place exactly as avsc decodes them', () => {
    // every primitive, plain and in a union with null either side, kept or skipped, in a nested record and an array
    const prims = ['boolean', 'int', 'long', 'float', 'double', 'string', 'bytes'];
    const fields = prims.flatMap((p) => [
      { name: `${p}_plain`, type: p }, { name: `${p}_nullFirst`, type: ['null', p] }, { name: `${p}_nullLast`, type: [p, 'null'] },
    ]);
    const schema = { type: 'record', name: 'outer', fields: [
      ...fields, { name: 'nothing', type: 'null' }, { name: 'three', type: ['null', 'int', 'string'] },
      { name: 'points', type: { type: 'array', items: { type: 'record', name: 'point', fields } } },
    ] };
    let state = 7;
    const rand = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const valueOf = (p: string): unknown => ({
      boolean: rand() < 0.5, int: Math.floor((rand() - 0.5) * 2 ** 31), long: BigInt(Math.floor((rand() - 0.5) * 2 ** 53)) * 1000n,
      float: Math.fround((rand() - 0.5) * 1e6), double: (rand() - 0.5) * 1e300, string: rand() < 0.5 ? 'é'.repeat(Math.floor(rand() * 40)) : String.fromCharCode(Math.floor(rand() * 128)).repeat(rand() < 0.8 ? 1 : 0), bytes: Buffer.alloc(Math.floor(rand() * 200), 7),
    } as Record<string, unknown>)[p];
    const record = () => Object.fromEntries(prims.flatMap((p) => [
      [`${p}_plain`, valueOf(p)], [`${p}_nullFirst`, rand() < 0.3 ? null : valueOf(p)], [`${p}_nullLast`, rand() < 0.3 ? null : valueOf(p)],
    ]));
    const type = avroTypeForSchema(schema);
    // drop every third field, at both levels
    const keep = (_record: string, field: string) => (field.length + field.charCodeAt(0)) % 3 !== 0;
    const kept = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([k]) => keep('', k)));
    const warm = type.toBuffer({ ...record(), nothing: null, three: null, points: [record(), record()] });
    for (const [[tier, decodeAll], [, decodeKept]] of [0, 1].map((t) => [bothTiers(schema, warm)[t], bothTiers(schema, warm, keep)[t]])) {
      for (let i = 0; i < 50; i++) {
        const value = { ...record(), nothing: null, three: [null, 5, 'x'][i % 3], points: Array.from({ length: i % 7 }, record) };
        const bytes = type.toBuffer(value);
        const expected = type.fromBuffer(bytes) as Record<string, unknown> & { points: Array<Record<string, unknown>> };
        expect(decodeAll(bytes, 0), tier).toEqual({ value: expected, offset: bytes.length });
        const mine = decodeKept(bytes, 0);
        expect(mine.offset, tier).toBe(bytes.length);
        expect(mine.value, tier).toEqual({ ...kept(expected), ...(keep('', 'points') ? { points: expected.points.map(kept) } : {}) });
        // the kept fields in the schema's order, as the decoder always gave them
        expect(Object.keys(mine.value as object), tier).toEqual(Object.keys(kept(expected)));
      }
    }
    // a union index written in two bytes (0x82 0x00 is 1) is still read; an index the union lacks is named
    const small = { type: 'record', name: 's', fields: [{ name: 'a', type: ['null', 'float'] }, { name: 'b', type: 'int' }] };
    const smallDatum = Buffer.from([0x00, 0x04]);
    for (const [tier, d] of [true, false].flatMap((keepA) => bothTiers(small, smallDatum, (_r, f) => keepA || f !== 'a').map(([t, x]) => [`${t} keepA=${keepA}`, x, keepA] as const))) {
      const keepA = tier.endsWith('true');
      const float = Buffer.alloc(4);
      float.writeFloatLE(1.5);
      expect(d(Buffer.concat([Buffer.from([0x82, 0x00]), float, Buffer.from([0x04])]), 0)).toEqual({ value: { ...(keepA ? { a: 1.5 } : {}), b: 2 }, offset: 7 });
      expect(() => d(Buffer.from([0x04, 0x00]), 0)).toThrow('union branch 2 at byte 0: the union has 2');
      // a float cut short: a kept one is refused where it starts, a skipped one where the next value is read
      expect(() => d(Buffer.from([0x02, 0x00, 0x00]), 0)).toThrow(`the datum ends inside a value (byte ${keepA ? 1 : 5} of 3)`);
    }
  });

  it('decodes a record too wide to compile (2,000 fields) through the interpreter, also after many datums', () => {
    const schema = { type: 'record', name: 'wide', fields: Array.from({ length: 2000 }, (_, i) => ({ name: `f${i}`, type: ['null', 'double'] })) };
    const type = avroTypeForSchema(schema);
    const value = Object.fromEntries(schema.fields.map((f, i) => [f.name, i % 3 ? i / 7 : null]));
    const bytes = type.toBuffer(value);
    for (const [tier, decode] of bothTiers(schema, bytes, (_r, f) => f !== 'f1')) {
      const { f1: _, ...expected } = value;
      expect(decode(bytes, 0), tier).toEqual({ value: expected, offset: bytes.length });
    }
  });

  it('keeps only the fields the filter names and refuses non-ZTF schemas for lean reading', () => {
    const schema = { type: 'record', name: 'alert', namespace: 'ztf', fields: [
      { name: 'objectId', type: 'string' },
      { name: 'candidate', type: { type: 'record', name: 'candidate', fields: [{ name: 'jd', type: 'double' }, { name: 'junk', type: ['null', 'string'] }] } },
      { name: 'cutoutScience', type: ['null', { type: 'record', name: 'cutout', fields: [{ name: 'stampData', type: 'bytes' }] }] },
      { name: 'cutoutTemplate', type: ['null', 'ztf.cutout'] },
    ] };
    const type = avroTypeForSchema(schema);
    const value = { objectId: 'ZTF1', candidate: { jd: 2459000.5, junk: 'x' }, cutoutScience: { stampData: Buffer.from([1, 2, 3]) }, cutoutTemplate: { stampData: Buffer.from([4]) } };
    const bytes = type.toBuffer(value);
    const lean = compileAvroDecoder(schema, ztfLeanFields(schema)!)(bytes, 0);
    expect(lean).toEqual({ value: { objectId: 'ZTF1', candidate: { jd: 2459000.5 } }, offset: bytes.length });
    expect(ztfLeanFields({ type: 'record', name: 'diaSource', fields: [{ name: 'x', type: 'int' }] })).toBeNull();
  });
});
