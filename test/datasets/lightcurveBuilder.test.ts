import { describe, expect, it } from 'vitest';
import { LightCurveBuilder } from '../../datasets/lightcurve.ts';
import { LSST_BANDS, ZTF_BANDS } from '../../datasets/types.ts';
import { fluxNanoJyFromMag } from '../../datasets/photometry.ts';

function ztfPoint(i: number) {
  return { jd: 2460000.5 + i, band: i % 2, mag: i % 5 === 4 ? NaN : 18 + i / 100, magErr: 0.05, limitMag: 20.5, isdiffpos: i % 3 === 0 ? -1 : 1, distnr: i, magnr: 17, sigmagnr: 0.01 };
}

describe('LightCurveBuilder', () => {
  it('grows past its capacity and gives exact-length columns, whatever the capacity given', () => {
    for (const capacity of [1, 7, 40, 100]) {
      const b = new LightCurveBuilder(ZTF_BANDS, 'mag', true, false, capacity);
      for (let i = 0; i < 40; i++) b.addMagnitude(ztfPoint(i));
      const lc = b.build();
      expect(lc.jd.length).toBe(40);
      expect(lc.sigmagnr!.length).toBe(40);
      for (let i = 0; i < 40; i++) {
        const p = ztfPoint(i);
        expect(lc.jd[i]).toBe(p.jd);
        expect(lc.band[i]).toBe(p.band);
        expect(lc.detected[i]).toBe(Number.isFinite(p.mag) ? 1 : 0);
        expect(lc.fluxNanoJy[i]).toBe(Number.isFinite(p.mag) ? p.isdiffpos * fluxNanoJyFromMag(p.mag) : NaN);
        expect(lc.isdiffpos![i]).toBe(p.isdiffpos);
        expect(lc.distnr![i]).toBe(i);
        expect(lc.limitMag[i]).toBe(20.5);
      }
    }
  });

  it('leaves a built light curve alone when points are added after it', () => {
    const b = new LightCurveBuilder(LSST_BANDS, 'nJy', false, true, 3);
    for (let i = 0; i < 3; i++) b.addFlux({ jd: 2460000.5 + i, mjd: 60000 + i, band: i, fluxNanoJy: 1000 + i, fluxErrNanoJy: 10, detected: true, limitMag: 24 });
    const first = b.build();
    b.addFlux({ jd: 2460010.5, mjd: 60010, band: 5, fluxNanoJy: -5, fluxErrNanoJy: 10, detected: false, limitMag: 24 });
    const second = b.build();
    expect(Array.from(first.mjd!)).toEqual([60000, 60001, 60002]);
    expect(Array.from(first.band)).toEqual([0, 1, 2]);
    expect(Array.from(second.mjd!)).toEqual([60000, 60001, 60002, 60010]);
    expect(Array.from(second.detected)).toEqual([1, 1, 1, 0]);
    expect(first.isdiffpos).toBeUndefined();
  });

  it('gives an empty light curve when no point was added', () => {
    const lc = new LightCurveBuilder(ZTF_BANDS, 'mag', true, false, 0).build();
    expect(lc.jd.length).toBe(0);
    expect(lc.isdiffpos!.length).toBe(0);
  });
});
