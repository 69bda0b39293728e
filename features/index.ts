export * from './spec.ts';
export * from './extractors.ts';
export { sigmoidFitCurves, kilonovaFitCurves, type FitCurve } from './fitCurves.ts';
export {
  SIGMOID_FEATURE_NAMES, DEFAULT_SIGMOID_PARAMS, FINK_EXTRAGALACTIC_CDSXMATCH, sigmoid, sigmoidFeatures,
  passesEarlySnIaCuts, bandFluxcal, sigmoidInitialGuess, fitSigmoid, risingPoints, sigmoidCost, type SigmoidParams,
  type BandFlux, type RisingPoints,
} from './sigmoid.ts';
export {
  ANOMALY_FEATURE_NAMES, DEFAULT_ANOMALY_PARAMS, anomalyFeatures, anomalyFeaturesFromArrays, anomalyColumnNames,
  AnomalyScratch, finkAnomalyLightCurve, finkUsesDcMagnitudes, dcMagnitude, isSourceBehind, type AnomalyFeatureName,
  type AnomalyFeatureParams,
} from './anomaly.ts';
export {
  KILONOVA_FEATURE_NAMES, DEFAULT_KILONOVA_PARAMS, DEFAULT_BASIS_TRAINING, PCA_BASIS_SCHEMA, learnPcaBasis,
  validatePcaBasis, basisHash, kilonovaFeatures, fitComponentCoefficients, type PcaBasis, type KilonovaParams,
  type BasisTrainingOptions,
} from './kilonova.ts';
export { trfLeastSquares, type TrfOptions, type TrfResult, type ResidualFn } from './trf.ts';
export { ppf, normalCdf } from './lightCurveStats.ts';
export { rintHalfEven, roundDecimals } from './numeric.ts';
export { KNDETECT_FEATURE_NAMES, DEFAULT_KNDETECT_PARAMS, kndetectFeatures, fitKndetectCoefficients, loadKndetectPcs, type ComponentBasis, type KndetectParams } from './kndetect.ts';
export {
  RUBIN_ANOMALY_FEATURE_NAMES, RUBIN_BANDS, DEFAULT_RUBIN_ANOMALY_PARAMS, rubinAnomalyFeatures, rubinAnomalyFeaturesFromArrays,
  rubinAnomalyColumnNames, rubinDetectionOrder, pairwiseSum, RubinAnomalyScratch, type RubinAnomalyParams,
} from './rubinAnomaly.ts';
export { LSST_WAVELENGTH_ANGSTROM, rainbowFit, rainbowObjective, rainbowModel, rainbowReferenceTime, RainbowWorkspace, type RainbowFitResult } from './rainbow.ts';
export {
  RAINBOW_FEATURE_NAMES, EARLY_SNIA_RUBIN_FEATURE_NAMES, DEFAULT_RUBIN_SNIA_PARAMS, rubinPoints, bandIsRising, rubinSniaSelection,
  fitRubinPoints, rainbowFeatures, rainbowDisplayValues, earlySnIaRubinFeatures, rainbowFitCurves, type RubinPoints, type RubinSniaParams,
} from './rubinSnia.ts';
