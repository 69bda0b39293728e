import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { avroTypeForSchema, compileAvroDecoder, readAlertsFromBuffer, readAvroContainer, ztfLeanFields } from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';

const packets = () => [
  ...readdirSync(sharedPath('ztf', 'avro')).filter((f) => f.endsWith('.avro')).map((f) => sharedPath('ztf', 'avro', f)),
  ...readdirSync(sharedPath('ztf', 'fink_avro')).filter((f) => f.endsWith('.avro')).map((f) => sharedPath('ztf', 'fink_avro', f)),
];

describe('the compiled Avro decoder', () => {
  it('decodes real ZTF, Fink and Rubin packets exactly as avsc does', () => {
    for (const file of [...packets(), sharedPath('lsst', 'part-2-918301.avro')]) {
      const c = readAvroContainer(readFileSync(file), file);
      const type = avroTypeForSchema(c.schema);
      const decode = compileAvroDecoder(c.schema);
      // the transfer files' records are alike: a few of each keep the deep comparison of stamps quick
      for (const r of c.records.slice(0, 6)) {
        const bytes = type.toBuffer(r.value);
        const mine = decode(bytes, 0);
        expect(mine.offset, file).toBe(bytes.length);
        expect(mine.value, file).toEqual(type.decode(bytes, 0).value);
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
