export { loadModuleVersion, scoreAlerts, enrichedRows, type LoadedModule, type ModuleVersion, type ScoreResult, type ScoreOptions } from './score.ts';
export { RegistryProvider, FolderProvider, type VersionProvider } from './provider.ts';
export { PathSource, type AlertSource, type SourceUnit, type WorkUnit, type PathSourceOptions } from './sources.ts';
export { JsonlSink, StoreSink, SinkWriteError, cutPartialLastLine, type ResultSink, type JsonlSinkOptions, type SinkFileOps } from './sinks.ts';
export { KafkaSource, KafkaSink, OffsetTracker, kafkaClientConfig, parseKafkaUrl, nextOffset, type KafkaAddress } from './kafka.ts';
export { processUnit, describeUnit, type UnitResult, type OutputFormat } from './processUnit.ts';
export { runScorer, type ScorerOptions, type ScorerStats } from './run.ts';
export { scoreColumns, renderResultLines, type ModuleColumns } from './score.ts';
export { packMessages, unpackMessages, type PackedMessages } from './packUnit.ts';
