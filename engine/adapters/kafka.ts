// Kafka plumbing that is not the scorer's: addresses, client settings (credentials from the environment) and
// at-least-once offset bookkeeping. The scorer's source and sink (engine/scorer/kafka.ts) are built on it.
import type { KafkaConfig, SASLOptions } from 'kafkajs';

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
