import { parentPort, workerData } from 'node:worker_threads';
import { FinkMessageDecoder, readAlertsFromBuffer } from '../datasets/index.ts';

/**
 * The tasks test/hostile.ts runs in a heap-limited worker thread: each decodes or loads a hostile input
 * with the code under test and answers with a plain summary (what was read, the error lines).
 */
const tasks: Record<string, (input: never) => unknown> = {
  async finkMessages(input: { messages: Array<{ value: Uint8Array; key: Uint8Array | null; where: string }> }) {
    const r = await new FinkMessageDecoder().decode(input.messages);
    return { alerts: r.alerts.length, errors: r.errors.map((e) => e.message) };
  },
  async readAlerts(input: { bytes: Uint8Array; file: string; lean?: boolean }) {
    const r = await readAlertsFromBuffer(Buffer.from(input.bytes), input.file, { lean: input.lean ?? false });
    return { alerts: r.alerts.length, errors: r.errors.map((e) => e.message) };
  },
};

const { task, input } = workerData as { task: string; input: never };
try {
  const run = tasks[task];
  if (!run) throw new Error(`no task '${task}'`);
  parentPort!.postMessage({ value: await run(input) });
} catch (e) {
  parentPort!.postMessage({ error: (e as Error).message });
}
