import { readFileSync, mkdtempSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AlertReadError, LSST_BANDS, readAlertFile, readAlertsFromBuffer, readAvroContainer, writeAvroContainer,
  decodeFitsStamp, type Alert, type AvroCodec,
} from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-readers-'));

function sameLightCurve(a: Alert, b: Alert): void {
  expect(Array.from(a.lightCurve.jd)).toEqual(Array.from(b.lightCurve.jd));
  expect(Array.from(a.lightCurve.band)).toEqual(Array.from(b.lightCurve.band));
  expect(Array.from(a.lightCurve.mag)).toEqual(Array.from(b.lightCurve.mag));
  expect(Array.from(a.lightCurve.magErr)).toEqual(Array.from(b.lightCurve.magErr));
  expect(Array.from(a.lightCurve.limitMag)).toEqual(Array.from(b.lightCurve.limitMag));
  // the reference-source columns of Fink's DC magnitudes (anomaly features), from every reader
  for (const k of ['isdiffpos', 'distnr', 'magnr', 'sigmagnr'] as const) {
    expect(a.lightCurve[k], k).toBeDefined();
    expect(Array.from(a.lightCurve[k]!), k).toEqual(Array.from(b.lightCurve[k]!));
  }
}

describe('ZTF alerts from JSON lines, Parquet and Avro', () => {
  it('reads the 140 real alerts of alerts.jsonl with exact 64-bit candids', async () => {
    const r = await readAlertFile(sharedPath('ztf', 'alerts.jsonl'));
    expect(r.format).toBe('jsonl');
    expect(r.errors).toEqual([]);
    expect(r.alerts).toHaveLength(140);
    expect(new Set(r.alerts.map((a) => a.candid)).size).toBe(140);
    expect(new Set(r.alerts.map((a) => a.objectId)).size).toBe(124);
    const first = r.alerts[0];
    expect(first.candid).toBe(975188143515015117n); // > 2^53: a float would have rounded it
    expect(first.candidate.magpsf).toBe(14.43262767791748);
    expect(first.candidate.fid).toBe(2);
    expect(first.candidate.rb).toBeCloseTo(0.4514285624, 9);
    // history + candidate, in alert order, the last point being the candidate
    const lc = first.lightCurve;
    expect(lc.jd[lc.jd.length - 1]).toBe(first.candidate.jd);
    expect(lc.detected[lc.jd.length - 1]).toBe(1);
    // upper limits carry their limiting magnitude and no magnitude
    const ul = Array.from(lc.detected).indexOf(0);
    expect(ul).toBeGreaterThanOrEqual(0);
    expect(Number.isNaN(lc.mag[ul])).toBe(true);
    expect(lc.limitMag[ul]).toBeGreaterThan(15);
    for (const a of r.alerts) for (const k of ['science', 'template', 'difference'] as const) expect(a.cutouts[k]?.bytes[0]).toBe(0x1f);
  });

  it('gives identical alerts from the original Parquet files and the JSON lines', async () => {
    const jsonl = await readAlertFile(sharedPath('ztf', 'alerts.jsonl'));
    const byCandid = new Map(jsonl.alerts.map((a) => [a.candid, a]));
    for (const name of ['alerts.parquet', 'part-00002-bdab8e46-89c4-4ac1-8603-facd71833e8a-c000.snappy.parquet']) {
      const pq = await readAlertFile(sharedPath('ztf', 'parquet', name));
      expect(pq.format).toBe('parquet');
      expect(pq.errors).toEqual([]);
      expect(pq.alerts.length).toBeGreaterThan(50);
      for (const a of pq.alerts) {
        const j = byCandid.get(a.candid);
        expect(j, `candid ${a.candid}`).toBeDefined();
        expect(a.objectId).toBe(j!.objectId);
        expect(a.candidate).toEqual(j!.candidate);
        sameLightCurve(a, j!);
        expect(Buffer.from(a.cutouts.science!.bytes).equals(Buffer.from(j!.cutouts.science!.bytes))).toBe(true);
      }
    }
  });

  it('reads ZTF Avro packets as ZTF published them, with history and cutouts', async () => {
    const r = await readAlertFile(sharedPath('ztf', 'avro', '2019_01_10_739260766315010006.avro'));
    expect(r.format).toBe('avro');
    expect(r.alerts).toHaveLength(1);
    const a = r.alerts[0];
    expect(a.objectId).toBe('ZTF17aaacxxf');
    expect(a.candid).toBe(739260766315010006n);
    expect(a.lightCurve.jd.length).toBeGreaterThan(10);
    const img = decodeFitsStamp(a.cutouts.difference!.bytes, 'difference');
    expect(img.width * img.height).toBe(img.data.length);
    expect(img.width).toBeGreaterThan(50);
  });

  it("reads Fink's Avro (raw ZTF fields plus Fink's added columns)", async () => {
    const r = await readAlertFile(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro'));
    expect(r.errors).toEqual([]);
    expect(r.alerts).toHaveLength(31);
    expect(typeof r.alerts[0].extra.cdsxmatch).toBe('string');
    expect(r.alerts[0].extra.fink_broker_version).toBeDefined();
    for (const f of ['fink-broker-sample-alert-1.avro', 'ZTF19acihgng.avro']) {
      const s = await readAlertFile(sharedPath('ztf', 'fink_avro', f));
      expect(s.alerts).toHaveLength(1);
      expect(s.alerts[0].objectId).toMatch(/^ZTF\d\d[a-z]{7}$/);
    }
  });

  it('detects the format from the content, not the file name', async () => {
    const misnamed = path.join(tmp, 'really-parquet.jsonl');
    copyFileSync(sharedPath('ztf', 'parquet', 'alerts.parquet'), misnamed);
    const r = await readAlertFile(misnamed);
    expect(r.format).toBe('parquet');
    expect(r.alerts).toHaveLength(51);
  });
});

describe('Avro codecs', () => {
  it.each(['null', 'deflate', 'snappy'] as AvroCodec[])('round-trips real packets through the %s codec', async (codec) => {
    const src = readAvroContainer(readFileSync(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro')), 'part-3');
    const buf = writeAvroContainer(src.schema, src.records.map((r) => r.value), codec, 7);
    const back = readAvroContainer(buf, `re-encoded-${codec}.avro`);
    expect(back.codec).toBe(codec);
    expect(back.errors).toEqual([]);
    expect(back.records).toHaveLength(31);
    const alerts = await readAlertsFromBuffer(buf, `re-encoded-${codec}.avro`);
    expect(alerts.alerts.map((a) => a.candid)).toEqual((await readAlertFile(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro'))).alerts.map((a) => a.candid));
  });
});

describe('Rubin/LSST alerts from Fink', () => {
  it('maps diaSource history into the common light curve with nJy fluxes and ugrizy bands', async () => {
    const r = await readAlertFile(sharedPath('lsst', 'part-2-918301.avro'));
    expect(r.errors).toEqual([]);
    expect(r.alerts).toHaveLength(7);
    const a = r.alerts[0];
    expect(a.survey).toBe('lsst');
    expect(a.lightCurve.bands).toEqual(LSST_BANDS);
    expect(a.lightCurve.nativeUnit).toBe('nJy');
    expect(a.candid).toBe(170094456272322680n);
    expect(a.objectId).toBe('170028485706776685');
    // The triggering diaSource is a negative difference (isNegative): flux stays signed, magnitude is NaN.
    const lc = a.lightCurve;
    let checked = 0;
    for (let i = 0; i < lc.jd.length; i++) {
      if (lc.fluxNanoJy[i] > 0) {
        expect(lc.mag[i]).toBeCloseTo(-2.5 * Math.log10(lc.fluxNanoJy[i]) + 31.4, 10);
        checked++;
      } else expect(Number.isNaN(lc.mag[i])).toBe(true);
    }
    expect(checked).toBeGreaterThan(0);
    expect(a.candidate.isdiffpos).toBe('f');
    // Solar-system sources have no diaObject and are keyed by their ssObjectId.
    expect(r.alerts.filter((x) => x.objectId.startsWith('ss'))).toHaveLength(2);
  });
});

describe('TNS-labelled alerts', () => {
  it('reads every row with its spectroscopic class', async () => {
    const r = await readAlertFile(sharedPath('tns', 'fink_cross_tns_nov2019.parquet'));
    expect(r.errors).toEqual([]);
    expect(r.alerts).toHaveLength(210);
    expect(r.alerts[0].label).toBe('SN Ia');
    expect(r.alerts[0].objectId).toBe('ZTF19acfsqjx');
    const labels = new Set(r.alerts.map((a) => a.label));
    expect(labels.size).toBeGreaterThan(3);
    // null magnitudes are non-detections
    const lc = r.alerts[0].lightCurve;
    expect(lc.detected[0]).toBe(0);
    expect(lc.detected.reduce((s, x) => s + x, 0)).toBeGreaterThan(4);
  });
});

describe('bad input: clear errors, nothing else lost', () => {
  it('reports a truncated Avro file by file and block, keeping the complete blocks', async () => {
    const src = readAvroContainer(readFileSync(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro')), 'part-3');
    const full = writeAvroContainer(src.schema, src.records.map((r) => r.value), 'null', 10);
    const file = path.join(tmp, 'truncated.avro');
    writeFileSync(file, full.subarray(0, full.length - 5000));
    const r = await readAlertFile(file);
    expect(r.alerts).toHaveLength(30); // three full blocks of 10; the last block (1 record) is cut
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toBeInstanceOf(AlertReadError);
    expect(r.errors[0].message).toContain(file);
    expect(r.errors[0].message).toMatch(/block 3 .*truncated/);
  });

  it('skips a corrupt block in the middle of an Avro file and reads the blocks after it', async () => {
    const src = readAvroContainer(readFileSync(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro')), 'part-3');
    const buf = Buffer.from(writeAvroContainer(src.schema, src.records.map((r) => r.value), 'deflate', 10));
    // Damage bytes inside the second block's compressed data.
    const sync = buf.subarray(buf.length - 16);
    const headerEnd = buf.indexOf(sync) + 16;
    const second = buf.indexOf(sync, headerEnd) + 16;
    for (let i = 40; i < 60; i++) buf[second + i] ^= 0xff;
    const r = await readAlertsFromBuffer(buf, 'damaged.avro');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0].message).toMatch(/damaged\.avro: block 1 .*records 10\.\.19/);
    expect(r.alerts).toHaveLength(21);
  });

  it('refuses a file that claims to be Parquet but is not, naming it', async () => {
    const file = path.join(tmp, 'fake.parquet');
    writeFileSync(file, Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(100, 7)]));
    await expect(readAlertFile(file)).rejects.toThrow(/fake\.parquet: file: not a Parquet file/);
    const garbage = path.join(tmp, 'garbage.parquet');
    writeFileSync(garbage, Buffer.alloc(100, 3));
    await expect(readAlertFile(garbage)).rejects.toThrow(/garbage\.parquet/);
  });

  it('names the JSON line and field of a bad record and keeps the other lines', async () => {
    const lines = readFileSync(sharedPath('ztf', 'alerts.jsonl'), 'utf8').trim().split('\n').slice(0, 4);
    const broken = JSON.parse(lines[1].replace(/("candid":\s*)(\d{16,})/g, '$1"$2"'));
    delete broken.candidate.jd;
    lines[1] = JSON.stringify(broken);
    lines[2] = '{"objectId": "ZTF19x", "candidate": ';
    const file = path.join(tmp, 'bad.jsonl');
    writeFileSync(file, lines.join('\n'));
    const r = await readAlertFile(file);
    expect(r.alerts.map((a) => a.objectId)).toHaveLength(2);
    expect(r.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/bad\.jsonl: line 3: invalid JSON/),
      expect.stringMatching(/bad\.jsonl: line 2, objectId \w+, candid \d+: missing field 'jd'/),
    ]);
  });
});

describe("Sieve's own light-curve format", () => {
  it("keeps ZTF's reference-source columns, and reads a record written without them", async () => {
    const { toSieveRecord, alertFromSieveRecord, parseJsonExact, stringifyJsonExact } = await import('../../datasets/index.ts');
    const a = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts[3];
    const rec = parseJsonExact(stringifyJsonExact(toSieveRecord(a))) as Record<string, unknown>;
    const back = alertFromSieveRecord(rec);
    for (const k of ['isdiffpos', 'distnr', 'magnr', 'sigmagnr'] as const) {
      expect(Array.from(back.lightCurve[k]!), k).toEqual(Array.from(a.lightCurve[k]!));
    }
    const lc = rec.lc as Record<string, unknown>;
    for (const k of ['isdiffpos', 'distnr', 'magnr', 'sigmagnr']) delete lc[k];
    const old = alertFromSieveRecord(rec);
    expect(old.lightCurve.isdiffpos).toBeUndefined();
    expect(Array.from(old.lightCurve.jd)).toEqual(Array.from(back.lightCurve.jd));
    (lc as Record<string, unknown>).isdiffpos = [...Array(a.lightCurve.jd.length - 1).fill(1), 7];
    Object.assign(lc, { distnr: [], magnr: [], sigmagnr: [] });
    expect(() => alertFromSieveRecord(rec)).toThrow(/lc\.isdiffpos\[\d+\] = 7|lc\.distnr/);
  });
});

describe('binary light-curve codec (store format)', () => {
  it('round-trips ZTF (with reference columns) and LSST light curves exactly, and refuses garbage', async () => {
    const { encodeLightCurve, decodeLightCurve } = await import('../../datasets/index.ts');
    const ztf = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts[3].lightCurve;
    const lsst = (await readAlertFile(sharedPath('lsst', 'part-2-918301.avro'))).alerts[0].lightCurve;
    for (const lc of [ztf, lsst]) {
      const back = decodeLightCurve(encodeLightCurve(lc));
      expect(back.bands).toEqual([...lc.bands]);
      expect(back.nativeUnit).toBe(lc.nativeUnit);
      for (const k of ['jd', 'band', 'detected', 'mag', 'magErr', 'fluxNanoJy', 'fluxErrNanoJy', 'limitMag', 'isdiffpos', 'distnr', 'magnr', 'sigmagnr'] as const) {
        expect(back[k] === undefined ? undefined : Array.from(back[k]!), k).toEqual(lc[k] === undefined ? undefined : Array.from(lc[k]!));
      }
    }
    expect(() => decodeLightCurve(new Uint8Array(20), 'alert 7')).toThrow(/alert 7: not an encoded light curve/);
    expect(() => decodeLightCurve(encodeLightCurve(ztf).subarray(0, 40), 'alert 8')).toThrow(/alert 8: truncated/);
  });
});
