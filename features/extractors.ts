import { readFileSync } from 'node:fs';
import type { Alert } from '../datasets/index.ts';
import { ANOMALY_FEATURE_NAMES, anomalyColumnNames, anomalyFeatures, DEFAULT_ANOMALY_PARAMS, type AnomalyFeatureParams } from './anomaly.ts';
import { DEFAULT_KILONOVA_PARAMS, KILONOVA_FEATURE_NAMES, kilonovaFeatures, validatePcaBasis, type KilonovaParams, type PcaBasis } from './kilonova.ts';
import { DEFAULT_SIGMOID_PARAMS, passesEarlySnIaCuts, SIGMOID_FEATURE_NAMES, sigmoidFeatures, type SigmoidParams } from './sigmoid.ts';
import type { FeatureSpec } from './spec.ts';
import { kilonovaFitCurves, sigmoidFitCurves, type FitCurve } from './fitCurves.ts';

/** One feature extractor: its spec, the module's selection cuts, and a pure function alert -> row. */
export interface FeatureExtractor {
  readonly spec: FeatureSpec;
  /**
   * The science module's cuts (e.g. Fink's early SN Ia cuts); true when the alert is eligible. `values`, the
   * row extract() just wrote for this alert, saves cuts on feature columns from computing it again.
   */
  passesCuts(alert: Alert, values?: ArrayLike<number>): boolean;
  /** Writes spec.columns.length values into `out` (allocated when omitted) and returns it. */
  extract(alert: Alert, out?: Float64Array): Float64Array;
  /** The fitted model behind the features, sampled for display over the light curve (when there is one). */
  fitCurves?(alert: Alert, values: ArrayLike<number>): FitCurve[];
}

export function earlySnIaExtractor(params: SigmoidParams = DEFAULT_SIGMOID_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = { name: 'early-snia-sigmoid', version: '1', parameters: { ...params }, columns: [...SIGMOID_FEATURE_NAMES] };
  return {
    spec,
    passesCuts: (a) => passesEarlySnIaCuts(a, params),
    extract: (a, out) => sigmoidFeatures(a.lightCurve, params, out),
    fitCurves: (a, values) => sigmoidFitCurves(a.lightCurve, values, params),
  };
}

export function anomalyExtractor(params: AnomalyFeatureParams = DEFAULT_ANOMALY_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = {
    name: 'anomaly-lc-features',
    version: '1',
    parameters: { ...params, features: [...ANOMALY_FEATURE_NAMES] },
    columns: anomalyColumnNames(params),
  };
  return {
    spec,
    // Fink computes these for every alert; a band without detections yields NaN.
    passesCuts: () => true,
    extract: (a, out) => anomalyFeatures(a.lightCurve, params, out),
  };
}

const DEFAULT_BASIS_URL = new URL('./data/kilonova-pca-basis.json', import.meta.url);

export function loadDefaultPcaBasis(): PcaBasis {
  return validatePcaBasis(JSON.parse(readFileSync(DEFAULT_BASIS_URL, 'utf8')));
}

export function kilonovaExtractor(basis: PcaBasis = loadDefaultPcaBasis(), params: KilonovaParams = DEFAULT_KILONOVA_PARAMS): FeatureExtractor {
  const spec: FeatureSpec = {
    name: 'kilonova-pca',
    version: '1',
    parameters: { ...params, basisVersion: basis.version, basisSha256: basis.sha256 },
    columns: [...KILONOVA_FEATURE_NAMES],
  };
  return {
    spec,
    passesCuts: () => true,
    extract: (a, out) => kilonovaFeatures(a.lightCurve, basis, params, out),
    fitCurves: (a, values) => kilonovaFitCurves(a.lightCurve, basis, values, params),
  };
}

export const EXTRACTOR_NAMES = ['early-snia', 'anomaly', 'kilonova'] as const;
export type ExtractorName = (typeof EXTRACTOR_NAMES)[number];

export function extractorByName(name: string): FeatureExtractor {
  switch (name) {
    case 'early-snia':
      return earlySnIaExtractor();
    case 'anomaly':
      return anomalyExtractor();
    case 'kilonova':
      return kilonovaExtractor();
    default:
      throw new Error(`unknown extractor '${name}' (known: ${EXTRACTOR_NAMES.join(', ')})`);
  }
}
