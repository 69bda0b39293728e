// The engine's public surface: its core and its adapters. The applications have their own entry points
// (engine/server/index.ts, engine/scorer/index.ts, the CLI in engine/cli/) and are not re-exported here:
// a caller of the core never loads fastify, kafkajs or commander.
export { Store, StoreError, NON_TRAINING_LABELS, type LabelInput, type LabelRow, type ModelRow, type Role, type User } from './core/store/store.ts';
export * from './core/modules/index.ts';
export { nextQueue, type QueueEntry, type QueueOptions } from './core/queue.ts';
export { STRATEGY_NAMES, type StrategyName } from './core/strategies.ts';
export { retrainClassifier, updateAnomalyModule, anomalyInputs, evaluateClassifier, type TrainOptions, type TrainResult } from './core/training.ts';
export { promotionGate, type GateReport, type GateMetric, type Interval } from './core/gate.ts';
export { importSklearnModel, type SklearnImportResult } from './core/importSklearn.ts';
export { exportModelBytes, EXPORT_FORMATS, EXPORT_FORMAT_DOCS, type ExportFormat } from './core/export.ts';
export { retrainInWorker, labelsSinceLastModel } from './core/retrain.ts';
export { AnomalyQueueSession } from './core/anomalySession.ts';
export {
  pullFink, parseRetryAfter, PullError, CUTOUT_CHOICES, FINK_API_HOSTS, MAX_CONE_RADIUS_ARCSEC, type CutoutChoice, type PullQuery, type PullOptions, type PullResult, type PullSurvey, type Transport, type HttpAnswer,
} from './adapters/finkApi.ts';
export { cutoutPng, zscaleLimits, stretchPixels, type Stretch } from './adapters/image/cutoutPng.ts';
export { OffsetTracker, kafkaClientConfig, parseKafkaUrl, nextOffset, type KafkaAddress } from './adapters/kafka.ts';
