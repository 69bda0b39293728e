import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAlertFile, stringifyJsonExact, type Alert } from '../../datasets/index.ts';
import { BandAADModel, modelFromBundle, RandomForestClassifier, TwoBandAADModel } from '../../models/index.ts';
import {
  addModule, bandInputs, finkScienceContext, finkScienceFiles, FINK_SCIENCE_MODULE_FOLDERS, moduleOf, namedExtractor, nextQueue, retrainClassifier, Store,
  type ModuleDefinition, type ProcessorPlan,
} from '../../engine/index.ts';
import { demoCommand } from '../../engine/cli/demo.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { explainDifference, rainbowAgrees, rainbowCost, type Difference } from './agreement.ts';
import { finkBatch } from './finkColumns.ts';

/**
 * The fink-science export end to end: each shipped module and the two examples (ZTF fast-transient, Rubin
 * young-sn-rubin) exported with `sieve export --format fink-science`, dropped into a fink-science checkout,
 * run under Debian's Python on the real alerts of ../shared/data as fink-broker would call them, and compared
 * with `sieve score --format fink` alert by alert. The checkouts are named by environment variables (see
 * test/finkScience/README.md); without them the comparison reports itself skipped.
 */
const CHECKOUTS = ['SIEVE_FINK_SCIENCE', 'SIEVE_FINK_UTILS', 'SIEVE_ACTSNFINK', 'SIEVE_KNDETECT', 'SIEVE_LIGHT_CURVE_PY'] as const;
const missing = CHECKOUTS.filter((k) => !process.env[k] || !existsSync(process.env[k]!));
const PYTHON = '/usr/bin/python3';
const HERE = path.join(REPO_ROOT, 'test', 'finkScience');
const SIEVE = path.join(REPO_ROOT, 'bin', 'sieve.js');

const ZTF_FILES = [sharedPath('ztf', 'alerts.jsonl'), ...['avro', 'fink_avro'].flatMap((d) => readdirSync(sharedPath('ztf', d)).filter((f) => f.endsWith('.avro')).sort().map((f) => sharedPath('ztf', d, f)))];
const RUBIN_FILES = [
  ...['elasticc_agn.parquet', 'elasticc_earlysnia.parquet', 'elasticc_sample_seed0.parquet'].map((f) => sharedPath('rubin', f)),
  sharedPath('lsst', 'part-2-918301.avro'),
];
const MODULES = ['early-snia', 'kilonova', 'anomaly', 'microlensing', 'satellite-glints', 'fast-transient', 'early-snia-rubin', 'anomaly-rubin', 'young-sn-rubin'];

const sieve = (args: string[]) => spawnSync(process.execPath, [SIEVE, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });

let tmp = '';
let db = '';

/** The first version of a module from its catalogue mapping, else from the alerts' known classes spread over its labels. */
async function trainFirstVersion(store: Store, name: string): Promise<void> {
  const def = moduleOf(store, name);
  const training = def.labels.filter((l) => def.labelToClass(l.label) !== null).map((l) => l.label);
  const known = nextQueue(store, name, { k: Number.MAX_SAFE_INTEGER, expert: 'test-seed', strategy: 'random', seed: 1 })
    .map((e) => ({ e, a: store.getAlert(e.alertId) })).filter(({ a }) => a.label !== undefined).slice(0, 300);
  const classes = [...new Set(known.map(({ a }) => a.label!))].sort();
  for (const { e, a } of known) {
    const label = def.catalogLabel(a.label!) ?? training[classes.indexOf(a.label!) % training.length];
    store.addLabel({ module: name, alertId: e.alertId, label, author: 'test-seed', comment: `seeded from the known class (${a.label})` });
  }
  const r = await retrainClassifier(store, name, { seed: 1, actor: 'test' });
  if (!r.promoted) store.deploy(name, r.version, 'test', 'first version for the fink-science comparison');
}

interface PythonBatch {
  file: string;
  scores: Record<string, Array<number | null>>;
  features: Array<Array<number | null>>;
  selected: boolean[];
  cuts: boolean[];
}

const num = (x: number | null | undefined) => (x === null || x === undefined ? NaN : x);
const same = (a: number, b: number, tol: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= tol;

/** The exported processor under Debian's Python, one pandas_udf call per file, in the fink-science tree it was dropped into. */
async function runProcessor(plan: ProcessorPlan, files: readonly string[]): Promise<{ featureColumns: string[]; batches: PythonBatch[] }> {
  const batches = await Promise.all(files.map((f) => finkBatch(f, plan.survey, plan.arguments)));
  const spec = path.join(tmp, `${plan.module}.spec.json`);
  const out = path.join(tmp, `${plan.module}.python.json`);
  writeFileSync(spec, stringifyJsonExact({
    module: `fink_science.${plan.surveyFolder}.${plan.pythonName}.processor`, function: plan.functionName, arguments: plan.arguments,
    batches: batches.map((b) => ({ file: b.file, columns: b.columns })),
  }));
  const py = spawnSync(PYTHON, [path.join(HERE, 'python', 'harness.py'), spec, out], {
    encoding: 'utf8', maxBuffer: 1 << 28,
    env: {
      ...process.env,
      PYTHONPATH: [path.join(HERE, 'python', 'stubs'), path.join(tmp, 'checkout'), process.env.SIEVE_FINK_UTILS, process.env.SIEVE_ACTSNFINK, process.env.SIEVE_KNDETECT].join(':'),
      SIEVE_NODE: process.execPath,
      // no .pyc beside the checkouts or the stand-ins
      PYTHONDONTWRITEBYTECODE: '1',
      SIEVE_FINK_LC_SCHEMA: sharedPath('ztf', 'fink_avro', 'avro_schema_ftransfer_ztf_2026-03-23_11487.json'),
    },
  });
  if (py.status !== 0) throw new Error(`${plan.module}: the processor failed under Python:\n${py.stderr.slice(-3000)}`);
  const result = JSON.parse(readFileSync(out, 'utf8')) as { featureColumns: string[]; batches: PythonBatch[] };
  result.batches.forEach((b, k) => expect(b.file).toBe(files[k]));
  return result;
}

/** `sieve score --format fink` on one file: Fink's enriched rows, one per alert. */
function sieveScore(module: string, file: string, out: string): Array<Record<string, unknown>> {
  const r = sieve(['score', '--module', module, '--db', db, '--from', file, '--to', out, '--format', 'fink', '--workers', '0']);
  if (r.status !== 0) throw new Error(`sieve score ${module} ${file}: ${r.stderr}`);
  return readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The per-band ONNX forests the processor loads, run here with onnxruntime-node. */
async function onnxForests(plan: ProcessorPlan, checkout: string): Promise<ort.InferenceSession[]> {
  const zip = unzipSync(readFileSync(path.join(checkout, 'fink_science', 'data', 'models', ...plan.modelFile.split('/'))));
  return Promise.all(plan.forests!.files.map((f) => ort.InferenceSession.create(zip[f], { logSeverityLevel: 3 })));
}

/**
 * What Sieve's model gives on given features (n rows of the module's columns) for the alerts that pass
 * (`outside` for the others): the forest's probabilities, or the AAD score both as Sieve's scorer computes
 * it (JS, float64) and as the exported ONNX forests do (onnxruntime, float32), min over the valid bands.
 */
async function expectedOnFeatures(
  plan: ProcessorPlan, def: ModuleDefinition, model: ReturnType<typeof modelFromBundle>, sessions: ort.InferenceSession[] | null,
  features: Float64Array, n: number, pass: readonly boolean[],
): Promise<{ model: Record<string, Float64Array>; onnx: Record<string, Float64Array> | null }> {
  const d = plan.featureColumns.length;
  const col = plan.outputColumns[0];
  const put = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => (pass[i] ? f(i) : plan.outside));
  if (model instanceof RandomForestClassifier) {
    const proba = model.predictProba({ data: Float32Array.from(features), rows: n, cols: d });
    const C = model.nClasses;
    const out: Record<string, Float64Array> = { [col]: put((i) => proba[i * C + def.positiveClass]) };
    if (plan.outputColumns.length > 1) def.classNames.forEach((c, k) => (out[`${col}_${c}`] = put((i) => proba[i * C + k])));
    return { model: out, onnx: null };
  }
  if (!(model instanceof TwoBandAADModel || model instanceof BandAADModel)) throw new Error(`${plan.module}: unexpected model`);
  const js = model.scoreBands(bandInputs(def, features, n, model.bands), n).final;
  const bands = await Promise.all(sessions!.map(async (s, b) => {
    const cols = plan.forests!.columns[b];
    const x = Float32Array.from({ length: n * cols.length }, (_, k) => features[Math.floor(k / cols.length) * d + cols[k % cols.length]]);
    const res = await s.run({ X: new ort.Tensor('float32', x, [n, cols.length]) });
    const valid = Array.from({ length: n }, (_, i) => x.subarray(i * cols.length, (i + 1) * cols.length).every(Number.isFinite));
    return { score: res.score.data as Float32Array, valid };
  }));
  const onnx = put((i) => {
    let m = NaN;
    for (const b of bands) if (b.valid[i] && !(b.score[i] >= m)) m = b.score[i];
    return m;
  });
  return { model: { [col]: put((i) => js[i]) }, onnx: { [col]: onnx } };
}

/** float32 ONNX forests against Sieve's float64 evaluation: a few float32 roundings of a sum of ~1 */
const FLOAT32_SCORE = 1e-6;
const RAINBOW_SPECS = new Set(['rainbow', 'early-snia-rubin']);
/** How close two scores of the same features are: the forest's probabilities 1e-9, the AAD forests float32 ONNX against float64 JS */
const scoreTolerance = (kind: 'forest' | 'aad', score: number) => (kind === 'forest' ? 1e-9 : FLOAT32_SCORE * Math.max(1, Math.abs(score)));

/** One module's comparison, row by row, with what explains each difference; printed at the end. */
class Report {
  rows = 0;
  inside = 0;
  bothOut = 0;
  sameRows = 0;
  maxSame = 0;
  maxModel = 0;
  maxOnnxJs = 0;
  explainedRows = 0;
  unexplainedRows = 0;
  explainedScoreEqual = 0;
  maxExplained = 0;
  rainbowRows = 0;
  rainbowAgree = 0;
  rainbowSameCost = 0;
  rainbowLowerCost = 0;
  reasons = new Map<string, string[]>();
  cutMismatch: string[] = [];
  modelMismatch: string[] = [];
  outsideMismatch: string[] = [];
  scoreMismatch: string[] = [];
  unexplained: string[] = [];
  constructor(readonly module: string) {}

  /** Layer 1: the processor's score against Sieve's model on the processor's features (ONNX: the same runtime, exactly). */
  sameFeatures(col: string, python: number, expected: number, js: number | null, id: string): void {
    if (!same(python, expected, js === null ? 1e-9 : 0)) this.modelMismatch.push(`${id} ${col}: python ${python}, Sieve's model ${expected}`);
    else if (!Number.isNaN(python)) this.maxModel = Math.max(this.maxModel, Math.abs(python - expected));
    if (js !== null) {
      if (!same(js, expected, FLOAT32_SCORE * Math.max(1, Math.abs(js)))) this.modelMismatch.push(`${id} ${col}: ONNX ${expected}, Sieve's JS ${js}`);
      else if (!Number.isNaN(js)) this.maxOnnxJs = Math.max(this.maxOnnxJs, Math.abs(js - expected));
    }
  }

  bothOutside(id: string, outs: Array<{ col: string; sieve: number; fink: number }>, outside: number): void {
    this.rows++;
    this.bothOut++;
    for (const o of outs) if (!same(o.sieve, outside, 0) || !same(o.fink, outside, 0)) this.outsideMismatch.push(`${id} ${o.col}: sieve ${o.sieve}, python ${o.fink}`);
  }

  sameInputs(id: string, outs: Array<{ col: string; sieve: number; fink: number }>, kind: 'forest' | 'aad'): void {
    this.rows++;
    this.sameRows++;
    for (const o of outs) {
      if (!same(o.sieve, o.fink, scoreTolerance(kind, o.sieve))) this.scoreMismatch.push(`${id} ${o.col}: sieve ${o.sieve}, python ${o.fink}`);
      else if (!Number.isNaN(o.sieve)) this.maxSame = Math.max(this.maxSame, Math.abs(o.sieve - o.fink));
    }
  }

  explain(id: string, alert: Alert, diffs: Array<{ spec: string; d: Difference }>, passDiffers: boolean, outs: Array<{ col: string; sieve: number; fink: number }>, kind: 'forest' | 'aad'): void {
    this.rows++;
    if (!diffs.length) {
      this.unexplained.push(`${id}: the same features, but Sieve ${passDiffers ? 'and the processor disagree on the cuts' : 'differs'}`);
      return;
    }
    const why = new Set<string>();
    const before = this.unexplained.length;
    for (const { spec, d } of diffs) {
      const reason = explainDifference(spec, d, alert);
      if (reason === null) this.unexplained.push(`${id} ${d.column} (${spec}): sieve ${d.sieve}, fink ${d.fink}`);
      else why.add(reason);
    }
    if (this.unexplained.length > before) {
      this.unexplainedRows++;
      return;
    }
    this.explainedRows++;
    for (const w of why) this.reasons.set(w, [...(this.reasons.get(w) ?? []), id]);
    if (outs.every((o) => same(o.sieve, o.fink, scoreTolerance(kind, o.sieve)))) this.explainedScoreEqual++;
    else {
      const delta = Math.max(...outs.map((o) => (same(o.sieve, o.fink, 0) ? 0 : Math.abs(o.sieve - o.fink))));
      this.maxExplained = Math.max(this.maxExplained, Number.isNaN(delta) ? Infinity : delta);
    }
  }

  print(): void {
    const reasons = [...this.reasons.entries()].map(([w, ids]) => `\n    ${w}: ${ids.length} (${ids.slice(0, 3).join('; ')}${ids.length > 3 ? '; ...' : ''})`).join('');
    const agree = this.bothOut + this.sameRows + this.explainedScoreEqual;
    console.log(`${this.module}: the exported processor's scores agree with sieve score on ${agree}/${this.rows} alerts. ${this.rows} alerts. Outside the cuts on both sides: ${this.bothOut}. Same features (1e-9) and cuts: ${this.sameRows}, `
      + `scores within ${this.maxSame.toExponential(1)}. Features differing as their extractor's rule allows: ${this.explainedRows}, scores agreeing (1e-9; AAD 1e-6) on `
      + `${this.explainedScoreEqual}${this.explainedRows > this.explainedScoreEqual ? ` (others up to ${this.maxExplained.toExponential(2)})` : ''}.`
      + `${this.unexplainedRows ? ` UNEXPLAINED: ${this.unexplainedRows} alerts (${this.unexplained.length} values).` : ''}${reasons}`
      + `\n  On the processor's own features, its cuts and model give Sieve's (${this.inside} alerts inside the cuts; max ${this.maxModel.toExponential(1)}`
      + `${this.maxOnnxJs ? `; ONNX float32 vs Sieve's float64 forests ${this.maxOnnxJs.toExponential(1)}` : ''})`
      + `${this.rainbowRows ? `. Rainbow fits on both sides: ${this.rainbowRows}, within the reference rule (1e-3 or flat) ${this.rainbowAgree}`
        + `${this.rainbowSameCost ? `, Fink's reduced chi2 reproduced at its parameters on ${this.rainbowSameCost}, Sieve at a lower cost on ${this.rainbowLowerCost} of the others` : ''}` : ''}.`);
  }
}

describe('fink-science export: shapes and refusals', () => {
  it.skipIf(missing.includes('SIEVE_FINK_SCIENCE'))('knows the module folders of the fink-science checkout (a generated module takes another name)', () => {
    const fs = process.env.SIEVE_FINK_SCIENCE!;
    for (const [survey, folder] of [['ztf', 'ztf'], ['lsst', 'rubin']] as const) {
      const dirs = readdirSync(path.join(fs, 'fink_science', folder), { withFileTypes: true }).filter((d) => d.isDirectory() && !d.name.startsWith('_')).map((d) => d.name).sort();
      expect(dirs).toEqual([...FINK_SCIENCE_MODULE_FOLDERS[survey]].sort());
    }
  });
});

describe.skipIf(missing.length > 0)('fink-science export: the generated processors run in a fink-science checkout and agree with sieve score', () => {
  const plans = new Map<string, ProcessorPlan>();
  const tree = () => path.join(tmp, 'checkout');

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'sieve-finksci-'));
    db = path.join(tmp, 'store.db');
    const log = console.log;
    console.log = () => {};
    try {
      await demoCommand({ db, n: 300, seed: 1, serve: false, in: [sharedPath('ztf', 'alerts.jsonl'), sharedPath('lsst', 'part-2-918301.avro'), sharedPath('rubin', 'elasticc_earlysnia.parquet')] });
    } finally {
      console.log = log;
    }
    const store = Store.create(db);
    try {
      for (const f of ['fast-transient.json', 'young-sn-rubin.json', 'kilonova-sieve.json']) addModule(store, readFileSync(path.join(REPO_ROOT, 'examples', f), 'utf8'), f, 'ana');
      for (const name of [...MODULES, 'kilonova-sieve']) if (store.deployedVersion(name) === null) await trainFirstVersion(store, name);
    } finally {
      store.close();
    }
    // fink-science's tree, its files linked (cp -s), for the exported modules to be dropped into
    mkdirSync(tree());
    const cp = spawnSync('cp', ['-rs', path.resolve(process.env.SIEVE_FINK_SCIENCE!, 'fink_science'), path.join(tree(), 'fink_science')], { encoding: 'utf8' });
    if (cp.status !== 0) throw new Error(`cp -rs: ${cp.stderr}`);
  }, 600_000);

  it('refuses, in one line, a module whose extractor Fink has no code for (kilonova-sieve)', () => {
    const r = sieve(['export', 'kilonova-sieve', '--db', db, '--format', 'fink-science', '--out', path.join(tmp, 'refused')]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      "sieve: export: kilonova-sieve v1: Sieve's own kilonova basis (kilonova-sieve, from sieve basis) has no counterpart in Fink: declare the kilonova extractor (kndetect's components, as Fink runs them)",
    ]);
    expect(existsSync(path.join(tmp, 'refused'))).toBe(false);
  });

  it('exports every module with the CLI into a folder laid out as fink-science, the same bytes as the engine gives', () => {
    const store = Store.open(db);
    try {
      for (const name of MODULES) {
        const out = path.join(tmp, 'export', name);
        const r = sieve(['export', name, '--db', db, '--format', 'fink-science', '--out', out]);
        expect(r.status, r.stderr).toBe(0);
        const bundle = store.getBundle(name, store.deployedVersion(name)!);
        const e = finkScienceFiles(bundle, `${name} v${bundle.manifest.version}`, finkScienceContext(store, bundle));
        plans.set(name, e.plan);
        expect(r.stdout).toContain(e.snippet);
        for (const f of e.files) expect(Buffer.compare(readFileSync(path.join(out, ...f.path.split('/'))), Buffer.from(f.bytes)), f.path).toBe(0);
        expect(e.readme).toContain(`Declared by **${name === 'fast-transient' || name === 'young-sn-rubin' ? 'ana' : 'demo'}**`);
        cpSync(out, tree(), { recursive: true });
      }
    } finally {
      store.close();
    }
  }, 300_000);

  for (const name of MODULES) {
    it(`${name}: the processor in fink-science scores the real alerts as sieve score does`, async () => {
      const plan = plans.get(name)!;
      expect(plan, 'exported by the previous test').toBeDefined();
      const files = plan.survey === 'ztf' ? ZTF_FILES : RUBIN_FILES;
      const python = await runProcessor(plan, files);
      expect(python.featureColumns).toEqual(plan.featureColumns);
      const store = Store.open(db);
      const def = moduleOf(store, name);
      const bundle = store.getBundle(name, store.deployedVersion(name)!);
      store.close();
      const ex = def.extractor();
      const model = modelFromBundle(bundle);
      const aad = plan.kind === 'aad' ? await onnxForests(plan, tree()) : null;
      // the extractor (FeatureSpec name) behind each feature column: its rule explains a difference
      const specOf: string[] = [];
      for (const f of def.declaration.features) {
        if (typeof f === 'string') specOf.push(...namedExtractor(f).spec.columns.map(() => namedExtractor(f).spec.name));
        else specOf.push(...f.alert.map(() => 'alert field'));
      }
      const r = new Report(name);
      for (let k = 0; k < files.length; k++) {
        const file = files[k];
        const py = python.batches[k];
        const alerts: Alert[] = (await readAlertFile(file)).alerts;
        const n = alerts.length;
        const sieveRows = sieveScore(name, file, path.join(tmp, `${name}.${k}.jsonl`));
        expect(sieveRows.map((x) => x.candid), file).toEqual(alerts.map((a) => a.candid?.toString()));
        expect(py.selected, file).toHaveLength(n);

        // 1. on the processor's own features, its cuts and model are Sieve's: the cut language through
        //    compileExpression, the forest's probabilities (or the AAD forests through onnxruntime)
        const d = plan.featureColumns.length;
        const pyFeatures = Float64Array.from(py.features.flat(), (x) => (x === null ? NaN : x));
        const pyPass = py.selected.map((s, i) => s && py.cuts[i]);
        alerts.forEach((a, i) => {
          const sieveCut = def.declaredCuts(a, pyFeatures.subarray(i * d, (i + 1) * d));
          if (sieveCut !== py.cuts[i]) r.cutMismatch.push(`${path.basename(file)} ${a.candid}: python ${py.cuts[i]}, Sieve ${sieveCut}`);
        });
        const expected = await expectedOnFeatures(plan, def, model, aad, pyFeatures, n, pyPass);
        for (const col of plan.outputColumns) {
          for (let i = 0; i < n; i++) {
            r.inside += col === plan.outputColumns[0] && pyPass[i] ? 1 : 0;
            const q = num(py.scores[col][i]);
            r.sameFeatures(col, q, expected.onnx?.[col][i] ?? expected.model[col][i], expected.onnx ? expected.model[col][i] : null, `${path.basename(file)} ${alerts[i].candid}`);
          }
        }

        // 2. end to end: Fink's code's features and Sieve's, and the scores Fink would write against sieve score's
        alerts.forEach((a, i) => {
          const id = `${path.basename(file)} ${a.candid}`;
          const values = ex.extract(a);
          const passes = ex.passesCuts(a, values);
          const outs = plan.outputColumns.map((c) => ({ col: c, sieve: num(sieveRows[i][c] as number | null), fink: num(py.scores[c][i]) }));
          if (!passes && !pyPass[i]) return r.bothOutside(id, outs, plan.outside);
          const diffs: Array<{ spec: string; d: Difference }> = [];
          for (let j = 0; j < d; j++) {
            const sv = values[j];
            const fv = pyFeatures[i * d + j];
            if ((Number.isNaN(sv) && Number.isNaN(fv)) || Math.abs(sv - fv) <= 1e-9 * Math.max(1, Math.abs(sv))) continue;
            diffs.push({ spec: specOf[j], d: { column: plan.featureColumns[j], sieve: sv, fink: fv } });
          }
          // the Rainbow fits of both sides: the reference test's rule; with the fit's reference time (rainbow),
          // Fink's reduced chi2 reproduced by Sieve's cost at Fink's parameters (the same points and model),
          // and whether Sieve's parameters reach a lower cost
          const rainbow = plan.featureColumns.map((_, j) => j).filter((j) => RAINBOW_SPECS.has(specOf[j]) && plan.featureColumns[j] !== 'npoints');
          if (rainbow.length && rainbow.every((j) => Number.isFinite(values[j]) && Number.isFinite(pyFeatures[i * d + j]) && values[j] !== 0 && pyFeatures[i * d + j] !== 0)) {
            r.rainbowRows++;
            const agrees = rainbowAgrees(diffs.filter((x) => rainbow.includes(plan.featureColumns.indexOf(x.d.column))).map((x) => x.d));
            if (agrees) r.rainbowAgree++;
            const col = (c: string) => rainbow.find((j) => plan.featureColumns[j] === c);
            if (col('reference_time') !== undefined) {
              const params = (v: ArrayLike<number>) => ['reference_time', 'amplitude', 'rise_time', 'Tmin', 'delta_T', 'k_sig'].map((c) => v[col(c)!]);
              const fink = pyFeatures.subarray(i * d, (i + 1) * d);
              const atFink = rainbowCost(a, params(fink));
              const finkChi2 = fink[col('reduced_chi2')!];
              if (Math.abs(atFink.reducedChi2 - finkChi2) > 1e-9 * finkChi2) r.unexplained.push(`${id}: Fink's reduced chi2 ${finkChi2} is not Sieve's cost at Fink's parameters (${atFink.reducedChi2}): not the same points or model`);
              else r.rainbowSameCost++;
              // issue 24's rule: where the fits differ, Sieve's cost is never above Fink's (1e-6 relative)
              const atSieve = rainbowCost(a, params(values)).cost;
              if (!agrees && atSieve <= atFink.cost) r.rainbowLowerCost++;
              else if (!agrees && atSieve > atFink.cost * (1 + 1e-6)) r.unexplained.push(`${id}: Sieve's Rainbow cost ${atSieve} is above Fink's ${atFink.cost}`);
            }
          }
          if (!diffs.length && passes === pyPass[i]) return r.sameInputs(id, outs, plan.kind);
          r.explain(id, a, diffs, passes !== pyPass[i], outs, plan.kind);
        });
      }
      r.print();
      expect(r.cutMismatch, 'the translated cuts decide as compileExpression on the same values').toEqual([]);
      expect(r.modelMismatch, "the processor's model gives Sieve's model's scores on the same features").toEqual([]);
      expect(r.inside, 'alerts inside the cuts (the model is exercised)').toBeGreaterThan(0);
      expect(r.outsideMismatch, `both sides write ${plan.outside} outside the cuts`).toEqual([]);
      expect(r.scoreMismatch, 'scores where the features agree: within 1e-9 (AAD: float32 ONNX against float64 JS, 1e-6 relative)').toEqual([]);
      expect(r.unexplained, "feature differences no extractor rule explains").toEqual([]);
    }, 900_000);
  }
});

if (missing.length) {
  describe('fink-science export: the generated processors against sieve score', () => {
    it.skip(`skipped: ${missing.join(', ')} not set to a checkout (see test/finkScience/README.md)`, () => {});
  });
}
