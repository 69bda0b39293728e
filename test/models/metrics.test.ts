import { describe, expect, it } from 'vitest';
import {
  accuracy, binaryCounts, binaryReport, confusionMatrix, efficiency, figureOfMerit, precisionAtK, purity, reliabilityCurve, rocAuc,
} from '../../models/index.ts';

describe('metrics', () => {
  const truth = [1, 1, 1, 0, 0, 0, 0, 1];
  const pred = [1, 1, 0, 1, 0, 0, 0, 0];
  it('counts and derives efficiency, purity, F1 and the SNPCC figure of merit', () => {
    const c = binaryCounts(truth, pred);
    expect(c).toEqual({ tp: 2, fp: 1, tn: 3, fn: 2 });
    expect(accuracy(truth, pred)).toBe(5 / 8);
    expect(efficiency(c)).toBe(0.5);
    expect(purity(c)).toBe(2 / 3);
    // FoM = eff * TP / (TP + 3 FP) = 0.5 * 2 / 5
    expect(figureOfMerit(c)).toBeCloseTo(0.2, 12);
    expect(binaryReport(truth, pred).f1).toBeCloseTo((2 * 0.5 * (2 / 3)) / (0.5 + 2 / 3), 12);
    expect(confusionMatrix(truth, pred, 2)).toEqual([[3, 1], [2, 2]]);
  });
  it('ROC AUC counts ties as one half; precision at k', () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
    expect(precisionAtK([1, 0, 1, 0], [2, 0, 1, 3], 2)).toBe(1);
    expect(precisionAtK([1, 0, 1, 0], [1, 3, 0, 2], 3)).toBeCloseTo(1 / 3, 12);
  });
  it('reliability curve: per-bin mean prediction and observed frequency, and the expected calibration error', () => {
    // 10 rows at p = 0.15 of which 3 positive, 10 at p = 0.85 of which 8 positive, one NaN left out
    const p = [...Array(10).fill(0.15), ...Array(10).fill(0.85), NaN];
    const y = [1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1];
    const r = reliabilityCurve(y, p, 10);
    expect(r.n).toBe(20);
    expect(r.bins).toHaveLength(10);
    expect(r.bins[1]).toMatchObject({ low: 0.1, high: 0.2, n: 10, observedFrequency: 0.3 });
    expect(r.bins[1].meanPredicted).toBeCloseTo(0.15, 12);
    expect(r.bins[8]).toMatchObject({ n: 10, observedFrequency: 0.8 });
    expect(r.bins[0].n).toBe(0);
    expect(Number.isNaN(r.bins[0].observedFrequency)).toBe(true);
    // ECE = 0.5 x |0.3 - 0.15| + 0.5 x |0.8 - 0.85|
    expect(r.ece).toBeCloseTo(0.5 * 0.15 + 0.5 * 0.05, 12);
    // p = 1 falls in the last bin
    expect(reliabilityCurve([1], [1], 10).bins[9].n).toBe(1);
  });
});
