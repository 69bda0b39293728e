import { describe, expect, it } from 'vitest';
import { contextInfo, featureUnit, isSentinel } from '../../ui/src/units.ts';
import { ANOMALY_FEATURE_NAMES, SIGMOID_FEATURE_NAMES, KILONOVA_FEATURE_NAMES } from '../../features/index.ts';

describe('units and explanations shown in the alert view', () => {
  it('explains "row" and gives units to the context fields that have one', () => {
    expect(contextInfo('row').title).toMatch(/row of this alert in the file it was read from/);
    expect(contextInfo('distpsnr1').unit).toBe('arcsec');
    expect(contextInfo('ssdistnr').unit).toBe('arcmin');
    expect(contextInfo('rb').unit).toBeNull();
  });

  it('gives every dimensional feature of the three extractors its unit', () => {
    const sigmoid = Object.fromEntries(SIGMOID_FEATURE_NAMES.map((n) => [n, featureUnit(n)]));
    expect(sigmoid).toMatchObject({ a_g: '1/day', b_g: 'day', c_g: 'FLUXCAL', snratio_g: null, nrise_r: 'points' });
    const anomaly = Object.fromEntries(ANOMALY_FEATURE_NAMES.map((n) => [n, featureUnit(n)]));
    expect(anomaly).toMatchObject({ amplitude: 'mag', linear_trend: 'mag/day', mean: 'mag', skew: null, stetson_K: null });
    expect(KILONOVA_FEATURE_NAMES.filter((n) => n.startsWith('maxflux')).map((n) => featureUnit(n))).toEqual(['FLUXCAL', 'FLUXCAL']);
  });

  it("gives the Rubin modules' features their flux units (nJy, nJy/day; Rainbow's K and days)", () => {
    expect(featureUnit('mean_g', 'anomaly-rubin')).toBe('nJy');
    expect(featureUnit('linear_trend_y', 'anomaly-rubin')).toBe('nJy/day');
    expect(featureUnit('skew_u', 'anomaly-rubin')).toBeNull();
    expect(featureUnit('Tmin', 'early-snia-rubin')).toBe('K');
    expect(featureUnit('rise_time', 'rainbow')).toBe('day');
    expect(featureUnit('lc_max', 'early-snia-rubin')).toBe('nJy');
    // the ZTF module's names keep magnitudes
    expect(featureUnit('mean_g', 'anomaly')).toBe('mag');
  });

  it("treats ZTF's -999 as missing", () => {
    expect(isSentinel(-999)).toBe(true);
    expect(isSentinel(-999.5)).toBe(false);
    expect(isSentinel(0)).toBe(false);
  });
});
