import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  Store, addModule, baldScore, ensureBuiltinModules, exportModelBytes, heldOutCalibration, moduleOf, nextQueue, retrainClassifier, retrainInWorker,
} from '../../engine/index.ts';
import { calibrationChart, moduleReportHtml } from '../../engine/adapters/report.ts';
import { alertDetail } from '../../engine/server/alertDetail.ts';
import { Workbench } from '../../engine/server/workbench.ts';
import { loadModuleVersion, scoreAlerts } from '../../engine/scorer/index.ts';
import { MLPClassifier, modelFromBundle, serializeBundle } from '../../models/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-mlp-'));
const EXAMPLE = readFileSync(path.join(REPO_ROOT, 'examples', 'early-snia-mlp.json'), 'utf8');
const MODULE = 'early-snia-mlp';

describe('an mlp module in the workbench: declared, labelled, retrained in a worker, queued by BALD, scored, exported', () => {
  const db = path.join(tmp, 'mlp.db');

  it('takes over from a forest of the same feature space through the gate, then drives the queue with its dropout passes', async () => {
    const store = Store.create(db);
    ensureBuiltinModules(store);
    await store.importFiles(['nov2019', '202001', '202002', '202003'].map((m) => sharedPath('tns', `fink_cross_tns_${m}.parquet`)));
    // revision 1: the module with a random forest; revision 2 (below): the same features and cuts with a network
    // Both revisions take a wider pool than Fink's early SN Ia cut (a fit in both bands: 34 alerts in these four
    // months of TNS), so that a third of the labelled objects held out is enough to calibrate on.
    const declared = { ...JSON.parse(EXAMPLE), cuts: 'nrise_g > 0 or nrise_r > 0' };
    const forest = { ...declared, model: { type: 'random-forest', trees: 50 }, queue: { strategy: 'uncertainty' } };
    addModule(store, JSON.stringify(forest), 'forest.json', 'test');
    // an expert who knows the TNS class labels two thirds of the eligible objects (the forest module early-snia too)
    const eligible = nextQueue(store, MODULE, { k: 10_000, expert: 'oracle' });
    expect(eligible.length).toBeGreaterThan(100);
    const labelOf = (alertId: number) => (store.getAlert(alertId).label!.startsWith('SN Ia') ? 'SN Ia' : 'other SN');
    for (const e of eligible.slice(0, Math.round((eligible.length * 2) / 3))) {
      for (const module of [MODULE, 'early-snia']) store.addLabel({ module, alertId: e.alertId, label: labelOf(e.alertId), author: 'oracle' });
    }
    store.close();
    const v1 = await retrainInWorker(db, MODULE, { seed: 1 }).result;
    expect(v1).toMatchObject({ version: 1, promoted: true });

    let s = Store.create(db);
    const r2 = addModule(s, JSON.stringify(declared), 'early-snia-mlp.json', 'test');
    expect(r2).toMatchObject({ revision: 2, featureSpaceChanged: false });
    // the declaration asks for BALD; until the network is deployed the forest's uncertainty stands in, and says so
    const interim = nextQueue(s, MODULE, { k: 3, expert: 'new' });
    expect(interim[0].reason).toMatch(/^uncertainty 0\.\d{4}; p\(SN Ia\) = 0\.\d{3} \(bald needs the network's dropout passes; v1 is a random forest\)$/);
    s.close();

    const v2 = await retrainInWorker(db, MODULE, { seed: 1 }).result;
    expect(v2.version).toBe(2);
    // the gate compared the network with the deployed forest on the same held-out objects
    expect(v2.gate?.champion?.version).toBe(1);
    expect(v2.reason).toMatch(/vs v1/);
    s = Store.create(db);
    expect(s.getModel(MODULE, 2).modelType).toBe('mlp');
    if (!v2.promoted) s.deploy(MODULE, 2, 'test', 'the network, for this test');
    const bundle = s.getBundle(MODULE, 2);
    const net = modelFromBundle(bundle) as MLPClassifier;
    expect(net).toBeInstanceOf(MLPClassifier);
    expect(net.params).toMatchObject({ hiddenUnits: [64, 32], dropout: 0.2, mcSamples: 30, classWeight: 'balanced', missing: 'impute', seed: 1 });
    expect(net.training!.validationRows).toBeGreaterThan(0);
    // the same seed in this thread gives the worker's weights exactly
    const again = await retrainClassifier(s, MODULE, { seed: 1, autoDeploy: false });
    const b3 = s.getBundle(MODULE, again.version);
    expect(b3.manifest.modelSha256).toBe(bundle.manifest.modelSha256);
    expect(b3.manifest.training.datasetSha256).toBe(bundle.manifest.training.datasetSha256);
    expect(JSON.stringify(b3.model)).toBe(JSON.stringify(bundle.model));

    // the queue: BALD over the network's Monte-Carlo passes, the reason with the mean and spread
    const q = nextQueue(s, MODULE, { k: 8, expert: 'new' });
    expect(q).toHaveLength(8);
    for (const e of q) expect(e.reason).toMatch(/^bald 0\.\d{4}; p\(SN Ia\) = [01]\.\d{3} ± 0\.\d{3} over 30 dropout passes$/);
    for (let i = 1; i < q.length; i++) expect(q[i].score).toBeLessThanOrEqual(q[i - 1].score);
    const spec = moduleOf(s, MODULE).extractor().spec;
    const row = (alertId: number) => ({ data: Float32Array.from(s.featureRow(alertId, spec)!.values), rows: 1, cols: spec.columns.length });
    const mc = net.predictProbaMC(row(q[0].alertId));
    expect(q[0].score).toBe(baldScore(mc.mean, mc.expectedEntropy, 2)[0]);
    const predictive = nextQueue(s, MODULE, { k: 3, expert: 'new', strategy: 'predictive-entropy' });
    expect(predictive[0].reason).toMatch(/^predictive-entropy 0\.\d{4}; p\(SN Ia\) = /);
    expect(nextQueue(s, MODULE, { k: 2, expert: 'new', strategy: 'uncertainty' })[0].reason).toMatch(/^uncertainty 0\.\d{4}; p\(SN Ia\) = 0\.\d{3}$/);
    expect(nextQueue(s, MODULE, { k: 2, expert: 'new', strategy: 'committee' })[0].reason).toMatch(/^committee 0\.\d{4}; p\(SN Ia\) = .* over 30 dropout passes$/);

    // the alert view: dropout-off p (what the broker writes) and the passes' mean ± spread, the same passes as the queue's
    const wb = new Workbench(s);
    const view = alertDetail(wb, q[0].alertId, [MODULE]).modules[0];
    expect(view.modelVersion).toBe(2);
    expect(view.probabilities!.map((p) => p.className)).toEqual(['other', 'SN Ia']);
    expect(view.probabilities![1].mcMean).toBe(mc.mean[1]);
    expect(view.probabilities![1].spread).toBe(mc.std[1]);
    expect(view.probabilities![1].p).toBe(net.predictProba(row(q[0].alertId))[1]);
    expect(view.mc).toMatchObject({ samples: 30, bald: q[0].score });
    expect(q[0].reason).toContain(`= ${mc.mean[1].toFixed(3)} ± ${mc.std[1].toFixed(3)}`);

    // the broker side: the scorer writes the dropout-off P(SN Ia), and onnxruntime gives the same numbers from the export
    const loaded = loadModuleVersion({ module: MODULE, version: 2, bundleJson: serializeBundle(bundle) });
    const alerts = q.map((e) => s.getAlert(e.alertId));
    const scores = scoreAlerts(alerts, [loaded]).map((r) => r.scores.snia_mlp_score as number);
    const X = { data: new Float32Array(alerts.length * spec.columns.length), rows: alerts.length, cols: spec.columns.length };
    q.forEach((e, i) => X.data.set(row(e.alertId).data, i * X.cols));
    const p = net.predictProba(X);
    scores.forEach((v, i) => expect(v).toBe(p[2 * i + 1]));
    const onnx = exportModelBytes(bundle, `${MODULE} v2`, 'onnx');
    expect(onnx.fileName).toBe('early-snia-mlp_v2.onnx');
    const session = await ort.InferenceSession.create(onnx.bytes, { logSeverityLevel: 3 });
    const out = (await session.run({ X: new ort.Tensor('float32', X.data, [X.rows, X.cols]) })).probabilities.data as Float32Array;
    scores.forEach((v, i) => expect(Math.abs(out[2 * i + 1] - v)).toBeLessThanOrEqual(1e-5));
    expect(exportModelBytes(bundle, 'x', 'onnx-mc').fileName).toBe('early-snia-mlp_v2_mc.onnx');
    expect(() => exportModelBytes(bundle, `${MODULE} v2`, 'sklearn')).toThrow(/early-snia-mlp v2: the sklearn format is a RandomForestClassifier; this bundle holds a mlp/);
    expect(() => exportModelBytes(s.getBundle(MODULE, 1), `${MODULE} v1`, 'onnx-mc')).toThrow(/onnx-mc is a network's Monte-Carlo dropout graph; this bundle holds a random-forest/);

    // calibration on the held-out objects, for the network and for a forest alike
    const early = await retrainClassifier(s, 'early-snia', { seed: 1, nEstimators: 50 });
    for (const [module, version] of [[MODULE, 2], [MODULE, 1], ['early-snia', early.version]] as const) {
      const c = heldOutCalibration(s, module, version)!;
      expect(c.what).toBe('P(SN Ia)');
      // early-snia keeps Fink's cut: its held-out objects are the few of the 34 that pass it
      expect(c.rows).toBeGreaterThan(module === MODULE ? 10 : 0);
      expect(c.curve.bins.reduce((n, b) => n + b.n, 0)).toBe(c.rows);
      expect(c.curve.ece).toBeGreaterThanOrEqual(0);
      const chart = calibrationChart(s, module, version)!;
      expect(JSON.stringify(chart)).toContain('observed frequency of SN Ia');
    }
    const html = await moduleReportHtml(s, MODULE);
    expect(html).toContain('calibration on held-out objects');
    expect(html).toMatch(/expected calibration error 0\.\d{3}/);
    s.close();
  }, 600_000);

  it('experiment al runs a forest module and a network module side by side on the same seeds', () => {
    const out = path.join(tmp, 'al');
    const run = (args: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'experiment', 'al', ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
    const r = run(['--module', 'early-snia', 'examples/early-snia-mlp.json', '--strategy', 'uncertainty,bald', '--seeds', '2', '--queries', '6', '--batch', '3', '--trees', '10', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.modules).toEqual(['early-snia (random-forest)', 'early-snia-mlp (mlp)']);
    expect(summary.strategies).toEqual(['early-snia: uncertainty', 'early-snia: random', 'early-snia-mlp: uncertainty', 'early-snia-mlp: bald', 'early-snia-mlp: random']);
    expect(summary.not_run).toEqual({ 'early-snia': 'bald: needs an mlp module' });
    expect(summary.queriesPerRetraining).toBe(3);
    // the same data for both (same features and cuts), three retrainings per run: 10, 13 and 16 labels
    expect(summary.data).toMatch(/^\d+ labelled alerts from 4 file\(s\): \d+ alerts passing early-snia's cuts, \d+ SN Ia$/);
    const rows = readFileSync(path.join(out, 'curves.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
    for (const label of summary.strategies) for (const seed of ['1', '2']) expect(rows.filter((x) => x[0] === label && x[1] === seed).map((x) => Number(x[2]))).toEqual([10, 13, 16]);
    const spec = JSON.parse(readFileSync(path.join(out, 'curves.vl.json'), 'utf8'));
    expect(spec.title.text).toBe('Active learning, Early type Ia supernovae vs Early type Ia supernovae (ZTF), MC-dropout network: uncertainty, bald vs random');
    const dash = spec.spec.layer[1].encoding.strokeDash.scale;
    expect(dash.range[dash.domain.indexOf('early-snia-mlp: random')]).toEqual([6, 4]);
    // a forest alone cannot be asked by BALD
    const bad = run(['--module', 'early-snia', '--strategy', 'bald', '--queries', '2', '--out', path.join(tmp, 'al-bad')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr.trim()).toBe('sieve: experiment al: bald needs the dropout passes of an mlp module; early-snia is a random-forest');
  }, 600_000);
});
