import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readAlertFile, LightCurveBuilder, ZTF_BANDS } from '../../datasets/index.ts';
import {
  ANOMALY_FEATURE_NAMES, anomalyExtractor, anomalyFeaturesFromArrays, AnomalyScratch, ppf, normalCdf,
} from '../../features/index.ts';
import { sharedPath } from '../shared.ts';

function features(t: number[], m: number[], s: number[] = m.map(() => 0.1)): Record<string, number> {
  const out = new Float64Array(25);
  anomalyFeaturesFromArrays(Float64Array.from(t), Float64Array.from(m), Float64Array.from(s), t.length, out, 0, new AnomalyScratch());
  return Object.fromEntries(ANOMALY_FEATURE_NAMES.map((n, i) => [n, out[i]]));
}

/** The value of one unit in the last written digit of a decimal: '0.008097' -> 1e-6, '2.666' -> 1e-3, '1.2e-05' -> 1e-6. */
function lastDigitUnit(v: string): number {
  const m = /^[-+]?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(v);
  if (!m) throw new Error(`not a decimal: ${v}`);
  return 10 ** (-(m[2]?.length ?? 0) + Number(m[3] ?? 0));
}

describe('anomaly features (light-curve package definitions)', () => {
  it.each(['536106200014286', '633202300014898', '633211400005684'])(
    "matches the light-curve package's values on real ZTF curve %s to the references' own precision",
    (id) => {
      const rows = readFileSync(sharedPath('lightcurve_features', `${id}.csv`), 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
      const ref: Record<string, number> = {};
      const text: Record<string, string> = {};
      for (const line of readFileSync(sharedPath('lightcurve_features', `${id}.features`), 'utf8').split('\n')) {
        const [k, v] = line.split(': ');
        if (v !== undefined) {
          ref[k] = Number(v);
          text[k] = v.trim();
        }
      }
      const got = features(rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]));
      const overlapping = ANOMALY_FEATURE_NAMES.filter((n) => n in ref);
      // 21 of Fink's 25 have a reference value; the other 4 are tested on hand-computed inputs below.
      expect(overlapping).toHaveLength(21);
      for (const n of overlapping) {
        // the file gives 4 significant digits: ours must round to the same value (half a unit in its last place)
        const halfUlp = 0.5 * lastDigitUnit(text[n]);
        expect(Math.abs(got[n] - ref[n]), `${id} ${n}: ${got[n]} vs ${text[n]}`).toBeLessThanOrEqual(halfUlp * (1 + 1e-9));
      }
    },
  );

  it('computes the four features without a reference value on hand-computed inputs', () => {
    // Anderson-Darling for [1, 2, 3, 4]: z = (m - 2.5)/sqrt(5/3), A^2 = 0.15925 by hand, times (1 + 4/n - 25/n^2).
    expect(features([0, 1, 2, 3], [1, 2, 3, 4]).anderson_darling_normal).toBeCloseTo(0.15925 * 0.4375, 4);
    // m = 2 t + r with r orthogonal to 1 and t: slope exactly 2, RSS 4, noise sqrt(4 / (n - 2)).
    const lt = features([0, 1, 2, 3], [1, 1, 3, 7]);
    expect(lt.linear_trend).toBeCloseTo(2, 12);
    expect(lt.linear_trend_noise).toBeCloseTo(Math.SQRT2, 12);
    expect(lt.linear_trend_sigma).toBeCloseTo(Math.sqrt(2 / 5), 12);
    expect(features([0, 1, 2], [5, 1, 3]).median).toBe(3);
    expect(features([0, 1, 2, 3], [4, 1, 3, 2]).median).toBe(2.5);
    // median 5.2, buffer 0.1 * (10 - 0) / 2 = 0.5: 5, 5.4 and 5.5 lie inside, 4.6 does not.
    expect(features([0, 1, 2, 3, 4, 5], [0, 10, 5, 5.4, 4.6, 5.5]).median_buffer_range_percentage_10).toBeCloseTo(0.5, 12);
  });

  it('follows the definitions on small inputs', () => {
    const f = features([0, 1, 3, 4], [10, 12, 11, 15], [1, 1, 2, 2]);
    expect(f.amplitude).toBe(2.5);
    expect(f.mean).toBe(12);
    expect(f.weighted_mean).toBeCloseTo((10 + 12 + 11 / 4 + 15 / 4) / 2.5, 12);
    expect(f.maximum_slope).toBe(4);
    expect(f.percent_amplitude).toBe(15 - 11.5);
    expect(f.standard_deviation).toBeCloseTo(Math.sqrt(14 / 3), 12);
    expect(f.beyond_1_std).toBe(0.25);
    // R-5 quantiles: Q(0.1) of 1..10 is 1.5 (the package keeps q as f32)
    expect(ppf(Float64Array.from({ length: 10 }, (_, i) => i + 1), 10, 0.1)).toBeCloseTo(1.5, 6);
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1.959963984540054)).toBeCloseTo(0.975, 14);
    expect(normalCdf(-5)).toBeCloseTo(2.866515718791939e-7, 20);
  });

  it('gives NaN where the package cannot compute a feature', () => {
    const one = features([0], [12]);
    expect(one.mean).toBe(12);
    expect(Number.isNaN(one.standard_deviation)).toBe(true);
    expect(Number.isNaN(one.kurtosis)).toBe(true);
    const flat = features([0, 1, 2, 3], [12, 12, 12, 12]);
    expect(Number.isNaN(flat.skew)).toBe(true);
    expect(flat.amplitude).toBe(0);
  });

  it("extracts Fink's 25 columns per band from an alert, g then r, on time-sorted detections", async () => {
    const ex = anomalyExtractor();
    expect(ex.spec.columns).toHaveLength(50);
    expect(ex.spec.columns[0]).toBe('amplitude_g');
    expect(ex.spec.columns[25]).toBe('amplitude_r');
    // Out-of-order points give the same features as sorted ones.
    const b1 = new LightCurveBuilder(ZTF_BANDS, 'mag');
    const b2 = new LightCurveBuilder(ZTF_BANDS, 'mag');
    const pts = [[3, 18.2], [1, 18.0], [2, 18.5], [5, 18.9], [4, 18.1]];
    for (const [t, m] of pts) b1.addMagnitude({ jd: t, band: 0, mag: m, magErr: 0.1, limitMag: 20 });
    for (const [t, m] of [...pts].sort((a, b) => a[0] - b[0])) b2.addMagnitude({ jd: t, band: 0, mag: m, magErr: 0.1, limitMag: 20 });
    const base = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts[0];
    const f1 = Array.from(ex.extract({ ...base, lightCurve: b1.build() }));
    const f2 = Array.from(ex.extract({ ...base, lightCurve: b2.build() }));
    expect(f1).toEqual(f2);
    expect(f1.slice(25).every(Number.isNaN)).toBe(true); // no r detections
  });
});
