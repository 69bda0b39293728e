import { Kafka, PartitionAssigners, type Consumer, type ConsumerConfig, type EachBatchPayload, type Producer } from 'kafkajs';
import { kafkaClientConfig, OffsetTracker, parseKafkaUrl, type KafkaAddress } from '../adapters/kafka.ts';
import type { AlertSource, ResultSink, SourceUnit, UnitResult } from './units.ts';

/**
 * The consumer settings of every scorer in a group. The partition assigner is named rather than left to
 * kafkajs' default so that all members offer the same group protocol, and so that the test of the assignment
 * (test/scorer/scaleout.test.ts) exercises the assigner the scorer really uses: kafkajs' round-robin, which
 * deals the topic's partitions over the members sorted by member id.
 */
export function scorerConsumerConfig(groupId: string): ConsumerConfig {
  return { groupId, partitionAssigners: [PartitionAssigners.roundRobin] };
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
    return new KafkaSource(kafka.consumer(scorerConsumerConfig(a.groupId)), a, messagesPerUnit);
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
