import { describe, expect, it } from 'vitest';
import { contextTitle } from '../../ui/src/explanations.ts';
import { byWavelength, formatValue, isSentinel, mjdText, perBandGrid, significant, withUnit } from '../../ui/src/format.ts';
import { hashOf, parseHash } from '../../ui/src/route.ts';

describe('numbers shown as what they are (issue 22, point 3)', () => {
  it('shows times to 1e-4 day, never to three significant digits', () => {
    // main showed brokerIngestMjd 6.11e+4 and PEAKMJD 6.03e+4: an MJD good to ±50 days
    expect(formatValue(61100.123456, 'MJD')).toBe('61100.1235');
    expect(formatValue(60285.943, 'MJD')).toBe('60285.9430');
    expect(formatValue(2459541.0552083, 'JD')).toBe('2459541.0552');
    expect(mjdText(2459541.0552083)).toBe('59540.5552');
  });

  it('shows ids and counts as exact integers, and 64-bit ids (strings) untouched', () => {
    expect(formatValue(133012345)).toBe('133012345');
    expect(formatValue(1702305)).toBe('1702305');
    expect(formatValue('170028485706776685')).toBe('170028485706776685');
    expect(formatValue(9687559857)).toBe('9687559857');
  });

  it('shows measurements to four significant digits with their unit; missing values as a dash', () => {
    expect(significant(12.34567)).toBe('12.35');
    expect(significant(0.000123456)).toBe('1.235e-4');
    expect(significant(172345.6)).toBe('172346');
    expect(significant(0.5)).toBe('0.5000');
    // Rubin's reliability 0.99999988 is 1.000 to four digits, not the exact 1 an integer would be
    expect(formatValue(0.9999998807907104)).toBe('1.000');
    expect(significant(99.996)).toBe('100.0');
    expect(significant(9999.6)).toBe('10000');
    expect(withUnit(12.34567, 'nJy')).toBe('12.35 nJy');
    expect(withUnit(-999, 'mag')).toBe('—');
    expect(withUnit(null, 'nJy')).toBe('—');
    expect(formatValue(true)).toBe('true');
    expect(isSentinel(-999)).toBe(true);
    expect(isSentinel(-999.5)).toBe(false);
  });

  it('explains the context fields', () => {
    expect(contextTitle('row')).toMatch(/row of this alert in the file it was read from/);
    expect(contextTitle('ssdistnr')).toMatch(/solar-system/);
    expect(contextTitle('no-such-field')).toBeNull();
  });
});

describe('per-band features and bands in wavelength order (issue 22, point 6)', () => {
  it('orders bands u g r i z y whatever order they came in', () => {
    expect(['r', 'z', 'g', 'y', 'i', 'u'].sort(byWavelength)).toEqual(['u', 'g', 'r', 'i', 'z', 'y']);
  });

  it("lays anomaly-rubin's 156 features out as 26 rows of 6 bands", () => {
    const names = ['mean', 'skew', 'stetson_K', 'magnitude_percentage_ratio_40_5'];
    const bands = ['u', 'g', 'r', 'i', 'z', 'y'];
    const features = bands.flatMap((b) => names.map((n) => ({ name: `${n}_${b}`, value: 1, unit: null })));
    const grid = perBandGrid(features)!;
    expect(grid.bands).toEqual(bands);
    expect(grid.rows.map((r) => r.feature)).toEqual(names);
    expect(grid.rows[3].cells.map((c) => c!.name)).toEqual(bands.map((b) => `magnitude_percentage_ratio_40_5_${b}`));
    // Rainbow's columns are not per band: a plain list
    expect(perBandGrid([{ name: 'amplitude' }, { name: 'rise_time' }])).toBeNull();
  });
});

describe('the page address names its module (issue 22, point 1)', () => {
  it('reads and writes #/queue/<m>, #/models/<m> and #/alert/<id>?module=<m>', () => {
    expect(parseHash('#/alert/3888?module=early-snia-rubin')).toEqual({ view: 'alert', alertId: 3888, module: 'early-snia-rubin' });
    expect(parseHash('#/alert/3888')).toEqual({ view: 'alert', alertId: 3888, module: null });
    expect(parseHash('#/queue/anomaly-rubin')).toEqual({ view: 'queue', module: 'anomaly-rubin', alertId: null });
    expect(parseHash('#/queue/')).toEqual({ view: 'queue', module: null, alertId: null });
    expect(parseHash('#token=abc')).toBeNull();
    expect(hashOf({ view: 'alert', alertId: 12, module: 'kilonova' })).toBe('#/alert/12?module=kilonova');
    expect(hashOf({ view: 'models', alertId: null, module: 'early-snia' })).toBe('#/models/early-snia');
  });
});
