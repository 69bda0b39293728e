import { Kafka, type Consumer, type EachBatchPayload, type KafkaConfig, type Producer, type SASLOptions } from 'kafkajs';
import type { UnitResult } from './processUnit.ts';
import type { ResultSink } from './sinks.ts';
import type { AlertSource, SourceUnit } from './sources.ts';

/** kafka://host:port[,host:port]/topic[?group=G&fromBeginning=true] */
export interface KafkaAddress {
  brokers: string[];
  topic: string;
  groupId: string;
  fromBeginning: boolean;
}

export function parseKafkaUrl(url: string): KafkaAddress {
  const m = /^kafka:\/\/([^/?]+)\/([^?]+)(?:\?(.*))?$/.exec(url);
  if (!m) throw new Error(`'${url}' is not kafka://host:port[,host:port]/topic[?group=NAME&fromBeginning=true]`);
  const q = new URLSearchParams(m[3] ?? '');
  return { brokers: m[1].split(','), topic: decodeURIComponent(m[2]), groupId: q.get('group') ?? 'sieve-scorer', fromBeginning: q.get('fromBeginning') === 'true' };
}

/**
 * The client settings for a set of brokers. Credentials come from the environment, never from the URL (which
 * shows in process listings and logs): SIEVE_KAFKA_USERNAME and SIEVE_KAFKA_PASSWORD turn on SASL with
 * SCRAM-SHA-512 over plaintext, as Fink's livestream expects (fink-client's username/password);
 * SIEVE_KAFKA_SASL_MECHANISM picks plain / scram-sha-256 / scram-sha-512 and SIEVE_KAFKA_SSL=1 adds TLS.
 */
export function kafkaClientConfig(clientId: string, brokers: string[], env: NodeJS.ProcessEnv = process.env): KafkaConfig {
  const user = env.SIEVE_KAFKA_USERNAME;
  const password = env.SIEVE_KAFKA_PASSWORD;
  const ssl = env.SIEVE_KAFKA_SSL === undefined ? false : env.SIEVE_KAFKA_SSL === '1' || env.SIEVE_KAFKA_SSL === 'true';
  if (env.SIEVE_KAFKA_SSL !== undefined && !['0', '1', 'true', 'false'].includes(env.SIEVE_KAFKA_SSL)) throw new Error(`SIEVE_KAFKA_SSL: '${env.SIEVE_KAFKA_SSL}' is not 0, 1, true or false`);
  if ((user === undefined) !== (password === undefined)) throw new Error(`SIEVE_KAFKA_${user === undefined ? 'USERNAME' : 'PASSWORD'} is not set, the other credential is`);
  if (user === undefined || password === undefined) {
    if (env.SIEVE_KAFKA_SASL_MECHANISM !== undefined) throw new Error('SIEVE_KAFKA_SASL_MECHANISM is set without SIEVE_KAFKA_USERNAME and SIEVE_KAFKA_PASSWORD');
    return { clientId, brokers, ssl };
  }
  const mechanism = (env.SIEVE_KAFKA_SASL_MECHANISM ?? 'scram-sha-512').toLowerCase();
  if (mechanism !== 'plain' && mechanism !== 'scram-sha-256' && mechanism !== 'scram-sha-512') {
    throw new Error(`SIEVE_KAFKA_SASL_MECHANISM: '${mechanism}' is not plain, scram-sha-256 or scram-sha-512`);
  }
  const sasl: SASLOptions = mechanism === 'plain' ? { mechanism, username: user, password }
    : mechanism === 'scram-sha-256' ? { mechanism, username: user, password } : { mechanism, username: user, password };
  return { clientId, brokers, ssl, sasl };
}

/** Kafka offsets are int64 decimal strings; the offset to commit is the one after the last processed message. */
export function nextOffset(offset: string): string {
  return (BigInt(offset) + 1n).toString();
}

/**
 * Offsets per topic-partition: a unit's messages are marked done when its results are written, and the
 * committable offset is the end of the longest run of done units from the start, so a commit never skips
 * a unit still in flight (at-least-once even if units were finished out of order).
 */
export class OffsetTracker {
  private readonly parts = new Map<string, { units: Array<{ last: bigint; done: boolean }>; committed: bigint | null }>();

  private part(topic: string, partition: number) {
    const key = `${topic}\u0000${partition}`;
    let p = this.parts.get(key);
    if (!p) this.parts.set(key, (p = { units: [], committed: null }));
    return p;
  }

  /** Registers a unit ending at lastOffset; returns the function that marks it done. */
  add(topic: string, partition: number, lastOffset: string): () => void {
    const p = this.part(topic, partition);
    const u = { last: BigInt(lastOffset), done: false };
    p.units.push(u);
    return () => {
      u.done = true;
    };
  }

  /** The offset to commit now for a partition (null when nothing new is committable). */
  committable(topic: string, partition: number): string | null {
    const p = this.part(topic, partition);
    let last: bigint | null = null;
    while (p.units.length && p.units[0].done) last = p.units.shift()!.last;
    if (last === null) return null;
    p.committed = last + 1n;
    return p.committed.toString();
  }
}

/**
 * Alerts from Kafka topics in a consumer group: N scorers with the same group share the partitions.
 * Each fetched batch is cut into units of at most messagesPerUnit; eachBatch returns (and kafkajs fetches
 * more for that partition) only when the batch's results are written and its offsets committed.
 */
export class KafkaSource implements AlertSource {
  private readonly queue: SourceUnit[] = [];
  private wake: (() => void) | null = null;
  private stopped = false;
  private failure: Error | null = null;
  readonly offsets = new OffsetTracker();

  constructor(private readonly consumer: Consumer, private readonly address: KafkaAddress, private readonly messagesPerUnit = 1000) {}

  static connect(url: string, clientId = 'sieve-scorer', messagesPerUnit?: number): KafkaSource {
    const a = parseKafkaUrl(url);
    const kafka = new Kafka(kafkaClientConfig(clientId, a.brokers));
    return new KafkaSource(kafka.consumer({ groupId: a.groupId }), a, messagesPerUnit);
  }

  /** kafkajs' eachBatch handler (public so that it can be exercised without a broker). */
  async handleBatch(p: Pick<EachBatchPayload, 'batch' | 'resolveOffset' | 'heartbeat' | 'isRunning' | 'isStale'>): Promise<void> {
    const { batch } = p;
    const acks: Array<Promise<void>> = [];
    for (let i = 0; i < batch.messages.length && p.isRunning() && !p.isStale(); i += this.messagesPerUnit) {
      const msgs = batch.messages.slice(i, i + this.messagesPerUnit);
      const last = msgs[msgs.length - 1].offset;
      const done = this.offsets.add(batch.topic, batch.partition, last);
      acks.push(new Promise<void>((resolve) => {
        this.push({
          unit: {
            kind: 'messages', origin: `${batch.topic}[${batch.partition}]@${msgs[0].offset}-${last}`, payloads: msgs.map((m) => m.value ?? new Uint8Array(0)),
            // Fink's livestream puts the writer schema (or its version name) in the key
            keys: msgs.map((m) => m.key ?? null), wheres: msgs.map((m) => `${batch.topic}[${batch.partition}]@${m.offset}`),
          },
          ack: async () => {
            done();
            p.resolveOffset(last);
            const offset = this.offsets.committable(batch.topic, batch.partition);
            if (offset !== null) await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset }]);
            resolve();
          },
        });
      }));
    }
    // heartbeats keep the group membership while the scorer works through the batch
    const beat = setInterval(() => void p.heartbeat().catch(() => {}), 3000);
    try {
      await Promise.all(acks);
    } finally {
      clearInterval(beat);
    }
  }

  private push(u: SourceUnit): void {
    this.queue.push(u);
    this.wake?.();
  }

  async *units(): AsyncIterable<SourceUnit> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.address.topic], fromBeginning: this.address.fromBeginning });
    this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.handleBatch(p) }).catch((e: Error) => {
      this.failure = e;
      this.wake?.();
    });
    for (;;) {
      while (this.queue.length) yield this.queue.shift()!;
      if (this.failure) throw this.failure;
      if (this.stopped) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.stop();
    await this.consumer.disconnect();
  }
}

/** Results to a Kafka topic, keyed by objectId (so an object's results stay in one partition, in order). */
export class KafkaSink implements ResultSink {
  private connected = false;

  constructor(private readonly producer: Producer, readonly topic: string) {}

  static connect(url: string, clientId = 'sieve-scorer'): KafkaSink {
    const a = parseKafkaUrl(url);
    return new KafkaSink(new Kafka(kafkaClientConfig(clientId, a.brokers)).producer({ idempotent: true }), a.topic);
  }

  /** The messages a unit's results become. */
  static messages(r: UnitResult): Array<{ key: string; value: string }> {
    const lines = r.lines.split('\n').filter((l) => l);
    return lines.map((value, i) => ({ key: r.keys[i], value }));
  }

  async write(r: UnitResult): Promise<void> {
    if (!r.lines) return;
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    // acks: -1 waits for all in-sync replicas, so the source commits only results Kafka has kept
    await this.producer.send({ topic: this.topic, acks: -1, messages: KafkaSink.messages(r) });
  }

  async close(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}
