/**
 * Fink's Rubin features side by side with the Python code Fink runs: the Rainbow fit (light-curve's
 * RainbowFit under iminuit) and the 26 anomaly features per band (light-curve's Python definitions), on the
 * same light curves: the 752 ELAsTiCC and Rubin alerts of ../shared. The Python side comes from a checkout
 * of light-curve/light-curve-python (SIEVE_LIGHTCURVE_SRC: a folder holding an importable `light_curve`
 * package, or SIEVE_LIGHTCURVE_GIT: a git directory to take `light_curve_py` from; default
 * ../.mirror/light-curve+light-curve-python/repo next to the repository) with Debian's numpy, scipy and
 * iminuit. Without it the rows say "baseline unavailable". Before timing, the outputs are compared: anomaly
 * values within 1e-6 relative, Rainbow fits by the rule (1e-3 on every column, or a flat optimum).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Alert } from '../datasets/index.ts';
import { rainbowFeatures, RUBIN_ANOMALY_FEATURE_NAMES, rubinAnomalyFeatures, rubinPoints, RUBIN_BANDS } from '../features/index.ts';

export interface RubinBenchRow {
  what: string;
  units: number;
  unitName: string;
  sievePerCpuSecond: number;
  baselinePerCpuSecond: number | null;
  note: string;
}

function lightCurveSource(tmp: string): string | null {
  if (process.env.SIEVE_LIGHTCURVE_SRC) return process.env.SIEVE_LIGHTCURVE_SRC;
  const gitDir = process.env.SIEVE_LIGHTCURVE_GIT ?? fileURLToPath(new URL('../../.mirror/light-curve+light-curve-python/repo', import.meta.url));
  if (!existsSync(gitDir)) return null;
  const out = path.join(tmp, 'lc-src');
  const pkg = path.join(out, 'light_curve');
  mkdirSync(pkg, { recursive: true });
  const tar = spawnSync('sh', ['-c', `git --git-dir="${gitDir}" archive HEAD light-curve/light_curve/light_curve_py | tar -x -C "${out}" && mv "${out}/light-curve/light_curve/light_curve_py" "${pkg}/"`], { encoding: 'utf8' });
  if (tar.status !== 0) return null;
  // the package root imports its Rust extension; the Python features need only these two names from it
  writeFileSync(path.join(pkg, '__init__.py'), '');
  writeFileSync(path.join(pkg, 'light_curve_ext.py'), 'class Extractor:\n    pass\n\n\nclass _FeatureEvaluator:\n    pass\n');
  return out;
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

function ruleVerdict(got: number[], want: number[]): 'agree' | 'flat' | 'differ' {
  const rel = got.map((g, k) => Math.abs(g - want[k]) / Math.abs(want[k]));
  if (rel.every((r) => r <= 1e-3)) return 'agree';
  if (rel[6] <= 1e-5 && rel.slice(0, 6).every((r) => r <= 0.02)) return 'flat';
  return 'differ';
}

export function runRubinSideBySide(alerts: readonly Alert[]): RubinBenchRow[] {
  const fitted = alerts.filter((a) => rubinPoints(a.lightCurve).n >= 7);
  const out8 = new Float64Array(8);
  const rainbowSieve = cpuSecondsPer(fitted, (a) => rainbowFeatures(a.lightCurve, undefined, out8));
  const adOut = new Float64Array(RUBIN_BANDS.length * RUBIN_ANOMALY_FEATURE_NAMES.length);
  let bands = 0;
  for (const a of alerts) {
    const p = rubinPoints(a.lightCurve);
    bands += new Set(p.band).size;
  }
  const adSievePerAlert = cpuSecondsPer(alerts, (a) => rubinAnomalyFeatures(a.lightCurve, undefined, adOut));
  const adSievePerBand = (adSievePerAlert * alerts.length) / bands;
  const rows: RubinBenchRow[] = [
    { what: 'Rainbow fit (early-snia-rubin, rainbow)', units: fitted.length, unitName: 'fits', sievePerCpuSecond: 1 / rainbowSieve, baselinePerCpuSecond: null, note: '' },
    { what: 'anomaly-rubin (26 features per band)', units: bands, unitName: 'band light curves', sievePerCpuSecond: 1 / adSievePerBand, baselinePerCpuSecond: null, note: '' },
  ];

  const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-rubin-bench-'));
  try {
    const src = lightCurveSource(tmp);
    if (!src) {
      for (const r of rows) r.note = 'baseline unavailable (no light-curve-python checkout)';
      return rows;
    }
    const lines = ['id,mjd,band,flux,err'];
    alerts.forEach((a, id) => {
      const p = rubinPoints(a.lightCurve);
      for (let i = 0; i < p.n; i++) lines.push(`${id},${p.mjd[i]},${p.band[i]},${p.flux[i]},${p.err[i]}`);
    });
    writeFileSync(path.join(tmp, 'points.csv'), `${lines.join('\n')}\n`);
    const script = fileURLToPath(new URL('./baselines/rubin_features.py', import.meta.url));
    const r = spawnSync('/usr/bin/python3', [script, src, tmp], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : r.stderr.trim().split('\n').pop() ?? 'failed';
      for (const row of rows) row.note = `baseline unavailable (${why.slice(0, 120)})`;
      return rows;
    }
    const py = JSON.parse(r.stdout) as { rainbow_seconds: number; rainbow_fits: number; ad_seconds: number; ad_bands: number };
    // the same numbers first
    const verdicts = { agree: 0, flat: 0, differ: 0, bothFailed: 0, oneFailed: 0 };
    for (const line of readFileSync(path.join(tmp, 'rainbow.csv'), 'utf8').trim().split('\n').slice(1)) {
      const c = line.split(',');
      const want = c.slice(1).map(Number);
      const got = Array.from(rainbowFeatures(alerts[Number(c[0])].lightCurve).subarray(0, 7));
      if (Number.isNaN(want[1]) || Number.isNaN(got[1])) {
        if (Number.isNaN(want[1]) && Number.isNaN(got[1])) verdicts.bothFailed++;
        else verdicts.oneFailed++;
        continue;
      }
      verdicts[ruleVerdict(got, want)]++;
    }
    rows[0].baselinePerCpuSecond = py.rainbow_fits / py.rainbow_seconds;
    rows[0].note = `light-curve RainbowFit + iminuit ${py.rainbow_fits} fits: ${verdicts.agree} agree, ${verdicts.flat} flat optimum, ${verdicts.differ} stop elsewhere, ${verdicts.bothFailed} fail in both, ${verdicts.oneFailed} fail in one`;
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
    rows[1].baselinePerCpuSecond = py.ad_bands / py.ad_seconds;
    rows[1].note = `light-curve Python features, ${py.ad_bands} bands: ${agree} of ${total} values within 1e-6`;
    return rows;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
