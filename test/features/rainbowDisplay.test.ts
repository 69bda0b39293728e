import { describe, expect, it } from 'vitest';
import { readAlertFile, simulate, type Alert } from '../../datasets/index.ts';
import { earlySnIaRubinExtractor, rainbowDisplayValues, rainbowFeatures, rainbowFitCurves } from '../../features/index.ts';
import { sharedPath } from '../shared.ts';

/**
 * The Rainbow curve the alert page draws for an early-snia-rubin row (which lacks the fit's reference_time):
 * found from the row's own parameters instead of fitting again from every start, it is the refit's curve.
 * ELAsTiCC's early SN Ia (real Fink inputs) and simulated Rubin light curves.
 */
const fitted = (alerts: Alert[]) => {
  const ex = earlySnIaRubinExtractor();
  return alerts.map((a) => ({ a, row: ex.extract(a) })).filter(({ row }) => Number.isFinite(row[1]) && row[1] !== 0);
};

/** Largest difference between two sets of curves, relative to the largest |flux| drawn. */
function curveDifference(a: Alert, x: Float64Array, y: Float64Array): number {
  const cx = rainbowFitCurves(a.lightCurve, x);
  const cy = rainbowFitCurves(a.lightCurve, y);
  expect(cy.map((c) => c.band)).toEqual(cx.map((c) => c.band));
  let peak = 0;
  let diff = 0;
  cx.forEach((c, b) => c.fluxNanoJy.forEach((v, k) => {
    peak = Math.max(peak, Math.abs(v));
    diff = Math.max(diff, Math.abs(v - cy[b].fluxNanoJy[k]));
  }));
  return diff / peak;
}

describe('the Rainbow curve of an early-snia-rubin row', () => {
  it("is the refit's curve within 1e-5 of its peak (far below a pixel), found without the refit for most rows", async () => {
    const alerts = [...(await readAlertFile(sharedPath('rubin', 'elasticc_earlysnia.parquet'))).alerts, ...[...simulate(800, 31, { survey: 'lsst' })].map((o) => o.alert)];
    const rows = fitted(alerts);
    expect(rows.length).toBeGreaterThan(60);
    let found = 0;
    for (const { a, row } of rows) {
      const refit = rainbowFeatures(a.lightCurve);
      const shown = rainbowDisplayValues(a.lightCurve, row);
      // the row's own parameters, reduced chi2 and lc_max are drawn as stored
      expect(Array.from(shown.slice(1))).toEqual([...Array.from(row.slice(1, 7)), refit[7]]);
      if (shown[0] !== refit[0]) found++;
      expect(Math.abs(shown[0] - refit[0]), `alert ${a.objectId}: reference_time`).toBeLessThan(1e-3);
      expect(curveDifference(a, refit, shown), `alert ${a.objectId}`).toBeLessThan(1e-5);
    }
    // the refit is the way out, not the rule
    expect(found / rows.length).toBeGreaterThan(0.8);
  });

  it('fits again when the row is not at a minimum of its light curve (another alert, or a changed row)', async () => {
    const rows = fitted([...simulate(80, 32, { survey: 'lsst' })].map((o) => o.alert));
    const { a, row } = rows[0];
    const changed = Float64Array.from(row);
    changed[1] *= 1.1;
    expect(rainbowDisplayValues(a.lightCurve, changed)).toEqual(rainbowFeatures(a.lightCurve));
    const other = rows[1].row;
    expect(rainbowDisplayValues(a.lightCurve, other)).toEqual(rainbowFeatures(a.lightCurve));
  });
});
