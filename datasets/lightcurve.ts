import type { CandidateMeta, LightCurve } from './types.ts';
import { fluxErrNanoJyFromMag, fluxNanoJyFromMag, magErrFromFluxNanoJy, magFromFluxNanoJy } from './photometry.ts';

/**
 * Grows the columns of a light curve point by point while a reader walks an alert; extractors only ever
 * see the finished typed arrays.
 */
export class LightCurveBuilder {
  private jd: number[] = [];
  private band: number[] = [];
  private detected: number[] = [];
  private mag: number[] = [];
  private magErr: number[] = [];
  private flux: number[] = [];
  private fluxErr: number[] = [];
  private limit: number[] = [];
  private isdiffpos: number[] = [];
  private distnr: number[] = [];
  private magnr: number[] = [];
  private sigmagnr: number[] = [];
  private mjd: number[] = [];

  constructor(
    private readonly bands: readonly string[],
    private readonly nativeUnit: 'mag' | 'nJy',
    private readonly withReferenceColumns = false,
    private readonly withMjd = false,
  ) {}

  get length(): number {
    return this.jd.length;
  }

  /** A magnitude-native point (ZTF). mag NaN means a non-detection with limiting magnitude `limitMag`. */
  addMagnitude(p: {
    jd: number;
    band: number;
    mag: number;
    magErr: number;
    limitMag: number;
    isdiffpos?: number;
    distnr?: number;
    magnr?: number;
    sigmagnr?: number;
  }): void {
    const det = Number.isFinite(p.mag);
    // A negative difference (isdiffpos 'f') is a real detection of a fainter-than-reference source: its
    // flux in the difference image is negative.
    const sign = p.isdiffpos === -1 ? -1 : 1;
    this.push(
      p.jd,
      p.band,
      det,
      det ? p.mag : NaN,
      det ? p.magErr : NaN,
      det ? sign * fluxNanoJyFromMag(p.mag) : NaN,
      det ? fluxErrNanoJyFromMag(p.mag, p.magErr) : NaN,
      p.limitMag,
    );
    if (this.withReferenceColumns) {
      this.isdiffpos.push(p.isdiffpos ?? 0);
      this.distnr.push(p.distnr ?? NaN);
      this.magnr.push(p.magnr ?? NaN);
      this.sigmagnr.push(p.sigmagnr ?? NaN);
    }
  }

  /** A flux-native point (LSST, simulations in flux). Detection is decided by the source, not here. */
  addFlux(p: { jd: number; mjd?: number; band: number; fluxNanoJy: number; fluxErrNanoJy: number; detected: boolean; limitMag: number }): void {
    if (this.withMjd) this.mjd.push(p.mjd ?? NaN);
    this.push(
      p.jd,
      p.band,
      p.detected,
      magFromFluxNanoJy(p.fluxNanoJy),
      magErrFromFluxNanoJy(p.fluxNanoJy, p.fluxErrNanoJy),
      p.fluxNanoJy,
      p.fluxErrNanoJy,
      p.limitMag,
    );
  }

  private push(jd: number, band: number, det: boolean, mag: number, magErr: number, flux: number, fluxErr: number, limit: number) {
    this.jd.push(jd);
    this.band.push(band);
    this.detected.push(det ? 1 : 0);
    this.mag.push(mag);
    this.magErr.push(magErr);
    this.flux.push(flux);
    this.fluxErr.push(fluxErr);
    this.limit.push(limit);
  }

  build(): LightCurve {
    // One allocation for all the columns (floats first, then the byte columns): a broker scores thousands
    // of alerts a second, and each typed-array backing store costs about a microsecond.
    const n = this.jd.length;
    const floats = 6 + (this.withReferenceColumns ? 3 : 0) + (this.withMjd ? 1 : 0);
    const byteColumns = this.withReferenceColumns ? 3 : 2;
    const store = new ArrayBuffer(n * floats * 8 + n * byteColumns);
    const col = (k: number, src: number[]) => {
      const v = new Float64Array(store, k * n * 8, n);
      for (let i = 0; i < n; i++) v[i] = src[i];
      return v;
    };
    const bytesAt = n * floats * 8;
    const band = new Uint8Array(store, bytesAt, n);
    const detected = new Uint8Array(store, bytesAt + n, n);
    for (let i = 0; i < n; i++) {
      band[i] = this.band[i];
      detected[i] = this.detected[i];
    }
    const jd = col(0, this.jd);
    const mag = col(1, this.mag);
    const magErr = col(2, this.magErr);
    const fluxNanoJy = col(3, this.flux);
    const fluxErrNanoJy = col(4, this.fluxErr);
    const limitMag = col(5, this.limit);
    if (!this.withReferenceColumns) {
      return { bands: this.bands, jd, band, detected, mag, magErr, fluxNanoJy, fluxErrNanoJy, limitMag, nativeUnit: this.nativeUnit, ...(this.withMjd ? { mjd: col(floats - 1, this.mjd) } : {}) };
    }
    const isdiffpos = new Int8Array(store, bytesAt + 2 * n, n);
    for (let i = 0; i < n; i++) isdiffpos[i] = this.isdiffpos[i];
    return {
      bands: this.bands, jd, band, detected, mag, magErr, fluxNanoJy, fluxErrNanoJy, limitMag, nativeUnit: this.nativeUnit,
      ...(this.withMjd ? { mjd: col(floats - 1, this.mjd) } : {}),
      isdiffpos, distnr: col(6, this.distnr), magnr: col(7, this.magnr), sigmagnr: col(8, this.sigmagnr),
    };
  }
}

/**
 * Candidate metadata for sources without a broker packet (simulations, tables): the latest detection's
 * time, band and photometry; the packet-only fields are NaN unless given in `known`.
 */
export function candidateFromLightCurve(lc: LightCurve, known: Partial<CandidateMeta> = {}): CandidateMeta {
  let last = -1;
  let ndet = 0;
  for (let i = 0; i < lc.jd.length; i++) if (lc.detected[i]) {
    ndet++;
    if (last < 0 || lc.jd[i] >= lc.jd[last]) last = i;
  }
  const has = last >= 0;
  return {
    jd: has ? lc.jd[last] : NaN,
    band: has ? lc.bands[lc.band[last]] : '',
    fid: has ? lc.band[last] + 1 : 0,
    magpsf: has ? lc.mag[last] : NaN,
    sigmapsf: has ? lc.magErr[last] : NaN,
    isdiffpos: has ? (lc.fluxNanoJy[last] < 0 ? 'f' : 't') : null,
    rb: NaN,
    drb: NaN,
    sgscore1: NaN,
    distpsnr1: NaN,
    ssdistnr: NaN,
    ndethist: ndet,
    classtar: NaN,
    diffmaglim: has ? lc.limitMag[last] : NaN,
    ...known,
  };
}
