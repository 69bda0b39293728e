import { readFileSync } from 'node:fs';
import type { Alert } from '../datasets/index.ts';
import { ANOMALY_FEATURE_NAMES, anomalyColumnNames, anomalyFeatures, DEFAULT_ANOMALY_PARAMS, type AnomalyFeatureParams } from './anomaly.ts';
import { DEFAULT_KILONOVA_PARAMS, KILONOVA_FEATURE_NAMES, validatePcaBasis, type KilonovaParams, type PcaBasis } from './kilonova.ts';
import { DEFAULT_SIGMOID_PARAMS, passesEarlySnIaCuts, SIGMOID_FEATURE_NAMES, sigmoidFeatures, type SigmoidParams } from './sigmoid.ts';
import type { FeatureSpec } from './spec.ts';
import { kilonovaFitCurves, sigmoidFitCurves, type FitCurve } from './fitCurves.ts';
import {
  DEFAULT_RUBIN_SNIA_PARAMS, EARLY_SNIA_RUBIN_FEATURE_NAMES, earlySnIaRubinFeatures, RAINBOW_FEATURE_NAMES, rainbowDisplayValues, rainbowFeatures,
  rainbowFitCurves, rubinPoints, rubinSniaSelection, type RubinSniaParams,
} from './rubinSnia.ts';
import { DEFAULT_RUBIN_ANOMALY_PARAMS, RUBIN_ANOMALY_FEATURE_NAMES, rubinAnomalyColumnNames, rubinAnomalyFeatures, type RubinAnomalyParams } from './rubinAnomaly.ts';
import { DEFAULT_KNDETECT_PARAMS, KNDETECT_FEATURE_NAMES, kndetectFeatures, loadKndetectPcs, type ComponentBasis, type KndetectParams } from './kndetect.ts';

/** One feature extractor: its spec, the module's selection cuts, and a pure function alert -> row. */
export interface FeatureExtractor {
  readonly spec: FeatureSpec;
  /**
   * The science module's cuts (e.g. Fink's early SN Ia cuts); true when the alert is eligible. `values`, the
   * row extract() just wrote for this alert, saves cuts on feature columns from computing it again.
   */
  passesCuts(alert: Alert, values?: ArrayLike<number>): boolean;
  /**
   * False when passesCuts is certain to be false, decided without computing the features (an alert-field
   * selection, a point count): a store skips the extraction for such alerts. Absent: no cheap decision.
   */
  prefilter?(alert: Alert): boolean;
  /** Writes spec.columns.length values into `out` (allocated when omitted) and returns it. */
  extract(alert: Alert, out?: Float64Array): Float64Array;
  /** The fitted model behind the features, sampled for display over the light curve (when there is one). */
  fitCurves?(alert: Alert, values: ArrayLike<number>): FitCurve[];
}

/*
 * Units of each extractor's columns (FeatureSpec.units), as the code they reproduce computes them; '' is a
 * dimensionless value or a count. Per-band columns (`<feature>_<band>`) take their feature's unit.
 */

/**
 * actsnfink's sigmoid c / (1 + exp(-a (t - b))) on FLUXCAL (10^(11 - 0.4 mag)) against days since the band's
 * first rising point; snratio is a signal-to-noise ratio, mse is computed on fluxes normalised by their sum,
 * nrise counts points.
 */
export const SIGMOID_UNITS: Readonly<Record<string, string>> = { a: '1/day', b: 'day', c: 'FLUXCAL', snratio: '', mse: '', nrise: '' };

/** light-curve's statistics on magnitudes against days (Fink's ZTF anomaly features, magpsf and jd). */
export const ANOMALY_MAG_UNITS: Readonly<Record<string, string>> = {
  amplitude: 'mag', anderson_darling_normal: '', beyond_1_std: '', chi2: '', cusum: '', kurtosis: '', linear_fit_slope: 'mag/day',
  linear_fit_slope_sigma: 'mag/day', linear_trend_noise: 'mag', linear_trend_sigma: 'mag/day', magnitude_percentage_ratio_20_10: '',
  magnitude_percentage_ratio_40_5: '', maximum_slope: 'mag/day', median: 'mag', median_absolute_deviation: 'mag',
  median_buffer_range_percentage_10: '', skew: '', stetson_K: '', percent_amplitude: 'mag', linear_fit_reduced_chi2: '',
  inter_percentile_range_10: 'mag', linear_trend: 'mag/day', standard_deviation: 'mag', weighted_mean: 'mag', mean: 'mag',
};

/** The same statistics on Rubin's psfFlux in nJy against MJD (Fink's Rubin anomaly features: "applied on Flux (nJy)"). */
export const ANOMALY_FLUX_UNITS: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(ANOMALY_MAG_UNITS).map(([k, u]) => [k, u.replace('mag', 'nJy')])),
  mean_variance: '',
};

/** kndetect: PCA coefficients and residual of the flux normalised by its maximum; that maximum in FLUXCAL. */
export const KILONOVA_UNITS: Readonly<Record<string, string>> = { coeff1: '', coeff2: '', coeff3: '', residuo: '', maxflux: 'FLUXCAL' };

/**
 * Rainbow as actsnfink's fit_rainbow calls it: flux divided by its maximum lc_max (nJy) before the fit, so the
 * amplitude is in units of lc_max; reference_time is an MJD, rise_time and k_sig (the package's t_color) days,
 * Tmin (the package's T) kelvin, delta_T (T_amplitude) a ratio, npoints a count.
 */
export const RAINBOW_UNITS: Readonly<Record<string, string>> = {
  reference_time: 'MJD', amplitude: 'lc_max', rise_time: 'day', Tmin: 'K', delta_T: '', k_sig: 'day', reduced_chi2: '', lc_max: 'nJy', npoints: '',
};

/** Each column's unit from a feature -> unit table (per-band columns by their feature name). */
function unitsOf(columns: readonly string[], table: Readonly<Record<string, string>>): string[] {
  return columns.map((c) => {
    const u = table[c] ?? table[c.replace(/_[a-zA-Z]$/, '')];
    if (u === undefined) throw new Error(`no unit declared for feature column '${c}'`);
    return u;
  });
}

export function earlySnIaExtractor(params: SigmoidParams = DEFAULT_SIGMOID_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = { name: 'early-snia-sigmoid', version: '1', parameters: { ...params }, columns: [...SIGMOID_FEATURE_NAMES], units: unitsOf(SIGMOID_FEATURE_NAMES, SIGMOID_UNITS) };
  return {
    spec,
    passesCuts: (a) => passesEarlySnIaCuts(a, params),
    prefilter: (a) => passesEarlySnIaCuts(a, params),
    extract: (a, out) => sigmoidFeatures(a.lightCurve, params, out),
    fitCurves: (a, values) => sigmoidFitCurves(a.lightCurve, values, params),
  };
}

export function anomalyExtractor(params: AnomalyFeatureParams = DEFAULT_ANOMALY_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = {
    name: 'anomaly-lc-features',
    // 2: Fink's ad_features light curve (DC magnitudes, one point per (jd, fid)) and the Rust crate's rules
    version: '2',
    parameters: { ...params, features: [...ANOMALY_FEATURE_NAMES], lightCurve: 'fink-ad-features', definitions: 'light-curve-feature' },
    columns: anomalyColumnNames(params),
    units: unitsOf(anomalyColumnNames(params), ANOMALY_MAG_UNITS),
  };
  return {
    spec,
    // Fink computes these for every alert; a band without detections yields NaN.
    passesCuts: () => true,
    extract: (a, out) => anomalyFeatures(a.lightCurve, params, out),
  };
}

/**
 * Fink's Rubin anomaly features (`anomaly-rubin`): the 26 light-curve features of fink_science/rubin/ad_features
 * on flux in nJy, per band u g r i z y. Computed for every alert, as Fink does; NaN where a band is absent.
 */
export function rubinAnomalyExtractor(params: RubinAnomalyParams = DEFAULT_RUBIN_ANOMALY_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = {
    name: 'anomaly-rubin',
    version: '1',
    parameters: { ...params, features: [...RUBIN_ANOMALY_FEATURE_NAMES], definitions: 'light_curve_py' },
    columns: rubinAnomalyColumnNames(params),
    units: unitsOf(rubinAnomalyColumnNames(params), ANOMALY_FLUX_UNITS),
  };
  return {
    spec,
    passesCuts: () => true,
    extract: (a, out) => rubinAnomalyFeatures(a.lightCurve, params, out),
  };
}

/** How the Rainbow values are found (version 1 followed Migrad's steps from the package's start). */
const RAINBOW_FIT = 'rainbow sigmoid/sigmoid, lowest minimum of 9 Newton starts';

/**
 * Fink's early SN Ia features for Rubin (`early-snia-rubin`): [npoints] + the 7 Rainbow values, zeros where
 * Fink's selection (7 points, more bands rising than max(2, min(3, bands))) or the fit fails.
 */
export function earlySnIaRubinExtractor(params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = {
    name: 'early-snia-rubin',
    version: '2',
    parameters: { ...params, fit: RAINBOW_FIT },
    columns: [...EARLY_SNIA_RUBIN_FEATURE_NAMES],
    units: unitsOf(EARLY_SNIA_RUBIN_FEATURE_NAMES, RAINBOW_UNITS),
  };
  return {
    spec,
    passesCuts: (a, values) => (values ? values[1] !== 0 : rubinSniaSelection(rubinPoints(a.lightCurve), params).passes),
    // an alert outside Fink's selection gets the zero row without a fit
    prefilter: (a) => rubinSniaSelection(rubinPoints(a.lightCurve), params).passes,
    extract: (a, out) => earlySnIaRubinFeatures(a.lightCurve, params, out),
    // the vector lacks the fit's reference time: found from the row's other parameters, or by fitting again, for
    // the curve (one alert at a time, on display). Only a row with a fit is drawn: 0 is Fink's row without one,
    // NaN a row never computed (another survey's alert)
    fitCurves: (a, values) => (hasRainbowFit(values) ? rainbowFitCurves(a.lightCurve, rainbowDisplayValues(a.lightCurve, values, params), params) : []),
  };
}

/** Whether an `early-snia-rubin` row holds a fit: its amplitude is a number other than Fink's 0 for "no fit". */
function hasRainbowFit(values: ArrayLike<number>): boolean {
  return Number.isFinite(values[1]) && values[1] !== 0;
}

/** The Rainbow fit alone (`rainbow`), for every alert with at least 7 points; NaN where it cannot be fitted. */
export function rainbowExtractor(params: RubinSniaParams = DEFAULT_RUBIN_SNIA_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = {
    name: 'rainbow',
    version: '2',
    parameters: { ...params, fit: RAINBOW_FIT },
    columns: [...RAINBOW_FEATURE_NAMES],
    units: unitsOf(RAINBOW_FEATURE_NAMES, RAINBOW_UNITS),
  };
  return {
    spec,
    passesCuts: (a, values) => Number.isFinite((values ?? rainbowFeatures(a.lightCurve, params))[1]),
    extract: (a, out) => rainbowFeatures(a.lightCurve, params, out),
    fitCurves: (a, values) => rainbowFitCurves(a.lightCurve, values, params),
  };
}

const DEFAULT_BASIS_URL = new URL('./data/kilonova-pca-basis.json', import.meta.url);

export function loadDefaultPcaBasis(): PcaBasis {
  return validatePcaBasis(JSON.parse(readFileSync(DEFAULT_BASIS_URL, 'utf8')));
}

/**
 * Sieve's own kilonova basis (`kilonova-sieve`): the PCA learned by `sieve basis` from noise-free simulated
 * light curves, fitted with kndetect's recipe (the same loss, window and thresholds as `kilonova`).
 */
export function kilonovaExtractor(basis: PcaBasis = loadDefaultPcaBasis(), params: KilonovaParams = DEFAULT_KILONOVA_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = {
    name: 'kilonova-sieve-pca',
    version: '2',
    parameters: { ...params, fit: 'kndetect-loss', basisVersion: basis.version, basisSha256: basis.sha256 },
    columns: [...KILONOVA_FEATURE_NAMES],
    units: unitsOf(KILONOVA_FEATURE_NAMES, KILONOVA_UNITS),
  };
  const components: ComponentBasis = { timeBinDays: basis.timeBinDays, components: basis.components, id: `sieve:${basis.sha256}` };
  const kp: KndetectParams = { fluxLim: params.minMaxFlux, bands: params.bands };
  return {
    spec,
    passesCuts: () => true,
    extract: (a, out) => kndetectFeatures(a.lightCurve, components, kp, out),
    fitCurves: (a, values) => kilonovaFitCurves(a.lightCurve, basis, values, params),
  };
}

/**
 * kndetect's kilonova features exactly as Fink's ZTF kilonova module computes them (`kilonova`): kndetect's
 * own three principal components, its window, thresholds and loss (features/kndetect.ts).
 */
export function kndetectExtractor(params: KndetectParams = DEFAULT_KNDETECT_PARAMS): FeatureExtractor {
  const pcs = loadKndetectPcs();
  const spec: FeatureSpec = {
    name: 'kilonova-kndetect', version: '1', parameters: { ...params, basis: pcs.id, timeBinDays: pcs.timeBinDays }, columns: [...KNDETECT_FEATURE_NAMES],
    units: unitsOf(KNDETECT_FEATURE_NAMES, KILONOVA_UNITS),
  };
  const asBasis = { timeBinDays: pcs.timeBinDays, components: pcs.components } as unknown as PcaBasis;
  return {
    spec,
    passesCuts: () => true,
    extract: (a, out) => kndetectFeatures(a.lightCurve, pcs, params, out),
    fitCurves: (a, values) => kilonovaFitCurves(a.lightCurve, asBasis, values, { minMaxFlux: params.fluxLim, regularisedComponents: [1, 2], bands: params.bands as readonly [string, string] }),
  };
}

export const EXTRACTOR_NAMES = ['early-snia', 'anomaly', 'kilonova', 'kilonova-sieve', 'anomaly-rubin', 'rainbow', 'early-snia-rubin'] as const;
export type ExtractorName = (typeof EXTRACTOR_NAMES)[number];

export function extractorByName(name: string): FeatureExtractor {
  switch (name) {
    case 'early-snia':
      return earlySnIaExtractor();
    case 'anomaly':
      return anomalyExtractor();
    case 'kilonova':
      return kndetectExtractor();
    case 'kilonova-sieve':
      return kilonovaExtractor();
    case 'anomaly-rubin':
      return rubinAnomalyExtractor();
    case 'rainbow':
      return rainbowExtractor();
    case 'early-snia-rubin':
      return earlySnIaRubinExtractor();
    default:
      throw new Error(`unknown extractor '${name}' (known: ${EXTRACTOR_NAMES.join(', ')})`);
  }
}
