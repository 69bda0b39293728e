/** AB zero point of a flux in nJy: m = -2.5 log10(f / 3631 Jy) = -2.5 log10(f_nJy) + 31.4. */
export const NANOJY_ZERO_POINT = 31.4;
/** SNANA's FLUXCAL zero point, which Fink's supernova and kilonova features use. */
export const FLUXCAL_ZERO_POINT = 27.5;

export function fluxNanoJyFromMag(mag: number): number {
  return Math.pow(10, -0.4 * (mag - NANOJY_ZERO_POINT));
}

/** d(flux)/d(mag) / flux: ln(10) / 2.5. */
export const FLUX_ERR_PER_MAG = Math.LN10 / 2.5;

/** First-order error propagation: sigma_f = f * ln(10)/2.5 * sigma_m. */
export function fluxErrNanoJyFromMag(mag: number, magErr: number): number {
  return fluxNanoJyFromMag(mag) * FLUX_ERR_PER_MAG * magErr;
}

/** NaN for non-positive flux: a magnitude does not exist there. */
export function magFromFluxNanoJy(fluxNanoJy: number): number {
  return fluxNanoJy > 0 ? -2.5 * Math.log10(fluxNanoJy) + NANOJY_ZERO_POINT : NaN;
}

export function magErrFromFluxNanoJy(fluxNanoJy: number, fluxErrNanoJy: number): number {
  return fluxNanoJy > 0 ? (2.5 / Math.LN10) * (fluxErrNanoJy / fluxNanoJy) : NaN;
}

/**
 * Fink's magnitude to FLUXCAL conversion (fink_utils mag2fluxcal_snana), kept in the same operation order
 * so that results agree with Fink to the last bits where possible.
 */
export function fluxcalFromMag(mag: number): number {
  return Math.pow(10, -0.4 * mag) * 1e11;
}

export function fluxcalErrFromMag(mag: number, magErr: number): number {
  return 9.21034e10 * Math.exp(-0.921034 * mag) * magErr;
}

/** nJy to FLUXCAL (zero point 27.5): a constant factor 10^(-0.4 (31.4 - 27.5)). */
export const FLUXCAL_PER_NANOJY = Math.pow(10, -0.4 * (NANOJY_ZERO_POINT - FLUXCAL_ZERO_POINT));

/** JD of MJD 0. */
export const MJD_OFFSET = 2400000.5;
