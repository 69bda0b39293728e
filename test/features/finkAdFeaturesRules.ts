import type { Alert } from '../../datasets/index.ts';
import { AnomalyScratch, finkAnomalyLightCurve } from '../../features/index.ts';
import { AD_FEATURE_CELLS, type AdFeatureCause } from './finkAdFeatures.cells.ts';

/**
 * The rules by which Sieve's ZTF anomaly features (light-curve's Rust definitions, what Fink runs in
 * production) may differ from the values of light-curve's pure-Python features that Fink's ad_features
 * processor gives here: finkAdFeatures.reference.test.ts holds the reference file to them, and
 * test/finkScience meets the same values again through the exported processor.
 */

/** Relative agreement of every cell not named in finkAdFeatures.cells.ts. */
export const AD_FEATURE_REL = 1e-6;
/** The documented difference between light-curve's Python and Rust straight-line fits. */
const PY_RUST_REL = 5e-4;
/** light-curve-feature's minimum number of points of the features whose Python versions accept fewer. */
const RUST_MIN_POINTS: Record<string, number> = { beyond_1_std: 2, stetson_K: 2, skew: 3, anderson_darling_normal: 4 };

/** Points per band (fid 1, fid 2) of the light curve Fink's processor hands the extractor. */
export function adBandSizes(a: Alert): [number, number] {
  const scratch = new AnomalyScratch();
  const n = finkAnomalyLightCurve(a.lightCurve, scratch);
  const sizes: [number, number] = [0, 0];
  for (let k = 0; k < n; k++) if (scratch.fid[k] < 2) sizes[scratch.fid[k]]++;
  return sizes;
}

/** The named cells, `objectId candid <feature>_<fid>` -> cause. */
export function adNamedCells(): Map<string, AdFeatureCause> {
  const out = new Map<string, AdFeatureCause>();
  for (const [cause, text] of Object.entries(AD_FEATURE_CELLS) as Array<[AdFeatureCause, string]>) {
    for (const line of text.trim().split('\n')) {
      const [objectId, candid, ...columns] = line.trim().split(/\s+/);
      for (const c of columns) {
        const key = `${objectId} ${candid} ${c}`;
        if (out.has(key)) throw new Error(`${key} named twice`);
        out.set(key, cause);
      }
    }
  }
  return out;
}

/**
 * Whether a named cell obeys its cause's rule: Sieve's value `sieve`, Python's `python` for `feature` (no band
 * suffix) of a band with `bandSize` points; `pythonRaised`: the Python extractor raised on that band.
 */
export function adCauseHolds(cause: AdFeatureCause, feature: string, sieve: number, python: number, bandSize: number, pythonRaised: boolean): boolean {
  const rel = Math.abs(sieve - python) / Math.abs(python);
  switch (cause) {
    case 'rust-min-points':
      return Number.isNaN(sieve) && Number.isFinite(python) && bandSize < (RUST_MIN_POINTS[feature] ?? 0);
    case 'python-slope-sigma':
      return feature === 'linear_fit_slope_sigma' && rel <= PY_RUST_REL;
    case 'rust-straight-line':
      return (feature === 'linear_fit_slope' || feature === 'linear_trend') && rel <= PY_RUST_REL;
    case 'python-linear-fit-nan':
      return feature.startsWith('linear_fit_') && Number.isNaN(python) && Number.isFinite(sieve) && bandSize >= 3;
    case 'python-raised':
      return pythonRaised && Number.isNaN(python) && !Number.isNaN(sieve);
  }
}
