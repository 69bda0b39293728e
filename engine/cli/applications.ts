// What the CLI launches but does not import: the HTTP server and the stream scorer. engine/main.ts wires the
// real ones; the shapes are declared here, on the CLI's side, so that the CLI depends on no application.

export interface ServeCliOptions {
  db: string;
  port: number;
  host: string;
  retrainEvery: number;
  leaseSeconds: number;
  seed: number;
  /** Print a fresh token for this admin account (`serve --admin-token NAME`). */
  adminToken?: string;
}

export interface ServerApp {
  /** Fails when the port is taken (checked before a long build). */
  assertPortFree(port: number, host: string): Promise<void>;
  serveCommand(o: ServeCliOptions): Promise<void>;
  serveDemo(o: { db: string; port: number; host: string; retrainEvery: number; seed: number }, token: { name: string; token: string }): Promise<void>;
}

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
  /** After a stop signal, seconds the units in flight may take before the process exits anyway. */
  stopSeconds?: number;
}

export interface ScorerApp {
  scoreCommand(o: ScoreCliOptions): Promise<void>;
}

/** Loaded on demand: `sieve --help` or `sieve queue` never loads fastify or kafkajs. */
export interface Applications {
  server(): Promise<ServerApp>;
  scorer(): Promise<ScorerApp>;
}
