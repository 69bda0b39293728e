import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { earlySnIaExtractor } from '../../features/index.ts';
import { ensureBuiltinModules, importSklearnModel, Store } from '../../engine/index.ts';
import {
  createBundle, parseBundle, RandomForestClassifier, randomForestToSklearnPickle, readPickle, serializeBundle, SKLEARN_FOREST_GLOBALS,
  type ModelBundle, type Py, type RandomForestJSON,
} from '../../models/index.ts';
import { isolated, resealed } from '../hostile.ts';
import { sharedPath } from '../shared.ts';
import { twoClasses } from './data.ts';

type Outcome = { scored: number[] } | { refused: string; name: string };

const { X, y } = twoClasses(300, 12, 5);
const forest = () => new RandomForestClassifier({ nEstimators: 5, seed: 3 }).fit(X, y);
const bundleOf = (rf: RandomForestClassifier): ModelBundle => createBundle({
  module: 'early-snia', version: '2', created: '2026-11-24T00:00:00.000Z', model: rf, featureSpec: earlySnIaExtractor().spec,
  classNames: ['other', 'SN Ia'], training: { X, y },
});

/** The raw node array (56-byte records) of tree t inside a pickle, as its byte offset and length in the file. */
function nodeBytesOf(pickle: Uint8Array, t: number): { offset: number; length: number } {
  const root = readPickle(pickle, SKLEARN_FOREST_GLOBALS) as Extract<Py, { kind: 'newobj' }>;
  const state = new Map((root.state as Extract<Py, { kind: 'dict' }>).entries.map(([k, v]) => [String(k), v]));
  const tree = (state.get('estimators_') as Extract<Py, { kind: 'list' }>).items[t] as Extract<Py, { kind: 'newobj' }>;
  const treeState = new Map((tree.state as Extract<Py, { kind: 'dict' }>).entries.map(([k, v]) => [String(k), v]));
  const tt = treeState.get('tree_') as Extract<Py, { kind: 'reduce' }>;
  const nodes = new Map((tt.state as Extract<Py, { kind: 'dict' }>).entries.map(([k, v]) => [String(k), v])).get('nodes') as Extract<Py, { kind: 'reduce' }>;
  const raw = (nodes.state as Extract<Py, { kind: 'tuple' }>).items[4] as Extract<Py, { kind: 'bytes' }>;
  return { offset: raw.value.byteOffset - pickle.byteOffset, length: raw.value.length };
}

/** A scikit-learn pickle of a small forest with one int64 field of tree 0's node 0 replaced. */
function patchedPickle(fieldOffset: number, value: bigint): Uint8Array {
  const pickle = Uint8Array.from(randomForestToSklearnPickle(forest()));
  const { offset } = nodeBytesOf(pickle, 0);
  new DataView(pickle.buffer).setBigInt64(offset + fieldOffset, value, true);
  return pickle;
}

describe('model structure validated on load, whatever the checksum says (issue 23, point 2)', () => {
  it('refuses a bundle whose tree points back at itself, with its checksum recomputed, instead of hanging', async () => {
    const b = bundleOf(forest());
    const nodes = (b.model as RandomForestJSON).nodes;
    nodes.left[nodes.roots[1]] = nodes.roots[1];
    const text = resealed(b);
    const r = await isolated<Outcome>('loadBundle', { text }, { timeoutMs: 20_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({ name: 'BundleError', refused: expect.stringMatching(/^probe\.json: random forest: nodes: node \d+ has children \d+ and \d+: a child must come after its parent$/) });
  });

  it('refuses shared subtrees, out-of-range children, feature indices past nFeatures, non-finite leaves and non-numbers', () => {
    const cases: Array<[(n: RandomForestJSON['nodes'], j: RandomForestJSON) => void, RegExp]> = [
      [(n) => { const s = n.feature.findIndex((f) => f >= 0); n.right[s] = n.left[s]; }, /node \d+ is reached twice/],
      [(n) => { const s = n.feature.findIndex((f) => f >= 0); n.right[s] = n.feature.length + 5; }, /points to node \d+, outside 0\.\.\d+/],
      [(n) => { n.feature[n.feature.findIndex((f) => f >= 0)] = 1_000_000; }, /splits on feature 1000000, but the model has 12 features/],
      [(n) => { n.value[0] = -1; }, /nodes\.value: entry 0 is -1, below 0/],
      [(n) => { (n.value as unknown[])[1] = null; }, /nodes\.value: entry 1 is null, not a number/],
      [(n) => { (n.threshold as unknown[])[3] = 'x'; }, /nodes\.threshold: entry 3 is "x", not a number/],
      [(n) => { n.roots.push(n.roots[0]); }, /node \d+ is reached twice \(root of tree 5\)/],
      [(_n, j) => { j.nClasses = 0; }, /nClasses: 0 is not a whole number in \[1, 1024\]/],
    ];
    for (const [mutate, message] of cases) {
      const b = bundleOf(forest());
      mutate((b.model as RandomForestJSON).nodes, b.model as RandomForestJSON);
      expect(() => parseBundle(resealed(b), undefined, 'v2.json')).toThrow(message);
    }
    // the untouched bundle still loads
    expect(parseBundle(serializeBundle(bundleOf(forest()))).manifest.version).toBe('2');
  });

  it('refuses a scikit-learn pickle whose tree has a cyclic child or a feature index of 1,000,000, and stores no version', async () => {
    const cyclic = patchedPickle(0, 0n); // node 0's left child: node 0
    const r = await isolated<Outcome>('importSklearn', { bytes: cyclic }, { timeoutMs: 20_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (r.ok) expect(r.value).toEqual({ name: 'ModelStructureError', refused: expect.stringMatching(/^model\.pkl: estimators_\[0\]\.tree_: node 0 has children 0 and \d+: a child must come after its parent$/) });
    const outOfRange = await isolated<Outcome>('importSklearn', { bytes: patchedPickle(8, 9999n) }); // node 0's right child
    expect(outOfRange.ok && outOfRange.value).toEqual({ name: 'ModelStructureError', refused: expect.stringMatching(/^model\.pkl: estimators_\[0\]\.tree_: node 0's right child points to node 9999, outside 0\.\.\d+$/) });

    const wide = patchedPickle(16, 1_000_000n);
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-hostile-models-')), 's.db');
    const store = Store.create(db);
    try {
      ensureBuiltinModules(store);
      expect(() => importSklearnModel(store, 'early-snia', wide, 'wide.pkl')).toThrow('wide.pkl: estimators_[0].tree_: node 0 splits on feature 1000000, but the model has 12 features');
      expect(store.listModels('early-snia')).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('refuses a 10 MB memo-bomb pickle within its value budget, quickly and in little memory', async () => {
    // PROTO 4, then EMPTY_DICT MEMOIZE pairs: each pair memoises a new dict
    const n = 5_000_000;
    const bomb = new Uint8Array(2 + 2 * n + 1);
    bomb[0] = 0x80;
    bomb[1] = 4;
    for (let i = 0; i < n; i++) {
      bomb[2 + 2 * i] = 0x7d;
      bomb[3 + 2 * i] = 0x94;
    }
    bomb[bomb.length - 1] = 0x2e;
    expect(bomb.length).toBeGreaterThan(10_000_000);
    const r = await isolated<Outcome>('readPickle', { bytes: bomb }, { heapMb: 256, timeoutMs: 30_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({ name: 'PickleError', refused: expect.stringMatching(/^bomb\.pkl: more than 1048576 values \(stack, memo and container items\): not a model file; refused \(byte \d+\)$/) });
    expect(r.ms).toBeLessThan(10_000);
    // a run of MEMOIZE on one value (the "Map maximum size exceeded" file) is refused the same way
    const memoRun = new Uint8Array(20_000_000).fill(0x94);
    memoRun.set([0x80, 4, 0x7d]);
    const m = await isolated<Outcome>('readPickle', { bytes: memoRun }, { heapMb: 256, timeoutMs: 30_000 });
    expect(m.ok && m.value).toMatchObject({ refused: expect.stringMatching(/more than 1048576 values/) });
  });

  it("refuses a Fink anomaly zip whose ONNX tree has a node pointing back at its root", async () => {
    const require = createRequire(import.meta.url);
    const { onnx } = require('onnx-proto') as typeof import('onnx-proto');
    const fflate = require('fflate') as typeof import('fflate');
    const files = fflate.unzipSync(readFileSync(sharedPath('ztf', 'fink_anomaly_beta.zip')));
    const g = Object.keys(files).find((f) => /forest_g_AAD_/.test(f))!;
    const m = onnx.ModelProto.decode(files[g]);
    const node = m.graph!.node!.find((x) => x.opType === 'TreeEnsembleRegressor')!;
    const attr = (k: string) => node.attribute!.find((a) => a.name === k)!;
    const modes = attr('nodes_modes').strings!.map((s) => Buffer.from(s).toString());
    const branch = modes.findIndex((x, i) => x === 'BRANCH_LEQ' && i > 0 && Number(attr('nodes_treeids').ints![i]) === Number(attr('nodes_treeids').ints![0]));
    attr('nodes_falsenodeids').ints![branch] = 0;
    files[g] = new Uint8Array(onnx.ModelProto.encode(m).finish());
    const r = await isolated<Outcome>('importFinkZip', { bytes: fflate.zipSync(files) }, { timeoutMs: 20_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (r.ok) expect(r.value).toMatchObject({ name: 'ModelStructureError', refused: expect.stringMatching(/^fink\.zip:.*forest_g_AAD_.*\.onnx: node 0 is reached twice/) });
  });

  it('fuzz: bundles with seeded hostile node values (checksum recomputed) load and score finite probabilities, or are refused with a BundleError', async () => {
    const text = serializeBundle(bundleOf(forest()));
    const r = await isolated<{ iterations: number; refused: number; scored: number; odd: string[] }>('fuzzBundles', { text, seed: 23, budgetMs: 3000 }, { timeoutMs: 60_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.value.odd).toEqual([]);
    expect(r.value.iterations).toBeGreaterThan(50);
    expect(r.value.refused).toBeGreaterThan(r.value.iterations / 4);
  });

  it('fuzz: byte mutations of a scikit-learn pickle import and predict, or are refused with a line naming the file', async () => {
    const bytes = randomForestToSklearnPickle(forest());
    const r = await isolated<{ iterations: number; refused: number; scored: number; odd: string[] }>('fuzzPickles', { bytes, seed: 7, budgetMs: 3000 }, { timeoutMs: 60_000 });
    expect(r.ok, r.ok ? '' : r.reason).toBe(true);
    if (!r.ok) return;
    expect(r.value.odd).toEqual([]);
    expect(r.value.iterations).toBeGreaterThan(50);
    expect(r.value.refused).toBeGreaterThan(0);
  });
});
