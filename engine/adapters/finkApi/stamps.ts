import { encodeFitsStamp } from '../../../datasets/index.ts';
import { PullError } from './http.ts';

/**
 * A stamp as a Fink API gives it, as the FITS bytes Sieve keeps: a 2-D array of pixel rows (ZTF objects
 * `withcutouts`, the LSST cutouts route's `array` format; rows as `hdul[0].data.tolist()`, the first row FITS
 * row 1, null or NaN for a blank pixel) becomes a float32 FITS image (the form of the alerts' own stamps, and
 * every value the API sends, float32 widened, is a float32); base64 text (older answers) is the stamp's bytes.
 * null, '' and [] (the API's "no cutout") give null. Anything else is refused, naming `where`.
 */
export function stampBytes(v: unknown, where: string): Uint8Array | null {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) return null;
  if (typeof v === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s+/g, ''))) throw new PullError(`${where}: a stamp given as text is not base64`);
    return new Uint8Array(Buffer.from(v, 'base64'));
  }
  if (!Array.isArray(v) || !Array.isArray(v[0])) throw new PullError(`${where}: a stamp is neither a 2-D array of pixels nor base64 text`);
  const height = v.length;
  const width = (v[0] as unknown[]).length;
  if (width === 0) throw new PullError(`${where}: a stamp with empty rows`);
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = v[y] as unknown;
    if (!Array.isArray(row) || row.length !== width) throw new PullError(`${where}: stamp row ${y} has ${Array.isArray(row) ? row.length : 'no'} pixels, row 0 has ${width}`);
    for (let x = 0; x < width; x++) {
      const p = row[x] as unknown;
      if (p === null) data[y * width + x] = NaN;
      else if (typeof p === 'number') data[y * width + x] = p;
      else throw new PullError(`${where}: stamp pixel [${y}][${x}] is not a number`);
    }
  }
  return encodeFitsStamp({ width, height, data });
}
