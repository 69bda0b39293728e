import { describe, expect, it } from 'vitest';
import {
  SIMULATED_CLASSES, simulate, simulateObject, perfectLightCurve, stringifyJsonExact, toSieveRecord,
  alertFromSieveRecord, parseJsonExact, type SimulatedObject,
} from '../../datasets/index.ts';

function byClass(n: number, seed: number): Map<string, SimulatedObject[]> {
  const out = new Map<string, SimulatedObject[]>();
  for (const o of simulate(n, seed)) {
    const list = out.get(o.alert.label!) ?? [];
    list.push(o);
    out.set(o.alert.label!, list);
  }
  return out;
}

describe('simulated ZTF-like light curves', () => {
  const sims = byClass(1200, 7);

  it('is reproducible from its seed, object by object', () => {
    const a = stringifyJsonExact(toSieveRecord(simulateObject(3, 41).alert));
    const b = stringifyJsonExact(toSieveRecord(simulateObject(3, 41).alert));
    const c = stringifyJsonExact(toSieveRecord(simulateObject(4, 41).alert));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  it('draws every class', () => {
    expect(new Set(sims.keys())).toEqual(new Set(SIMULATED_CLASSES));
  });

  it('has seasons, ~3-night g/r cadence and 5-sigma limits near 20.5 mag', () => {
    // Variables are shown over 240 days and a field is observable ~240 days a year: many curves straddle
    // the end of a season and show a gap of months; typical gaps between nights are a few days.
    let seasonGaps = 0;
    const nightGaps: number[] = [];
    for (const o of sims.get('AGN')!) {
      const lc = o.alert.lightCurve;
      let maxGap = 0;
      for (let i = 1; i < lc.jd.length; i++) {
        const gap = lc.jd[i] - lc.jd[i - 1];
        maxGap = Math.max(maxGap, gap);
        if (gap > 0.5) nightGaps.push(gap);
      }
      if (maxGap > 90) seasonGaps++;
    }
    expect(seasonGaps).toBeGreaterThan(10);
    nightGaps.sort((a, b) => a - b);
    const medianGap = nightGaps[nightGaps.length >> 1];
    expect(medianGap).toBeGreaterThan(0.9);
    expect(medianGap).toBeLessThan(4);
    const all = [...sims.values()].flat();
    const limits = all.flatMap((o) => Array.from(o.alert.lightCurve.limitMag));
    const meanLimit = limits.reduce((s, x) => s + x, 0) / limits.length;
    expect(meanLimit).toBeGreaterThan(20);
    expect(meanLimit).toBeLessThan(20.8);
    expect(new Set(all.flatMap((o) => Array.from(o.alert.lightCurve.band)))).toEqual(new Set([0, 1]));
  });

  it('scatters detections around the noise-free model as their error bars say', () => {
    let chi2 = 0;
    let n = 0;
    for (const o of sims.get('RR Lyrae')!.concat(sims.get('AGN')!)) {
      const lc = o.alert.lightCurve;
      for (let i = 0; i < lc.jd.length; i++) {
        if (!lc.detected[i] || lc.magErr[i] > 0.1) continue;
        chi2 += ((lc.mag[i] - o.modelMag[i]) / lc.magErr[i]) ** 2;
        n++;
      }
    }
    expect(n).toBeGreaterThan(1000);
    expect(chi2 / n).toBeGreaterThan(0.8);
    expect(chi2 / n).toBeLessThan(1.25);
  });

  it('errors grow with magnitude and sources fainter than the limit are not detected', () => {
    const pts: Array<[number, number]> = [];
    let faintDetected = 0;
    let faint = 0;
    for (const list of sims.values()) for (const o of list) {
      const lc = o.alert.lightCurve;
      for (let i = 0; i < lc.jd.length; i++) {
        if (lc.detected[i]) pts.push([lc.mag[i], lc.magErr[i]]);
        if (o.modelMag[i] > lc.limitMag[i] + 1) {
          faint++;
          faintDetected += lc.detected[i];
        }
      }
    }
    const bright = pts.filter(([m]) => m < 17).map(([, e]) => e);
    const dim = pts.filter(([m]) => m > 20).map(([, e]) => e);
    const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
    expect(mean(dim)).toBeGreaterThan(5 * mean(bright));
    expect(faint).toBeGreaterThan(1000);
    expect(faintDetected / faint).toBeLessThan(0.001);
  });

  it('gives each class its physical time scales', () => {
    const grid = Float64Array.from({ length: 2001 }, (_, i) => -50 + i * 0.05);
    // SN Ia: ~15-20 observer-frame days from 10% of peak flux to peak in g.
    for (const o of sims.get('SN Ia')!.slice(0, 10)) {
      const m = perfectLightCurve(o.source, 0, grid.map((t) => t + o.source.tRef));
      const peak = Math.min(...m);
      const iPeak = m.indexOf(peak);
      const i10 = m.findIndex((v) => v < peak + 2.5);
      expect((iPeak - i10) * 0.05).toBeGreaterThan(8);
      expect((iPeak - i10) * 0.05).toBeLessThan(30);
    }
    // Kilonovae fade by ~1 mag/day in g over the first days.
    for (const o of sims.get('kilonova')!.slice(0, 10)) {
      const t = o.source.tRef;
      const m = perfectLightCurve(o.source, 0, [t + 1, t + 4]);
      expect((m[1] - m[0]) / 3).toBeGreaterThan(0.6);
      expect((m[1] - m[0]) / 3).toBeLessThan(1.4);
    }
    // Bogus: exactly one detection.
    for (const o of sims.get('bogus')!) expect(o.alert.lightCurve.detected.reduce((s, x) => s + x, 0)).toBeLessThanOrEqual(1);
    // Microlensing is achromatic: g - r constant in the noise-free model.
    const o = sims.get('microlensing')![0];
    const t = o.source.tRef;
    const c0 = o.source.magAt(0, t - 200) - o.source.magAt(1, t - 200);
    expect(o.source.magAt(0, t) - o.source.magAt(1, t)).toBeCloseTo(c0, 9);
    expect(o.source.magAt(0, t)).toBeLessThan(o.source.magAt(0, t - 200));
  });

  it('round-trips through the Sieve JSON-lines format', () => {
    const o = simulateObject(11, 5);
    const back = alertFromSieveRecord(parseJsonExact(stringifyJsonExact(toSieveRecord(o.alert, o.modelMag))) as Record<string, unknown>);
    expect(back.objectId).toBe(o.alert.objectId);
    expect(back.candid).toBe(o.alert.candid);
    expect(back.label).toBe(o.alert.label);
    // the survey record's fields that cuts read (Fink's kilonova mask: jd - jdstarthist < 20)
    expect(back.raw).toEqual(o.alert.raw);
    expect(Number.isFinite(back.raw!.jdstarthist)).toBe(true);
    expect(back.lightCurve.jd.length).toBe(o.alert.lightCurve.jd.length);
    for (let i = 0; i < back.lightCurve.jd.length; i++) {
      expect(Math.abs(back.lightCurve.jd[i] - o.alert.lightCurve.jd[i])).toBeLessThan(1e-5);
      if (o.alert.lightCurve.detected[i]) expect(Math.abs(back.lightCurve.mag[i] - o.alert.lightCurve.mag[i])).toBeLessThanOrEqual(0.0005 + 1e-12);
    }
  });
});
