import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertFromLsstPacket, decodeLightCurve, encodeLightCurve, readAlertFile } from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';

interface RefLightCurve {
  file: string;
  row: number;
  alertId: string;
  diaObjectId: string;
  mjd: number[];
  band: string[];
  flux: number[];
  err: number[];
}

const FILES: Record<string, string[]> = {
  'elasticc_earlysnia.parquet': ['rubin', 'elasticc_earlysnia.parquet'],
  'elasticc_sample_seed0.parquet': ['rubin', 'elasticc_sample_seed0.parquet'],
  'elasticc_agn.parquet': ['rubin', 'elasticc_agn.parquet'],
  'lsst_part-2-918301.avro': ['lsst', 'part-2-918301.avro'],
};

describe('Rubin alerts: ELAsTiCC Parquet and Rubin Avro into the light curve Fink\'s Rubin modules see', () => {
  it('gives, for all 752 alerts, exactly the detections of reference/lightcurves.jsonl (MJD, band, flux, error) and candid = alertId', async () => {
    const ref = readFileSync(sharedPath('rubin', 'reference', 'lightcurves.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RefLightCurve);
    expect(ref).toHaveLength(752);
    let solarSystem = 0;
    for (const [file, where] of Object.entries(FILES)) {
      const { alerts, errors } = await readAlertFile(sharedPath(...where));
      expect(errors).toHaveLength(0);
      for (const want of ref.filter((r) => r.file === file)) {
        const a = alerts[want.row];
        const id = `${file} row ${want.row}`;
        expect(a.survey, id).toBe('lsst');
        expect(String(a.candid), id).toBe(want.alertId);
        // Solar-system sources have diaObjectId 0; Sieve keys them by their ssObjectId instead of merging them all.
        if (want.diaObjectId === '0') {
          expect(a.objectId, id).toMatch(/^ss\d+$/);
          solarSystem++;
        } else expect(a.objectId, id).toBe(want.diaObjectId);
        const lc = a.lightCurve;
        const det = [...lc.detected.keys()].filter((i) => lc.detected[i] === 1);
        expect(det.map((i) => lc.mjd![i]), id).toEqual(want.mjd);
        expect(det.map((i) => lc.bands[lc.band[i]]), id).toEqual(want.band);
        expect(det.map((i) => lc.fluxNanoJy[i]), id).toEqual(want.flux);
        expect(det.map((i) => lc.fluxErrNanoJy[i]), id).toEqual(want.err);
        // the JD axis every extractor shares stays within float64 rounding of the MJD
        for (const i of det) expect(Math.abs(lc.jd[i] - 2400000.5 - lc.mjd![i])).toBeLessThan(5e-10);
      }
    }
    expect(solarSystem).toBe(2);
  });

  it('keeps forced photometry as non-detections and the exact MJD through the store codec', async () => {
    const { alerts } = await readAlertFile(sharedPath('rubin', 'elasticc_agn.parquet'));
    const a = alerts[0];
    const lc = a.lightCurve;
    expect(lc.detected.some((d) => d === 0)).toBe(true);
    expect(lc.bands).toEqual(['u', 'g', 'r', 'i', 'z', 'y']);
    const back = decodeLightCurve(encodeLightCurve(lc));
    expect(Array.from(back.mjd!)).toEqual(Array.from(lc.mjd!));
    expect(Array.from(back.fluxNanoJy)).toEqual(Array.from(lc.fluxNanoJy));
    expect(back.isdiffpos).toBeUndefined();
    // alertId became candid; Fink's and the simulation's scalar columns stay with the alert
    expect(a.extra.alertId).toBeUndefined();
    expect(a.extra.brokerIngestTimestamp).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(a.extra.year).toBe(2026);
  });

  it("takes the diaObjectId from the diaSource when Fink's Parquet holds the diaObject's as a rounded float64", () => {
    const src = { diaSourceId: 169813006680588318n, diaObjectId: 169813006680588318n, midpointMjdTai: 61000.5, band: 'r', psfFlux: 1000, psfFluxErr: 50, ra: 10, dec: -5 };
    const a = alertFromLsstPacket({ diaSource: src, diaObject: { diaObjectId: 169813006680588320, nDiaSources: 1 } });
    expect(a.objectId).toBe('169813006680588318');
    expect(a.extra['diaObject.nDiaSources']).toBe(1);
    // with no exact id anywhere, the alert is refused, naming the field
    expect(() => alertFromLsstPacket({ diaSource: { ...src, diaObjectId: null }, diaObject: { diaObjectId: 169813006680588320 } })).toThrow(/diaObjectId/);
  });
});
