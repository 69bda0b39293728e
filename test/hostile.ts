import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { avroTypeForSchema, Random, readAvroContainer } from '../datasets/index.ts';
import { serializeBundle, type ModelBundle } from '../models/index.ts';
import { sharedPath } from './shared.ts';

/**
 * Helpers for the hostile-input tests: seeded mutations of valid inputs, a fuzz loop with a time budget, and
 * a run in a worker thread with a heap limit and a deadline, so that an input that would exhaust memory or
 * loop forever fails its test instead of taking the test runner down.
 */

/** A seeded mutation of `bytes`: flipped bytes, a huge varint, a truncation, a repeated or deleted span. */
export function mutateBytes(rng: Random, bytes: Uint8Array): Buffer {
  const b = Buffer.from(bytes);
  const at = () => Math.floor(rng.next() * Math.max(1, b.length));
  switch (Math.floor(rng.next() * 6)) {
    case 0: {
      const n = 1 + Math.floor(rng.next() * 8);
      for (let i = 0; i < n; i++) b[at()] = Math.floor(rng.next() * 256);
      return b;
    }
    case 1: {
      // a length or count varint of up to 2^62 (zig-zag), as a hostile writer would put before a block
      const i = at();
      const huge = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f].slice(0, 1 + Math.floor(rng.next() * 8)));
      huge[huge.length - 1] &= 0x7f;
      return Buffer.concat([b.subarray(0, i), huge, b.subarray(i)]);
    }
    case 2:
      return b.subarray(0, at());
    case 3: {
      const i = at();
      const j = Math.min(b.length, i + 1 + Math.floor(rng.next() * 64));
      return Buffer.concat([b.subarray(0, j), b.subarray(i, j), b.subarray(j)]);
    }
    case 4: {
      const i = at();
      return Buffer.concat([b.subarray(0, i), b.subarray(Math.min(b.length, i + 1 + Math.floor(rng.next() * 64)))]);
    }
    default: {
      const i = at();
      b.fill(0xff, i, Math.min(b.length, i + 1 + Math.floor(rng.next() * 16)));
      return b;
    }
  }
}

/**
 * Runs `step(rng, i)` with one seeded generator until `budgetMs` has passed or `maxIterations` are done;
 * returns the number of iterations. The sequence of inputs depends only on the seed.
 */
export async function fuzz(seed: number, budgetMs: number, maxIterations: number, step: (rng: Random, i: number) => void | Promise<void>): Promise<number> {
  const rng = new Random(seed);
  const end = Date.now() + budgetMs;
  let i = 0;
  for (; i < maxIterations && Date.now() < end; i++) await step(rng, i);
  return i;
}

export type IsolatedResult<T> = { ok: true; value: T; ms: number } | { ok: false; reason: string; ms: number };

/**
 * Runs a task of test/isolateWorker.ts in a worker thread with at most `heapMb` of heap, stopped after
 * `timeoutMs`. An out-of-memory abort or a hang gives { ok: false, reason } instead of killing the runner.
 */
export function isolated<T>(task: string, input: unknown, { heapMb = 256, timeoutMs = 20_000 } = {}): Promise<IsolatedResult<T>> {
  const started = Date.now();
  return new Promise((resolve) => {
    const w = new Worker(new URL('../engine/core/workerBootstrap.mjs', import.meta.url), {
      workerData: { __entry: new URL('./isolateWorker.ts', import.meta.url).href, task, input },
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32 },
      stdout: true,
      stderr: true,
    });
    let settled = false;
    const done = (r: IsolatedResult<T>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void w.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => done({ ok: false, reason: `still running after ${timeoutMs} ms`, ms: Date.now() - started }), timeoutMs);
    w.on('message', (m: { value?: T; error?: string }) => done(m.error !== undefined ? { ok: false, reason: `threw: ${m.error}`, ms: Date.now() - started } : { ok: true, value: m.value as T, ms: Date.now() - started }));
    w.on('error', (e) => done({ ok: false, reason: `died: ${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`, ms: Date.now() - started }));
    w.on('exit', (code) => done({ ok: false, reason: `exited with ${code} without an answer`, ms: Date.now() - started }));
  });
}

/** Zig-zag varint, as Avro encodes int and long. */
export function varint(n: number): Buffer {
  let z = n >= 0 ? 2 * n : -2 * n - 1;
  const out: number[] = [];
  while (z >= 128) {
    out.push((z % 128) | 0x80);
    z = Math.floor(z / 128);
  }
  out.push(z);
  return Buffer.from(out);
}

/** A record of Fink's real ZTF schema, and its encoding cut after a prv_candidates count of 1e8. */
export function prvCountBomb(): { schema: Record<string, unknown>; message: Buffer; good: Buffer } {
  const file = sharedPath('ztf', 'fink_avro', 'part-3-305711.avro');
  const c = readAvroContainer(readFileSync(file), file);
  const schema = c.schema as { fields: Array<{ name: string; type: unknown }> } & Record<string, unknown>;
  const rec = c.records[0].value;
  const idx = schema.fields.findIndex((f) => f.name === 'prv_candidates');
  const headFields = schema.fields.slice(0, idx);
  const head = avroTypeForSchema({ ...schema, fields: headFields }).toBuffer(Object.fromEntries(headFields.map((f) => [f.name, rec[f.name]])));
  const branch = (schema.fields[idx].type as unknown[]).findIndex((t) => typeof t === 'object' && (t as { type: string }).type === 'array');
  return { schema, message: Buffer.concat([head, varint(branch), varint(1e8)]), good: avroTypeForSchema(schema).toBuffer(rec) };
}


/** A bundle with its checksum recomputed, as an attacker who can write the file would. */
export function resealed(b: ModelBundle): string {
  const sha256 = createHash('sha256').update(serializeBundle({ manifest: b.manifest, model: b.model } as ModelBundle)).digest('hex');
  return serializeBundle({ ...b, sha256 });
}
