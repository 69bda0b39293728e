import { parentPort, workerData } from 'node:worker_threads';
import { FinkMessageDecoder, readAlertsFromBuffer } from '../datasets/index.ts';
import {
  importFinkAnomalyZip, modelFromBundle, parseBundle, RandomForestClassifier, randomForestFromSklearnPickle, readPickle, SKLEARN_FOREST_GLOBALS,
  type ModelBundle,
} from '../models/index.ts';
import { fuzz, mutateBytes, resealed } from './hostile.ts';

/**
 * The tasks test/hostile.ts runs in a heap-limited worker thread: each decodes or loads a hostile input
 * with the code under test and answers with a plain summary (what was read, the error lines). A refusal is
 * an answer ({ refused }); only a crash, a hang or an exhausted heap is a failure of the run itself.
 */

/** Rows of ones, zeros and large values for a model with d features. */
function probeRows(d: number): { data: Float32Array; rows: number; cols: number } {
  const rows = 6;
  const data = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) for (let j = 0; j < d; j++) data[i * d + j] = [0, 1, -1, 1e6, -1e6, 0.5][i];
  return { data, rows, cols: d };
}

function attempt<T>(run: () => T): T | { refused: string; name: string } {
  try {
    return run();
  } catch (e) {
    return { refused: (e as Error).message, name: (e as Error).name };
  }
}

/** A bundle's model loaded and run on probe rows; what it scored, or the refusal. */
function loadAndScoreBundle(text: string) {
  return attempt(() => {
    const b = parseBundle(text, undefined, 'probe.json');
    const model = modelFromBundle(b);
    if (model instanceof RandomForestClassifier) return { scored: Array.from(model.predictProba(probeRows(model.nFeatures))) };
    return { scored: [] as number[] };
  });
}

const tasks: Record<string, (input: never) => unknown> = {
  async finkMessages(input: { messages: Array<{ value: Uint8Array; key: Uint8Array | null; where: string }> }) {
    const r = await new FinkMessageDecoder().decode(input.messages);
    return { alerts: r.alerts.length, errors: r.errors.map((e) => e.message) };
  },
  async readAlerts(input: { bytes: Uint8Array; file: string; lean?: boolean }) {
    const r = await readAlertsFromBuffer(Buffer.from(input.bytes), input.file, { lean: input.lean ?? false });
    return { alerts: r.alerts.length, errors: r.errors.map((e) => e.message) };
  },
  loadBundle(input: { text: string }) {
    return loadAndScoreBundle(input.text);
  },
  readPickle(input: { bytes: Uint8Array }) {
    return attempt(() => {
      readPickle(input.bytes, SKLEARN_FOREST_GLOBALS, 'bomb.pkl');
      return { read: true };
    });
  },
  importSklearn(input: { bytes: Uint8Array }) {
    return attempt(() => {
      const { rf } = randomForestFromSklearnPickle(input.bytes, 'model.pkl');
      return { scored: Array.from(rf.predictProba(probeRows(rf.nFeatures))) };
    });
  },
  importFinkZip(input: { bytes: Uint8Array }) {
    return attempt(() => {
      const m = importFinkAnomalyZip(input.bytes, 'fink.zip');
      return { scored: Array.from(m.forestG.predict(probeRows(m.forestG.nFeatures).data, 6)) };
    });
  },
  /** Bundles whose node arrays get seeded hostile values (checksum recomputed): each loads and scores, or is refused. */
  async fuzzBundles(input: { text: string; seed: number; budgetMs: number }) {
    const base = JSON.parse(input.text) as ModelBundle;
    const arrays = ['feature', 'left', 'right', 'roots', 'value', 'threshold'] as const;
    let refused = 0;
    let scored = 0;
    const odd: string[] = [];
    const iterations = await fuzz(input.seed, input.budgetMs, 5000, (rng) => {
      const b = structuredClone(base);
      const nodes = (b.model as { nodes: Record<string, unknown[]> }).nodes;
      for (let k = 1 + Math.floor(rng.next() * 3); k > 0; k--) {
        const arr = nodes[arrays[Math.floor(rng.next() * arrays.length)]];
        const n = nodes.feature.length;
        const i = Math.floor(rng.next() * arr.length);
        const values = [-5, -2, -1, 0, 1, i, i - 1, n - 1, n, 1e6, 0.5, null, 'x', 2 ** 31, -(2 ** 31), 1e300];
        arr[i] = values[Math.floor(rng.next() * values.length)];
      }
      const r = loadAndScoreBundle(resealed(b));
      if ('refused' in r) {
        refused++;
        if (r.name !== 'BundleError' || !r.refused.startsWith('probe.json: ')) odd.push(`${r.name}: ${r.refused}`);
      } else {
        scored++;
        if (r.scored.some((x) => !Number.isFinite(x))) odd.push('a non-finite probability');
      }
    });
    return { iterations, refused, scored, odd: odd.slice(0, 5) };
  },
  /** Byte mutations of a scikit-learn pickle: each imports and predicts, or is refused with a PickleError/ModelStructureError. */
  async fuzzPickles(input: { bytes: Uint8Array; seed: number; budgetMs: number }) {
    let refused = 0;
    let scored = 0;
    const odd: string[] = [];
    const iterations = await fuzz(input.seed, input.budgetMs, 5000, (rng) => {
      const r = tasks.importSklearn({ bytes: mutateBytes(rng, input.bytes) } as never) as { scored: number[] } | { refused: string; name: string };
      if ('refused' in r) {
        refused++;
        if (!['PickleError', 'ModelStructureError'].includes(r.name) || !r.refused.startsWith('model.pkl')) odd.push(`${r.name}: ${r.refused}`);
      } else scored++;
    });
    return { iterations, refused, scored, odd: odd.slice(0, 5) };
  },
};

const { task, input } = (workerData ?? {}) as { task?: string; input: never };
if (task !== undefined) {
  try {
    const run = tasks[task];
    if (!run) throw new Error(`no task '${task}'`);
    parentPort!.postMessage({ value: await run(input) });
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message });
  }
}
