import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { decodeFitsStamp, readAlertFile } from '../../datasets/index.ts';
import { cutoutPng, stretchPixels } from '../../engine/index.ts';
import { sharedPath } from '../shared.ts';

describe('FITS stamps as PNG', () => {
  it('writes each stamp pixel, stretched, magnified and north up, into a PNG a decoder reads back', async () => {
    const alert = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts[0];
    const fits = alert.cutouts.science!.bytes;
    const img = decodeFitsStamp(fits, 'science');
    const png = decode(cutoutPng(fits, 'zscale', 'science', 2));
    expect([png.width, png.height, png.channels, png.depth]).toEqual([img.width * 2, img.height * 2, 3, 8]);
    const v = stretchPixels(img.data, 'zscale');
    // FITS row 0 is the bottom row of the picture; each stamp pixel is a 2x2 block of one grey
    for (const [x, y] of [[0, 0], [10, 20], [img.width - 1, img.height - 1]]) {
      const p = v[y * img.width + x];
      const grey = Number.isNaN(p) ? [110, 0, 0] : [Math.round(255 * p), Math.round(255 * p), Math.round(255 * p)];
      for (const [a, b] of [[0, 0], [1, 1]]) {
        const at = (((img.height - 1 - y) * 2 + b) * png.width + x * 2 + a) * 3;
        expect([...png.data.subarray(at, at + 3)]).toEqual(grey);
      }
    }
  });
});
