// Scale-out of the scorer as members of one Kafka consumer group, without a broker.
//
// What is kafkajs' own code here: the partition assigner the scorer configures (scorerConsumerConfig), its group
// protocol metadata and assignment encoding (AssignerProtocol), and the OffsetManager that kafkajs' ConsumerGroup
// builds after each rebalance to commit offsets and to decide where a member's fetch of a partition starts.
// What is faked, and so NOT covered: the broker. A few lines below stand in for the group coordinator (it stores
// committed offsets per group, answers OffsetFetch, and gives a partition's earliest offset) and for the fetcher
// (it hands each member the messages of its partitions from the offset the OffsetManager resolves, as one batch).
// Not exercised: the JoinGroup/SyncGroup/Heartbeat round trips, the leader election and rebalance timing, session
// time-outs (how fast a dead member is noticed), the broker refusing a commit of an old generation, and kafkajs'
// runner calling eachBatch. The commit-after-write order of a unit is tested in scorer.test.ts with real scoring.
import { createRequire } from 'node:module';
import { AssignerProtocol, type Assigner, type Cluster, type Consumer, type Logger, type PartitionAssigner } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { parseKafkaUrl } from '../../engine/index.ts';
import { KafkaSource, scorerConsumerConfig, type SourceUnit } from '../../engine/scorer/index.ts';

const TOPIC = 'ztf_public';
const GROUP = 'sieve-scorers';

/** The one cluster call the round-robin assigner makes: the topic's partitions, as metadata gives them. */
function clusterWithPartitions(partitions: number): Cluster {
  return { findTopicPartitionMetadata: () => Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0, replicas: [0], isr: [0], partitionErrorCode: 0 })) } as unknown as Cluster;
}

/** The assigner exactly as the scorer's consumer configures it. */
function scorerAssigner(cluster: Cluster): Assigner {
  const assigners = scorerConsumerConfig(GROUP).partitionAssigners as PartitionAssigner[];
  expect(assigners).toHaveLength(1);
  return assigners[0]({ cluster, groupId: GROUP, logger: {} as Logger });
}

/** One generation of the group: what the leader computes and SyncGroup hands each member (decoded). */
async function assignGroup(memberIds: string[], partitions: number): Promise<Map<string, number[]>> {
  const assigner = scorerAssigner(clusterWithPartitions(partitions));
  // each member joins with the protocol metadata kafkajs' consumer sends: its subscribed topics
  const members = memberIds.map((memberId) => ({ memberId, memberMetadata: assigner.protocol({ topics: [TOPIC] }).metadata }));
  for (const m of members) expect(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)!.topics).toEqual([TOPIC]);
  const out = new Map(memberIds.map((id) => [id, [] as number[]]));
  for (const a of await assigner.assign({ members, topics: [TOPIC] })) {
    // a member missing from the leader's answer gets an empty assignment from SyncGroup (kafkajs reads it as {})
    const decoded = AssignerProtocol.MemberAssignment.decode(a.memberAssignment)!;
    expect(Object.keys(decoded.assignment)).toEqual([TOPIC]);
    out.set(a.memberId, decoded.assignment[TOPIC]);
  }
  return out;
}

describe('scorer processes as members of one consumer group (kafkajs assigner, no broker)', () => {
  it('configures kafkajs\' round-robin assigner explicitly, on the group of the kafka:// address', async () => {
    const config = scorerConsumerConfig(parseKafkaUrl(`kafka://b:9092/${TOPIC}?group=${GROUP}`).groupId);
    expect(config.groupId).toBe(GROUP);
    expect(scorerAssigner(clusterWithPartitions(1)).name).toBe('RoundRobinAssigner');
  });

  const cases: Array<[number, number]> = [];
  for (const members of [1, 2, 3, 5, 8]) for (const partitions of [1, 4, 7, 16, 60]) cases.push([members, partitions]);
  it.each(cases)('%i members on a topic of %i partitions: every partition exactly once, balanced within one, idle members only when members > partitions', async (n, p) => {
    // member ids as kafkajs makes them (clientId-uuid); the assigner sorts them, so join order does not matter
    const ids = Array.from({ length: n }, (_, i) => `sieve-scorer-${(0x9e3779b9 * (i + 1) >>> 0).toString(16).padStart(8, '0')}`);
    const assignment = await assignGroup(ids, p);
    const all = [...assignment.values()].flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: p }, (_, i) => i));
    const counts = [...assignment.values()].map((x) => x.length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(counts.filter((c) => c === 0)).toHaveLength(Math.max(0, n - p));
    // the same members in another join order get the same assignment
    expect(await assignGroup([...ids].reverse(), p)).toEqual(assignment);
  });
});

// kafkajs' OffsetManager is internal (not in its public types); it is the code ConsumerGroup runs after a sync.
interface OffsetManagerLike {
  resolveOffsets(): Promise<void>;
  nextOffset(topic: string, partition: number): { toString(): string };
  commitOffsets(o: { topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }): Promise<void>;
}
const OffsetManager = createRequire(import.meta.url)('kafkajs/src/consumer/offsetManager/index.js') as new (o: Record<string, unknown>) => OffsetManagerLike;

/** The broker side, kept to what the test needs: each partition's log and the group's committed offsets. */
class FakeBroker {
  readonly committed = new Map<number, string>(); // partition → next offset to read, as OffsetCommit stored it
  readonly commits: string[] = [];
  constructor(readonly logs: Array<Array<{ offset: string; value: Buffer }>>) {}

  /** The coordinator's answers to OffsetCommit and OffsetFetch (-1: nothing committed). */
  coordinator(memberId: string) {
    return {
      isConnected: () => true,
      offsetCommit: async ({ groupId, topics }: { groupId: string; topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }> }) => {
        expect(groupId).toBe(GROUP);
        for (const t of topics) for (const x of t.partitions) {
          this.committed.set(x.partition, x.offset);
          this.commits.push(`${memberId} ${t.topic}[${x.partition}]=${x.offset}`);
        }
      },
      offsetFetch: async ({ topics }: { topics: Array<{ topic: string; partitions: Array<{ partition: number }> }> }) => ({
        responses: topics.map((t) => ({ topic: t.topic, partitions: t.partitions.map(({ partition }) => ({ partition, offset: this.committed.get(partition) ?? '-1', metadata: null })) })),
      }),
    };
  }

  /** Cluster calls the OffsetManager makes: its per-process offset cache, and the earliest/latest offset of a partition. */
  cluster() {
    const cache = {};
    return {
      committedOffsets: () => cache,
      fetchTopicsOffset: async (topics: Array<{ topic: string; partitions: Array<{ partition: number }>; fromBeginning: boolean }>) => topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map(({ partition }) => {
          const log = this.logs[partition];
          return { partition, offset: t.fromBeginning ? log[0].offset : (BigInt(log[log.length - 1].offset) + 1n).toString() };
        }),
      })),
    };
  }
}

/** One scorer process in one generation: kafkajs' OffsetManager for its assignment, and the real KafkaSource. */
class Member {
  readonly source: KafkaSource;
  readonly offsets: OffsetManagerLike;
  readonly handled: Array<Promise<void>> = [];
  constructor(readonly id: string, broker: FakeBroker, cluster: unknown, partitions: number[], generationId: number) {
    this.offsets = new OffsetManager({
      cluster, coordinator: broker.coordinator(id), memberAssignment: { [TOPIC]: partitions }, autoCommit: false,
      topicConfigurations: { [TOPIC]: { fromBeginning: true } }, instrumentationEmitter: { emit: () => {} }, groupId: GROUP, generationId, memberId: id,
    });
    // consumer.commitOffsets([{topic, partition, offset}]) is, in kafkajs, the runner handing the same offsets to
    // the ConsumerGroup's OffsetManager; the rest of the consumer is not used by handleBatch
    const consumer = {
      commitOffsets: (tps: Array<{ topic: string; partition: number; offset: string }>) =>
        this.offsets.commitOffsets({ topics: [{ topic: TOPIC, partitions: tps.map(({ partition, offset }) => ({ partition, offset })) }] }),
    } as unknown as Consumer;
    this.source = new KafkaSource(consumer, parseKafkaUrl(`kafka://b:9092/${TOPIC}?group=${GROUP}&fromBeginning=true`), 4);
  }

  /** Fetches each assigned partition from where kafkajs resolves it (the committed offset) to the end of its log. */
  async fetch(broker: FakeBroker, partitions: number[]): Promise<Map<number, string>> {
    await this.offsets.resolveOffsets();
    const from = new Map<number, string>();
    for (const partition of partitions) {
      const start = this.offsets.nextOffset(TOPIC, partition).toString();
      from.set(partition, start);
      const messages = broker.logs[partition].filter((m) => BigInt(m.offset) >= BigInt(start)).map((m) => ({ ...m, key: null, timestamp: '0', attributes: 0, headers: {} }));
      if (!messages.length) continue;
      this.handled.push(this.source.handleBatch({
        batch: { topic: TOPIC, partition, highWatermark: '0', messages, isEmpty: () => false, firstOffset: () => messages[0].offset, lastOffset: () => messages[messages.length - 1].offset, offsetLag: () => '0', offsetLagLow: () => '0' },
        resolveOffset: () => {}, heartbeat: async () => {}, isRunning: () => true, isStale: () => false,
      }));
    }
    return from;
  }

  /** The units the source queued, in order (what runScorer would pull). */
  units(): SourceUnit[] {
    return (this.source as unknown as { queue: SourceUnit[] }).queue.splice(0);
  }
}

describe('a scorer that leaves the group (kafkajs assigner and OffsetManager, fake broker)', () => {
  it('hands its partitions to the survivors, who resume each from its last committed offset (the finished prefix)', async () => {
    // 6 partitions of 12 messages; retention has removed the first 100 offsets of every partition
    const logs = Array.from({ length: 6 }, (_, p) => Array.from({ length: 12 }, (_, i) => ({ offset: String(100 + i), value: Buffer.from(`p${p}@${100 + i}`) })));
    const broker = new FakeBroker(logs);
    const clusters = new Map(['sieve-scorer-a', 'sieve-scorer-b', 'sieve-scorer-c'].map((id) => [id, broker.cluster()]));
    const scored: string[] = []; // every message whose results a member wrote, as topic[partition]@offset
    const finish = async (u: SourceUnit) => {
      if (u.unit.kind !== 'messages' || !u.unit.wheres || !u.ack) throw new Error('a Kafka unit carries messages, where they came from, and an ack');
      scored.push(...u.unit.wheres);
      await u.ack();
    };

    const gen1 = await assignGroup([...clusters.keys()], 6);
    expect(Object.fromEntries(gen1)).toEqual({ 'sieve-scorer-a': [0, 3], 'sieve-scorer-b': [1, 4], 'sieve-scorer-c': [2, 5] });
    const members1 = [...gen1].map(([id, parts]) => new Member(id, broker, clusters.get(id), parts, 1));
    for (const m of members1) expect([...(await m.fetch(broker, gen1.get(m.id)!)).values()]).toEqual(['100', '100']);
    const [a1, b1, c1] = members1;
    // a and c finish everything; b finishes out of order and then dies: on partition 1 only its second unit
    // (nothing committable), on partition 4 its first and third units (the prefix ends after the first)
    for (const m of [a1, c1]) {
      for (const u of m.units()) await finish(u);
      await Promise.all(m.handled);
    }
    const bUnits = b1.units();
    expect(bUnits.map((u) => (u.unit.kind === 'messages' ? u.unit.origin : u.unit.kind))).toEqual([`${TOPIC}[1]@100-103`, `${TOPIC}[1]@104-107`, `${TOPIC}[1]@108-111`, `${TOPIC}[4]@100-103`, `${TOPIC}[4]@104-107`, `${TOPIC}[4]@108-111`]);
    for (const i of [1, 3, 5]) await finish(bUnits[i]);
    expect(Object.fromEntries(broker.committed)).toEqual({ 0: '112', 2: '112', 3: '112', 4: '104', 5: '112' });

    // b is gone: the group rebalances over the survivors; each new owner builds a new OffsetManager (as
    // kafkajs' ConsumerGroup.sync does) and fetches from what OffsetFetch returns
    clusters.delete('sieve-scorer-b');
    const commitsBefore = broker.commits.length;
    const gen2 = await assignGroup([...clusters.keys()], 6);
    expect([...gen2.values()].flat().sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect([...gen2.values()].flat()).toEqual(expect.arrayContaining(gen1.get('sieve-scorer-b')!));
    const members2 = [...gen2].map(([id, parts]) => new Member(id, broker, clusters.get(id), parts, 2));
    const resumeAt = new Map<number, string>();
    for (const m of members2) for (const [p, o] of await m.fetch(broker, gen2.get(m.id)!)) resumeAt.set(p, o);
    // partition 1 had nothing committed: the log's start (fromBeginning); partition 4: after b's finished prefix;
    // the others: their end, so the survivors re-read nothing of their own finished work
    expect(Object.fromEntries(resumeAt)).toEqual({ 0: '112', 1: '100', 2: '112', 3: '112', 4: '104', 5: '112' });
    for (const m of members2) {
      for (const u of m.units()) await finish(u);
      await Promise.all(m.handled);
    }

    // at least once: every message was scored; the only repeats are b's finished units past its committed prefix
    const all = logs.flatMap((log, p) => log.map((m) => `${TOPIC}[${p}]@${m.offset}`));
    expect(new Set(scored)).toEqual(new Set(all));
    const seen = new Map<string, number>();
    for (const w of scored) seen.set(w, (seen.get(w) ?? 0) + 1);
    const repeated = [...seen].filter(([, n]) => n > 1).map(([w]) => w).sort();
    expect(repeated).toEqual([...[104, 105, 106, 107].map((o) => `${TOPIC}[1]@${o}`), ...[108, 109, 110, 111].map((o) => `${TOPIC}[4]@${o}`)].sort());
    expect(Object.fromEntries(broker.committed)).toEqual({ 0: '112', 1: '112', 2: '112', 3: '112', 4: '112', 5: '112' });
    // after the rebalance each partition's commits come from its new owner, in order, from where it resumed
    const owner = (p: number) => [...gen2].find(([, parts]) => parts.includes(p))![0];
    const after = broker.commits.slice(commitsBefore);
    expect(after.filter((c) => c.includes(`[1]=`))).toEqual([104, 108, 112].map((o) => `${owner(1)} ${TOPIC}[1]=${o}`));
    expect(after.filter((c) => c.includes(`[4]=`))).toEqual([108, 112].map((o) => `${owner(4)} ${TOPIC}[4]=${o}`));
    expect(after.filter((c) => !c.includes(`[1]=`) && !c.includes(`[4]=`))).toEqual([]);
  });
});
