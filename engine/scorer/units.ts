// What flows through the scorer: units of work from a source, their results to a sink.

/** A unit of work a scorer thread decodes and scores on its own: a whole file, or a run of JSON lines. */
export type WorkUnit =
  | { kind: 'file'; path: string }
  | { kind: 'files'; paths: string[] }
  | { kind: 'lines'; origin: string; firstLine: number; text: string }
  | { kind: 'messages'; origin: string; payloads: Uint8Array[]; keys?: Array<Uint8Array | null>; wheres?: string[] };

export interface SourceUnit {
  unit: WorkUnit;
  /** Called once the unit's results are written (commits a Kafka offset, records a finished file). */
  ack?(): Promise<void> | void;
}

export interface AlertSource {
  units(): AsyncIterable<SourceUnit>;
  close(): Promise<void>;
}

/** Where results go. write() resolves once the results are durable enough to acknowledge the source. */
export interface ResultSink {
  write(r: UnitResult): Promise<void>;
  close(): Promise<void>;
}

export type OutputFormat = 'results' | 'fink';

export interface UnitResult {
  /** JSON lines, newline-terminated (empty when nothing was scored). */
  lines: string;
  /** objectId of each line, for sinks that key by it (Kafka). */
  keys: string[];
  alerts: number;
  /** Bad records, each naming the file and record (the rest of their file is scored). */
  errors: string[];
  /** Files that could not be read at all: "file: reason". */
  skipped: string[];
  versions: Record<string, number>;
}

export function describeUnit(u: WorkUnit): string {
  return u.kind === 'file' ? u.path : u.kind === 'files' ? `${u.paths[0]} (+${u.paths.length - 1} files)` : u.kind === 'lines' ? `${u.origin} lines ${u.firstLine}-` : `${u.origin} (${u.payloads.length} messages)`;
}
