import type { CandidateMeta, LightCurve } from './types.ts';
import { fluxErrNanoJyFromMag, fluxNanoJyFromMag, magErrFromFluxNanoJy, magFromFluxNanoJy } from './photometry.ts';

/**
 * Grows the columns of a light curve point by point while a reader walks an alert; extractors only ever
 * see the finished typed arrays. The columns live in one ArrayBuffer from the start (floats first, then the
 * byte columns), sized by the caller's `capacity` when it knows the point count (a packet's history plus its
 * candidate) and doubled when it runs out: a broker scores thousands of alerts a second, and each array or
 * typed-array backing store it allocates per alert costs about a microsecond and feeds the collector.
 */
export class LightCurveBuilder {
  private n = 0;
  private cap = 0;
  private readonly floats: number;
  private readonly byteColumns: number;
  private jd!: Float64Array;
  private mag!: Float64Array;
  private magErr!: Float64Array;
  private flux!: Float64Array;
  private fluxErr!: Float64Array;
  private limit!: Float64Array;
  private distnr!: Float64Array;
  private magnr!: Float64Array;
  private sigmagnr!: Float64Array;
  private mjd!: Float64Array;
  private band!: Uint8Array;
  private detected!: Uint8Array;
  private isdiffpos!: Int8Array;

  constructor(
    private readonly bands: readonly string[],
    private readonly nativeUnit: 'mag' | 'nJy',
    private readonly withReferenceColumns = false,
    private readonly withMjd = false,
    capacity = 16,
  ) {
    this.floats = 6 + (withReferenceColumns ? 3 : 0) + (withMjd ? 1 : 0);
    this.byteColumns = withReferenceColumns ? 3 : 2;
    this.allocate(Math.max(1, Math.floor(capacity)));
  }

  get length(): number {
    return this.n;
  }

  /** Columns for `cap` points in a new store, holding the points so far. */
  private allocate(cap: number): void {
    const n = this.n;
    const store = new ArrayBuffer(cap * this.floats * 8 + cap * this.byteColumns);
    const float = (k: number, old: Float64Array) => {
      const v = new Float64Array(store, k * cap * 8, cap);
      if (n) v.set(old.subarray(0, n));
      return v;
    };
    const bytesAt = cap * this.floats * 8;
    const band = new Uint8Array(store, bytesAt, cap);
    const detected = new Uint8Array(store, bytesAt + cap, cap);
    if (n) {
      band.set(this.band.subarray(0, n));
      detected.set(this.detected.subarray(0, n));
    }
    this.jd = float(0, this.jd);
    this.mag = float(1, this.mag);
    this.magErr = float(2, this.magErr);
    this.flux = float(3, this.flux);
    this.fluxErr = float(4, this.fluxErr);
    this.limit = float(5, this.limit);
    if (this.withReferenceColumns) {
      this.distnr = float(6, this.distnr);
      this.magnr = float(7, this.magnr);
      this.sigmagnr = float(8, this.sigmagnr);
      const isdiffpos = new Int8Array(store, bytesAt + 2 * cap, cap);
      if (n) isdiffpos.set(this.isdiffpos.subarray(0, n));
      this.isdiffpos = isdiffpos;
    }
    if (this.withMjd) this.mjd = float(this.floats - 1, this.mjd);
    this.band = band;
    this.detected = detected;
    this.cap = cap;
  }

  /** The index of a new point (room made for it). */
  private next(): number {
    if (this.n === this.cap) this.allocate(Math.max(16, 2 * this.cap));
    return this.n++;
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
    const i = this.push(
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
      this.isdiffpos[i] = p.isdiffpos ?? 0;
      this.distnr[i] = p.distnr ?? NaN;
      this.magnr[i] = p.magnr ?? NaN;
      this.sigmagnr[i] = p.sigmagnr ?? NaN;
    }
  }

  /** A flux-native point (LSST, simulations in flux). Detection is decided by the source, not here. */
  addFlux(p: { jd: number; mjd?: number; band: number; fluxNanoJy: number; fluxErrNanoJy: number; detected: boolean; limitMag: number }): void {
    const i = this.push(
      p.jd,
      p.band,
      p.detected,
      magFromFluxNanoJy(p.fluxNanoJy),
      magErrFromFluxNanoJy(p.fluxNanoJy, p.fluxErrNanoJy),
      p.fluxNanoJy,
      p.fluxErrNanoJy,
      p.limitMag,
    );
    if (this.withMjd) this.mjd[i] = p.mjd ?? NaN;
  }

  private push(jd: number, band: number, det: boolean, mag: number, magErr: number, flux: number, fluxErr: number, limit: number): number {
    const i = this.next();
    this.jd[i] = jd;
    this.band[i] = band;
    this.detected[i] = det ? 1 : 0;
    this.mag[i] = mag;
    this.magErr[i] = magErr;
    this.flux[i] = flux;
    this.fluxErr[i] = fluxErr;
    this.limit[i] = limit;
    return i;
  }

  build(): LightCurve {
    // the columns as they are when the capacity was right, else copied into a store of the exact size; either
    // way the store is then full, so a point added later moves the builder to a new one
    if (this.n !== this.cap) this.allocate(this.n);
    // one object literal per kind of light curve (no spreads: they cost more than the rest of the build)
    const { bands, nativeUnit, jd, band, detected, mag, magErr, flux: fluxNanoJy, fluxErr: fluxErrNanoJy, limit: limitMag } = this;
    if (this.withReferenceColumns) {
      const { isdiffpos, distnr, magnr, sigmagnr } = this;
      return this.withMjd
        ? { bands, jd, band, detected, mag, magErr, fluxNanoJy, fluxErrNanoJy, limitMag, nativeUnit, mjd: this.mjd, isdiffpos, distnr, magnr, sigmagnr }
        : { bands, jd, band, detected, mag, magErr, fluxNanoJy, fluxErrNanoJy, limitMag, nativeUnit, isdiffpos, distnr, magnr, sigmagnr };
    }
    return this.withMjd
      ? { bands, jd, band, detected, mag, magErr, fluxNanoJy, fluxErrNanoJy, limitMag, nativeUnit, mjd: this.mjd }
      : { bands, jd, band, detected, mag, magErr, fluxNanoJy, fluxErrNanoJy, limitMag, nativeUnit };
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
