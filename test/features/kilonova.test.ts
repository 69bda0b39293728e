import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LightCurveBuilder, ZTF_BANDS, simulate, type Alert } from '../../datasets/index.ts';
import {
  DEFAULT_BASIS_TRAINING, KILONOVA_FEATURE_NAMES, kilonovaExtractor, learnPcaBasis, loadDefaultPcaBasis, validatePcaBasis,
  fitComponentCoefficients, kilonovaFeatures,
} from '../../features/index.ts';
import { REPO_ROOT } from '../shared.ts';

function alertWith(lcBuilder: LightCurveBuilder): Alert {
  const lc = lcBuilder.build();
  return {
    survey: 'ztf', objectId: 'TEST', candid: 1n, ra: 0, dec: 0, lightCurve: lc, cutouts: {}, extra: {},
    candidate: { jd: 0, band: 'g', fid: 1, magpsf: 0, sigmapsf: 0, isdiffpos: 't', rb: 1, drb: 1, sgscore1: 0, distpsnr1: 0, ssdistnr: 0, ndethist: 1, classtar: 0, diffmaglim: 20 },
  };
}

describe('kilonova PCA features', () => {
  const basis = loadDefaultPcaBasis();

  it('ships the basis that the training recipe produces, bit for bit', () => {
    const fresh = learnPcaBasis(DEFAULT_BASIS_TRAINING);
    expect(fresh.sha256).toBe(basis.sha256);
    expect(fresh.components).toEqual(basis.components);
  });

  it('has 3 components on a 0.25-day grid over +-50 days, each scaled to max |value| = 1', () => {
    expect(basis.components).toHaveLength(3);
    for (const c of basis.components) {
      expect(c).toHaveLength(401);
      expect(Math.max(...c.map(Math.abs))).toBeCloseTo(1, 12);
    }
    // The first component is the mean shape: peaked at the centre.
    const c0 = basis.components[0];
    expect(c0.indexOf(Math.max(...c0))).toBe(200);
    expect(basis.explainedVarianceRatio[0]).toBeGreaterThan(basis.explainedVarianceRatio[1]);
  });

  it('refuses a tampered basis', () => {
    const raw = JSON.parse(readFileSync(`${REPO_ROOT}/features/data/kilonova-pca-basis.json`, 'utf8'));
    raw.components[0][10] += 1e-6;
    expect(() => validatePcaBasis(raw)).toThrow(/sha256 mismatch/);
    expect(() => validatePcaBasis({ ...raw, schema: 'other' })).toThrow(/schema/);
  });

  it('recovers the coefficients of a light curve built from the components', () => {
    const truth = [0.9, 0.3, -0.2];
    const g = [130, 170, 190, 200, 210, 230, 250, 270];
    const nComp = 3;
    const design = new Float64Array(g.length * nComp);
    const f = new Float64Array(g.length);
    const e = new Float64Array(g.length).fill(0.01);
    g.forEach((idx, r) => {
      for (let c = 0; c < nComp; c++) design[r * nComp + c] = basis.components[c][idx];
      f[r] = truth.reduce((s, v, c) => s + v * basis.components[c][idx], 0);
    });
    // Without regularisation the exact coefficients come back; with it the penalised ones shrink.
    const free = fitComponentCoefficients(design, g.length, nComp, f, e, 0, []);
    free.forEach((v, i) => expect(v).toBeCloseTo(truth[i], 6));
    const shrunk = fitComponentCoefficients(design, g.length, nComp, f, e, 1e5, [1, 2]);
    expect(Math.abs(shrunk[1])).toBeLessThan(0.3);
    expect(Math.abs(shrunk[2])).toBeLessThan(0.2);
    for (const v of shrunk) expect(Math.abs(v)).toBeLessThanOrEqual(2);
  });

  it('gives zeros to a band that is too faint or has fewer than 2 points', () => {
    const b = new LightCurveBuilder(ZTF_BANDS, 'mag');
    // FLUXCAL = 10^(-0.4 m + 11): m = 21.8 gives ~191 < 200
    b.addMagnitude({ jd: 10, band: 0, mag: 21.8, magErr: 0.2, limitMag: 22 });
    b.addMagnitude({ jd: 12, band: 0, mag: 21.9, magErr: 0.2, limitMag: 22 });
    b.addMagnitude({ jd: 10, band: 1, mag: 18, magErr: 0.05, limitMag: 21 });
    const f = kilonovaFeatures(alertWith(b).lightCurve, basis);
    expect(Array.from(f)).toEqual(new Array(10).fill(0));
  });

  it('separates simulated kilonovae from supernovae in coefficient space', () => {
    const ex = kilonovaExtractor(basis);
    expect(ex.spec.columns).toEqual([...KILONOVA_FEATURE_NAMES]);
    const residual: Record<string, number[]> = { kilonova: [], 'SN Ia': [] };
    const opts = { classWeights: { kilonova: 1, 'SN Ia': 1 } };
    for (const o of simulate(1500, 5, opts)) {
      const f = ex.extract(o.alert);
      if (f[4] > 0 && f[3] > 0) residual[o.alert.label!].push(f[0]);
    }
    // Fast kilonovae barely load the broad mean shape; supernovae do.
    const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
    expect(residual['SN Ia'].length).toBeGreaterThan(20);
    expect(mean(residual['SN Ia'])).toBeGreaterThan(0.5);
    // kilonovae fade within days, so few get two bright points in a band: enough must, for the comparison to mean anything
    console.info(`[kilonova] fitted: ${residual.kilonova.length} kilonovae, ${residual['SN Ia'].length} SN Ia`);
    expect(residual.kilonova.length).toBeGreaterThanOrEqual(10);
    expect(mean(residual.kilonova)).toBeLessThan(mean(residual['SN Ia']));
  });
});
