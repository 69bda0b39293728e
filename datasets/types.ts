/** Surveys whose alerts Sieve reads. */
export type Survey = 'ztf' | 'lsst';

/** ZTF filter ids 1, 2, 3 are g, r, i: band index = fid - 1. */
export const ZTF_BANDS = ['g', 'r', 'i'] as const;
/** Rubin/LSST bands, in wavelength order. */
export const LSST_BANDS = ['u', 'g', 'r', 'i', 'z', 'y'] as const;

/**
 * A light curve as columns of typed arrays, one entry per epoch (detections and upper limits), in the
 * order the alert gives them (history first, then the triggering detection), as Fink concatenates them.
 * Time is always a Julian Date: Fink's ZTF features use the raw jd, and LSST's MJD (TAI) is shifted by
 * 2400000.5 so that every extractor sees one time axis.
 */
export interface LightCurve {
  /** Band names; `band[i]` indexes into this. */
  readonly bands: readonly string[];
  readonly jd: Float64Array;
  readonly band: Uint8Array;
  /** 1 for a detection, 0 for a non-detection (upper limit). */
  readonly detected: Uint8Array;
  /** PSF magnitude (AB); NaN for non-detections and for non-positive fluxes. */
  readonly mag: Float64Array;
  readonly magErr: Float64Array;
  /** Difference-image PSF flux in nJy (negative allowed); NaN where unknown. */
  readonly fluxNanoJy: Float64Array;
  readonly fluxErrNanoJy: Float64Array;
  /** 5-sigma limiting magnitude of the epoch; NaN where unknown. */
  readonly limitMag: Float64Array;
  /** Which photometry the survey measured; the other is derived from it. */
  readonly nativeUnit: 'mag' | 'nJy';
  /**
   * Rubin only: the MJD (TAI) exactly as the alert gives it. jd = mjd + 2400000.5 rounds it by up to
   * 2.3e-10 d, which Fink's Rubin features (computed on MJD) would see where they cancel, e.g. in E[t^2] - E[t]^2.
   */
  readonly mjd?: Float64Array;
  /**
   * ZTF only: what is needed for DC magnitudes (Fink's anomaly features use them when a reference source
   * sits under the transient). isdiffpos is +1 / -1 (0 unknown); NaN where unknown.
   */
  readonly isdiffpos?: Int8Array;
  readonly distnr?: Float64Array;
  readonly magnr?: Float64Array;
  readonly sigmagnr?: Float64Array;
}

/** One postage stamp as the alert carries it: raw bytes (gzipped FITS for ZTF, FITS for LSST). */
export interface Cutout {
  readonly fileName: string;
  readonly bytes: Uint8Array;
}

export interface Cutouts {
  readonly science?: Cutout;
  readonly template?: Cutout;
  readonly difference?: Cutout;
}

/** The candidate (triggering detection) metadata every module and the UI look at. */
export interface CandidateMeta {
  readonly jd: number;
  /** Band name of the triggering detection. */
  readonly band: string;
  /** ZTF filter id (1 g, 2 r, 3 i); for LSST the index in LSST_BANDS plus one. */
  readonly fid: number;
  readonly magpsf: number;
  readonly sigmapsf: number;
  readonly isdiffpos: 't' | 'f' | null;
  readonly rb: number;
  readonly drb: number;
  readonly sgscore1: number;
  readonly distpsnr1: number;
  readonly ssdistnr: number;
  readonly ndethist: number;
  readonly classtar: number;
  readonly diffmaglim: number;
}

export interface Alert {
  readonly survey: Survey;
  readonly objectId: string;
  /** Alert id (ZTF candid, LSST diaSourceId). Exceeds 2^53, hence bigint. Null for tables without one. */
  readonly candid: bigint | null;
  readonly ra: number;
  readonly dec: number;
  readonly candidate: CandidateMeta;
  readonly lightCurve: LightCurve;
  readonly cutouts: Cutouts;
  /** Class label where the source carries one (e.g. the TNS spectroscopic class). */
  readonly label?: string;
  /** Broker-added scalar columns (Fink's cdsxmatch, classifier scores, ...), kept for cuts and display. */
  readonly extra: Readonly<Record<string, string | number | boolean | null>>;
  /** The full original candidate record, for display and audit. */
  readonly raw?: Readonly<Record<string, unknown>>;
}

/** A bad record: names the file and the record so that a person can find it. */
export class AlertReadError extends Error {
  constructor(
    readonly file: string,
    readonly record: string,
    readonly reason: string,
  ) {
    super(`${file}: ${record}: ${reason}`);
    this.name = 'AlertReadError';
  }
}
