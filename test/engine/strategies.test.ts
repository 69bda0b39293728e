import { describe, expect, it } from 'vitest';
import { baldScore, entropyScore, leastConfident, marginScore, randomScore, selectBatch, strategyScores, voteEntropy } from '../../engine/core/strategies.ts';

describe('query strategies', () => {
  const proba = [0.9, 0.1, 0.5, 0.5, 0.6, 0.4];
  it('score uncertainty, margin, entropy and committee disagreement', () => {
    expect(Array.from(leastConfident(proba, 2))).toEqual([0.09999999999999998, 0.5, 0.4]);
    expect(Array.from(marginScore(proba, 2)).map((v) => +v.toFixed(12))).toEqual([0.2, 1, 0.8]);
    const h = entropyScore(proba, 2);
    expect(h[1]).toBeCloseTo(Math.LN2, 12);
    expect(h[0]).toBeLessThan(h[2]);
    expect(Array.from(voteEntropy([10, 0, 5, 5], 2))).toEqual([0, Math.LN2]);
    // random scores: reproducible for a seed, different for another, uniform in [0, 1)
    const r3 = randomScore(2000, 3);
    expect(Array.from(randomScore(2000, 3))).toEqual(Array.from(r3));
    expect(Array.from(randomScore(2000, 4))).not.toEqual(Array.from(r3));
    expect(Math.min(...r3)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r3)).toBeLessThan(1);
    expect(r3.reduce((a, b) => a + b, 0) / r3.length).toBeCloseTo(0.5, 1);
    expect(new Set(r3).size).toBe(2000);
    expect(() => strategyScores('committee', { nClasses: 2, n: 3 })).toThrow(/needs committee votes/);
  });

  it('BALD and predictive entropy from Monte-Carlo dropout passes', () => {
    // row 0: every pass says 50/50 (noise the weights cannot explain): high predictive entropy, no mutual information
    // row 1: half the passes say class 0 for sure, half class 1 (the weights disagree): BALD = ln 2
    // row 2: the passes agree at 0.9/0.1
    const passes = [[[0.5, 0.5], [0.5, 0.5]], [[1, 0], [0, 1]], [[0.9, 0.1], [0.9, 0.1]]];
    const h = (p: number[]) => -p.reduce((s, v) => s + (v > 0 ? v * Math.log(v) : 0), 0);
    const mean = passes.flatMap((r) => [0, 1].map((c) => (r[0][c] + r[1][c]) / 2));
    const expectedEntropy = passes.map((r) => (h(r[0]) + h(r[1])) / 2);
    const bald = baldScore(mean, expectedEntropy, 2);
    expect(bald[0]).toBe(0);
    expect(bald[1]).toBeCloseTo(Math.LN2, 12);
    expect(bald[2]).toBe(0);
    const mc = { mean, expectedEntropy };
    expect(Array.from(strategyScores('bald', { nClasses: 2, n: 3, mc }))).toEqual(Array.from(bald));
    const pe = strategyScores('predictive-entropy', { nClasses: 2, n: 3, mc });
    expect(pe[0]).toBeCloseTo(Math.LN2, 12);
    expect(pe[1]).toBeCloseTo(Math.LN2, 12);
    expect(pe[2]).toBeCloseTo(h([0.9, 0.1]), 12);
    // rounding never makes the mutual information negative
    expect(baldScore([0.3, 0.7], [h([0.3, 0.7]) + 1e-15], 2)[0]).toBe(0);
    expect(() => strategyScores('bald', { nClasses: 2, n: 3, proba: mean })).toThrow(/needs a network's Monte-Carlo dropout passes/);
  });

  it('picks the k most informative, excluding labelled ones and near-duplicates in one batch', () => {
    const scores = [0.1, 0.9, 0.85, 0.5, 0.8];
    expect(selectBatch(scores, 2).map((q) => q.index)).toEqual([1, 2]);
    expect(selectBatch(scores, 2, { exclude: (i) => i === 1 }).map((q) => q.index)).toEqual([2, 4]);
    // items 1 and 2 are the same point: batch mode takes 1, skips 2
    const values = [0, 0, 5, 5, 5, 5, 10, 10, -5, 5];
    expect(selectBatch(scores, 3, { features: { values, cols: 2 }, minDistance: 0.5 }).map((q) => q.index)).toEqual([1, 4, 3]);
  });
});
