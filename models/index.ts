export { matrix, selectRows, type Matrix } from './matrix.ts';
export * from './metrics.ts';
export { RandomForestClassifier, DEFAULT_RANDOM_FOREST_PARAMS, RANDOM_FOREST_SCHEMA, type RandomForestParams, type RandomForestJSON } from './randomForest.ts';
export { IsolationForest, averagePathLength, DEFAULT_ISOLATION_FOREST_PARAMS, ISOLATION_FOREST_SCHEMA, type IsolationForestParams, type IsolationForestJSON } from './isolationForest.ts';
export { AADForest, DEFAULT_AAD_PARAMS, AAD_SCHEMA, kthSmallest, type AADParams, type AADLabel, type AADForestJSON } from './aad.ts';
export { MLPClassifier, DEFAULT_MLP_PARAMS, MLP_SCHEMA, MIN_OBJECTS_FOR_EARLY_STOPPING, loadTensorFlow, dropoutThreshold, type MLPParams, type MLPJSON, type MCPrediction, type TfBackend } from './mlp.ts';
export { randomForestToOnnx, aadForestToOnnx, isolationForestToOnnx, mlpToOnnx, mlpToOnnxMC, readOnnxTreeRegressor, type OnnxTreeRegressor } from './onnx.ts';
export {
  FINK_MODEL_COLUMNS, FINK_FOREST_INPUT_BAND, importFinkAnomalyZip, exportFinkAnomalyZip, exportBandAnomalyZip, validRows, combineBandScores,
  jsScorer, onnxRuntimeScorer, scoreTwoBand, type FinkAnomalyModel, type BandScorer,
} from './finkAnomaly.ts';
export {
  BUNDLE_SCHEMA, createBundle, serializeBundle, parseBundle, modelFromBundle, datasetSha256, modelType, isClassifierModel, BundleError,
  type ModelBundle, type BundleManifest, type BundleInput, type SieveModel, type ModelType, type ClassifierModel,
} from './bundle.ts';
export { Random } from '../datasets/index.ts';
export { TwoBandAADModel, TWO_BAND_SCHEMA, type TwoBandJSON } from './twoBand.ts';
export { BandAADModel, BAND_AAD_SCHEMA, minOverValid, updateForestBand, type BandAADJSON, type PerBandAADModel } from './bandAAD.ts';
export { leafSums, type LeafSums } from './forestWasm.ts';
export { randomForestToSklearnPickle, randomForestFromSklearnPickle, SKLEARN_FOREST_GLOBALS, type ImportedForest, type SklearnExportOptions } from './sklearn.ts';
export { readPickle, writePickle, PickleError, type Py } from './pickle.ts';
export { checkTrees, checkNumbers, ModelStructureError, MODEL_LIMITS } from './structure.ts';
