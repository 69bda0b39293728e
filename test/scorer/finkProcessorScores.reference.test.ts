import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAlertFile, type Alert } from '../../datasets/index.ts';
import { ANOMALY_FEATURE_NAMES, EARLY_SNIA_RUBIN_FEATURE_NAMES, rubinPoints, rubinSniaSelection } from '../../features/index.ts';
import { combineBandScores, importFinkAnomalyZip, modelFromBundle, onnxRuntimeScorer, RandomForestClassifier } from '../../models/index.ts';
import { bandInputs, builtinModule, Store } from '../../engine/index.ts';
import { REPO_ROOT, SHARED, sharedPath } from '../shared.ts';

/**
 * `sieve import sklearn` of the model files of ../shared/data/fink/{ztf,rubin}/models and `sieve score
 * --format fink` against the scores Fink's own processors wrote with those models
 * (../shared/data/fink/README.md): fink/ztf/fink_processor_scores.csv (rfscore_sigmoid_full, knscore,
 * anomaly_score) and fink/rubin/fink_processor_scores.csv (rfscore_rainbow_elasticc_nometa, with its -1.0
 * sentinel). Probabilities within 1e-12, sentinels identical.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-fink-scores-'));
const db = path.join(tmp, 'fink.db');
const PROB = 1e-12;

function sieve(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function csvRows(...parts: string[]): Array<Record<string, string>> {
  return parse(readFileSync(sharedPath(...parts), 'utf8'), { columns: true }) as Array<Record<string, string>>;
}

/** `sieve score --format fink` lines, in source order. */
function scoreFink(modules: string[], from: string[]): Array<Record<string, unknown>> {
  const out = path.join(tmp, `${modules.join('-')}.jsonl`);
  const r = sieve(['score', '--module', ...modules, '--db', db, '--from', ...from, '--to', out, '--format', 'fink']);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/0 bad record\(s\)/);
  return readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function alertsOf(rows: Array<Record<string, string>>): Promise<Alert[]> {
  const out: Alert[] = [];
  for (const source of [...new Set(rows.map((r) => r.source))]) {
    const { alerts, errors } = await readAlertFile(path.join(SHARED, source));
    expect(errors).toEqual([]);
    out.push(...alerts);
  }
  expect(out.map((a) => String(a.candid))).toEqual(rows.map((r) => r.candid));
  return out;
}

beforeAll(() => {
  // the store as a broker operator makes it: the shipped modules, then Fink's model files imported
  const made = sieve(['ingest', sharedPath('ztf', 'avro', '472263571115115000.avro'), '--db', db]);
  expect(made.status, made.stderr).toBe(0);
  for (const [module, file] of [
    ['early-snia', sharedPath('fink', 'ztf', 'models', 'early-snia.pkl')],
    ['kilonova', sharedPath('fink', 'ztf', 'models', 'kilonova.pkl')],
    ['early-snia-rubin', sharedPath('fink', 'rubin', 'models', 'early-snia-rubin.pkl')],
  ]) {
    const r = sieve(['import', 'sklearn', file, '--module', module, '--db', db, '--deploy']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${module} v1: imported .*deployed`));
  }
}, 120_000);

describe("ZTF: Fink's early SN Ia, kilonova and anomaly processors (fink/ztf/fink_processor_scores.csv)", () => {
  const rows = csvRows('fink', 'ztf', 'fink_processor_scores.csv');

  it('gives rf_snia_vs_nonia and rf_kn_vs_nonkn on all 181 alerts, folders read as Fink delivers them', () => {
    expect(rows).toHaveLength(181);
    const lines = scoreFink(['early-snia', 'kilonova'], [sharedPath('ztf', 'alerts.jsonl'), sharedPath('ztf', 'avro'), sharedPath('ztf', 'fink_avro')]);
    const byCandid = new Map(lines.map((l) => [l.candid as string, l]));
    expect(byCandid.size).toBe(181);
    let nonZero = 0;
    for (const r of rows) {
      const got = byCandid.get(r.candid)!;
      expect(got, `${r.objectId} ${r.candid}`).toBeDefined();
      for (const col of ['rf_snia_vs_nonia', 'rf_kn_vs_nonkn']) {
        const ref = Number(r[col]);
        const v = got[col] as number;
        // 0 is Fink's value outside the processor's selection: identical, not close
        if (ref === 0) expect(v, `${r.objectId} ${col}`).toBe(0);
        else {
          nonZero++;
          expect(Math.abs(v - ref), `${r.objectId} ${r.candid} ${col}: ${v} vs ${ref}`).toBeLessThanOrEqual(PROB);
        }
      }
    }
    expect(nonZero).toBe(10); // 5 early SN Ia, 5 kilonova
  }, 120_000);

  it("reads the cdsxmatch and ndethist Fink's processors were given", async () => {
    const alerts = await alertsOf(rows);
    alerts.forEach((a, i) => {
      const xm = a.extra.cdsxmatch;
      expect(typeof xm === 'string' ? xm : 'Unknown', a.objectId).toBe(rows[i].cdsxmatch);
      expect(a.candidate.ndethist, a.objectId).toBe(Number(rows[i].ndethist));
    });
  });

  it("scores the anomaly zip's forests as Fink's processor: features of fid 1 to forest_r, fid 2 to forest_g, minimum of the valid bands", async () => {
    const zip = importFinkAnomalyZip(readFileSync(sharedPath('fink', 'ztf', 'models', 'anomaly_detection_forest_AAD_anomaly_v1.zip')));
    // Fink's run: one batch of the 181 alerts through onnxruntime, which sums a batch of more than 50 rows
    // over its threads' groups of trees in float32: two threads, as the reference run had
    const ort = { g: await onnxRuntimeScorer(zip.onnxG, { intraOpNumThreads: 2 }), r: await onnxRuntimeScorer(zip.onnxR, { intraOpNumThreads: 2 }) };
    const def = builtinModule('anomaly');
    const columns = def.extractor().spec.columns;
    const n = rows.length;
    const score = async (values: Float64Array) => {
      // the module's wiring, as the scorer feeds its forests
      const [inputG, inputR] = bandInputs(def, values, n, ['g', 'r']);
      const sg = await ort.g(inputG, n);
      const sr = await ort.r(inputR, n);
      const valid = (x: Float32Array) => Uint8Array.from({ length: n }, (_, i) => (x.subarray(i * 25, i * 25 + 25).every(Number.isFinite) ? 1 : 0));
      return combineBandScores(sg, valid(inputG), sr, valid(inputR));
    };
    const same = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || a === b;
    const ref = rows.map((r) => (r.anomaly_score === '' ? NaN : Number(r.anomaly_score)));
    expect(ref.filter((x) => !Number.isNaN(x))).toHaveLength(82);

    // Fink's own features (fink_ad_features.csv): every score identical
    const featureRows = csvRows('fink', 'ztf', 'fink_ad_features.csv');
    const finkValues = new Float64Array(n * columns.length);
    featureRows.forEach((r, i) => columns.forEach((c, k) => {
      const v = r[c.replace(/_g$/, '_1').replace(/_r$/, '_2')];
      finkValues[i * columns.length + k] = v === '' ? NaN : Number(v);
    }));
    expect(columns.slice(0, 25)).toEqual(ANOMALY_FEATURE_NAMES.map((f) => `${f}_g`));
    const onFink = await score(finkValues);
    onFink.forEach((s, i) => expect(same(s, ref[i]), `${rows[i].objectId} ${rows[i].candid}: ${s} vs ${ref[i]}`).toBe(true));

    // Sieve's features end to end: identical but where Fink's pure-Python features left a band out that
    // production (Rust) scores (finkAdFeatures.cells.ts: python-raised, python-linear-fit-nan)
    const alerts = await alertsOf(rows);
    const ex = def.extractor();
    const sieveValues = new Float64Array(n * columns.length);
    alerts.forEach((a, i) => sieveValues.set(ex.extract(a), i * columns.length));
    const onSieve = await score(sieveValues);
    const differ = rows.flatMap((r, i) => (same(onSieve[i], ref[i]) ? [] : [`${r.objectId} ${r.candid}`]));
    expect(differ.sort()).toEqual(['ZTF18aaqfhlj 1786552611115010001', 'ZTF18aaqfhlj 1786555201115010001']);
    for (const key of differ) {
      const i = rows.findIndex((r) => `${r.objectId} ${r.candid}` === key);
      expect(Number.isNaN(ref[i]) && Number.isFinite(onSieve[i])).toBe(true);
    }
  }, 120_000);
});

describe("Rubin: Fink's Rainbow early SN Ia processor (fink/rubin/fink_processor_scores.csv)", () => {
  const rows = csvRows('fink', 'rubin', 'fink_processor_scores.csv');
  const FEATURES: readonly string[] = EARLY_SNIA_RUBIN_FEATURE_NAMES;
  let alerts: Alert[] = [];
  let sieveFeatures: Float64Array[] = [];

  beforeAll(async () => {
    alerts = await alertsOf(rows);
    const ex = builtinModule('early-snia-rubin').extractor();
    sieveFeatures = alerts.map((a) => Float64Array.from(ex.extract(a)));
  }, 300_000);

  it("gives the CSV's probability on the CSV's own 7 features with the imported forest, on every fitted row", () => {
    expect(FEATURES).toEqual(['npoints', 'amplitude', 'rise_time', 'Tmin', 'delta_T', 'k_sig', 'reduced_chi2', 'lc_max']);
    const store = Store.open(db);
    const model = modelFromBundle(store.getBundle('early-snia-rubin', store.deployedVersion('early-snia-rubin')!));
    store.close();
    expect(model).toBeInstanceOf(RandomForestClassifier);
    const fitted = rows.filter((r) => r.earlySNIa_score !== '-1.0');
    expect(fitted).toHaveLength(42);
    const data = new Float32Array(fitted.length * FEATURES.length);
    fitted.forEach((r, i) => FEATURES.forEach((f, k) => (data[i * FEATURES.length + k] = Number(r[f]))));
    const proba = (model as RandomForestClassifier).predictProba({ data, rows: fitted.length, cols: FEATURES.length });
    fitted.forEach((r, i) => expect(Math.abs(proba[i * 2 + 1] - Number(r.earlySNIa_score)), `${r.source} row ${r.row}`).toBeLessThanOrEqual(PROB));
  });

  it("selects as Fink on every row: the model's npoints, and -1.0 wherever the selection fails", () => {
    let selected = 0;
    rows.forEach((r, i) => {
      expect(sieveFeatures[i][0], `${r.source} row ${r.row} npoints`).toBe(Number(r.npoints));
      const passes = rubinSniaSelection(rubinPoints(alerts[i].lightCurve)).passes;
      if (passes) selected++;
      else expect(r.earlySNIa_score, `${r.source} row ${r.row}`).toBe('-1.0');
      if (r.earlySNIa_score !== '-1.0') expect(passes, `${r.source} row ${r.row}`).toBe(true);
    });
    // the selected rows that Fink did not fit (its fit raised) depend on the fit, as the fitted ones do
    console.log(`Rubin: ${selected} of ${rows.length} rows pass Fink's selection, ${rows.filter((r) => r.earlySNIa_score !== '-1.0').length} fitted by Fink`);
  });

  it('writes earlySNIa_score end to end (sieve score --format fink): the sentinel on every unfitted row, the probability where the fits agree', () => {
    const lines = scoreFink(['early-snia-rubin'], [
      sharedPath('rubin', 'elasticc_agn.parquet'), sharedPath('rubin', 'elasticc_earlysnia.parquet'), sharedPath('rubin', 'elasticc_sample_seed0.parquet'), sharedPath('lsst'),
    ]);
    // the scorer reads its sources in path order: match the rows by candid (one alert is in two files)
    const byCandid = new Map<string, Array<Record<string, unknown>>>();
    for (const l of lines) byCandid.set(l.candid as string, [...(byCandid.get(l.candid as string) ?? []), l]);
    expect(lines.map((l) => l.candid).sort()).toEqual(rows.map((r) => r.candid).sort());
    const dependOnFit: string[] = [];
    let fittedAlike = 0;
    rows.forEach((r, i) => {
      const got = byCandid.get(r.candid)!.shift()!.earlySNIa_score as number;
      const ref = Number(r.earlySNIa_score);
      const where = `${r.source} row ${r.row}`;
      // the same features (zeros where unfitted) must give the same score; other features only where the fit differs
      const fitAgrees = FEATURES.every((f, k) => Math.abs(sieveFeatures[i][k] - Number(r[f])) <= 1e-6 * Math.abs(Number(r[f])));
      if (fitAgrees && ref !== -1) fittedAlike++;
      if ((ref === -1 && got === -1) || (ref !== -1 && got !== -1 && Math.abs(got - ref) <= PROB)) return;
      expect(fitAgrees, `${where}: ${got} vs ${ref} with the same features`).toBe(false);
      dependOnFit.push(`${where} (${ref} vs ${got})`);
    });
    // at the time of writing: elasticc_earlysnia rows 130 and 132, whose Rainbow features differ from Fink's
    // (features/rainbow.ts is being reworked)
    console.log(`Rubin end to end: ${rows.length - dependOnFit.length} of ${rows.length} rows identical (${fittedAlike} fitted alike); depend on the fit: ${dependOnFit.join(', ') || 'none'}`);
    expect(fittedAlike).toBeGreaterThan(0);
  }, 300_000);
});
