import type { Alert } from '../../datasets/index.ts';

/**
 * What bounds the two kinds of Rubin anomaly feature that cannot agree with Fink's Python code to 1e-6 (see
 * rubinAnomaly.reference.test.ts, and test/finkScience, which meets them again through Fink's processor).
 */
const EPS = 2.220446049250313e-16;

/** One band's light curve as Fink feeds the extractor: detections, sorted, repeated times dropped across bands. */
export function bandPoints(a: Alert, band: string): { t: number[]; e: number[] } {
  const lc = a.lightCurve;
  const idx: number[] = [];
  for (let i = 0; i < lc.jd.length; i++) if (lc.detected[i] && !Number.isNaN(lc.fluxNanoJy[i])) idx.push(i);
  idx.sort((p, q) => lc.mjd![p] - lc.mjd![q]);
  const kept = idx.filter((i, k) => k === 0 || lc.mjd![i] !== lc.mjd![idx[k - 1]]);
  const mine = kept.filter((i) => lc.bands[lc.band[i]] === band);
  return { t: mine.map((i) => lc.mjd![i]), e: mine.map((i) => lc.fluxErrNanoJy[i]) };
}

/** n * eps * E_w[t^2] / Var_w(t): how far the package's slope sigma can move with one ulp in the weights. */
export function slopeSigmaConditioning(a: Alert, band: string): number {
  const { t, e } = bandPoints(a, band);
  let sw = 0;
  let st = 0;
  let stt = 0;
  for (let i = 0; i < t.length; i++) {
    const w = 1 / (e[i] * e[i]);
    sw += w;
    st += w * t[i];
  }
  const tw = st / sw;
  for (let i = 0; i < t.length; i++) stt += (1 / (e[i] * e[i])) * (t[i] - tw) ** 2;
  return t.length * EPS * (tw * tw) / (stt / sw);
}
