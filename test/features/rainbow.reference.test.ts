import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { readAlertFile, type Alert } from '../../datasets/index.ts';
import {
  EARLY_SNIA_RUBIN_FEATURE_NAMES, extractorByName, LSST_WAVELENGTH_ANGSTROM, RAINBOW_FEATURE_NAMES, rainbowObjective, rubinPoints,
} from '../../features/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';

/**
 * Rainbow against Fink's Rubin code (light-curve's RainbowFit under iminuit, as fink_science/rubin/
 * random_forest_snia calls it through actsnfink): reference/<file>_rainbow_fit.csv and <file>_rainbow.csv.
 *
 * The rule: a row agrees when every column is within 1e-3 relative, or, where the optimum is flat,
 * the reduced chi2 within 1e-5 and every parameter within 2%. Migrad stops where its EDM estimate drops
 * below 1e-4, short of the minimum, at a point that depends on every rounding on the way:
 * test/fixtures/rubin/rainbow_fit_1ulp.csv holds what Fink's own code returns when each flux moves up by one
 * ulp, and that run meets the rule against the reference for only 225 of 399 alerts. So a row outside the
 * rule is explained when
 *   - Fink's own code, with the fluxes one ulp up or one ulp down (test/fixtures/rubin/rainbow_fit_1ulp*.csv),
 *     is outside the rule too (the reference is not reproducible), or
 *   - our parameters reach a lower value of the very same cost (a better minimum), which
 *     rainbowObjective measures: it reproduces Fink's reduced chi2 at Fink's parameters to 1e-9.
 * Everything else is unexplained and must stay rare, as must fits one side gets and the other does not.
 */

const FILES: Array<[string, string[]]> = [
  ['elasticc_earlysnia', ['rubin', 'elasticc_earlysnia.parquet']],
  ['elasticc_sample_seed0', ['rubin', 'elasticc_sample_seed0.parquet']],
  ['elasticc_agn', ['rubin', 'elasticc_agn.parquet']],
  ['lsst_part-2-918301', ['lsst', 'part-2-918301.avro']],
];
const FIT_COLUMNS = ['reference_time', 'amplitude', 'rise_time', 'Tmin', 'delta_T', 'k_sig', 'reduced_chi2'] as const;
const WAVES = Object.values(LSST_WAVELENGTH_ANGSTROM);

type Row = Record<string, string>;

function readRows(path: string): Row[] {
  return parse(readFileSync(path, 'utf8'), { columns: true }) as Row[];
}

/** The rule on the 7 fit columns (0 reference_time ... 6 reduced_chi2). */
function verdict(got: ArrayLike<number>, want: ArrayLike<number>): 'agree' | 'flat' | 'differ' {
  const rel = Array.from({ length: 7 }, (_, k) => Math.abs(got[k] - want[k]) / Math.abs(want[k]));
  if (rel.every((r) => r <= 1e-3)) return 'agree';
  if (rel[6] <= 1e-5 && rel.slice(0, 6).every((r) => r <= 0.02)) return 'flat';
  return 'differ';
}

/** Cost of the package's fit at given parameters, on Fink's normalised light curve of the alert. */
function cost(a: Alert, params: ArrayLike<number>): { cost: number; reducedChi2: number } {
  const p = rubinPoints(a.lightCurve);
  let max = -Infinity;
  for (let i = 0; i < p.n; i++) max = Math.max(max, p.flux[i]);
  return rainbowObjective(p.mjd, p.flux.map((f) => f / max), p.err.map((e) => e / max), p.band.map((b) => LSST_WAVELENGTH_ANGSTROM[b]), p.n, WAVES, params);
}

interface Tally {
  agree: number;
  flat: number;
  finkUnstable: number;
  lowerCost: number;
  unexplained: string[];
  missing: string[];
  extra: string[];
}

function explain(a: Alert, id: string, got: ArrayLike<number>, want: number[], perturbed: Array<number[] | undefined>, t: Tally): void {
  const v = verdict(got, want);
  if (v === 'agree') t.agree++;
  else if (v === 'flat') t.flat++;
  else if (perturbed.some((p) => p && (p.some(Number.isNaN) || verdict(p, want) === 'differ'))) t.finkUnstable++;
  else if (cost(a, got).cost <= cost(a, want).cost) t.lowerCost++;
  else t.unexplained.push(id);
}

describe("Rainbow against Fink's Rubin early SN Ia code (reference/<file>_rainbow_fit.csv, <file>_rainbow.csv)", async () => {
  const alertsByFile = new Map<string, Alert[]>();
  for (const [name, where] of FILES) alertsByFile.set(name, (await readAlertFile(sharedPath(...where))).alerts);
  const fixture = (name: string) => new Map(readRows(`${REPO_ROOT}/test/fixtures/rubin/${name}`).map((r) => [`${r.file}:${r.row}`, FIT_COLUMNS.map((c) => Number(r[c]))]));
  const up = fixture('rainbow_fit_1ulp.csv');
  const down = fixture('rainbow_fit_1ulp_down.csv');
  const perturbed = { get: (key: string) => [up.get(key), down.get(key)] };

  it("computes Fink's cost: at Fink's parameters the package's reduced chi2 comes back to 1e-9 for all 399 fits", () => {
    let n = 0;
    for (const [name] of FILES) {
      const alerts = alertsByFile.get(name)!;
      for (const r of readRows(sharedPath('rubin', 'reference', `${name}_rainbow_fit.csv`))) {
        const want = FIT_COLUMNS.map((c) => Number(r[c]));
        const { reducedChi2 } = cost(alerts[Number(r.row)], want);
        expect(Math.abs(reducedChi2 - want[6]) / want[6], `${name} row ${r.row}`).toBeLessThan(1e-9);
        n++;
      }
    }
    expect(n).toBe(399);
  });

  it('rainbow: every alert with 7 points is fitted or explained; outliers are Migrad stopping elsewhere', () => {
    const ex = extractorByName('rainbow');
    expect(ex.spec.columns).toEqual([...RAINBOW_FEATURE_NAMES]);
    const t: Tally = { agree: 0, flat: 0, finkUnstable: 0, lowerCost: 0, unexplained: [], missing: [], extra: [] };
    for (const [name] of FILES) {
      const alerts = alertsByFile.get(name)!;
      const want = new Map(readRows(sharedPath('rubin', 'reference', `${name}_rainbow_fit.csv`)).map((r) => [Number(r.row), r]));
      alerts.forEach((a, row) => {
        const id = `${name} row ${row}`;
        const got = ex.extract(a);
        const ref = want.get(row);
        if (rubinPoints(a.lightCurve).n < 7) {
          expect(ref, id).toBeUndefined();
          expect(Number.isNaN(got[1]), id).toBe(true);
          return;
        }
        if (!ref) {
          if (!Number.isNaN(got[1])) t.extra.push(id);
          return;
        }
        expect(ref.alertId, id).toBe(String(a.candid));
        if (Number.isNaN(got[1])) {
          t.missing.push(id);
          return;
        }
        // lc_max is the maximum flux, exactly
        expect(got[7], id).toBe(Number(ref.lc_max));
        expect(ex.passesCuts(a, got), id).toBe(true);
        explain(a, id, got, FIT_COLUMNS.map((c) => Number(ref[c])), perturbed.get(`${name}:${row}`), t);
      });
    }
    const total = t.agree + t.flat + t.finkUnstable + t.lowerCost + t.unexplained.length + t.missing.length;
    expect(total).toBe(399);
    // measured on 2026-12-01: 188 agree, 48 flat (59% by the rule; Fink's own code one ulp up: 56%, down:
    // 58%), 137 where Fink one ulp away is outside the rule too, 10 at a lower cost, 8 unexplained, 8 not fitted
    expect(t.agree + t.flat).toBeGreaterThanOrEqual(220);
    expect(t.unexplained.length, t.unexplained.join('; ')).toBeLessThanOrEqual(12);
    expect(t.missing.length, t.missing.join('; ')).toBeLessThanOrEqual(12);
    expect(t.extra.length).toBeLessThanOrEqual(3);
    console.log(`rainbow: ${t.agree} agree, ${t.flat} flat, ${t.finkUnstable} where Fink's code one ulp away differs too, ${t.lowerCost} at a lower cost, ${t.unexplained.length} unexplained, ${t.missing.length} not fitted, ${t.extra.length} fitted where Fink raised`);
  });

  it("early-snia-rubin: Fink's selection exactly, npoints and lc_max exactly, the fits as for rainbow", () => {
    const ex = extractorByName('early-snia-rubin');
    expect(ex.spec.columns).toEqual([...EARLY_SNIA_RUBIN_FEATURE_NAMES]);
    const t: Tally = { agree: 0, flat: 0, finkUnstable: 0, lowerCost: 0, unexplained: [], missing: [], extra: [] };
    let zeros = 0;
    for (const [name] of FILES) {
      const alerts = alertsByFile.get(name)!;
      const fitRows = new Map(readRows(sharedPath('rubin', 'reference', `${name}_rainbow_fit.csv`)).map((r) => [Number(r.row), r]));
      for (const ref of readRows(sharedPath('rubin', 'reference', `${name}_rainbow.csv`))) {
        const row = Number(ref.row);
        const a = alertsByFile.get(name)![row];
        const id = `${name} row ${row}`;
        const got = ex.extract(a);
        expect(String(a.candid), id).toBe(ref.alertId);
        expect(got[0], `${id} npoints`).toBe(Number(ref.npoints));
        const finkFitted = Number(ref.amplitude) !== 0;
        const weFitted = got[1] !== 0;
        if (!finkFitted && !weFitted) {
          zeros++;
          expect(Array.from(got.subarray(1)).every((v) => v === 0), id).toBe(true);
          expect(ex.passesCuts(a, got), id).toBe(false);
          continue;
        }
        if (!finkFitted) {
          // Fink's fit raised (e.g. two points at one time) or did not converge where ours did
          t.extra.push(id);
          continue;
        }
        if (!weFitted) {
          t.missing.push(id);
          continue;
        }
        expect(got[7], `${id} lc_max`).toBe(Number(ref.lc_max));
        // the reference_time the vector lacks is the fit's: take it from the rainbow_fit reference
        const refFit = fitRows.get(row)!;
        const ours = [Number.NaN, ...Array.from(got.subarray(1, 7))];
        ours[0] = Number(refFit.reference_time);
        const oursFull = extractorByName('rainbow').extract(a);
        ours[0] = oursFull[0];
        explain(a, id, ours, FIT_COLUMNS.map((c) => Number(refFit[c])), perturbed.get(`${name}:${row}`), t);
      }
    }
    // 711 alerts fail Fink's selection (fewer than 7 points, or not enough rising bands) and get zeros
    expect(zeros + t.extra.length).toBe(711);
    expect(t.extra.length).toBeLessThanOrEqual(1);
    expect(t.agree + t.flat + t.finkUnstable + t.lowerCost + t.unexplained.length + t.missing.length).toBe(41);
    // measured: 13 agree, 4 flat, 22 where Fink one ulp away differs too, 2 unexplained, none missing
    expect(t.unexplained.length, t.unexplained.join('; ')).toBeLessThanOrEqual(4);
    expect(t.missing.length).toBeLessThanOrEqual(2);
    console.log(`early-snia-rubin: ${zeros} zero rows agree; fits: ${t.agree} agree, ${t.flat} flat, ${t.finkUnstable} Fink-unstable, ${t.lowerCost} lower cost, ${t.unexplained.length} unexplained (${t.unexplained.join(', ')}), ${t.missing.length} missing, ${t.extra.length} extra`);
  });
});
