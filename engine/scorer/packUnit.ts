import type { WorkUnit } from './units.ts';

/**
 * Kafka message units sent to a scorer thread as one transferred buffer. Posting the payloads as they are
 * makes the structured clone copy each payload's whole backing store: kafkajs hands out views into its
 * fetch buffers, so one unit could copy the same megabytes many times over, on both threads. Packing costs
 * one copy on the main thread, and the thread receives the buffer without a copy. The thread hands the buffer
 * back once the unit is decoded and scored (nothing decoded keeps a view into it), and the next unit is packed
 * into it: a one-alert ZTF message is ~68 KB, and copying into fresh memory cost four times the copy into
 * memory already mapped (page faults, then unmapping the old buffer).
 */
export interface PackedMessages {
  kind: 'packed-messages';
  origin: string;
  data: Uint8Array;
  /** End offset in data of payload i; keys follow all payloads, key i ending at ends[n + i] (-1: no key). */
  ends: Int32Array;
  wheres?: string[];
}

type MessagesUnit = Extract<WorkUnit, { kind: 'messages' }>;

/** Packing buffers are allocated in steps of this many bytes, so that units of similar size reuse them. */
const PACK_STEP_BYTES = 1 << 20;

/**
 * Packs a unit into `spare` (a buffer a thread handed back) when it is large enough, else into a new buffer;
 * the transfer list holds the whole buffer, which the receiving thread may hand back in turn.
 */
export function packMessages(u: MessagesUnit, spare: ArrayBuffer | null = null): { packed: PackedMessages; transfer: ArrayBuffer[] } {
  const n = u.payloads.length;
  let total = 0;
  for (const p of u.payloads) total += p.byteLength;
  if (u.keys) for (const k of u.keys) total += k?.byteLength ?? 0;
  // not zero-filled: every byte of the view is written below
  const buffer = spare && spare.byteLength >= total ? spare : Buffer.allocUnsafeSlow(Math.max(PACK_STEP_BYTES, Math.ceil(total / PACK_STEP_BYTES) * PACK_STEP_BYTES)).buffer as ArrayBuffer;
  const data = new Uint8Array(buffer, 0, total);
  const ends = new Int32Array(2 * n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    data.set(u.payloads[i], pos);
    pos += u.payloads[i].byteLength;
    ends[i] = pos;
  }
  for (let i = 0; i < n; i++) {
    const k = u.keys?.[i] ?? null;
    if (k === null) {
      ends[n + i] = -1;
      continue;
    }
    data.set(k, pos);
    pos += k.byteLength;
    ends[n + i] = pos;
  }
  return {
    packed: { kind: 'packed-messages', origin: u.origin, data, ends, ...(u.wheres ? { wheres: u.wheres } : {}) },
    transfer: [data.buffer as ArrayBuffer, ends.buffer as ArrayBuffer],
  };
}

export function unpackMessages(p: PackedMessages): MessagesUnit {
  const n = p.ends.length / 2;
  const buf = Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength);
  const payloads: Uint8Array[] = [];
  const keys: Array<Uint8Array | null> = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    payloads.push(buf.subarray(start, p.ends[i]));
    start = p.ends[i];
  }
  let anyKey = false;
  for (let i = 0; i < n; i++) {
    const end = p.ends[n + i];
    if (end < 0) {
      keys.push(null);
      continue;
    }
    anyKey = true;
    keys.push(buf.subarray(start, end));
    start = end;
  }
  return { kind: 'messages', origin: p.origin, payloads, ...(anyKey ? { keys } : {}), ...(p.wheres ? { wheres: p.wheres } : {}) };
}
