import { deflateSync, crc32 } from 'node:zlib';
import { glyph, GLYPH_HEIGHT, GLYPH_WIDTH } from './font.ts';

export type Rgb = [number, number, number];

/** An RGB raster with just what a line chart needs. */
export class Raster {
  readonly pixels: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.pixels = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.pixels.set(background, i * 3);
  }

  set(x: number, y: number, c: Rgb): void {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= this.width || yi >= this.height) return;
    this.pixels.set(c, (yi * this.width + xi) * 3);
  }

  /** A line of the given thickness (Bresenham with a square brush). */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const r = Math.floor(thickness / 2);
    for (let s = 0; s <= steps; s++) {
      const x = x0 + ((x1 - x0) * s) / steps;
      const y = y0 + ((y1 - y0) * s) / steps;
      for (let dx = -r; dx <= r; dx++) for (let dy = -r; dy <= r; dy++) this.set(x + dx, y + dy, c);
    }
  }

  text(x: number, y: number, s: string, c: Rgb, scale = 1): void {
    [...s].forEach((ch, k) => {
      const rows = glyph(ch);
      rows.forEach((bits, row) => {
        for (let col = 0; col < 5; col++) if (bits & (1 << (4 - col))) {
          for (let a = 0; a < scale; a++) for (let b = 0; b < scale; b++) this.set(x + (k * GLYPH_WIDTH + col) * scale + a, y + row * scale + b, c);
        }
      });
    });
  }

  textWidth(s: string, scale = 1): number {
    return s.length * GLYPH_WIDTH * scale;
  }

  /** PNG bytes (8-bit RGB, no interlace). */
  toPng(): Buffer {
    const raw = Buffer.alloc((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) {
      raw[y * (this.width * 3 + 1)] = 0;
      Buffer.from(this.pixels.buffer, this.pixels.byteOffset + y * this.width * 3, this.width * 3).copy(raw, y * (this.width * 3 + 1) + 1);
    }
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(crc32(td));
      return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(this.width, 0);
    ihdr.writeUInt32BE(this.height, 4);
    ihdr[8] = 8;
    ihdr[9] = 2;
    return Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]);
  }
}

export interface Series {
  label: string;
  color: Rgb;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Optional band (e.g. min/max over seeds) drawn as thin lines. */
  lower?: ArrayLike<number>;
  upper?: ArrayLike<number>;
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * mag;
}

/** A line chart with axes, ticks, labels and a legend, as PNG bytes. */
export function lineChartPng(opts: { title: string; xLabel: string; yLabel: string; series: Series[]; width?: number; height?: number; markers?: boolean }): Buffer {
  const W = opts.width ?? 800;
  const H = opts.height ?? 520;
  const img = new Raster(W, H);
  const m = { left: 70, right: 20, top: 40, bottom: 55 };
  const all = opts.series.flatMap((s) => [...Array.from(s.y), ...Array.from(s.upper ?? [])]);
  const xs = opts.series.flatMap((s) => Array.from(s.x));
  // a single x (one model version) still gets an axis around it
  const xMin = Math.min(...xs) - (Math.min(...xs) === Math.max(...xs) ? 1 : 0);
  const xMax = Math.max(...xs) + (Math.min(...xs) === Math.max(...xs) ? 1 : 0);
  const yMin = 0;
  const yMax = Math.max(1, ...all) * 1.05;
  const px = (x: number) => m.left + ((x - xMin) / (xMax - xMin || 1)) * (W - m.left - m.right);
  const py = (y: number) => H - m.bottom - ((y - yMin) / (yMax - yMin || 1)) * (H - m.top - m.bottom);
  const axis: Rgb = [40, 40, 40];
  const grid: Rgb = [225, 225, 225];
  const yStep = niceStep(yMax - yMin, 6);
  for (let v = 0; v <= yMax; v += yStep) {
    img.line(m.left, py(v), W - m.right, py(v), grid);
    const label = Number(v.toPrecision(6)).toString();
    img.text(m.left - 8 - img.textWidth(label), py(v) - 3, label, axis);
  }
  const xStep = niceStep(xMax - xMin, 8);
  for (let v = Math.ceil(xMin / xStep) * xStep; v <= xMax; v += xStep) {
    img.line(px(v), m.top, px(v), H - m.bottom, grid);
    const label = Number(v.toPrecision(6)).toString();
    img.text(px(v) - img.textWidth(label) / 2, H - m.bottom + 8, label, axis);
  }
  img.line(m.left, m.top, m.left, H - m.bottom, axis, 2);
  img.line(m.left, H - m.bottom, W - m.right, H - m.bottom, axis, 2);
  img.text((W - img.textWidth(opts.title, 2)) / 2, 10, opts.title, axis, 2);
  img.text((W - img.textWidth(opts.xLabel)) / 2, H - 22, opts.xLabel, axis);
  [...opts.yLabel].forEach((ch, k) => img.text(12, m.top + 20 + k * 9, ch, axis));
  for (const s of opts.series) {
    const light: Rgb = [Math.round((s.color[0] + 510) / 3), Math.round((s.color[1] + 510) / 3), Math.round((s.color[2] + 510) / 3)];
    for (const band of [s.lower, s.upper]) if (band) for (let i = 1; i < s.x.length; i++) img.line(px(s.x[i - 1]), py(band[i - 1]), px(s.x[i]), py(band[i]), light);
    for (let i = 1; i < s.x.length; i++) img.line(px(s.x[i - 1]), py(s.y[i - 1]), px(s.x[i]), py(s.y[i]), s.color, 3);
    if (opts.markers) for (let i = 0; i < s.x.length; i++) img.line(px(s.x[i]) - 3, py(s.y[i]), px(s.x[i]) + 3, py(s.y[i]), s.color, 7);
  }
  opts.series.forEach((s, k) => {
    const y = m.top + 12 + k * 16;
    img.line(m.left + 15, y + 3, m.left + 40, y + 3, s.color, 3);
    img.text(m.left + 48, y, s.label, axis);
  });
  return img.toPng();
}
