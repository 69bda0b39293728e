import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeFitsStamp, FitsError, readAlertFile } from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';

/** A minimal FITS image written by hand: header cards padded to 2880 bytes, big-endian data. */
function makeFits(cards: string[], data: Buffer): Buffer {
  const header = [...cards, 'END'].map((c) => c.padEnd(80)).join('');
  const headerBlock = Buffer.alloc(Math.ceil(header.length / 2880) * 2880, ' ');
  headerBlock.write(header, 'ascii');
  const dataBlock = Buffer.alloc(Math.ceil(data.length / 2880) * 2880);
  data.copy(dataBlock);
  return Buffer.concat([headerBlock, dataBlock]);
}

describe('FITS cutout decoder', () => {
  it('decodes every real ZTF stamp (gzipped, BITPIX -32) into finite-shaped float images', async () => {
    const r = await readAlertFile(sharedPath('ztf', 'alerts.jsonl'));
    let n = 0;
    let finiteTotal = 0;
    let pixels = 0;
    for (const a of r.alerts.slice(0, 40)) {
      for (const k of ['science', 'template', 'difference'] as const) {
        const img = decodeFitsStamp(a.cutouts[k]!.bytes, `${a.candid} ${k}`);
        expect(img.bitpix).toBe(-32);
        expect(img.data.length).toBe(img.width * img.height);
        expect(img.height).toBe(63);
        // Stamps at a CCD edge carry NaN padding; the rest are real pixels.
        const finite = img.data.filter(Number.isFinite).length;
        expect(finite).toBeGreaterThan(0);
        finiteTotal += finite;
        pixels += img.data.length;
        n++;
      }
    }
    expect(n).toBe(120);
    expect(finiteTotal / pixels).toBeGreaterThan(0.9);
  });

  it('applies BSCALE/BZERO and BLANK for integer images', () => {
    const data = Buffer.alloc(2 * 3 * 2);
    [-32768, 0, 1, 2, 3, 32767].forEach((v, i) => data.writeInt16BE(v, 2 * i));
    const fits = makeFits(['SIMPLE  =                    T', 'BITPIX  =                   16', 'NAXIS   =                    2',
      'NAXIS1  =                    3', 'NAXIS2  =                    2', 'BSCALE  =                  0.5', 'BZERO   =                32768', 'BLANK   =               -32768'], data);
    const img = decodeFitsStamp(gzipSync(fits), 'int16');
    expect(img.width).toBe(3);
    expect(img.height).toBe(2);
    expect(Number.isNaN(img.data[0])).toBe(true);
    expect(Array.from(img.data.slice(1))).toEqual([32768, 32768.5, 32769, 32769.5, 32768 + 0.5 * 32767]);
  });

  it('gives a clear error for truncated, non-FITS and corrupt stamps', async () => {
    const r = await readAlertFile(sharedPath('ztf', 'alerts.jsonl'));
    const bytes = r.alerts[0].cutouts.science!.bytes;
    expect(() => decodeFitsStamp(bytes.subarray(0, bytes.length / 2), 'cut')).toThrow(FitsError);
    expect(() => decodeFitsStamp(bytes.subarray(0, bytes.length / 2), 'cut')).toThrow(/cut: corrupt gzip stream/);
    const data = Buffer.alloc(4 * 4);
    const fits = makeFits(['SIMPLE  =                    T', 'BITPIX  =                  -32', 'NAXIS   =                    2', 'NAXIS1  =                   10', 'NAXIS2  =                   10'], data);
    expect(() => decodeFitsStamp(fits.subarray(0, 2880 + 16), 'short')).toThrow(/short: truncated data/);
    expect(() => decodeFitsStamp(Buffer.from('hello world'.repeat(300)), 'text')).toThrow(/text: not a FITS file/);
    expect(() => decodeFitsStamp(Buffer.from('SIMPLE  =  T'.padEnd(2880 * 2)), 'noend')).toThrow(/noend: FITS header has no END card/);
  });
});
