/**
 * Kilonova features (kndetect) side by side with kndetect's own Python package on the same light curves: the
 * real ZTF alerts of ../shared, converted to FLUXCAL once and handed to both. The Python side runs
 * extract_features_all_lightcurves, as Fink's kilonova module does, from a checkout of b-biswas/kndetect
 * named by SIEVE_KNDETECT (see bench/README.md). Without it, or without Debian's python3-pandas/-scipy, the
 * row says "baseline unavailable". Before timing, the two outputs are compared feature by feature.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Alert } from '../datasets/index.ts';
import { bandFluxcal, kndetectFeatures, loadKndetectPcs } from '../features/index.ts';
import { benchFile } from './paths.ts';

export interface KndetectRow {
  alerts: number;
  sieveCpuSecondsPerAlert: number;
  baselineCpuSecondsPerAlert: number | null;
  note: string;
}

/** The checkout holding the `kndetect` package (SIEVE_KNDETECT), or why there is none. */
function kndetectSource(): { dir: string } | { unavailable: string } {
  const root = process.env.SIEVE_KNDETECT;
  if (!root) return { unavailable: 'SIEVE_KNDETECT is not set' };
  for (const f of ['kndetect/features.py', 'kndetect/utils.py', 'kndetect/data/interpolated_mixed_pcs.npy']) {
    if (!existsSync(path.join(root, f))) return { unavailable: `SIEVE_KNDETECT=${root} has no ${f}` };
  }
  return { dir: root };
}

export function runKndetectSideBySide(alerts: Alert[]): KndetectRow {
  const basis = loadKndetectPcs();
  const out = new Float64Array(10);
  // Sieve: CPU time per alert over repeated passes (at least 1 s), after one warm-up pass
  for (const a of alerts) kndetectFeatures(a.lightCurve, basis, undefined, out);
  const c0 = process.cpuUsage();
  let n = 0;
  let used = 0;
  do {
    for (const a of alerts) kndetectFeatures(a.lightCurve, basis, undefined, out);
    n += alerts.length;
    const c = process.cpuUsage(c0);
    used = (c.user + c.system) / 1e6;
  } while (used < 1);
  const sieve = used / n;

  const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-kndetect-'));
  try {
    const src = kndetectSource();
    if ('unavailable' in src) return { alerts: alerts.length, sieveCpuSecondsPerAlert: sieve, baselineCpuSecondsPerAlert: null, note: `baseline unavailable (${src.unavailable})` };
    const lines = ['SNID,MJD,FLUXCAL,FLUXCALERR,FLT'];
    alerts.forEach((a, id) => {
      for (const band of ['g', 'r']) {
        const p = bandFluxcal(a.lightCurve, band);
        for (let i = 0; i < p.n; i++) lines.push(`${id},${p.jd[i]},${p.flux[i]},${p.fluxErr[i]},${band}`);
      }
    });
    writeFileSync(path.join(tmp, 'lc.csv'), `${lines.join('\n')}\n`);
    const script = benchFile('baselines/kndetect_features.py');
    const r = spawnSync('/usr/bin/python3', ['-B', script, src.dir, tmp], { encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : r.stderr.trim().split('\n').pop() ?? 'failed';
      return { alerts: alerts.length, sieveCpuSecondsPerAlert: sieve, baselineCpuSecondsPerAlert: null, note: `baseline unavailable (${why.slice(0, 120)})` };
    }
    const { seconds, objects } = JSON.parse(r.stdout) as { seconds: number; objects: number };
    // the same numbers first: every feature within 1e-4 relative (or 1e-6 absolute for coefficients at 0)
    const rows = readFileSync(path.join(tmp, 'features.csv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
    let agree = 0;
    let total = 0;
    for (const row of rows) {
      const ours = kndetectFeatures(alerts[row[0]].lightCurve, basis, undefined, new Float64Array(10));
      for (let j = 0; j < 10; j++) {
        total++;
        if (Math.abs(ours[j] - row[j + 1]) <= Math.max(1e-4 * Math.abs(row[j + 1]), 1e-6)) agree++;
      }
    }
    return {
      alerts: objects, sieveCpuSecondsPerAlert: sieve, baselineCpuSecondsPerAlert: seconds / objects,
      note: `kndetect (Python) extract_features_all_lightcurves; ${agree} of ${total} features agree`,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
