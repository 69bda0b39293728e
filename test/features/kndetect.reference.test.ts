import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readAlertFile } from '../../datasets/index.ts';
import { bandFluxcal, extractorByName, KNDETECT_FEATURE_NAMES, loadKndetectPcs } from '../../features/index.ts';
import { randomForestFromSklearnPickle } from '../../models/index.ts';
import { sharedPath } from '../shared.ts';

/** kndetect's loss (features.py calc_loss) at given coefficients, for one band of an alert. */
function kndetectLoss(a: Parameters<typeof bandFluxcal>[0], band: string, c: number[]): number {
  const pcs = loadKndetectPcs();
  const p = bandFluxcal(a, band);
  let iMax = 0;
  for (let i = 1; i < p.n; i++) if (p.flux[i] > p.flux[iMax]) iMax = i;
  const max = p.flux[iMax];
  let loss = 0;
  for (let i = 0; i < p.n; i++) {
    if (!(p.jd[i] > p.jd[iMax] - 50 && p.jd[i] < p.jd[iMax] + 50)) continue;
    const m = Math.round((p.jd[i] - p.jd[iMax]) / 0.25 + 200);
    const pred = c[0] * pcs.components[0][m] + c[1] * pcs.components[1][m] + c[2] * pcs.components[2][m];
    loss += ((pred - p.flux[i] / max) / (p.fluxErr[i] / max)) ** 2;
  }
  const w = (max / p.fluxErr[iMax]) ** 2;
  return loss + w * (c[1] ** 2 + c[2] ** 2 + (c[0] < 0 ? c[0] ** 2 : 0));
}

describe("kilonova features against Fink's kndetect (reference_kndetect_features.csv)", () => {
  it('matches every fitted band of the 140 real ZTF alerts, never at a higher loss than Fink\'s; the few coefficients that cannot match are listed with a reason', async () => {
    const ex = extractorByName('kilonova');
    expect(ex.spec.columns).toEqual([...KNDETECT_FEATURE_NAMES]);
    const alerts = new Map((await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts.map((a) => [String(a.candid), a]));
    const lines = readFileSync(sharedPath('kilonova', 'reference_kndetect_features.csv'), 'utf8').trim().split('\n');
    expect(lines[0].split(',').slice(2, 12)).toEqual([...KNDETECT_FEATURE_NAMES]);
    const fink = randomForestFromSklearnPickle(new Uint8Array(readFileSync(sharedPath('kilonova', 'kndetect_partial.pkl'))), 'kndetect_partial.pkl');
    let fitted = 0;
    let lower = 0;
    const failures: string[] = [];
    const outliers: string[] = [];
    for (const line of lines.slice(1)) {
      const c = line.split(',');
      const a = alerts.get(c[1])!;
      const got = ex.extract(a);
      const want = c.slice(2, 12).map(Number);
      for (const [band, off] of [['g', 0], ['r', 5]] as const) {
        const ours = kndetectLoss(a.lightCurve, band, Array.from(got.subarray(off, off + 3)));
        const finks = kndetectLoss(a.lightCurve, band, want.slice(off, off + 3));
        if (want[off] !== 0) {
          fitted++;
          // the rule for every fitted band (issue 24): Sieve's loss is never above Fink's (1e-12 relative)
          if (ours > finks * (1 + 1e-12)) failures.push(`${c[0]} ${band}: loss ${ours} above Fink's ${finks}`);
          if (ours < finks * (1 - 1e-12)) lower++;
        }
        // residuo and maxflux: within 1e-4 relative, always
        for (const j of [off + 3, off + 4]) expect(Math.abs(got[j] - want[j]), `${c[0]} ${KNDETECT_FEATURE_NAMES[j]}`).toBeLessThanOrEqual(1e-4 * Math.abs(want[j]));
        for (const j of [off, off + 1, off + 2]) {
          if (Math.abs(got[j] - want[j]) <= 1e-4 * Math.abs(want[j])) continue;
          // the exact minimum has this coefficient at 0 (a regularised component the data do not ask for);
          // L-BFGS-B stops a few 1e-9 away from it. Same residuo, and (above) our loss is not higher than Fink's.
          expect(Math.abs(got[j]), `${c[0]} ${KNDETECT_FEATURE_NAMES[j]}`).toBeLessThan(1e-6);
          expect(Math.abs(want[j]), `${c[0]} ${KNDETECT_FEATURE_NAMES[j]}`).toBeLessThan(1e-6);
          outliers.push(`${c[0]} ${KNDETECT_FEATURE_NAMES[j]}: ${got[j].toExponential(2)} vs ${want[j].toExponential(2)} (exact optimum 0; loss ours ${ours.toPrecision(12)} <= Fink ${finks.toPrecision(12)})`);
        }
      }
      // Fink's score: its deployed forest on these features, 0 unless both bands have a fit
      const both = got[0] !== 0 && got[5] !== 0;
      const p = both ? fink.rf.predictProba({ data: Float32Array.from(got), rows: 1, cols: 10 })[1] : 0;
      expect(Math.abs(p - Number(c[12])), `${c[0]} rf_kn_vs_nonkn`).toBeLessThanOrEqual(1e-12);
    }
    for (const o of outliers) console.info(`[kndetect outlier] ${o}`);
    console.info(`[kndetect] ${fitted} band fits: ${fitted - lower} at Fink's loss (1e-12), ${lower} lower, none higher; ${outliers.length} coefficients outside 1e-4 (optimum at 0)`);
    expect(failures, failures.join('\n')).toEqual([]);
    expect(fitted).toBe(136);
    expect(outliers.length).toBeLessThanOrEqual(4);
  });
});
