import { describe, expect, it } from 'vitest';
import { anomalyExtractor, earlySnIaExtractor, FeatureSpecMismatchError } from '../../features/index.ts';
import {
  RandomForestClassifier, AADForest, createBundle, serializeBundle, parseBundle, modelFromBundle, BundleError, MLPClassifier,
} from '../../models/index.ts';
import { twoClasses } from './data.ts';

describe('model bundle', () => {
  const { X, y } = twoClasses(800, 12, 3);
  const spec = earlySnIaExtractor().spec;
  const build = (seed: number, created = '2026-11-24T00:00:00.000Z') => createBundle({
    module: 'early-snia', version: '3', created, parentVersion: '2',
    model: new RandomForestClassifier({ nEstimators: 20, seed }).fit(X, y),
    featureSpec: spec, classNames: ['other', 'SN Ia'], decisionThreshold: 0.6, training: { X, y }, metrics: { accuracy: 0.9 },
  });

  it('carries the manifest a broker needs and loads back bit-identically', () => {
    const b = build(1);
    expect(b.manifest.classNames).toEqual(['other', 'SN Ia']);
    expect(b.manifest.training.size).toBe(800);
    expect(b.manifest.training.labelCounts.other + b.manifest.training.labelCounts['SN Ia']).toBe(800);
    expect(b.manifest.featureSpecHash).toMatch(/^[0-9a-f]{64}$/);
    const text = serializeBundle(b);
    const back = parseBundle(text, spec);
    expect(serializeBundle(back)).toBe(text);
    const rf = modelFromBundle(back) as RandomForestClassifier;
    expect(Array.from(rf.predictProba(X))).toEqual(Array.from((modelFromBundle(b) as RandomForestClassifier).predictProba(X)));
  });

  it('holds a forest trained on values beyond float32 (e.g. a slope over two points a second apart)', () => {
    const n = 200;
    const data = new Float32Array(n * 2);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      // a double of 1e39 becomes Infinity in float32; the split edges must stay serialisable
      data[i * 2] = i % 3 === 0 ? 1e39 : i % 3 === 1 ? -1e39 : i;
      data[i * 2 + 1] = i;
      labels[i] = i % 3 === 0 ? 1 : 0;
    }
    const Xi = { data, rows: n, cols: 2 };
    const rf = new RandomForestClassifier({ nEstimators: 10, seed: 1 }).fit(Xi, labels);
    const b = createBundle({ module: 'm', version: '1', model: rf, featureSpec: spec, classNames: ['a', 'b'], training: { X: Xi, y: labels }, metrics: {} });
    const back = modelFromBundle(parseBundle(serializeBundle(b))) as RandomForestClassifier;
    // finite rows and the -Infinity ones score as before; the classes are still told apart
    const p = back.predictProba(Xi);
    expect(p[0 * 2 + 1]).toBeGreaterThan(0.5);
    expect(p[1 * 2 + 1]).toBeLessThan(0.5);
    expect(p[2 * 2 + 1]).toBeLessThan(0.5);
  });

  it('is the same bundle for the same seed, a different one for another seed', () => {
    expect(serializeBundle(build(1))).toBe(serializeBundle(build(1)));
    expect(build(1).manifest.modelSha256).toBe(build(1, '2030-01-01T00:00:00.000Z').manifest.modelSha256);
    expect(build(2).manifest.modelSha256).not.toBe(build(1).manifest.modelSha256);
  });

  it('refuses a tampered bundle and features it was not trained on', () => {
    const text = serializeBundle(build(1));
    const tampered = text.replace('"decisionThreshold":0.6', '"decisionThreshold":0.1');
    expect(() => parseBundle(tampered)).toThrow(BundleError);
    expect(() => parseBundle(tampered)).toThrow(/checksum mismatch/);
    expect(() => parseBundle(text, anomalyExtractor().spec)).toThrow(FeatureSpecMismatchError);
    expect(() => parseBundle('{"x":1}', undefined, 'm.json')).toThrow(/m\.json: not a sieve-bundle\/1 bundle/);
  });

  it('holds every model type', async () => {
    const aad = new AADForest({ seed: 1, nEstimators: 20 }).fit(X);
    const mlp = await new MLPClassifier({ seed: 1, epochs: 3, hiddenUnits: [8] }).fit(X, y);
    for (const model of [aad, mlp]) {
      const b = createBundle({ module: 'm', version: '1', model, featureSpec: spec, classNames: ['a', 'b'], training: { X } });
      const back = modelFromBundle(parseBundle(serializeBundle(b)));
      expect(back.constructor).toBe(model.constructor);
    }
  });
});
