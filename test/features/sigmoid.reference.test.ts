import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readAlertFile, fluxcalFromMag, fluxcalErrFromMag, type Alert } from '../../datasets/index.ts';
import {
  bandFluxcal, earlySnIaExtractor, fitSigmoid, risingPoints, sigmoidCost, SIGMOID_FEATURE_NAMES, DEFAULT_SIGMOID_PARAMS,
} from '../../features/index.ts';
import { sharedPath } from '../shared.ts';

/**
 * Holds every shared alert against what Fink's own code (actsnfink, scipy TRF) computes. Tolerances are
 * the issue's: nrise and passes_cuts exactly, a/b/c/snratio/mse within 1e-4 relative or 1e-6 absolute.
 *
 * The rule for every band Fink fits (issue 24): Sieve's least-squares cost is never above Fink's
 * (1e-7 relative). A lower cost is fine: where the features differ, Sieve either stopped at the same cost in
 * a flat valley or lower than Fink's. Fink's fit is not a minimum where scipy stopped on its limit of 300
 * evaluations (status 0; Sieve's TRF takes the same steps and reports the same status): there the point is
 * wherever the 300th evaluation left it, and the last bits of the input move its cost by ~1e-6 (scipy itself,
 * on inputs that differ from Fink's by 2e-15, lands 1.1e-6 above the reference on 202002 row 457 g), so the
 * features must agree instead, or the cost be lower.
 */
const REL = 1e-4;
const ABS = 1e-6;
const COST_REL = 1e-7;

function readCsv(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

function close(got: number, want: number): boolean {
  return Math.abs(got - want) <= Math.max(ABS, REL * Math.abs(want));
}

interface Outlier {
  id: string;
  band: string;
  features: string[];
  kind: 'same-cost' | 'lower-cost';
  reason: string;
}

/** Counts of the fitted bands by case, and the rule's failures. */
class BandTally {
  fitted = 0;
  agree = 0;
  evaluationLimit = 0;
  /** The largest cost excess over Fink's (relative) among the bands stopped on scipy's evaluation limit. */
  limitExcess = 0;
  failures: string[] = [];
  summary(outliers: Outlier[]): string {
    const lower = outliers.filter((o) => o.kind === 'lower-cost').length;
    return `${this.fitted} band fits: ${this.agree} within the tolerances, ${outliers.length - lower} at the same cost, ${lower} at a lower cost than Fink's; `
      + `${this.evaluationLimit} stopped by scipy's 300-evaluation limit (cost up to ${this.limitExcess.toExponential(1)} above Fink's, features within the tolerances)`;
  }
}

/**
 * Compares one alert's 12 features by the rule above; a band whose features differ is listed as an
 * outlier with the two costs.
 */
function compare(alert: Alert, got: Float64Array, want: number[], id: string, outliers: Outlier[], t: BandTally): void {
  for (const [band, off] of [['g', 0], ['r', 6]] as const) {
    expect(got[off + 5], `${id} nrise_${band}`).toBe(want[off + 5]);
    if (!(want[off + 5] > 0)) continue;
    t.fitted++;
    const pts = risingPoints(bandFluxcal(alert.lightCurve, band), DEFAULT_SIGMOID_PARAMS);
    expect(pts, `${id} ${band}: Fink has a fit, Sieve has no rising points`).not.toBeNull();
    const ours = sigmoidCost(pts!, got[off], got[off + 1], got[off + 2]);
    const finks = sigmoidCost(pts!, want[off], want[off + 1], want[off + 2]);
    const rel = (ours - finks) / finks;
    const bad = [0, 1, 2, 3, 4].filter((k) => !close(got[off + k], want[off + k]));
    const converged = fitSigmoid(pts!.t, pts!.flux, pts!.n).status !== 0;
    if (!converged) {
      t.evaluationLimit++;
      if (bad.length === 0) t.limitExcess = Math.max(t.limitExcess, rel);
    }
    if (rel > COST_REL && (converged || bad.length > 0)) t.failures.push(`${id} ${band}: cost ${ours} above Fink's ${finks} (rel ${rel.toExponential(1)})`);
    if (bad.length === 0) {
      t.agree++;
      continue;
    }
    const same = Math.abs(rel) < COST_REL;
    outliers.push({
      id,
      band,
      features: bad.map((k) => SIGMOID_FEATURE_NAMES[off + k]),
      kind: same ? 'same-cost' : 'lower-cost',
      reason: (same ? 'nearly flat cost valley along a/b' : 'our cost is lower than Fink\'s: scipy stopped before the minimum')
        + ` (the rise is resolved by nights t=${Array.from(pts!.t.slice(0, pts!.n)).join(',')}); `
        + `cost ours ${ours.toPrecision(10)}, Fink ${finks.toPrecision(10)}, rel ${rel.toExponential(1)}, `
        + `a ${got[off].toPrecision(6)} vs ${want[off].toPrecision(6)}${converged ? '' : ', scipy at its evaluation limit'}`,
    });
  }
}

describe("early SN Ia sigmoid features against Fink's reference values", () => {
  it('feeds the fit the same FLUXCAL inputs Fink saw (reference_sigmoid_inputs.jsonl)', async () => {
    const r = await readAlertFile(sharedPath('ztf', 'alerts.jsonl'));
    const inputs = readFileSync(sharedPath('ztf', 'reference_sigmoid_inputs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(inputs).toHaveLength(r.alerts.length);
    let points = 0;
    r.alerts.forEach((a, i) => {
      const ref = inputs[i];
      for (const band of ['g', 'r']) {
        const ours = bandFluxcal(a.lightCurve, band);
        const idx = ref.FLT.map((f: string, k: number) => (f === band ? k : -1)).filter((k: number) => k >= 0);
        expect(ours.n, `${ref.candid} ${band}`).toBe(idx.length);
        idx.forEach((k: number, j: number) => {
          expect(ours.jd[j]).toBe(ref.MJD[k]);
          expect(Math.abs(ours.flux[j] - ref.FLUXCAL[k])).toBeLessThanOrEqual(2e-15 * ref.FLUXCAL[k]);
          expect(Math.abs(ours.fluxErr[j] - ref.FLUXCALERR[k])).toBeLessThanOrEqual(2e-15 * ref.FLUXCALERR[k]);
          points++;
        });
      }
    });
    expect(points).toBe(927);
    expect(fluxcalFromMag(20)).toBeCloseTo(1e3, 9);
    // FLUXCALERR = FLUXCAL * ln(10)/2.5 * sigma_mag, with Fink's rounded constants
    expect(fluxcalErrFromMag(20, 0.1) / (1e3 * 0.921034 * 0.1)).toBeCloseTo(1, 5);
  });

  it('matches all 140 real ZTF alerts (features and passes_cuts)', async () => {
    const ex = earlySnIaExtractor();
    const r = await readAlertFile(sharedPath('ztf', 'alerts.jsonl'));
    const { header, rows } = readCsv(sharedPath('ztf', 'reference_sigmoid_features.csv'));
    expect(header.slice(3)).toEqual([...SIGMOID_FEATURE_NAMES]);
    expect(ex.spec.columns).toEqual(header.slice(3));
    expect(rows).toHaveLength(r.alerts.length);
    const outliers: Outlier[] = [];
    const t = new BandTally();
    let fitted = 0;
    let passing = 0;
    r.alerts.forEach((a, i) => {
      const row = rows[i];
      expect(row[1]).toBe(a.candid!.toString());
      expect(ex.passesCuts(a) ? '1' : '0', `${row[1]} passes_cuts`).toBe(row[2]);
      passing += Number(row[2]);
      const want = row.slice(3).map(Number);
      fitted += Number(want[5] > 0) + Number(want[11] > 0);
      compare(a, ex.extract(a), want, `candid ${row[1]}`, outliers, t);
    });
    console.info(`[sigmoid, real ZTF] ${t.summary(outliers)}`);
    expect(t.failures, t.failures.join('\n')).toEqual([]);
    expect(passing).toBe(3);
    expect(fitted).toBe(15);
    expect(t.fitted).toBe(15);
    expect(outliers).toEqual([]);
  });

  it('matches every row of the TNS-labelled files; the few that cannot match are listed with a reason', async () => {
    const ex = earlySnIaExtractor();
    const outliers: Outlier[] = [];
    const t = new BandTally();
    let total = 0;
    let fitted = 0;
    for (const name of ['nov2019', '202001', '202002', '202003']) {
      const r = await readAlertFile(sharedPath('tns', `fink_cross_tns_${name}.parquet`));
      const { rows } = readCsv(sharedPath('tns', 'reference', `fink_cross_tns_${name}_sigmoid_features.csv`));
      expect(rows).toHaveLength(r.alerts.length);
      r.alerts.forEach((a, i) => {
        const row = rows[i];
        expect(Number(row[0])).toBe(i);
        expect(row[1]).toBe(a.objectId);
        const want = row.slice(3).map(Number);
        fitted += Number(want[5] > 0) + Number(want[11] > 0);
        compare(a, ex.extract(a), want, `${name} row ${i} ${a.objectId}`, outliers, t);
        total++;
      });
    }
    expect(total).toBe(1888);
    expect(fitted).toBeGreaterThan(300);
    // Printed so that a person sees which alerts differ and why.
    for (const o of outliers) console.info(`[sigmoid outlier] ${o.id} band ${o.band} ${o.features.join(',')}: ${o.reason}`);
    const alertsWithOutliers = new Set(outliers.map((o) => o.id)).size;
    console.info(`[sigmoid, TNS] ${t.summary(outliers)}`);
    expect(t.failures, t.failures.join('\n')).toEqual([]);
    expect(t.fitted).toBe(fitted);
    // 12 alerts (0.6%) today. Which ones is sensitive to the last bits of the SVD (LAPACK vs Jacobi) because
    // the valleys are flat; the cost rule is what guarantees each is at Fink's cost or lower.
    expect(alertsWithOutliers / total).toBeLessThanOrEqual(0.03);
  });
});
