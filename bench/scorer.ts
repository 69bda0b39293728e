/**
 * End-to-end broker scoring: Avro alert files -> the three feature extractors -> the deployed random
 * forests (early SN Ia, kilonova) and the two-band AAD anomaly module -> JSON lines, on 1 and 2 threads.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { readAvroContainer, readParquetRows, writeAvroContainer } from '../datasets/index.ts';
import { JsonlSink, KafkaSource, PathSource, RegistryProvider, runScorer } from '../engine/scorer/index.ts';
import { parseKafkaUrl } from '../engine/index.ts';
import { demoCommand } from '../engine/cli/demo.ts';
import { SHARED_DATA } from './paths.ts';

const SHARED = SHARED_DATA;

/** The 51 real alerts of Fink's alerts.parquet (with their stamps), repeated with fresh candids, as ZTF Avro. */
async function writeAvroStream(dir: string, files: number, perFile: number): Promise<number> {
  const containers = await avroContainers(files, perFile);
  mkdirSync(dir, { recursive: true });
  containers.forEach((c, f) => writeFileSync(path.join(dir, `${String(f).padStart(6, '0')}.avro`), c));
  return files * perFile;
}

async function avroContainers(files: number, perFile: number): Promise<Buffer[]> {
  const schema = readAvroContainer(readFileSync(`${SHARED}ztf/avro/472263571115115000.avro`), 'packet').schema;
  const { rows } = await readParquetRows(readFileSync(`${SHARED}ztf/parquet/alerts.parquet`), 'alerts.parquet');
  const toAvro = (v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v) : Array.isArray(v) ? v.map(toAvro)
    : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toAvro(x)])) : v);
  const base = rows.map((r) => toAvro(r) as Record<string, unknown> & { candid: bigint; candidate: Record<string, unknown> });
  const out: Buffer[] = [];
  let k = 0;
  for (let f = 0; f < files; f++) {
    const batch = [];
    for (let i = 0; i < perFile; i++, k++) {
      const a = base[k % base.length];
      const candid = a.candid + BigInt(k) * 1_000_000_000n;
      batch.push({ ...a, candid, candidate: { ...a.candidate, candid } });
    }
    // no block codec: ZTF publishes its packets uncompressed (the stamps inside are gzipped FITS)
    out.push(writeAvroContainer(schema, batch));
  }
  return out;
}

/**
 * A stand-in for kafkajs' consumer that replays messages from memory: `partitions` partitions, each handing
 * its batches of `batchSize` to the source's eachBatch handler in turn (as kafkajs does), then stopping the
 * source once every batch is written and committed. Everything after the network (unit building, decoding,
 * scoring, ordering, commits) is the production code path.
 */
function replayConsumer(source: () => KafkaSource, values: Buffer[], partitions: number, batchSize: number): Consumer {
  const topic = 'ztf_bench';
  const run = async (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
    await Promise.all(Array.from({ length: partitions }, async (_, part) => {
      const mine = values.filter((_, i) => i % partitions === part);
      for (let start = 0; start < mine.length; start += batchSize) {
        const messages = mine.slice(start, start + batchSize).map((value, i) => ({ offset: String(start + i), value, key: null, timestamp: '0', attributes: 0, headers: {} }));
        const last = messages[messages.length - 1].offset;
        await o.eachBatch({
          batch: { topic, partition: part, highWatermark: String(Number(last) + 1), messages, isEmpty: () => false, firstOffset: () => messages[0].offset, lastOffset: () => last, offsetLag: () => '0', offsetLagLow: () => '0' },
          resolveOffset: () => {}, heartbeat: async () => {}, isRunning: () => true, isStale: () => false,
        } as unknown as EachBatchPayload);
      }
    }));
    source().stop();
  };
  return {
    connect: async () => {}, subscribe: async () => {}, disconnect: async () => {}, commitOffsets: async () => {},
    run: (o: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => run(o),
  } as unknown as Consumer;
}

export async function runScorerBenchmarks(): Promise<Array<{ what: string; value: string; alertsPerSecond?: number; alertsPerCpuSecond?: number }>> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-bench-score-'));
  const db = path.join(tmp, 'registry.db');
  const log = console.log;
  console.log = () => {};
  try {
    await demoCommand({ db, n: 1500, seed: 1, serve: false, in: [`${SHARED}ztf/alerts.jsonl`] });
  } finally {
    console.log = log;
  }
  const out: Array<{ what: string; value: string; alertsPerSecond?: number; alertsPerCpuSecond?: number }> = [];
  const cases = [
    { name: 'multi', files: Number(process.env.SIEVE_BENCH_SCORE_FILES ?? 400), perFile: 100 },
    { name: 'single', files: Number(process.env.SIEVE_BENCH_SCORE_SINGLE ?? 10000), perFile: 1 },
  ];
  for (const c of cases) {
    const dir = path.join(tmp, c.name);
    const n = await writeAvroStream(dir, c.files, c.perFile);
    for (const workers of [1, 2]) {
      const sink = path.join(tmp, `out-${c.name}-${workers}.jsonl`);
      const stats = await runScorer({
        source: new PathSource([dir]), sink: new JsonlSink(sink), provider: new RegistryProvider(db, ['early-snia', 'kilonova', 'anomaly'], () => {}), workers, log: () => {},
      });
      if (stats.alerts !== n) throw new Error(`bench scorer: scored ${stats.alerts} of ${n}`);
      out.push({
        what: `${n} real ZTF alerts (${c.perFile} per Avro file, with stamps) -> 3 extractors, RF x2 + AAD -> JSONL, ${workers} thread(s)`,
        value: `steady ${stats.steady!.alertsPerSecond.toFixed(0)} alerts/s wall, ${stats.steady!.alertsPerCpuSecond.toFixed(0)} per CPU-second (goal 10,000/s per core); whole run incl. thread start and model load ${stats.alertsPerSecond.toFixed(0)}/s in ${stats.seconds.toFixed(1)} s; peak RSS ${stats.peakRssMb.toFixed(0)} MB (+${(stats.peakRssMb - stats.startRssMb).toFixed(0)} MB during the run)`,
        alertsPerSecond: stats.alertsPerSecond,
        alertsPerCpuSecond: stats.alertsPerCpuSecond,
      });
      rmSync(sink);
    }
    rmSync(dir, { recursive: true });
  }
  // one alert per Kafka message (as ZTF and Rubin publish), replayed from memory through KafkaSource
  const nMessages = Number(process.env.SIEVE_BENCH_SCORE_MESSAGES ?? 20000);
  const values = await avroContainers(nMessages, 1);
  // 0: scored on the consumer's own thread (no copy to a scorer thread; scale out with more processes)
  for (const workers of [0, 1, 2]) {
    const sink = path.join(tmp, `out-kafka-${workers}.jsonl`);
    let source!: KafkaSource;
    source = new KafkaSource(replayConsumer(() => source, values, 4, 500), parseKafkaUrl('kafka://replay:9092/ztf_bench'), 1000);
    const stats = await runScorer({ source, sink: new JsonlSink(sink), provider: new RegistryProvider(db, ['early-snia', 'kilonova', 'anomaly'], () => {}), workers, log: () => {} });
    if (stats.alerts !== nMessages) throw new Error(`bench scorer: scored ${stats.alerts} of ${nMessages} messages`);
    out.push({
      what: `${nMessages} real ZTF alerts as Kafka messages (1 Avro container each, replayed from memory) -> same modules -> JSONL, ${workers === 0 ? 'on the consumer thread (--workers 0)' : `${workers} scorer thread(s)`}`,
      value: `steady ${stats.steady!.alertsPerSecond.toFixed(0)} alerts/s wall, ${stats.steady!.alertsPerCpuSecond.toFixed(0)} per CPU-second (goal 10,000 per CPU-second); peak RSS ${stats.peakRssMb.toFixed(0)} MB`,
      alertsPerSecond: stats.alertsPerSecond,
      alertsPerCpuSecond: stats.steady!.alertsPerCpuSecond,
    });
    rmSync(sink);
  }
  rmSync(tmp, { recursive: true, force: true });
  return out;
}
