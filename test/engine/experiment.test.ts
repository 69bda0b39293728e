import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { simulateObject } from '../../datasets/index.ts';
import { anomalyExtractor, earlySnIaExtractor } from '../../features/index.ts';
import {
  importFinkAnomalyZip, modelFromBundle, parseBundle, RandomForestClassifier, createBundle, serializeBundle, TwoBandAADModel, Random,
} from '../../models/index.ts';
import { REPO_ROOT } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-exp-'));

function sieve(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', ['run', '-s', 'sieve', '--', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sieve experiment anomaly', () => {
  const out = path.join(tmp, 'sim');

  it('finds more rare objects with AAD feedback than with a plain isolation forest, reproducibly', () => {
    const r = sieve(['experiment', 'anomaly', '--seeds', '2', '--n', '1500', '--trees', '60', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    for (const k of ['if_top50', 'aad_top50', 'if_top100', 'aad_top100']) expect(typeof summary[k]).toBe('number');
    expect(summary.aad_top100).toBeGreaterThan(summary.if_top100);
    expect(summary.per_seed).toHaveLength(2);
    expect(readFileSync(path.join(out, 'discovery.png')).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    const curves = readFileSync(path.join(out, 'curves.csv'), 'utf8').trim().split('\n');
    expect(curves[0]).toBe('method,seed,shown,found');
    expect(curves.length).toBeGreaterThan(200);
    const again = path.join(tmp, 'sim2');
    expect(sieve(['experiment', 'anomaly', '--seeds', '2', '--n', '1500', '--trees', '60', '--out', again]).status).toBe(0);
    expect(readFileSync(path.join(again, 'curves.csv'), 'utf8')).toBe(readFileSync(path.join(out, 'curves.csv'), 'utf8'));
  });

  it('exports the trained anomaly module as a Fink zip that onnxruntime scores like Sieve', async () => {
    const bundleFile = path.join(out, 'anomaly-module.bundle.json');
    const zip = path.join(tmp, 'fink.zip');
    const r = sieve(['export', bundleFile, '--format', 'fink-anomaly-zip', '--out', zip, '--name', 'sieve1']);
    expect(r.status, r.stderr).toBe(0);
    const imported = importFinkAnomalyZip(readFileSync(zip), 'fink.zip');
    expect(imported.name).toBe('sieve1');
    const model = modelFromBundle(parseBundle(readFileSync(bundleFile, 'utf8'))) as TwoBandAADModel;
    const rng = new Random(3, 3);
    const probe = new Float32Array(2000 * 25).map(() => rng.normal(0, 2));
    const session = await ort.InferenceSession.create(imported.onnxG, { logSeverityLevel: 3 });
    const res = await session.run({ X: new ort.Tensor('float32', probe, [2000, 25]) });
    const want = model.forestG.scoreSamples({ data: probe, rows: 2000, cols: 25 });
    const got = res.score.data as Float32Array;
    for (let i = 0; i < 2000; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5);
    // a two-band module has no single-file ONNX form
    expect(sieve(['export', bundleFile, '--format', 'onnx', '--out', path.join(tmp, 'x.onnx')]).stderr).toMatch(/no single-file ONNX export/);
  });

  it('exports classifier bundles as ONNX and as a verified bundle copy', async () => {
    const rng = new Random(4, 4);
    const X = { data: new Float32Array(500 * 12).map(() => rng.normal(0, 1)), rows: 500, cols: 12 };
    const y = Int32Array.from({ length: 500 }, (_, i) => (X.data[i * 12] > 0 ? 1 : 0));
    const rf = new RandomForestClassifier({ nEstimators: 10, seed: 1 }).fit(X, y);
    const file = path.join(tmp, 'rf.bundle.json');
    writeFileSync(file, serializeBundle(createBundle({ module: 'early-snia', version: '1', model: rf, featureSpec: earlySnIaExtractor().spec, classNames: ['other', 'SN Ia'], training: { X, y } })));
    const onnxFile = path.join(tmp, 'rf.onnx');
    expect(sieve(['export', file, '--format', 'onnx', '--out', onnxFile]).status).toBe(0);
    const session = await ort.InferenceSession.create(readFileSync(onnxFile), { logSeverityLevel: 3 });
    const res = await session.run({ X: new ort.Tensor('float32', X.data, [500, 12]) });
    const p = rf.predictProba(X);
    const q = res.probabilities.data as Float32Array;
    for (let i = 0; i < p.length; i++) expect(Math.abs(p[i] - q[i])).toBeLessThanOrEqual(1e-5);
    const copy = path.join(tmp, 'copy.json');
    expect(sieve(['export', file, '--format', 'bundle', '--out', copy]).status).toBe(0);
    expect(readFileSync(copy, 'utf8')).toBe(readFileSync(file, 'utf8'));
    writeFileSync(path.join(tmp, 'bad.json'), readFileSync(file, 'utf8').replace('"early-snia"', '"other"'));
    expect(sieve(['export', path.join(tmp, 'bad.json'), '--format', 'bundle', '--out', copy]).stderr).toMatch(/bad\.json: checksum mismatch/);
  });

  it('takes any labelled feature table, subsampling the positives to a fraction', () => {
    const ex = anomalyExtractor();
    const lines = [['objectId', ...ex.spec.columns, 'class'].join(',')];
    const f = new Float64Array(50);
    for (let i = 0; i < 1200; i++) {
      const o = simulateObject(21, i, { classWeights: { 'eclipsing binary': 1, 'SN Ia': 2, AGN: 2, 'RR Lyrae': 2 } });
      ex.extract(o.alert, f);
      lines.push([o.alert.objectId, ...Array.from(f, (v) => (Number.isNaN(v) ? 'NaN' : String(v))), o.alert.label].join(','));
    }
    const table = path.join(tmp, 'table.csv');
    writeFileSync(table, lines.join('\n') + '\n');
    const dir = path.join(tmp, 'table-exp');
    const r = sieve(['experiment', 'anomaly', '--seeds', '1', '--trees', '50', '--data', table, '--label-column', 'class', '--positive', 'eclipsing binary', '--positive-fraction', '0.02', '--out', dir]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8'));
    expect(summary.data).toMatch(/table\.csv/);
    const [, rows, positives] = summary.data.match(/^(\d+) rows of .*, (\d+) with class = eclipsing binary$/).map(Number);
    expect(positives).toBe(Math.round((0.02 * (rows - positives)) / 0.98));
    expect(sieve(['experiment', 'anomaly', '--data', table, '--label-column', 'nope', '--positive', 'x', '--out', dir]).stderr).toMatch(/table\.csv: no column 'nope'/);
  });
});
