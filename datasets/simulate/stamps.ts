import { encodeFitsStamp } from '../fits.ts';
import type { Cutouts } from '../types.ts';
import { Random } from './random.ts';

/** Side of a simulated stamp in pixels (ZTF's are 63; 31 keeps a demo store of thousands of alerts small). */
export const SIM_STAMP_SIZE = 31;
/** ZTF's plate scale is 1.01"/px and its median seeing ~2" FWHM (Bellm et al. 2019): a Gaussian PSF of sigma 0.85 px. */
const PSF_SIGMA_PX = 2.0 / 2.355 / 1.01;
/** Instrumental zero point of the stamps (counts = 10^(-0.4 (m - ZP))), ZTF-like. */
const ZP = 26;

export interface StampScene {
  /** Magnitude of the transient or variable in the science image (NaN: nothing there). */
  mag: number;
  /** 5-sigma point-source limit of the exposure, which sets the sky noise. */
  limitMag: number;
  /** A static source under the transient in the template: its host galaxy or, for a variable, the star. */
  host: { mag: number; offsetPx: [number, number]; sigmaPx: number } | null;
  /** A bogus detection: a hot pixel / cosmic ray in the science image instead of a PSF. */
  bogus: boolean;
}

/**
 * Science, template and difference stamps of one simulated detection: the scene (host + transient, each
 * a Gaussian profile) on a sky whose noise gives the exposure's 5-sigma limit; the template is deeper
 * (ZTF's reference images co-add 15+ exposures, so ~1.5 mag), the difference is science minus template.
 * Seeded: the same rng state gives the same stamps.
 */
export function renderStamps(scene: StampScene, rng: Random): Cutouts {
  const n = SIM_STAMP_SIZE;
  const c = (n - 1) / 2;
  // 5 sigma = f_lim / sqrt(4 pi sigma_psf^2) per pixel, for an optimally weighted Gaussian PSF
  const skySigma = (mLim: number) => 10 ** (-0.4 * (mLim - ZP)) / 5 / Math.sqrt(4 * Math.PI * PSF_SIGMA_PX ** 2);
  const gaussian = (flux: number, x0: number, y0: number, s: number, out: Float32Array) => {
    const norm = flux / (2 * Math.PI * s * s);
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) out[y * n + x] += norm * Math.exp(-((x - x0) ** 2 + (y - y0) ** 2) / (2 * s * s));
  };
  const staticScene = new Float32Array(n * n);
  if (scene.host) gaussian(10 ** (-0.4 * (scene.host.mag - ZP)), c + scene.host.offsetPx[0], c + scene.host.offsetPx[1], Math.hypot(scene.host.sigmaPx, PSF_SIGMA_PX), staticScene);
  const sky = 10 ** (-0.4 * (21 - ZP)); // a dark sky of ~21 mag/arcsec^2 per pixel, subtracted below
  const science = new Float32Array(n * n);
  const template = new Float32Array(n * n);
  const sigmaSci = skySigma(scene.limitMag);
  const sigmaTpl = skySigma(scene.limitMag + 1.5);
  for (let i = 0; i < n * n; i++) {
    science[i] = sky + staticScene[i] + rng.normal(0, sigmaSci);
    template[i] = sky + staticScene[i] + rng.normal(0, sigmaTpl);
  }
  if (scene.bogus) {
    const k = Math.round(c) * n + Math.round(c);
    science[k] += 25 * sigmaSci;
    science[k + 1] += 8 * sigmaSci;
  } else if (Number.isFinite(scene.mag)) {
    const transient = new Float32Array(n * n);
    gaussian(10 ** (-0.4 * (scene.mag - ZP)), c, c, PSF_SIGMA_PX, transient);
    for (let i = 0; i < n * n; i++) science[i] += transient[i];
  }
  const difference = Float32Array.from(science, (v, i) => v - template[i]);
  const header = { ORIGIN: 'Sieve simulation', MAGZP: ZP };
  const stamp = (data: Float32Array, kind: string) => ({ fileName: `sim_${kind}.fits.gz`, bytes: encodeFitsStamp({ width: n, height: n, data, header }) });
  return { science: stamp(science, 'sci'), template: stamp(template, 'ref'), difference: stamp(difference, 'diff') };
}
