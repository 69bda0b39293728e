import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { alertFileBatches, encodeLightCurve, readAlertFile, readAlertsFromBuffer, readAvroContainer, writeAvroContainer, type ReadResult, type StreamOptions } from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-stream-'));

async function streamed(file: string, o: StreamOptions): Promise<{ batches: ReadResult[]; alerts: ReadResult['alerts']; errors: string[] }> {
  const batches: ReadResult[] = [];
  for await (const b of alertFileBatches(file, o)) batches.push(b);
  return { batches, alerts: batches.flatMap((b) => b.alerts), errors: batches.flatMap((b) => b.errors.map((e) => e.message)) };
}

/** The same alerts in the same order, light curves bit for bit. */
function expectSameAlerts(got: ReadResult['alerts'], want: ReadResult['alerts']): void {
  expect(got.map((a) => `${a.objectId}/${a.candid}`)).toEqual(want.map((a) => `${a.objectId}/${a.candid}`));
  got.forEach((a, i) => {
    expect(encodeLightCurve(a.lightCurve).equals(encodeLightCurve(want[i].lightCurve))).toBe(true);
    expect(a.candidate).toEqual(want[i].candidate);
    expect(Object.keys(a.cutouts)).toEqual(Object.keys(want[i].cutouts));
  });
}

describe('alert files as streams (ingest of files of any size)', () => {
  it('gives the alerts of a whole-file read, in batches, whatever the chunk size, gzipped or not', async () => {
    const jsonl = sharedPath('ztf', 'alerts.jsonl');
    const whole = await readAlertFile(jsonl);
    const gz = path.join(tmp, 'alerts.jsonl.gz');
    writeFileSync(gz, gzipSync(readFileSync(jsonl)));
    for (const [file, chunkBytes] of [[jsonl, 4096], [jsonl, 1 << 20], [gz, 4096], [gz, 1 << 20]] as const) {
      const r = await streamed(file, { chunkBytes, batchSize: 32 });
      expect(r.errors).toEqual([]);
      expect(r.batches.map((b) => b.alerts.length)).toEqual([32, 32, 32, 32, 12]);
      expectSameAlerts(r.alerts, whole.alerts);
    }
    // 7-byte reads split lines (and the gzip stream) at every possible place
    const few = path.join(tmp, 'few.jsonl.gz');
    writeFileSync(few, gzipSync(`${readFileSync(jsonl, 'utf8').trim().split('\n').slice(0, 4).join('\n')}\n`));
    expectSameAlerts((await streamed(few, { chunkBytes: 7 })).alerts, whole.alerts.slice(0, 4));
  });

  it('names bad lines by their number across chunk boundaries, and refuses an over-long line without holding it', async () => {
    const lines = readFileSync(sharedPath('ztf', 'alerts.jsonl'), 'utf8').trim().split('\n').slice(0, 6);
    lines.splice(2, 0, '{"objectId": "ZTF_broken"');
    lines.splice(5, 0, '');
    const file = path.join(tmp, 'bad.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const whole = await readAlertFile(file);
    const r = await streamed(file, { chunkBytes: 5 });
    expect(r.errors).toEqual(whole.errors.map((e) => e.message));
    expect(r.errors).toEqual([expect.stringMatching(/bad\.jsonl: line 3: invalid JSON/)]);
    expectSameAlerts(r.alerts, whole.alerts);
    // a line over the limit is one bad record; the lines after it are read (the first line is the longest)
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l)));
    const capped = await streamed(file, { chunkBytes: 1000, maxLineBytes: longest - 1 });
    expect(capped.errors).toEqual([r.errors[0], expect.stringMatching(new RegExp(`bad\\.jsonl: line ${lines.findIndex((l) => Buffer.byteLength(l) === longest) + 1}: longer than ${longest - 1} bytes`))]);
    expect(capped.alerts).toHaveLength(whole.alerts.length - 1);
  });

  it('reads Avro in windows of whole blocks, numbering blocks, records and bytes as in the whole file', async () => {
    const src = readAvroContainer(readFileSync(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro')), 'part-3');
    for (const codec of ['null', 'deflate'] as const) {
      const buf = Buffer.from(writeAvroContainer(src.schema, src.records.map((x) => x.value), codec, 3));
      // a corrupt block in the middle: reported, the blocks after it read
      const sync = buf.subarray(buf.length - 16);
      const second = buf.indexOf(sync, buf.indexOf(sync) + 16) + 16;
      const third = buf.indexOf(sync, second) + 16;
      for (let i = third + 20; i < third + 30; i++) buf[i] ^= 0xff;
      const file = path.join(tmp, `damaged-${codec}.avro`);
      writeFileSync(file, buf);
      const whole = await readAlertsFromBuffer(buf, file);
      expect(whole.errors).toHaveLength(1);
      for (const o of [{ avroWindowBytes: 1, chunkBytes: 100 }, { avroWindowBytes: 40_000, chunkBytes: 4096 }, {}]) {
        const r = await streamed(file, { ...o, batchSize: 5 });
        expect(r.errors, JSON.stringify(o)).toEqual(whole.errors.map((e) => e.message));
        expectSameAlerts(r.alerts, whole.alerts);
      }
    }
    const rubin = sharedPath('lsst', 'part-2-918301.avro');
    expectSameAlerts((await streamed(rubin, { avroWindowBytes: 1, chunkBytes: 999 })).alerts, (await readAlertFile(rubin)).alerts);
  });

  it('reports a truncated Avro file and a truncated gzip stream by file', async () => {
    const src = readAvroContainer(readFileSync(sharedPath('ztf', 'fink_avro', 'part-3-305711.avro')), 'part-3');
    const full = writeAvroContainer(src.schema, src.records.map((x) => x.value), 'null', 10);
    const cut = path.join(tmp, 'truncated.avro');
    writeFileSync(cut, full.subarray(0, full.length - 5000));
    const whole = await readAlertFile(cut);
    const r = await streamed(cut, { avroWindowBytes: 1, chunkBytes: 1000 });
    expect(r.errors).toEqual(whole.errors.map((e) => e.message));
    expect(r.alerts).toHaveLength(30);
    const gz = path.join(tmp, 'cut.jsonl.gz');
    const zipped = gzipSync(readFileSync(sharedPath('ztf', 'alerts.jsonl')));
    writeFileSync(gz, zipped.subarray(0, zipped.length >> 1));
    await expect(streamed(gz, {})).rejects.toThrow(/cut\.jsonl\.gz: file: .*(unexpected end|corrupt gzip)/);
    const empty = path.join(tmp, 'empty.jsonl');
    writeFileSync(empty, '');
    await expect(streamed(empty, {})).rejects.toThrow(/empty\.jsonl: file: empty file/);
    await expect(streamed(path.join(tmp, 'missing.jsonl'), {})).rejects.toThrow(/missing\.jsonl: file: ENOENT/);
  });
});
