import type { SurveyName } from '../modules/fields.ts';

/**
 * The Fink code that computes an extractor's features, keyed by the extractor's FeatureSpec name: a
 * fragment of python/ that calls it as Fink's own processor does, and the fink-broker columns it reads.
 */
export interface FinkCounterpart {
  survey: SurveyName;
  /** The fragment in python/ (imports, `# ----`, then its function). */
  template: string;
  /** Its function: (c: dict of fink-broker columns) -> (DataFrame of features by name, selected: bool array). */
  fn: string;
  /** The fink-broker columns the function reads, as fink-broker names them. */
  columns: readonly string[];
  /** Fink's code behind it, for the README. */
  finkCode: string;
}

const ZTF_LIGHT_CURVE = ['cjd', 'cfid', 'cmagpsf', 'csigmapsf'];
const RUBIN_LIGHT_CURVE = ['cmidpointMjdTai', 'cband', 'cpsfFlux', 'cpsfFluxErr'];

const COUNTERPARTS: Readonly<Record<string, FinkCounterpart | { refused: string }>> = {
  'early-snia-sigmoid': {
    survey: 'ztf', template: 'early_snia_ztf.py', fn: 'sigmoid_features', columns: [...ZTF_LIGHT_CURVE, 'cdsxmatch', 'candidate.ndethist'],
    finkCode: "fink_science/ztf/random_forest_snia: apply_selection_cuts_ztf, fink_utils' format_data_as_snana, actsnfink's get_sigmoid_features_dev_fast",
  },
  'anomaly-lc-features': {
    survey: 'ztf', template: 'anomaly_ztf.py', fn: 'ad_features',
    columns: ['cmagpsf', 'cjd', 'csigmapsf', 'cfid', 'objectId', 'cdistnr', 'cmagnr', 'csigmagnr', 'cisdiffpos'],
    finkCode: 'fink_science/ztf/ad_features: extract_features_ad_raw (light-curve features per band, DC magnitudes where Fink uses them)',
  },
  'kilonova-kndetect': {
    survey: 'ztf', template: 'kilonova_ztf.py', fn: 'kndetect_features', columns: ZTF_LIGHT_CURVE,
    finkCode: "fink_science/ztf/kilonova: fink_utils' mag2fluxcal_snana, kndetect's extract_features_all_lightcurves with its own components",
  },
  'kilonova-sieve-pca': {
    refused: "Sieve's own kilonova basis (kilonova-sieve, from sieve basis) has no counterpart in Fink: declare the kilonova extractor (kndetect's components, as Fink runs them)",
  },
  'anomaly-rubin': {
    survey: 'lsst', template: 'anomaly_rubin.py', fn: 'ad_rubin_features', columns: ['cmidpointMjdTai', 'cpsfFlux', 'cpsfFluxErr', 'cband', 'diaObject.diaObjectId'],
    finkCode: 'fink_science/rubin/ad_features: extract_features_ad_rubin_raw (light-curve features on flux per band)',
  },
  'early-snia-rubin': {
    survey: 'lsst', template: 'early_snia_rubin.py', fn: 'rainbow_snia_features', columns: RUBIN_LIGHT_CURVE,
    finkCode: "fink_science/rubin/random_forest_snia: extract_features_rainbow (actsnfink's fit_rainbow, light-curve's RainbowFit)",
  },
  rainbow: {
    survey: 'lsst', template: 'rainbow_rubin.py', fn: 'rainbow_fit_features', columns: RUBIN_LIGHT_CURVE,
    finkCode: "actsnfink's fit_rainbow as fink_science/rubin/random_forest_snia calls it (light-curve's RainbowFit), without the rising-band selection",
  },
};

/** Fink's counterpart of an extractor (by FeatureSpec name), or the reason there is none. */
export function finkCounterpart(specName: string): FinkCounterpart | { refused: string } {
  return COUNTERPARTS[specName] ?? { refused: `no Fink code computes the features of extractor '${specName}'` };
}

/**
 * fink-science's module folders at the commit of ../shared/data/fink/README.md (ddee53da): a generated module
 * takes another name rather than one of these (the test checks the list against a fink-science checkout).
 */
export const FINK_SCIENCE_MODULE_FOLDERS: Readonly<Record<SurveyName, readonly string[]>> = {
  ztf: [
    'ad_features', 'anomaly_detection', 'asteroids', 'blazar_extreme_state', 'fast_transient_rate', 'hostless_detection', 'kilonova',
    'microlensing', 'nalerthist', 'random_forest_snia', 'snn', 'ssoft', 'standardized_flux', 'superluminous', 'transient_features', 'xmatch',
  ],
  lsst: ['ad_features', 'cats', 'hostless_detection', 'orphans', 'random_forest_snia', 'slsn', 'snn', 'xmatch'],
};
