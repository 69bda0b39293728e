// The engine's public surface (tests and the CLI's callers import from here).
export { Store, StoreError, NON_TRAINING_LABELS, type LabelInput, type LabelRow, type ModelRow, type Role, type User } from './store/store.ts';
export * from './modules/index.ts';
export { nextQueue, type QueueEntry, type QueueOptions } from './queue.ts';
export { STRATEGY_NAMES, type StrategyName } from './activeLearning/strategies.ts';
export { retrainClassifier, updateAnomalyModule, anomalyInputs, bandInputs, evaluateClassifier, type TrainOptions, type TrainResult } from './training.ts';
export { promotionGate, type GateReport, type GateMetric, type Interval } from './gate.ts';
export { importSklearnModel, type SklearnImportResult } from './importSklearn.ts';
export { pullFink, pullPages, alertsFromRows, PullError, type PullQuery, type PullOptions, type PullResult } from './finkApi.ts';
export { retrainInWorker, labelsSinceLastModel } from './retrain.ts';
export { AnomalyQueueSession } from './anomalySession.ts';
export { buildApp, type AppOptions } from './server/app.ts';
export { Workbench, RequestError, DEFAULT_WORKBENCH_OPTIONS, type WorkbenchOptions } from './server/workbench.ts';
export { startServer, type RunningServer, type ServeOptions } from './server/serve.ts';
export { ensureUiBuilt, UI_DIST } from './server/uiBuild.ts';
export { cutoutPng, zscaleLimits, stretchPixels, type Stretch } from './server/cutoutPng.ts';
export { demoCommand } from './cli/demo.ts';
export * from './scorer/index.ts';
