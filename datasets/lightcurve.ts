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
    // One buffer for the float columns and one for the byte columns: a broker scores thousands of
    // alerts a second, and each typed-array allocation costs about a microsecond.
    const n = this.jd.length;
    const floats = 6 + (this.withReferenceColumns ? 3 : 0) + (this.withMjd ? 1 : 0);
    const f = new Float64Array(n * floats);
    const col = (k: number, src: number[]) => {
      const v = f.subarray(k * n, (k + 1) * n);
      for (let i = 0; i < n; i++) v[i] = src[i];
      return v;
    };
    const bytes = new Uint8Array(n * 2);
    const band = bytes.subarray(0, n);
    const detected = bytes.subarray(n, 2 * n);
    for (let i = 0; i < n; i++) {
      band[i] = this.band[i];
      detected[i] = this.detected[i];
    }
    const lc: LightCurve = {
      bands: this.bands,
      jd: col(0, this.jd),
      band,
      detected,
      mag: col(1, this.mag),
      magErr: col(2, this.magErr),
      fluxNanoJy: col(3, this.flux),
      fluxErrNanoJy: col(4, this.fluxErr),
      limitMag: col(5, this.limit),
      nativeUnit: this.nativeUnit,
      ...(this.withMjd ? { mjd: col(floats - 1, this.mjd) } : {}),
    };
    if (!this.withReferenceColumns) return lc;
    return {
      ...lc,
      isdiffpos: Int8Array.from(this.isdiffpos),
      distnr: col(6, this.distnr),
      magnr: col(7, this.magnr),
      sigmagnr: col(8, this.sigmagnr),
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
