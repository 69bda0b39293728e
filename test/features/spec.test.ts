import { describe, expect, it } from 'vitest';
import {
  anomalyExtractor, assertFeatureSpecMatches, earlySnIaExtractor, extractorByName, featureSpecHash, FeatureSpecMismatchError,
  kilonovaExtractor, DEFAULT_SIGMOID_PARAMS,
} from '../../features/index.ts';

describe('FeatureSpec', () => {
  it('hashes stably, independent of key order', () => {
    const a = earlySnIaExtractor().spec;
    const b = { ...a, parameters: Object.fromEntries(Object.entries(a.parameters).reverse()) };
    expect(featureSpecHash(a)).toBe(featureSpecHash(b));
    expect(featureSpecHash(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(featureSpecHash(a)).not.toBe(featureSpecHash(anomalyExtractor().spec));
  });

  it('refuses mismatched features with an error that says what differs', () => {
    const trained = earlySnIaExtractor().spec;
    expect(() => assertFeatureSpecMatches(trained, earlySnIaExtractor().spec)).not.toThrow();
    const other = earlySnIaExtractor({ ...DEFAULT_SIGMOID_PARAMS, minDataPoints: 3 }).spec;
    expect(() => assertFeatureSpecMatches(trained, other)).toThrow(FeatureSpecMismatchError);
    expect(() => assertFeatureSpecMatches(trained, other)).toThrow(/parameters .*"minDataPoints":4.*"minDataPoints":3/);
    expect(() => assertFeatureSpecMatches(trained, kilonovaExtractor().spec)).toThrow(/name 'early-snia-sigmoid' != 'kilonova-sieve-pca'.*12 columns != 10/);
  });

  it('names every extractor the CLI offers', () => {
    for (const name of ['early-snia', 'anomaly', 'kilonova']) expect(extractorByName(name).spec.columns.length).toBeGreaterThan(0);
    expect(() => extractorByName('nope')).toThrow(/unknown extractor 'nope'/);
    // the kilonova spec pins the basis it was computed with
    expect(kilonovaExtractor().spec.parameters.basisSha256).toMatch(/^[0-9a-f]{64}$/);
  });
});
