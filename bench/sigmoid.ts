/**
 * Early SN Ia sigmoid features side by side with Fink's own Python code on the same alerts in the same run,
 * CPU-seconds: actsnfink's get_sigmoid_features_dev_fast (bench/baselines/actsnfink_sigmoid.py) from the
 * checkout of emilleishida/fink_sn_activelearning named by SIEVE_ACTSNFINK (see bench/README.md). Without
 * it, the row falls back to our re-implementation of its recipe (bench/baselines/sigmoid_features.py:
 * pandas and scipy.optimize.least_squares, written from its definition) and says so. Before timing counts,
 * the baseline's features are checked against the reference values Fink's own code computed
 * (../shared/.../reference), with the tolerances of test/features/sigmoid.reference.test.ts; a baseline that
 * cannot run prints "baseline unavailable".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Alert } from '../datasets/index.ts';
import { sigmoidFeatures } from '../features/index.ts';
import { benchFile } from './paths.ts';

export interface SigmoidRow {
  data: string;
  /** Which Python code the baseline column ran. */
  baseline: string;
  alerts: number;
  bandFits: number;
  sieveCpuSecondsPerAlert: number;
  baselineCpuSecondsPerAlert: number | null;
  note: string;
}

/** What went wrong with a child process: its error or the last line it wrote to stderr. */
const failure = (r: ReturnType<typeof spawnSync>): string => (r.error ? r.error.message : String(r.stderr).trim().split('\n').pop() ?? 'failed');

const close = (got: number, want: number) => Math.abs(got - want) <= Math.max(1e-6, 1e-4 * Math.abs(want));

/** reference: one row of 12 features (Fink's order) per alert, in the same order as alerts. */
export function runSigmoidSideBySide(data: string, alerts: Alert[], reference: number[][]): SigmoidRow {
  const out = new Float64Array(12);
  let bandFits = 0;
  for (const a of alerts) {
    sigmoidFeatures(a.lightCurve, undefined, out);
    bandFits += Number(out[5] > 0) + Number(out[11] > 0);
  }
  const c0 = process.cpuUsage();
  let n = 0;
  let used = 0;
  do {
    for (const a of alerts) sigmoidFeatures(a.lightCurve, undefined, out);
    n += alerts.length;
    const c = process.cpuUsage(c0);
    used = (c.user + c.system) / 1e6;
  } while (used < 2);
  const row: SigmoidRow = { data, baseline: '', alerts: alerts.length, bandFits, sieveCpuSecondsPerAlert: used / n, baselineCpuSecondsPerAlert: null, note: '' };

  const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-sigmoid-'));
  try {
    const lines = ['SNID,jd,mag,magerr,band'];
    alerts.forEach((a, id) => {
      const lc = a.lightCurve;
      for (let i = 0; i < lc.jd.length; i++) {
        if (lc.detected[i] && Number.isFinite(lc.mag[i])) lines.push(`${id},${lc.jd[i]},${lc.mag[i]},${lc.magErr[i]},${lc.bands[lc.band[i]]}`);
      }
    });
    writeFileSync(path.join(tmp, 'points.csv'), `${lines.join('\n')}\n`);
    // actsnfink's own function when a checkout is given, else our re-implementation of its recipe
    const actsnfink = process.env.SIEVE_ACTSNFINK;
    let r: ReturnType<typeof spawnSync> | null = null;
    let why = 'SIEVE_ACTSNFINK is not set';
    if (actsnfink) {
      const script = benchFile('baselines/actsnfink_sigmoid.py');
      r = spawnSync('/usr/bin/python3', ['-B', script, actsnfink, tmp], { encoding: 'utf8' });
      row.baseline = `actsnfink get_sigmoid_features_dev_fast (SIEVE_ACTSNFINK)`;
      if (r.error || r.status !== 0) {
        why = `actsnfink failed: ${failure(r).slice(0, 100)}`;
        r = null;
      }
    }
    if (!r) {
      const script = benchFile('baselines/sigmoid_features.py');
      r = spawnSync('/usr/bin/python3', ['-B', script, tmp], { encoding: 'utf8' });
      row.baseline = `fallback: our re-implementation of actsnfink's recipe, bench/baselines/sigmoid_features.py (${why})`;
    }
    if (r.error || r.status !== 0) {
      row.note = `baseline unavailable (${failure(r).slice(0, 120)})`;
      return row;
    }
    const { seconds } = JSON.parse(String(r.stdout)) as { seconds: number; objects: number };
    // Python only sees alerts with a detection; the others get the placeholder on both sides
    const got = new Map(readFileSync(path.join(tmp, 'features.csv'), 'utf8').trim().split('\n').map((l) => {
      const c = l.split(',').map(Number);
      return [c[0], c.slice(1)] as const;
    }));
    let agree = 0;
    let total = 0;
    alerts.forEach((_, id) => {
      const g = got.get(id) ?? [0, 0, 0, 0.1, 1e8, 0, 0, 0, 0, 0.1, 1e8, 0];
      for (let j = 0; j < 12; j++) {
        total++;
        if (close(g[j], reference[id][j])) agree++;
      }
    });
    row.baselineCpuSecondsPerAlert = seconds / alerts.length;
    row.note = `baseline vs Fink's reference: ${agree} of ${total} features within 1e-4`;
    return row;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
