import { gunzipSync, gzipSync } from 'node:zlib';

export interface FitsImage {
  /** Pixel values, row-major, first row = FITS row 1 (bottom of the image in FITS convention). */
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly bitpix: number;
  readonly header: Readonly<Record<string, string | number | boolean>>;
}

export class FitsError extends Error {
  constructor(readonly source: string, reason: string) {
    super(`${source}: ${reason}`);
    this.name = 'FitsError';
  }
}

const BLOCK = 2880;
const CARD = 80;

function parseCardValue(raw: string): string | number | boolean {
  const v = raw.split('/')[0].trim();
  if (raw.trim().startsWith("'")) {
    const m = raw.match(/'((?:[^']|'')*)'/);
    return m ? m[1].replace(/''/g, "'").trimEnd() : '';
  }
  if (v === 'T') return true;
  if (v === 'F') return false;
  const n = Number(v.replace(/D/i, 'E'));
  return Number.isNaN(n) ? v : n;
}

/**
 * Decodes a FITS postage stamp (primary HDU, 2-D image), gzipped or not, into float32 pixels.
 * BITPIX 8/16/32/64/-32/-64 with BSCALE/BZERO and BLANK are handled; a stamp that is not FITS, is
 * truncated, or whose header is incomplete throws a FitsError naming `source` and the reason.
 */
export function decodeFitsStamp(bytes: Uint8Array, source = 'stamp'): FitsImage {
  let buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (e) {
      throw new FitsError(source, `corrupt gzip stream: ${(e as Error).message}`);
    }
  }
  if (buf.length < BLOCK || buf.toString('ascii', 0, 6) !== 'SIMPLE') {
    throw new FitsError(source, buf.length < BLOCK ? `too short for a FITS header (${buf.length} bytes)` : 'not a FITS file (no SIMPLE card)');
  }
  const header: Record<string, string | number | boolean> = {};
  let end = -1;
  for (let off = 0; off + CARD <= buf.length; off += CARD) {
    const card = buf.toString('ascii', off, off + CARD);
    const key = card.slice(0, 8).trim();
    if (key === 'END') {
      end = off + CARD;
      break;
    }
    if (card[8] === '=' && key) header[key] = parseCardValue(card.slice(10));
  }
  if (end < 0) throw new FitsError(source, 'FITS header has no END card (truncated?)');
  const dataStart = Math.ceil(end / BLOCK) * BLOCK;
  const bitpix = header.BITPIX;
  const naxis = header.NAXIS;
  if (typeof bitpix !== 'number' || ![8, 16, 32, 64, -32, -64].includes(bitpix)) throw new FitsError(source, `bad BITPIX ${String(bitpix)}`);
  if (naxis !== 2) throw new FitsError(source, `expected a 2-D image, NAXIS = ${String(naxis)}`);
  const width = header.NAXIS1;
  const height = header.NAXIS2;
  if (typeof width !== 'number' || typeof height !== 'number' || width <= 0 || height <= 0) {
    throw new FitsError(source, `bad image shape NAXIS1=${String(width)} NAXIS2=${String(height)}`);
  }
  const bytesPer = Math.abs(bitpix) / 8;
  const n = width * height;
  if (dataStart + n * bytesPer > buf.length) {
    throw new FitsError(source, `truncated data: ${width}x${height}x${bytesPer} bytes expected, ${Math.max(0, buf.length - dataStart)} present`);
  }
  const bscale = typeof header.BSCALE === 'number' ? header.BSCALE : 1;
  const bzero = typeof header.BZERO === 'number' ? header.BZERO : 0;
  const blank = typeof header.BLANK === 'number' ? header.BLANK : undefined;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const o = dataStart + i * bytesPer;
    let raw: number;
    switch (bitpix) {
      case 8: raw = buf.readUInt8(o); break;
      case 16: raw = buf.readInt16BE(o); break;
      case 32: raw = buf.readInt32BE(o); break;
      case 64: raw = Number(buf.readBigInt64BE(o)); break;
      case -32: raw = buf.readFloatBE(o); break;
      default: raw = buf.readDoubleBE(o);
    }
    data[i] = bitpix > 0 && blank !== undefined && raw === blank ? NaN : bzero + bscale * raw;
  }
  return { data, width, height, bitpix, header };
}

function card(key: string, value: string | number | boolean, comment = ''): string {
  const v = typeof value === 'boolean' ? (value ? 'T' : 'F') : typeof value === 'number' ? String(value) : `'${value.replace(/'/g, "''").padEnd(8)}'`;
  return `${key.padEnd(8)}= ${v.padStart(20)}${comment ? ` / ${comment}` : ''}`.slice(0, CARD).padEnd(CARD);
}

/**
 * A 2-D float32 image as a gzipped FITS file (primary HDU, BITPIX -32), the form of ZTF's alert stamps.
 * `data` is row-major with the first row = FITS row 1, as decodeFitsStamp gives it back.
 */
export function encodeFitsStamp(image: { width: number; height: number; data: Float32Array; header?: Record<string, string | number | boolean> }): Uint8Array {
  const cards = [
    card('SIMPLE', true, 'conforms to FITS'), card('BITPIX', -32, 'IEEE float32'), card('NAXIS', 2), card('NAXIS1', image.width), card('NAXIS2', image.height),
    ...Object.entries(image.header ?? {}).map(([k, v]) => card(k.toUpperCase().slice(0, 8), v)),
    'END'.padEnd(CARD),
  ];
  const headerBytes = Math.ceil((cards.length * CARD) / BLOCK) * BLOCK;
  const dataBytes = Math.ceil((image.data.length * 4) / BLOCK) * BLOCK;
  const buf = Buffer.alloc(headerBytes + dataBytes, 0);
  buf.write(cards.join('').padEnd(headerBytes, ' '), 0, 'ascii');
  for (let i = 0; i < image.data.length; i++) buf.writeFloatBE(image.data[i], headerBytes + 4 * i);
  return gzipSync(buf, { level: 6 });
}
