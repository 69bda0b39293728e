import { FLUXCAL_PER_NANOJY, type LightCurve } from '../datasets/index.ts';
import type { KilonovaParams, PcaBasis } from './kilonova.ts';
import { bandFluxcal, risingPoints, sigmoid, type SigmoidParams } from './sigmoid.ts';

/** A fitted model sampled for display: flux in nJy (the light curve's flux unit) against JD. */
export interface FitCurve {
  band: string;
  model: string;
  jd: Float64Array;
  fluxNanoJy: Float64Array;
}

const SAMPLES = 120;

/**
 * The sigmoid of each fitted band, from the band's a, b, c features and the first fitted night (the fit's
 * time origin), over the nights the fit saw and no further: beyond them the model is an extrapolation the
 * data never constrained (and would be drawn brighter than later upper limits). Placeholder bands
 * (a = b = c = 0) have no curve.
 */
export function sigmoidFitCurves(lc: LightCurve, values: ArrayLike<number>, params: SigmoidParams): FitCurve[] {
  const out: FitCurve[] = [];
  params.bands.forEach((band, k) => {
    const a = values[k * 6];
    const b = values[k * 6 + 1];
    const c = values[k * 6 + 2];
    if (a === 0 && b === 0 && c === 0) return;
    const rising = risingPoints(bandFluxcal(lc, band), params);
    if (!rising) return;
    const span = rising.t[rising.n - 1];
    const jd = new Float64Array(SAMPLES);
    const flux = new Float64Array(SAMPLES);
    for (let i = 0; i < SAMPLES; i++) {
      const dt = (span * i) / (SAMPLES - 1);
      jd[i] = rising.t0Jd + dt;
      flux[i] = sigmoid(dt, a, b, c) / FLUXCAL_PER_NANOJY;
    }
    out.push({ band, model: 'sigmoid', jd, fluxNanoJy: flux });
  });
  return out;
}

/**
 * The PCA reconstruction of each band the kilonova features describe: sum_k coeff_k * component_k,
 * scaled by the band's maximum flux and centred on the date of that maximum, as kndetect fits it.
 */
export function kilonovaFitCurves(lc: LightCurve, basis: PcaBasis, values: ArrayLike<number>, params: KilonovaParams): FitCurve[] {
  const nComp = basis.components.length;
  const nGrid = basis.components[0].length;
  const perBand = nComp + 2;
  const out: FitCurve[] = [];
  params.bands.forEach((band, k) => {
    const maxFlux = values[k * perBand + nComp + 1];
    if (!(maxFlux > 0)) return;
    const pts = bandFluxcal(lc, band);
    let iMax = -1;
    for (let i = 0; i < pts.n; i++) if (iMax < 0 || pts.flux[i] > pts.flux[iMax]) iMax = i;
    if (iMax < 0) return;
    const tMid = pts.jd[iMax];
    const half = ((nGrid - 1) / 2) * basis.timeBinDays;
    // only over the points of the band inside the fitted window: the components are unconstrained elsewhere
    let first = tMid;
    let last = tMid;
    for (let i = 0; i < pts.n; i++) if (Math.abs(pts.jd[i] - tMid) <= half) {
      first = Math.min(first, pts.jd[i]);
      last = Math.max(last, pts.jd[i]);
    }
    const jd: number[] = [];
    const flux: number[] = [];
    for (let g = 0; g < nGrid; g++) {
      const t = tMid + (g - (nGrid - 1) / 2) * basis.timeBinDays;
      if (t < first - basis.timeBinDays || t > last + basis.timeBinDays) continue;
      let v = 0;
      for (let c = 0; c < nComp; c++) v += values[k * perBand + c] * basis.components[c][g];
      jd.push(t);
      flux.push((v * maxFlux) / FLUXCAL_PER_NANOJY);
    }
    out.push({ band, model: 'pca', jd: Float64Array.from(jd), fluxNanoJy: Float64Array.from(flux) });
  });
  return out;
}
