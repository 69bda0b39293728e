import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAlertFile, simulate } from '../../datasets/index.ts';
import { Store, importSklearnModel, moduleOf } from '../../engine/index.ts';
import { PickleError, RandomForestClassifier, randomForestFromSklearnPickle, type Matrix } from '../../models/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { demoStore } from '../server/fixture.ts';

/** Debian's python3 with scikit-learn (npm test installs python3-sklearn): the real library, independent of Sieve. */
const PYTHON = '/usr/bin/python3';
const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-sklearn-'));
let db: string;

function python(script: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-W', 'ignore', '-c', script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}

/** Rows for a module: the real ZTF alerts' features, simulated ones, and rows of zeros (Fink's placeholder). */
async function featureRows(store: Store, module: string, n: number): Promise<Matrix> {
  const ex = moduleOf(store, module).extractor();
  const d = ex.spec.columns.length;
  const rows: Float64Array[] = [];
  for (const a of (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts) rows.push(ex.extract(a));
  for (const o of simulate(Math.max(0, n - rows.length - 200), 11)) rows.push(ex.extract(o.alert));
  while (rows.length < n) rows.push(new Float64Array(d));
  const data = new Float32Array(n * d);
  // scikit-learn 1.0-1.2 refuses NaN and values beyond float32 (Fink passes zeros where a band has no fit):
  // those become 0 here; the test below checks that scikit-learn does refuse NaN
  rows.slice(0, n).forEach((r, i) => r.forEach((v, j) => (data[i * d + j] = Number.isFinite(Math.fround(v)) ? v : 0)));
  return { data, rows: n, cols: d };
}

const COMPARE = `
import pickle, sys, numpy as np
from sklearn.utils.validation import check_is_fitted
m = pickle.load(open(sys.argv[1], 'rb'))
check_is_fitted(m)
d = m.n_features_in_
X = np.frombuffer(open(sys.argv[2], 'rb').read(), dtype=np.float32).reshape(-1, d)
p = np.frombuffer(open(sys.argv[3], 'rb').read(), dtype=np.float64).reshape(X.shape[0], -1)
import json
q = m.predict_proba(X)  # Fink's ZTF module passes a DataFrame with feature_names_in_ as columns: the same numbers
names = [str(n) for n in m.feature_names_in_] if hasattr(m, 'feature_names_in_') else None
print(json.dumps({'cls': type(m).__name__, 'trees': m.n_estimators, 'classes': [c.item() for c in m.classes_], 'names': names,
                  'maxDiff': float(np.abs(p - q).max()), 'identical': bool(np.array_equal(p, q))}))
try:
    m.predict_proba(np.full((1, d), np.nan, dtype=np.float32))
    print('nan-accepted')
except ValueError:
    print('nan-refused')
`;

beforeAll(async () => {
  expect(existsSync(PYTHON)).toBe(true);
  db = await demoStore();
}, 200_000);

describe('scikit-learn models for Fink', () => {
  it.each([['early-snia', 2], ['kilonova', 2], ['microlensing', 4]] as const)('exports %s as a RandomForestClassifier that Debian scikit-learn loads and that gives identical probabilities on 10,000 rows', async (module, K) => {
    const out = path.join(tmp, `${module}.pkl`);
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'export', module, '--db', db, '--format', 'sklearn', '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const store = Store.create(db);
    const bundle = store.getBundle(module, store.deployedVersion(module)!);
    const rf = RandomForestClassifier.fromJSON(bundle.model as Parameters<typeof RandomForestClassifier.fromJSON>[0]);
    const X = await featureRows(store, module, 10_000);
    store.close();
    writeFileSync(path.join(tmp, 'X.bin'), Buffer.from(X.data.buffer));
    writeFileSync(path.join(tmp, 'p.bin'), Buffer.from(rf.predictProba(X).buffer));
    const [json, nan] = python(COMPARE, [out, path.join(tmp, 'X.bin'), path.join(tmp, 'p.bin')]).trim().split('\n');
    const info = JSON.parse(json);
    expect(info.cls).toBe('RandomForestClassifier');
    expect(info.trees).toBe(rf.params.nEstimators);
    expect(info.classes).toEqual(Array.from({ length: K }, (_, c) => c));
    // Fink's ZTF early SN Ia module reads the columns by these names, in Fink's order
    if (module === 'early-snia') expect(info.names).toEqual(['a_g', 'b_g', 'c_g', 'snratio_g', 'mse_g', 'nrise_g', 'a_r', 'b_r', 'c_r', 'snratio_r', 'mse_r', 'nrise_r']);
    // kndetect's predict_kn_score passes its own column names: its file, like Fink's partial.pkl, has none
    if (module === 'kilonova') expect(info.names).toBeNull();
    expect(info.maxDiff).toBeLessThanOrEqual(1e-12);
    expect(info.identical).toBe(true);
    expect(nan).toBe('nan-refused');
  }, 120_000);

  it("imports a forest scikit-learn fitted itself, and Fink's deployed kilonova model, with identical probabilities", async () => {
    const fit = `
import pickle, sys, numpy as np
from sklearn.ensemble import RandomForestClassifier
rng = np.random.default_rng(5)
X = rng.normal(size=(3000, 10)).astype(np.float32)
y = (X[:, 0] + 0.5 * X[:, 3] + rng.normal(scale=0.5, size=3000) > 0).astype(int)
m = RandomForestClassifier(n_estimators=40, random_state=3, class_weight='balanced').fit(X, y)
pickle.dump(m, open(sys.argv[1], 'wb'))
X.tofile(sys.argv[2])
m.predict_proba(X).tofile(sys.argv[3])
`;
    const pkl = path.join(tmp, 'fitted.pkl');
    python(fit, [pkl, path.join(tmp, 'fx.bin'), path.join(tmp, 'fp.bin')]);
    const X = new Float32Array(readFileSync(path.join(tmp, 'fx.bin')).buffer.slice(0));
    const want = new Float64Array(readFileSync(path.join(tmp, 'fp.bin')).buffer.slice(0));
    const m = randomForestFromSklearnPickle(new Uint8Array(readFileSync(pkl)), pkl);
    expect(m.sklearnVersion).toMatch(/^1\./);
    const got = m.rf.predictProba({ data: X, rows: 3000, cols: 10 });
    expect(Array.from(got)).toEqual(Array.from(want));

    // Fink's kilonova model (scikit-learn 1.0.2, classes [False, True], no feature names) as a kilonova version
    const store = Store.create(db);
    const r = importSklearnModel(store, 'kilonova', new Uint8Array(readFileSync(sharedPath('kilonova', 'kndetect_partial.pkl'))), 'kndetect_partial.pkl');
    expect(r).toMatchObject({ module: 'kilonova', classes: [false, true], sklearnVersion: '1.0.2', deployed: false });
    expect(store.getModel('kilonova', r.version).status).toBe('candidate');
    const imported = RandomForestClassifier.fromJSON(store.getBundle('kilonova', r.version).model as Parameters<typeof RandomForestClassifier.fromJSON>[0]);
    store.close();
    const Xk = new Float32Array(5000 * 10).map((_, i) => (i % 7 === 0 ? 0 : Math.sin(i) * (i % 5 === 4 ? 600 : 2)));
    writeFileSync(path.join(tmp, 'kx.bin'), Buffer.from(Xk.buffer));
    writeFileSync(path.join(tmp, 'kp.bin'), Buffer.from(imported.predictProba({ data: Xk, rows: 5000, cols: 10 }).buffer));
    const info = JSON.parse(python(COMPARE, [sharedPath('kilonova', 'kndetect_partial.pkl'), path.join(tmp, 'kx.bin'), path.join(tmp, 'kp.bin')]).trim().split('\n')[0]);
    expect(info).toMatchObject({ classes: [false, true], names: null, maxDiff: 0, identical: true });
  }, 120_000);

  it('refuses a tampered pickle (an extra os.system global) with a clear error, executing nothing', () => {
    const good = readFileSync(sharedPath('kilonova', 'kndetect_partial.pkl'));
    const marker = path.join(tmp, 'pwned');
    // a pickle that would run os.system('touch <marker>') when Python unpickles it, in front of the real model
    const evil = Buffer.concat([Buffer.from([0x80, 0x04]), Buffer.from(`cos\nsystem\n(X${String.fromCharCode(6 + marker.length)}\0\0\0touch ${marker}tR0`, 'latin1'), good.subarray(2)]);
    expect(() => randomForestFromSklearnPickle(new Uint8Array(evil), 'evil.pkl')).toThrow(PickleError);
    expect(() => randomForestFromSklearnPickle(new Uint8Array(evil), 'evil.pkl')).toThrow(/^evil\.pkl: refers to os\.system, which a scikit-learn model file does not contain; refused, nothing was executed/);
    expect(existsSync(marker)).toBe(false);
    // before the file exists: a usage error
    const cli = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'import', 'sklearn', path.join(tmp, 'evil.pkl'), '--module', 'kilonova', '--db', db], { encoding: 'utf8' });
    writeFileSync(path.join(tmp, 'evil.pkl'), evil);
    const again = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'import', 'sklearn', path.join(tmp, 'evil.pkl'), '--module', 'kilonova', '--db', db], { encoding: 'utf8' });
    expect(cli.status).toBe(2);
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toMatch(/^sieve: import sklearn: .*evil\.pkl: refers to os\.system.*nothing was executed/);
    expect(existsSync(marker)).toBe(false);
    // another estimator entirely is refused too
    const svm = path.join(tmp, 'svm.pkl');
    python('import pickle,sys\nfrom sklearn.svm import SVC\npickle.dump(SVC(), open(sys.argv[1], "wb"))', [svm]);
    expect(() => randomForestFromSklearnPickle(new Uint8Array(readFileSync(svm)), 'svm.pkl')).toThrow(/refers to sklearn\.svm\._classes\.SVC/);
  }, 60_000);
});
