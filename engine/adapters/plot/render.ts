import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A Vega-Lite specification (the JSON a user can open and restyle in the Vega editor). */
export type VegaLiteSpec = Record<string, unknown>;

const require = createRequire(import.meta.url);

/** Vega-Lite compiled to Vega, rendered headless to SVG (no canvas), then to PNG by resvg with the system fonts. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function svgToPng(svg: string, scale = 2): Buffer {
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const r = new Resvg(svg, { fitTo: { mode: 'zoom', value: scale }, background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } });
  return Buffer.from(r.render().asPng());
}

/** Width and height of a PNG (from its IHDR chunk). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/**
 * Writes a chart as NAME.svg, NAME.png and NAME.vl.json (the spec with its data inline) next to each other.
 * Returns the three paths.
 */
export async function writeChart(spec: VegaLiteSpec, base: string): Promise<{ svg: string; png: string; spec: string }> {
  const svg = await renderSvg(spec);
  writeFileSync(`${base}.svg`, svg);
  writeFileSync(`${base}.png`, svgToPng(svg));
  writeFileSync(`${base}.vl.json`, `${JSON.stringify(spec, null, 2)}\n`);
  return { svg: `${base}.svg`, png: `${base}.png`, spec: `${base}.vl.json` };
}
