import { spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, sharedPath } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-cli-'));

function sieve(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('npm', ['run', '-s', 'sieve', '--', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function csv(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(','));
}

describe('sieve CLI', () => {
  it('writes one early SN Ia row per alert, identical from JSON lines and Parquet', () => {
    const out1 = path.join(tmp, 'jsonl.csv');
    const r = sieve(['features', '--extractor', 'early-snia', '--in', sharedPath('ztf', 'alerts.jsonl'), '--out', out1]);
    expect(r.status, r.stderr).toBe(0);
    const rows = csv(out1);
    expect(rows[0]).toEqual(['objectId', 'candid', 'passes_cuts', 'a_g', 'b_g', 'c_g', 'snratio_g', 'mse_g', 'nrise_g', 'a_r', 'b_r', 'c_r', 'snratio_r', 'mse_r', 'nrise_r']);
    expect(rows).toHaveLength(141);
    // A Parquet file with a misleading extension is still read as Parquet.
    const misnamed = path.join(tmp, 'alerts.data');
    copyFileSync(sharedPath('ztf', 'parquet', 'alerts.parquet'), misnamed);
    const out2 = path.join(tmp, 'parquet.csv');
    expect(sieve(['features', '--extractor', 'early-snia', '--in', misnamed, '--out', out2]).status).toBe(0);
    const byCandid = new Map(rows.slice(1).map((row) => [row[1], row.join(',')]));
    const pq = csv(out2).slice(1);
    expect(pq).toHaveLength(51);
    for (const row of pq) expect(byCandid.get(row[1])).toBe(row.join(','));
  });

  it('writes 25 anomaly columns per band and the kilonova features from Avro', () => {
    const out = path.join(tmp, 'anomaly.csv');
    expect(sieve(['features', '--extractor', 'anomaly', '--in', sharedPath('ztf', 'fink_avro', 'part-3-305711.avro'), '--out', out]).status).toBe(0);
    const rows = csv(out);
    expect(rows[0]).toHaveLength(3 + 50);
    expect(rows[0][3]).toBe('amplitude_g');
    expect(rows[0][52]).toBe('mean_r');
    expect(rows).toHaveLength(32);
    const kn = path.join(tmp, 'kn.csv');
    expect(sieve(['features', '--extractor', 'kilonova', '--in', sharedPath('lsst', 'part-2-918301.avro'), '--out', kn]).status).toBe(0);
    expect(csv(kn)[0].slice(3)).toEqual(['coeff1_g', 'coeff2_g', 'coeff3_g', 'residuo_g', 'maxflux_g', 'coeff1_r', 'coeff2_r', 'coeff3_r', 'residuo_r', 'maxflux_r']);
  });

  it('names the file and record of bad input, writes the good rows, and exits non-zero', () => {
    const lines = readFileSync(sharedPath('ztf', 'alerts.jsonl'), 'utf8').trim().split('\n').slice(0, 3);
    lines.splice(1, 0, '{"objectId": "ZTF00broken", "candid": 1}');
    const bad = path.join(tmp, 'bad.jsonl');
    writeFileSync(bad, lines.join('\n'));
    const out = path.join(tmp, 'bad.csv');
    const r = sieve(['features', '--extractor', 'early-snia', '--in', bad, '--out', out]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.jsonl: line 2, objectId ZTF00broken, candid 1: missing field 'candidate'/);
    expect(csv(out)).toHaveLength(4);
  });

  it('simulates a reproducible data set', () => {
    const a = path.join(tmp, 'a.jsonl');
    const b = path.join(tmp, 'b.jsonl.gz');
    expect(sieve(['simulate', '--n', '300', '--seed', '9', '--out', a, '--workers', '1']).status).toBe(0);
    expect(sieve(['simulate', '--n', '300', '--seed', '9', '--out', b, '--workers', '2']).status).toBe(0);
    const unzipped = gunzipSync(readFileSync(b));
    expect(unzipped.equals(readFileSync(a))).toBe(true);
    const lines = readFileSync(a, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(300);
    expect(JSON.parse(lines[0]).format).toBe('sieve-lightcurve/1');
    const out = path.join(tmp, 'sim.csv');
    expect(sieve(['features', '--extractor', 'anomaly', '--in', b, '--out', out]).status).toBe(0);
    expect(csv(out)).toHaveLength(301);
  });
});

describe('sieve demo and the store commands', () => {
  it('builds a store with a first deployed version of every module, then labels, queues, deploys and rolls back', () => {
    const db = path.join(tmp, 'demo.db');
    // the demo a newcomer runs (its default night of 2,000): with Fink's early SN Ia cut (a fit in both bands) a
    // smaller night leaves too few SN Ia in the held-out quarter to find one
    const r = sieve(['demo', '--db', db, '--no-serve']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/early-snia: \d+ seed labels \(\d+ from the archive\); v1: deployed \(provisional\): first version, fom [\d.]+ cross-validated; held-out: fom [\d.]+, [1-9]\d* of \d+ SN Ia found/);
    expect(r.stdout).toMatch(/anomaly: v1 deployed/);
    // a first version that never predicts its positive class is kept as a candidate, not deployed
    expect(r.stdout).toMatch(/kilonova: \d+ seed labels .*; v1: kept: never predicts kilonova/);
    const models = JSON.parse(sieve(['models', '--db', db, '--json']).stdout);
    expect(models.filter((m: { status: string }) => m.status === 'deployed').map((m: { module: string }) => m.module).sort()).toEqual(['anomaly', 'anomaly-rubin', 'early-snia', 'early-snia-rubin', 'microlensing']);
    const q = JSON.parse(sieve(['queue', 'early-snia', '--db', db, '--k', '3', '--json', '--expert', 'eve']).stdout);
    expect(q).toHaveLength(3);
    const lab = sieve(['label', String(q[0].alertId), 'SN Ia', '--module', 'early-snia', '--db', db, '--expert', 'eve', '--retrain-every', '1']);
    expect(lab.status, lab.stderr).toBe(0);
    expect(lab.stdout).toMatch(/automatic retrain: early-snia v2 (deployed|kept as candidate)/);
    expect(sieve(['label', String(q[0].alertId), 'maybe', '--module', 'early-snia', '--db', db]).stderr).toMatch(/label 'maybe' is not one of early-snia's labels/);
    expect(sieve(['deploy', 'early-snia', '2', '--db', db, '--actor', 'admin']).status).toBe(0);
    expect(sieve(['rollback', 'early-snia', '--db', db, '--actor', 'admin']).stdout).toMatch(/rolled back to v1/);
    const zip = path.join(tmp, 'demo-anomaly.zip');
    expect(sieve(['export', 'anomaly', '--db', db, '--format', 'fink-anomaly-zip', '--out', zip]).status).toBe(0);
    expect(readFileSync(zip).subarray(0, 2).toString()).toBe('PK');
    const copy = path.join(tmp, 'demo-backup.db');
    expect(sieve(['backup', copy, '--db', db]).status).toBe(0);
    expect(JSON.parse(sieve(['models', '--db', copy, '--json']).stdout).length).toBe(models.length + 1);
    // the module's learning curve from the registry, as a PNG (two versions: two points per metric)
    const png = path.join(tmp, 'early-snia-curve.png');
    const plot = sieve(['models', 'early-snia', '--db', db, '--plot', png]);
    expect(plot.stdout).toMatch(/learning curve of 2 version\(s\)/);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    // rendered at twice the vector chart's size, so it stays sharp on a slide
    const svgWidth = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(readFileSync(png.replace(/\.png$/, '.svg'), 'utf8'))![1]);
    expect(bytes.readUInt32BE(16)).toBe(Math.round(2 * svgWidth));
    expect(svgWidth).toBeGreaterThan(400);
  }, 300_000);

  it('runs the early SN Ia active-learning experiment on the real TNS alerts', () => {
    const out = path.join(tmp, 'al');
    const r = sieve(['experiment', 'al', '--seeds', '2', '--queries', '30', '--trees', '30', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const rows = csv(path.join(out, 'curves.csv'));
    expect(rows[0]).toEqual(['strategy', 'seed', 'nlabels', 'accuracy', 'efficiency', 'purity', 'fom']);
    expect(rows.filter((x) => x[0] === 'uncertainty')).toHaveLength(2 * 31);
    expect(rows.filter((x) => x[0] === 'random')).toHaveLength(2 * 31);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    // early-snia's cut is Fink's: a sigmoid fit in both bands (242 alerts have one in some band)
    expect(summary.data).toMatch(/^1888 labelled alerts from 4 file\(s\): 69 alerts passing early-snia's cuts, 54 SN Ia$/);
    expect(readFileSync(path.join(out, 'curves.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it('compares a list of strategies with random on the same seeds, and writes one CSV quoting rule', () => {
    const out = path.join(tmp, 'al-list');
    const r = sieve(['experiment', 'al', '--data', 'sim', '--sim-n', '3000', '--strategy', 'uncertainty,margin,random', '--seeds', '2', '--queries', '4', '--trees', '8', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const rows = parseCsv(readFileSync(path.join(out, 'curves.csv'), 'utf8')) as string[][];
    for (const row of rows) expect(row).toHaveLength(7);
    for (const st of ['uncertainty', 'margin', 'random']) expect(rows.filter((x) => x[0] === st)).toHaveLength(2 * 5);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.strategies).toEqual(['uncertainty', 'margin', 'random']);
    expect(Object.keys(summary.labels_to_match_random_final_fom)).toEqual(['uncertainty', 'margin']);
    expect(Object.keys(summary.final)).toEqual(['uncertainty', 'margin', 'random']);
  });

  it('subsamples the SN Ia of a data set to a survey-like fraction', () => {
    const out = path.join(tmp, 'al-frac');
    const r = sieve(['experiment', 'al', '--data', 'sim', '--sim-n', '4000', '--positive-fraction', '0.067', '--seeds', '1', '--queries', '5', '--trees', '10', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const m = /SN Ia subsampled to 6\.7%: (\d+) alerts, (\d+) SN Ia/.exec(summary.data)!;
    expect(m).not.toBeNull();
    expect(Number(m[2]) / Number(m[1])).toBeCloseTo(0.067, 2);
  });
});
