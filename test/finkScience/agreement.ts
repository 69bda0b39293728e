import type { Alert } from '../../datasets/index.ts';
import { LSST_WAVELENGTH_ANGSTROM, rainbowObjective, rubinPoints } from '../../features/index.ts';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { AD_FEATURE_REL, adBandSizes, adCauseHolds, adNamedCells } from '../features/finkAdFeaturesRules.ts';
import { bandPoints, slopeSigmaConditioning } from '../features/rubinAnomalyRules.ts';
import { sharedPath } from '../shared.ts';

/**
 * Where Sieve's features cannot agree to 1e-9 with the values Fink's code gives, and how far they may
 * differ: the rule each extractor's reference test holds it to against Fink's reference files, by
 * FeatureSpec name. A difference the rule does not cover is not explained. Iterative fits stop at points
 * that depend on every rounding on the way; the Rubin anomaly features meet two ill-conditioned values.
 */
export interface Difference {
  column: string;
  sieve: number;
  fink: number;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
const bandOf = (column: string) => column.slice(column.lastIndexOf('_') + 1);
const featureOf = (column: string) => column.slice(0, column.lastIndexOf('_'));

type Rule = (d: Difference, alert: Alert) => string | null;

const ZTF_FID: Record<string, number> = { g: 1, r: 2 };
let adCells: { named: ReturnType<typeof adNamedCells>; raised: Map<string, string> } | null = null;
/** The named cells of finkAdFeatures.cells.ts and the bands the Python extractor raised on (the reference's flag), by `objectId candid`. */
function adReference() {
  if (adCells) return adCells;
  const rows = parse(readFileSync(sharedPath('fink', 'ztf', 'fink_ad_features.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
  adCells = { named: adNamedCells(), raised: new Map(rows.map((r) => [`${r.objectId} ${r.candid}`, r.py_extractor_failed_bands])) };
  return adCells;
}

const RULES: Record<string, Rule> = {
  // test/features/sigmoid.reference.test.ts: nrise exactly, the fit's values within 1e-4 relative or 1e-6 absolute
  'early-snia-sigmoid': (d) => {
    if (d.column.startsWith('nrise_') || Number.isNaN(d.sieve) || Number.isNaN(d.fink)) return null;
    return rel(d.sieve, d.fink) <= 1e-4 || Math.abs(d.sieve - d.fink) <= 1e-6 ? 'sigmoid fit (scipy least_squares / Sieve TRF, 1e-4)' : null;
  },
  // test/features/kndetect.reference.test.ts: within 1e-4 relative, or a coefficient at 0 on both sides (L-BFGS-B)
  'kilonova-kndetect': (d) => {
    if (Number.isNaN(d.sieve) || Number.isNaN(d.fink)) return null;
    if (rel(d.sieve, d.fink) <= 1e-4) return 'kndetect fit (L-BFGS-B, 1e-4)';
    return /^coeff/.test(d.column) && Math.abs(d.sieve) < 1e-6 && Math.abs(d.fink) < 1e-6 ? 'kndetect fit (coefficient at 0)' : null;
  },
  // test/features/finkAdFeatures.reference.test.ts: 1e-6 relative, but for the cells of the reference file named
  // in finkAdFeatures.cells.ts (Rust's definitions against light-curve's pure Python), each within its cause's rule
  'anomaly-lc-features': (d, alert) => {
    if (Math.abs(d.sieve - d.fink) <= AD_FEATURE_REL * Math.abs(d.fink)) return 'light-curve definitions (1e-6)';
    const fid = ZTF_FID[bandOf(d.column)];
    const feature = featureOf(d.column);
    const ref = adReference();
    const row = `${alert.objectId} ${alert.candid}`;
    const cause = ref.named.get(`${row} ${feature}_${fid}`);
    if (!cause) return null;
    const raised = (ref.raised.get(row) ?? '').split(/\D+/).includes(String(fid));
    return adCauseHolds(cause, feature, d.sieve, d.fink, adBandSizes(alert)[fid - 1], raised) ? `light-curve Rust vs pure Python (${cause})` : null;
  },
  // test/features/rubinAnomaly.reference.test.ts: 1e-6 relative; slope sigma within its conditioning bound; a
  // single point's stetson_K 1 or NaN
  'anomaly-rubin': (d, alert) => {
    const feature = featureOf(d.column);
    const band = bandOf(d.column);
    if (Number.isNaN(d.sieve) || Number.isNaN(d.fink)) {
      const other = Number.isNaN(d.sieve) ? d.fink : d.sieve;
      return feature === 'stetson_K' && other === 1 && bandPoints(alert, band).t.length === 1 ? 'stetson_K of a single point (1 or 0/0)' : null;
    }
    if (rel(d.sieve, d.fink) <= 1e-6) return 'light-curve definitions (1e-6)';
    return feature === 'linear_fit_slope_sigma' && rel(d.sieve, d.fink) <= slopeSigmaConditioning(alert, band) ? 'linear_fit_slope_sigma conditioning bound' : null;
  },
};

/** The Rainbow extractors: a fit that stops elsewhere (MIGRAD, see test/features/rainbow.reference.test.ts). */
const RAINBOW = new Set(['rainbow', 'early-snia-rubin']);

/** Why a feature of an extractor (by FeatureSpec name) differs from Fink's value, or null when its rule does not cover it. */
export function explainDifference(specName: string, d: Difference, alert: Alert): string | null {
  if (RAINBOW.has(specName)) return d.column === 'npoints' ? null : Number.isNaN(d.sieve) !== Number.isNaN(d.fink) ? 'Rainbow fit failed on one side' : 'Rainbow fit (MIGRAD)';
  return RULES[specName]?.(d, alert) ?? null;
}

/**
 * The Rainbow rule of the reference test on one fitted row (the fit columns present): every value within 1e-3
 * relative, or a flat optimum (reduced chi2 within 1e-5, parameters within 2%).
 */
export function rainbowAgrees(d: ReadonlyArray<Difference>): boolean {
  const fit = d.filter((x) => x.column !== 'npoints' && x.column !== 'lc_max');
  if (fit.every((x) => rel(x.sieve, x.fink) <= 1e-3)) return true;
  return fit.every((x) => (x.column === 'reduced_chi2' ? rel(x.sieve, x.fink) <= 1e-5 : rel(x.sieve, x.fink) <= 0.02));
}

/**
 * Sieve's value of Fink's Rainbow cost at given parameters (reference_time, amplitude, rise_time, Tmin, delta_T,
 * k_sig) on the alert's light curve as Fink fits it (divided by its maximum flux). At Fink's parameters it
 * gives Fink's reduced chi2 back when both fitted the same points with the same model.
 */
export function rainbowCost(a: Alert, params: ArrayLike<number>): { cost: number; reducedChi2: number } {
  const p = rubinPoints(a.lightCurve);
  const max = Math.max(...p.flux);
  const wave = p.band.map((b) => LSST_WAVELENGTH_ANGSTROM[b]);
  return rainbowObjective(p.mjd, p.flux.map((f) => f / max), p.err.map((e) => e / max), wave, p.n, Object.values(LSST_WAVELENGTH_ANGSTROM), params);
}
