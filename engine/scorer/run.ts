import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../core/workers.ts';
import { packMessages } from './packUnit.ts';
import { processUnit } from './processUnit.ts';
import type { VersionProvider } from './provider.ts';
import { loadModuleVersion, type LoadedModule, type ModuleVersion, type ScoreOptions } from './score.ts';
import { describeUnit, type AlertSource, type OutputFormat, type ResultSink, type SourceUnit, type UnitResult, type WorkUnit } from './units.ts';

export interface ScorerOptions extends ScoreOptions {
  source: AlertSource;
  sink: ResultSink;
  provider: VersionProvider;
  /** Scorer threads; 0 scores on the calling thread. */
  workers: number;
  format?: OutputFormat;
  /** Units dispatched but not yet written, at most (bounds memory on an unbounded stream). */
  maxInFlight?: number;
  log?: (line: string) => void;
  progressEverySeconds?: number;
}

export interface ScorerStats {
  units: number;
  alerts: number;
  badRecords: number;
  skippedFiles: string[];
  /** Alerts scored per module version, e.g. { 'early-snia@2': 1200 }. */
  byVersion: Record<string, number>;
  seconds: number;
  alertsPerSecond: number;
  /** CPU time of the whole process (main and scorer threads): alerts per CPU-second is the per-core rate. */
  cpuSeconds: number;
  alertsPerCpuSecond: number;
  /** The same from the first unit written to the end: thread start and model loading left out. */
  steady: { alerts: number; seconds: number; cpuSeconds: number; alertsPerSecond: number; alertsPerCpuSecond: number } | null;
  peakRssMb: number;
  /** Resident memory when the run started: peakRssMb minus this is what the run itself held at most. */
  startRssMb: number;
}

/** Bad records logged one by one per unit; beyond that, a count. */
const MAX_LOGGED_PER_UNIT = 10;

interface Executor {
  run(unit: WorkUnit, versions: ModuleVersion[]): Promise<UnitResult>;
  close(): Promise<void>;
}

/** Scores on the calling thread (tests, small jobs). */
function inlineExecutor(format: OutputFormat, o: ScoreOptions): Executor {
  const cache = new Map<string, LoadedModule>();
  const load = (v: ModuleVersion) => {
    const key = `${v.module}@${v.version}`;
    let l = cache.get(key);
    if (!l) cache.set(key, (l = loadModuleVersion(v)));
    return l;
  };
  return { run: (unit, versions) => processUnit(unit, versions.map(load), format, o), close: async () => {} };
}

/** Packing buffers kept for reuse (each about one unit of messages), and how long they are kept unused. */
const SPARE_PACK_BUFFERS = 2;
const SPARE_PACK_IDLE_MS = 2000;

/** Scorer threads: each unit goes to the least busy thread, preceded by the versions in force if they changed. */
function threadExecutor(n: number, format: OutputFormat, o: ScoreOptions): Executor {
  const threads = Array.from({ length: n }, () => ({
    worker: startTsWorker(new URL('./scorerWorker.ts', import.meta.url), { format, options: o }) as Worker,
    busy: 0,
    versionsKey: '',
  }));
  const pending = new Map<number, { resolve: (r: UnitResult) => void; reject: (e: Error) => void; thread: (typeof threads)[number] }>();
  let nextId = 0;
  // packing buffers the threads handed back, for the next Kafka units; let go of when no unit came for a while
  // (an idle stream keeps no unit-sized buffers)
  const spares: ArrayBuffer[] = [];
  let dropSpares: NodeJS.Timeout | null = null;
  for (const t of threads) {
    t.worker.on('message', (m: ({ type: 'done'; id: number; result: UnitResult } | { type: 'failed'; id: number; error: string }) & { spare?: ArrayBuffer }) => {
      if (m.spare && spares.length < SPARE_PACK_BUFFERS) spares.push(m.spare);
      const p = pending.get(m.id)!;
      pending.delete(m.id);
      t.busy--;
      if (m.type === 'done') p.resolve(m.result);
      else p.reject(new Error(m.error));
    });
    t.worker.on('error', (e) => {
      for (const [id, p] of pending) if (p.thread === t) {
        pending.delete(id);
        p.reject(e);
      }
    });
  }
  return {
    run(unit, versions) {
      const t = threads.reduce((a, b) => (b.busy < a.busy ? b : a));
      const key = versions.map((v) => `${v.module}@${v.version}`).join(',');
      if (t.versionsKey !== key) {
        t.worker.postMessage({ type: 'versions', versions });
        t.versionsKey = key;
      }
      const id = nextId++;
      t.busy++;
      return new Promise<UnitResult>((resolve, reject) => {
        pending.set(id, { resolve, reject, thread: t });
        if (unit.kind === 'messages') {
          const { packed, transfer } = packMessages(unit, spares.pop() ?? null);
          if (dropSpares) clearTimeout(dropSpares);
          dropSpares = setTimeout(() => void spares.splice(0), SPARE_PACK_IDLE_MS).unref();
          t.worker.postMessage({ type: 'task', id, unit: packed }, transfer);
        } else {
          t.worker.postMessage({ type: 'task', id, unit });
        }
      });
    },
    async close() {
      if (dropSpares) clearTimeout(dropSpares);
      spares.splice(0);
      await Promise.all(threads.map((t) => t.worker.terminate()));
    },
  };
}

/**
 * The broker-side scorer: units from the source are scored by the module versions in force when they are
 * dispatched (the provider is polled between units, so a deploy or rollback takes effect at the next
 * unit, never inside one), results are written in source order, and only then is the unit acknowledged
 * (Kafka offsets commit after the write: at-least-once). A file that cannot be read is reported and
 * skipped; bad records are reported and the rest of their file is scored.
 */
export async function runScorer(o: ScorerOptions): Promise<ScorerStats> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const format = o.format ?? 'results';
  const scoreOptions: ScoreOptions = {
    ...(o.anomalyThreshold === undefined ? {} : { anomalyThreshold: o.anomalyThreshold }),
    ...(o.streamSchema === undefined ? {} : { streamSchema: o.streamSchema }), ...(o.namedSchemas ? { namedSchemas: o.namedSchemas } : {}),
  };
  const exec = o.workers > 0 ? threadExecutor(o.workers, format, scoreOptions) : inlineExecutor(format, scoreOptions);
  // enough units queued per thread that a thread never waits for the main thread between two units
  const maxInFlight = o.maxInFlight ?? Math.max(2, o.workers * 4);
  const stats: ScorerStats = { units: 0, alerts: 0, badRecords: 0, skippedFiles: [], byVersion: {}, seconds: 0, alertsPerSecond: 0, cpuSeconds: 0, alertsPerCpuSecond: 0, steady: null, peakRssMb: 0, startRssMb: process.memoryUsage.rss() / 2 ** 20 };
  let firstWritten: { at: number; cpu: NodeJS.CpuUsage; alerts: number } | null = null;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let lastProgress = start;
  const inFlight: Array<{ source: SourceUnit; result: Promise<UnitResult> }> = [];

  const writeHead = async () => {
    const head = inFlight[0];
    const r = await head.result;
    const what = describeUnit(head.source.unit);
    for (const s of r.skipped) {
      stats.skippedFiles.push(s.slice(0, s.indexOf(': ')));
      log(`scorer: skipped ${s}`);
    }
    if (r.errors.length) {
      stats.badRecords += r.errors.length;
      // each skipped record or message on its own line (it names file and record, or topic[partition]@offset),
      // a few per unit: a stream of garbage must not flood the log
      for (const e of r.errors.slice(0, MAX_LOGGED_PER_UNIT)) log(`scorer: bad record skipped: ${e}`);
      if (r.errors.length > MAX_LOGGED_PER_UNIT) log(`scorer: ${r.errors.length} bad record(s) in ${what}, ${r.errors.length - MAX_LOGGED_PER_UNIT} more not shown`);
    }
    await o.sink.write(r);
    await head.source.ack?.();
    inFlight.shift();
    stats.units++;
    stats.alerts += r.alerts;
    if (!firstWritten) firstWritten = { at: performance.now(), cpu: process.cpuUsage(), alerts: stats.alerts };
    for (const [m, v] of Object.entries(r.versions)) stats.byVersion[`${m}@${v}`] = (stats.byVersion[`${m}@${v}`] ?? 0) + r.alerts;
    stats.peakRssMb = Math.max(stats.peakRssMb, process.memoryUsage.rss() / 2 ** 20);
    const now = performance.now();
    if (o.progressEverySeconds && now - lastProgress > o.progressEverySeconds * 1000) {
      lastProgress = now;
      log(`scorer: ${stats.alerts.toLocaleString('en-US')} alerts in ${((now - start) / 1000).toFixed(1)} s (${(stats.alerts / ((now - start) / 1000)).toFixed(0)}/s), ${stats.skippedFiles.length} file(s) skipped`);
    }
  };

  // The writer drains results in source order as soon as each is ready (a watched folder that goes quiet
  // still gets its last results written); the reader waits while maxInFlight units are outstanding.
  let sourceDone = false;
  let failure: unknown = null;
  const wake: { writer: (() => void) | null; reader: (() => void) | null } = { writer: null, reader: null };
  const writer = (async () => {
    try {
      for (;;) {
        if (inFlight.length) {
          await writeHead();
          wake.reader?.();
          continue;
        }
        if (sourceDone) return;
        await new Promise<void>((resolve) => (wake.writer = resolve));
        wake.writer = null;
      }
    } catch (e) {
      failure = e;
      wake.reader?.();
    }
  })();

  try {
    for await (const su of o.source.units()) {
      if (failure) break;
      // between units: the versions in force now (a deploy since the last unit switches here)
      const versions = o.provider.poll();
      inFlight.push({ source: su, result: exec.run(su.unit, versions) });
      wake.writer?.();
      while (inFlight.length >= maxInFlight && !failure) {
        await new Promise<void>((resolve) => (wake.reader = resolve));
        wake.reader = null;
      }
    }
    sourceDone = true;
    wake.writer?.();
    await writer;
    if (failure) throw failure;
  } finally {
    sourceDone = true;
    wake.writer?.();
    // a failure part-way leaves unacknowledged units to be scored again (at-least-once)
    await Promise.allSettled(inFlight.map((f) => f.result));
    await exec.close();
    await o.sink.close();
    o.provider.close();
  }
  stats.seconds = (performance.now() - start) / 1000;
  stats.alertsPerSecond = stats.alerts / stats.seconds;
  const cpu = process.cpuUsage(cpu0);
  stats.cpuSeconds = (cpu.user + cpu.system) / 1e6;
  stats.alertsPerCpuSecond = stats.alerts / stats.cpuSeconds;
  if (firstWritten && stats.units > 1) {
    const f = firstWritten as { at: number; cpu: NodeJS.CpuUsage; alerts: number };
    const c = process.cpuUsage(f.cpu);
    const alerts = stats.alerts - f.alerts;
    const seconds = (performance.now() - f.at) / 1000;
    const cpuSeconds = (c.user + c.system) / 1e6;
    stats.steady = { alerts, seconds, cpuSeconds, alertsPerSecond: alerts / seconds, alertsPerCpuSecond: alerts / cpuSeconds };
  }
  return stats;
}
