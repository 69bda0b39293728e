/**
 * Fink's Rubin features side by side with the Python code Fink runs: the Rainbow fit (light-curve's
 * RainbowFit under iminuit) and the 26 anomaly features per band (light-curve's Python definitions), on the
 * same light curves: the 752 ELAsTiCC and Rubin alerts of ../shared. The Python side runs from a checkout
 * of light-curve/light-curve-python named by SIEVE_LIGHT_CURVE_PY (its pure-Python `light_curve_py`, with
 * Debian's numpy, scipy and iminuit; see bench/README.md). Without it the rows say "baseline unavailable".
 * Before timing, the outputs are compared: anomaly values within 1e-6 relative, Rainbow fits by the rule
 * of test/features/rainbow.reference.test.ts (Sieve's cost never above the Python fit's).
 *
 * Also the whole early-snia-rubin path (Fink's selection, the fit where it passes, the forest) on
 * elasticc_earlysnia.parquet, in alerts per CPU-second.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Alert } from '../datasets/index.ts';
import {
  earlySnIaRubinFeatures, LSST_WAVELENGTH_ANGSTROM, rainbowFeatures, rainbowObjective, RUBIN_ANOMALY_FEATURE_NAMES, rubinAnomalyFeatures,
  rubinPoints, RUBIN_BANDS,
} from '../features/index.ts';
import type { RandomForestClassifier } from '../models/index.ts';
import { benchFile } from './paths.ts';

export interface RubinBenchRow {
  what: string;
  units: number;
  unitName: string;
  sievePerCpuSecond: number;
  baselinePerCpuSecond: number | null;
  note: string;
}

/**
 * A folder holding an importable `light_curve` package whose `light_curve_py` is the checkout's
 * (SIEVE_LIGHT_CURVE_PY), or why there is none. The package root imports its Rust extension, which
 * cannot be built here; the Python features need only two names from it, stubbed.
 */
function lightCurveSource(tmp: string): { dir: string } | { unavailable: string } {
  const root = process.env.SIEVE_LIGHT_CURVE_PY;
  if (!root) return { unavailable: 'SIEVE_LIGHT_CURVE_PY is not set' };
  const py = path.join(root, 'light-curve', 'light_curve', 'light_curve_py');
  if (!existsSync(py)) return { unavailable: `SIEVE_LIGHT_CURVE_PY=${root} has no light-curve/light_curve/light_curve_py` };
  const dir = path.join(tmp, 'lc-src');
  const pkg = path.join(dir, 'light_curve');
  mkdirSync(pkg, { recursive: true });
  cpSync(py, path.join(pkg, 'light_curve_py'), { recursive: true });
  writeFileSync(path.join(pkg, '__init__.py'), '');
  writeFileSync(path.join(pkg, 'light_curve_ext.py'), 'class Extractor:\n    pass\n\n\nclass _FeatureEvaluator:\n    pass\n');
  return { dir };
}

/** CPU-seconds per call of `fn` over `items`, repeated until at least `minSeconds` (after a warm-up pass). */
function cpuSecondsPer<T>(items: readonly T[], fn: (x: T) => void, minSeconds = 1): number {
  for (const x of items) fn(x);
  const c0 = process.cpuUsage();
  let n = 0;
  let used = 0;
  do {
    for (const x of items) fn(x);
    n += items.length;
    const c = process.cpuUsage(c0);
    used = (c.user + c.system) / 1e6;
  } while (used < minSeconds);
  return used / n;
}

/** The package's cost of a fit (reference_time ... k_sig) on Fink's normalised light curve of the alert. */
function rainbowCost(a: Alert, params: ArrayLike<number>): number {
  const p = rubinPoints(a.lightCurve);
  let max = -Infinity;
  for (let i = 0; i < p.n; i++) max = Math.max(max, p.flux[i]);
  const waves = p.band.map((b) => LSST_WAVELENGTH_ANGSTROM[b]);
  return rainbowObjective(p.mjd, p.flux.map((f) => f / max), p.err.map((e) => e / max), waves, p.n, Object.values(LSST_WAVELENGTH_ANGSTROM), params).cost;
}

/**
 * early-snia-rubin as the scorer runs it on one batch: the features of every alert (Fink's selection, the
 * Rainbow fit where it passes), then the forest on the batch; Fink's -1.0 where the features are zero.
 */
export function earlySnIaRubinPath(alerts: readonly Alert[], forest: RandomForestClassifier): RubinBenchRow {
  const n = alerts.length;
  const values = new Float64Array(n * 8);
  const row = new Float64Array(8);
  const score = new Float64Array(n);
  let fitted = 0;
  const run = (): void => {
    for (let i = 0; i < n; i++) values.set(earlySnIaRubinFeatures(alerts[i].lightCurve, undefined, row), i * 8);
    const proba = forest.predictProba({ data: new Float32Array(values), rows: n, cols: 8 });
    fitted = 0;
    for (let i = 0; i < n; i++) {
      const zero = values[i * 8 + 1] === 0;
      score[i] = zero ? -1 : proba[i * forest.nClasses + 1];
      if (!zero) fitted++;
    }
  };
  const perBatch = cpuSecondsPer([0], run, 2);
  return {
    what: 'early-snia-rubin (selection, fit, forest)',
    units: n,
    unitName: 'alerts',
    sievePerCpuSecond: n / perBatch,
    baselinePerCpuSecond: null,
    note: `elasticc_earlysnia.parquet: ${fitted} alerts pass Fink's selection and are fitted, ${n - fitted} get -1.0; goal >= 1,000 alerts per CPU-second`,
  };
}

/**
 * The Rainbow rows (one per source: the goal is on ELAsTiCC's light curves; the real Rubin alerts, a few
 * with hundreds of points, get their own row), the anomaly-rubin row over all alerts, each beside
 * light-curve's Python code run in the same command on the same light curves. `source[i]` names alert i's.
 */
export function runRubinSideBySide(alerts: readonly Alert[], source: readonly string[]): RubinBenchRow[] {
  const out8 = new Float64Array(8);
  const sources = [...new Set(source)];
  const fittedOf = (s: string) => alerts.filter((a, i) => source[i] === s && rubinPoints(a.lightCurve).n >= 7);
  const rainbowRows: RubinBenchRow[] = sources.map((s) => {
    const fitted = fittedOf(s);
    const perFit = cpuSecondsPer(fitted, (a) => rainbowFeatures(a.lightCurve, undefined, out8), 3);
    return { what: `Rainbow fit (early-snia-rubin, rainbow), ${s}`, units: fitted.length, unitName: 'fits', sievePerCpuSecond: 1 / perFit, baselinePerCpuSecond: null, note: '' };
  });
  const adOut = new Float64Array(RUBIN_BANDS.length * RUBIN_ANOMALY_FEATURE_NAMES.length);
  let bands = 0;
  for (const a of alerts) {
    const p = rubinPoints(a.lightCurve);
    bands += new Set(p.band).size;
  }
  const adSievePerAlert = cpuSecondsPer(alerts, (a) => rubinAnomalyFeatures(a.lightCurve, undefined, adOut));
  const adSievePerBand = (adSievePerAlert * alerts.length) / bands;
  const rows: RubinBenchRow[] = [
    ...rainbowRows,
    { what: 'anomaly-rubin (26 features per band)', units: bands, unitName: 'band light curves', sievePerCpuSecond: 1 / adSievePerBand, baselinePerCpuSecond: null, note: '' },
  ];
  const adRow = rows[rows.length - 1];

  const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-rubin-bench-'));
  try {
    const src = lightCurveSource(tmp);
    if ('unavailable' in src) {
      for (const r of rows) r.note = `baseline unavailable (${src.unavailable})`;
      return rows;
    }
    const lines = ['id,mjd,band,flux,err'];
    alerts.forEach((a, id) => {
      const p = rubinPoints(a.lightCurve);
      for (let i = 0; i < p.n; i++) lines.push(`${id},${p.mjd[i]},${p.band[i]},${p.flux[i]},${p.err[i]}`);
    });
    writeFileSync(path.join(tmp, 'points.csv'), `${lines.join('\n')}\n`);
    const script = benchFile('baselines/rubin_features.py');
    const r = spawnSync('/usr/bin/python3', ['-B', script, src.dir, tmp], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : r.stderr.trim().split('\n').pop() ?? 'failed';
      for (const row of rows) row.note = `baseline unavailable (${why.slice(0, 120)})`;
      return rows;
    }
    const py = JSON.parse(r.stdout) as { ad_seconds: number; ad_bands: number };
    // the same numbers first: Sieve's cost against the Python fit's, by the reference test's rule; the
    // Python fit's own CPU-seconds are in its last column
    const count = new Map(sources.map((s) => [s, { both: 0, notAbove: 0, lower: 0, within: 0, pythonRaised: 0, sieveFailed: 0, fits: 0, seconds: 0 }]));
    for (const line of readFileSync(path.join(tmp, 'rainbow.csv'), 'utf8').trim().split('\n').slice(1)) {
      const c = line.split(',');
      const want = c.slice(1, 8).map(Number);
      const a = alerts[Number(c[0])];
      const counts = count.get(source[Number(c[0])])!;
      counts.fits++;
      counts.seconds += Number(c[8]);
      const got = Array.from(rainbowFeatures(a.lightCurve).subarray(0, 7));
      if (Number.isNaN(got[1])) counts.sieveFailed++;
      if (Number.isNaN(want[1])) counts.pythonRaised++;
      if (Number.isNaN(want[1]) || Number.isNaN(got[1])) continue;
      counts.both++;
      const ours = rainbowCost(a, got);
      const theirs = rainbowCost(a, want);
      if (ours <= theirs + 1e-6 * Math.abs(theirs)) counts.notAbove++;
      if (theirs - ours > 1e-4) counts.lower++;
      if (got.every((g, k) => Math.abs(g - want[k]) <= 1e-3 * Math.abs(want[k]))) counts.within++;
    }
    sources.forEach((s, k) => {
      const c = count.get(s)!;
      rainbowRows[k].baselinePerCpuSecond = c.fits / c.seconds;
      rainbowRows[k].note = `light-curve RainbowFit + iminuit, ${c.fits} fits: ${c.both} fitted by both, Sieve's cost not above Python's on ${c.notAbove} `
        + `(lower by more than 1e-4 on ${c.lower}), all 7 within 1e-3 on ${c.within}; Python raised on ${c.pythonRaised}, Sieve on ${c.sieveFailed}`;
    });
    let agree = 0;
    let total = 0;
    for (const line of readFileSync(path.join(tmp, 'ad.csv'), 'utf8').trim().split('\n')) {
      const c = line.split(',');
      const b = RUBIN_BANDS.indexOf(c[1] as (typeof RUBIN_BANDS)[number]);
      const got = rubinAnomalyFeatures(alerts[Number(c[0])].lightCurve);
      for (let k = 0; k < RUBIN_ANOMALY_FEATURE_NAMES.length; k++) {
        total++;
        const w = Number(c[k + 2]);
        const g = got[b * RUBIN_ANOMALY_FEATURE_NAMES.length + k];
        if ((Number.isNaN(w) && Number.isNaN(g)) || g === w || Math.abs(g - w) <= 1e-6 * Math.abs(w)) agree++;
      }
    }
    adRow.baselinePerCpuSecond = py.ad_bands / py.ad_seconds;
    adRow.note = `light-curve Python features, ${py.ad_bands} bands: ${agree} of ${total} values within 1e-6`;
    return rows;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
