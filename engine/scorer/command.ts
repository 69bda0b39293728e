import { readFileSync } from 'node:fs';
import { loadSchemaDir } from '../../datasets/index.ts';
import { FolderProvider, JsonlSink, KafkaSink, KafkaSource, PathSource, RegistryProvider, StoreSink, runScorer, type AlertSource, type ResultSink, type VersionProvider } from './index.ts';

export interface ScoreCliOptions {
  module: string[];
  db?: string;
  bundles?: string;
  from: string[];
  to: string;
  format: 'results' | 'fink';
  workers: number;
  watch: boolean;
  pollMs: number;
  state?: string;
  linesPerUnit: number;
  anomalyThreshold?: number;
  progressSeconds: number;
  group?: string;
  schema?: string;
  schemaDir?: string;
}

/** `sieve score`: deployed modules over an alert stream; see engine/scorer/run.ts. */
export async function scoreCommand(o: ScoreCliOptions): Promise<void> {
  if (!o.db === !o.bundles) throw new Error('score: give either --db (the registry: deployed versions) or --bundles DIR (a folder of bundle files)');
  const provider: VersionProvider = o.db ? new RegistryProvider(o.db, o.module) : new FolderProvider(o.bundles!, o.module);
  provider.poll(); // fail now, not at the first alert, when a module has no usable version
  let source: AlertSource & { stop?(): void };
  if (o.from.length === 1 && o.from[0].startsWith('kafka://')) source = KafkaSource.connect(o.from[0]);
  else if (o.from.some((f) => f.startsWith('kafka://'))) throw new Error('score: a Kafka source cannot be mixed with files');
  else {
    source = new PathSource(o.from, {
      watch: o.watch, pollMs: o.pollMs, linesPerUnit: o.linesPerUnit, ...(o.state ? { stateFile: o.state } : {}),
      onSkip: (file, reason) => process.stderr.write(`scorer: skipped ${file}: ${reason}\n`),
    });
  }
  let sink: ResultSink;
  if (o.to.startsWith('kafka://')) sink = KafkaSink.connect(o.to);
  else if (o.to === 'store') {
    if (!o.db) throw new Error('score: --to store writes into the --db store');
    sink = new StoreSink(o.db);
  } else {
    // With --state a restart resumes: keep what the file holds. Whenever an acknowledgement (a state line, a
    // Kafka offset) follows a write, the lines are on disk first.
    const resumable = o.state !== undefined;
    sink = new JsonlSink(o.to, { append: resumable, durable: resumable || o.from[0].startsWith('kafka://') });
  }
  const stop = () => {
    process.stderr.write('scorer: stopping after the units in flight…\n');
    source.stop?.();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let streamSchema: unknown;
  if (o.schema) {
    try {
      streamSchema = JSON.parse(readFileSync(o.schema, 'utf8'));
    } catch (e) {
      throw new Error(`--schema ${o.schema}: not a JSON Avro schema (${(e as Error).message})`);
    }
  }
  const stats = await runScorer({
    source, sink, provider, workers: o.workers, format: o.format, progressEverySeconds: o.progressSeconds,
    ...(o.anomalyThreshold === undefined ? {} : { anomalyThreshold: o.anomalyThreshold }),
    ...(streamSchema === undefined ? {} : { streamSchema }), ...(o.schemaDir ? { namedSchemas: Object.fromEntries(loadSchemaDir(o.schemaDir)) } : {}),
  });
  const versions = Object.entries(stats.byVersion).map(([k, n]) => `${k}: ${n}`).join(', ');
  process.stderr.write(`scorer: ${stats.alerts} alerts in ${stats.seconds.toFixed(1)} s (${stats.alertsPerSecond.toFixed(0)}/s, ${o.workers} thread(s), peak RSS ${stats.peakRssMb.toFixed(0)} MB); versions ${versions || 'none'}; ${stats.skippedFiles.length} file(s) skipped, ${stats.badRecords} bad record(s)\n`);
  if (stats.skippedFiles.length || stats.badRecords) process.exitCode = 1;
}
