import { candidateFromLightCurve, LightCurveBuilder } from './lightcurve.ts';
import type { Alert } from './types.ts';
import { ZTF_BANDS } from './types.ts';
import { isRecord, num, requiredString, type RawRecord } from './values.ts';

/**
 * True for a row of Fink's TNS cross-match tables (light curve as cjd/cmagpsf/csigmapsf/cfid arrays). A full
 * alert packet that also carries Fink's concatenated columns (fink-client's older multi-alert files) is an
 * alert, read from its `candidate`.
 */
export function isTnsRow(rec: RawRecord): boolean {
  return Array.isArray(rec.cjd) && Array.isArray(rec.cmagpsf) && Array.isArray(rec.cfid) && !isRecord(rec.candidate);
}

function element(arr: unknown[], i: number, field: string): number {
  const v = arr[i];
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new TypeError(`${field}[${i}] is not a number`);
}

/**
 * A labelled real alert from Fink's TNS cross-match (columns objectId, cjd, cmagpsf, csigmapsf, cfid, ra,
 * dec, TNS). A null magnitude is a non-detection whose limiting magnitude the table does not keep. The
 * table has no candid; the candidate is the last detection in table order.
 */
export function alertFromTnsRow(rec: RawRecord, row: number): Alert {
  const objectId = requiredString(rec, 'objectId');
  const jd = rec.cjd as unknown[];
  const mag = rec.cmagpsf as unknown[];
  const err = Array.isArray(rec.csigmapsf) ? (rec.csigmapsf as unknown[]) : [];
  const fid = rec.cfid as unknown[];
  if (mag.length !== jd.length || fid.length !== jd.length) {
    throw new TypeError(`cjd, cmagpsf and cfid have different lengths (${jd.length}, ${mag.length}, ${fid.length})`);
  }
  const b = new LightCurveBuilder(ZTF_BANDS, 'mag');
  for (let i = 0; i < jd.length; i++) {
    const f = element(fid, i, 'cfid');
    if (!(f >= 1 && f <= 3)) throw new TypeError(`cfid[${i}] = ${f} is not a ZTF filter`);
    const t = element(jd, i, 'cjd');
    if (!Number.isFinite(t)) throw new TypeError(`cjd[${i}] is null`);
    const m = element(mag, i, 'cmagpsf');
    b.addMagnitude({ jd: t, band: f - 1, mag: m, magErr: element(err, i, 'csigmapsf'), limitMag: NaN });
  }
  const lc = b.build();
  // the table keeps no packet metadata and no sign of the difference
  const candidate = candidateFromLightCurve(lc, { isdiffpos: null, diffmaglim: NaN });
  const label = typeof rec.TNS === 'string' ? rec.TNS : undefined;
  return {
    survey: 'ztf',
    objectId,
    candid: null,
    ra: num(rec, 'ra'),
    dec: num(rec, 'dec'),
    candidate,
    lightCurve: lc,
    cutouts: {},
    ...(label !== undefined ? { label } : {}),
    extra: { row },
  };
}

