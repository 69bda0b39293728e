import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../../engine/index.ts';
import { confusionChart, learningCurveChart, moduleReportHtml } from '../../engine/adapters/report.ts';
import { importancesSpec, learningCurveSpec } from '../../engine/adapters/plot/charts.ts';
import { pngSize, renderSvg, svgToPng, writeChart } from '../../engine/adapters/plot/render.ts';
import { REPO_ROOT } from '../shared.ts';
import { demoStore } from '../server/fixture.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-plots-'));
const ARTIFACTS = path.join(REPO_ROOT, 'test', 'artifacts');
let db: string;

function sieve(args: string[]) {
  return spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
}

/** The SVG is well formed enough for resvg to render it, at the size its root element declares. */
function checkSvgAndPng(svg: string, png: Buffer): void {
  const m = /^<svg[^>]* width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(svg);
  expect(m, svg.slice(0, 200)).not.toBeNull();
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const { width, height } = pngSize(png);
  expect(width).toBe(Math.ceil(2 * Number(m![1])));
  expect(height).toBe(Math.ceil(2 * Number(m![2])));
}

beforeAll(async () => {
  db = await demoStore();
  mkdirSync(ARTIFACTS, { recursive: true });
}, 200_000);

describe('figures', () => {
  it('experiment al writes curves.svg/.png/.vl.json: each metric against labels, mean and ±1 sd over seeds, random dashed, the paper anchors at 6.7%', () => {
    const out = path.join(tmp, 'al');
    const r = sieve(['experiment', 'al', '--data', 'sim', '--sim-n', '4000', '--positive-fraction', '0.067', '--strategy', 'uncertainty', '--seeds', '3', '--queries', '6', '--trees', '10', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const spec = JSON.parse(readFileSync(path.join(out, 'curves.vl.json'), 'utf8'));
    expect(spec.title.text).toBe('Active learning, Early type Ia supernovae: uncertainty vs random');
    expect(spec.facet.field).toBe('metric');
    const rows = (spec.data.values as Array<{ kind: string; strategy: string; metric: string; labels: number; mean: number; low: number; high: number; seeds: number }>).filter((x) => x.kind === 'curve');
    // 2 strategies x 4 metrics x 7 label counts, each the mean of 3 seeds with its band
    expect(rows).toHaveLength(2 * 4 * 7);
    for (const row of rows) {
      expect(row.seeds).toBe(3);
      expect(row.low).toBeLessThanOrEqual(row.mean);
      expect(row.high).toBeGreaterThanOrEqual(row.mean);
    }
    const line = spec.spec.layer[1];
    expect(line.encoding.strokeDash.scale.range[line.encoding.strokeDash.scale.domain.indexOf('random')]).toEqual([6, 4]);
    const anchors = (spec.data.values as Array<{ kind: string; metric: string; mean: number }>).filter((x) => x.kind === 'anchor');
    expect(anchors.map((a) => [a.metric, a.mean])).toEqual([['figure of merit (W = 3)', 0.395], ['figure of merit (W = 3)', 0.16]]);
    checkSvgAndPng(readFileSync(path.join(out, 'curves.svg'), 'utf8'), readFileSync(path.join(out, 'curves.png')));
    copyFileSync(path.join(out, 'curves.png'), path.join(ARTIFACTS, 'al-curves.png'));
    // on another module's data the title names that module, not early SN Ia
    const kn = path.join(tmp, 'al-kn');
    expect(sieve(['experiment', 'al', '--module', 'kilonova', '--data', 'sim', '--sim-n', '6000', '--seeds', '1', '--queries', '3', '--trees', '5', '--initial', '4', '--out', kn]).status).toBe(0);
    expect(JSON.parse(readFileSync(path.join(kn, 'curves.vl.json'), 'utf8')).title.text).toBe('Active learning, Kilonovae: uncertainty vs random');
  }, 180_000);

  it('experiment anomaly writes discovery.svg/.png/.vl.json with a band over seeds', () => {
    const out = path.join(tmp, 'anomaly');
    const r = sieve(['experiment', 'anomaly', '--seeds', '2', '--n', '800', '--budget', '30', '--trees', '40', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const spec = JSON.parse(readFileSync(path.join(out, 'discovery.vl.json'), 'utf8'));
    const rows = spec.data.values as Array<{ method: string; shown: number; mean: number; low: number; high: number }>;
    expect(new Set(rows.map((x) => x.method))).toEqual(new Set(['isolation forest', 'AAD (with expert feedback)']));
    expect(rows.filter((x) => x.method === 'isolation forest')).toHaveLength(30);
    expect(spec.layer.map((l: { mark: { type: string } }) => l.mark.type)).toEqual(['area', 'line']);
    checkSvgAndPng(readFileSync(path.join(out, 'discovery.svg'), 'utf8'), readFileSync(path.join(out, 'discovery.png')));
    copyFileSync(path.join(out, 'discovery.png'), path.join(ARTIFACTS, 'anomaly-discovery.png'));
  }, 180_000);

  it('models --plot and --report: the learning curve with intervals, a confusion heatmap, importances, one self-contained page', async () => {
    const store = Store.create(db);
    const lc = learningCurveChart(store, 'microlensing');
    const points = (lc.data as { values: Array<{ version: number; low: number; high: number; value: number; status: string }> }).values;
    expect(points[0]).toMatchObject({ version: 1, status: 'deployed (provisional)' });
    expect(points[0].low).toBeLessThanOrEqual(points[0].value);
    const m = store.getModel('microlensing', 1);
    const cm = confusionChart('microlensing', 1, ['ML', 'VAR', 'CONST', 'SN'], m.metrics)!;
    const cells = (cm.data as { values: Array<{ truth: string; predicted: string; count: number }> }).values;
    expect(cells).toHaveLength(16);
    expect(cells.reduce((s, c) => s + c.count, 0)).toBe(m.metrics.n);
    const imp = importancesSpec({ title: 'x', features: [{ name: 'amplitude_g', importance: 0.2 }, { name: 'skew_r', importance: 0.5 }] });
    expect((imp.data as { values: Array<{ name: string }> }).values.map((v) => v.name)).toEqual(['skew_r', 'amplitude_g']);
    for (const [name, spec] of [['learning-curve', lc], ['confusion-microlensing', cm], ['importances', imp]] as const) {
      const svg = await renderSvg(spec);
      const png = svgToPng(svg);
      checkSvgAndPng(svg, png);
      await writeChart(spec, path.join(ARTIFACTS, `chart-${name}`));
    }
    const html = await moduleReportHtml(store, 'early-snia');
    store.close();
    expect(html).toContain('<h2>Versions</h2>');
    expect(html).toContain('&quot;name&quot;: &quot;early-snia&quot;');
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(3);
    // nothing to fetch: no script, stylesheet, image or font URL
    expect(html).not.toMatch(/<script|<link|src="http|url\(http/);
    const r = sieve(['models', 'early-snia', '--db', db, '--plot', path.join(tmp, 'lc.png'), '--report', path.join(tmp, 'report.html')]);
    expect(r.status, r.stderr).toBe(0);
    for (const ext of ['svg', 'png', 'vl.json']) expect(readFileSync(path.join(tmp, `lc.${ext}`)).length).toBeGreaterThan(100);
    copyFileSync(path.join(tmp, 'report.html'), path.join(ARTIFACTS, 'early-snia-report.html'));
  }, 120_000);
});

describe('report figures whose data span nothing (issue 22, point 6)', () => {
  it('draws a readable axis, never one tick labelled 0.000000', async () => {
    // a version imported from scikit-learn is at 0 labelled objects; a forest that never split has importances 0
    const lc = await renderSvg(learningCurveSpec({ module: 'm', metric: 'auc', points: [{ version: 1, nLabels: 0, value: 0.7, low: 0.6, high: 0.8, deployed: true, provisional: false }] }));
    const imp = await renderSvg(importancesSpec({ title: 'm v1: feature importances', features: [{ name: 'ssdistnr', importance: 0 }] }));
    for (const svg of [lc, imp]) {
      expect(svg).not.toContain('0.000000');
      expect(svg).toMatch(/>1(\.0)?</);
    }
  });
});
