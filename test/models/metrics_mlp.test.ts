import { describe, expect, it } from 'vitest';
import {
  accuracy, binaryCounts, binaryReport, confusionMatrix, efficiency, figureOfMerit, precisionAtK, purity, rocAuc, MLPClassifier, selectRows,
} from '../../models/index.ts';
import { twoClasses } from './data.ts';

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
});

describe('MLPClassifier (TensorFlow.js) with Monte-Carlo dropout', () => {
  it('learns separable classes reproducibly and is less certain near the boundary', async () => {
    const { X, y } = twoClasses(1500, 5, 6, 2.5, 2);
    const train = selectRows(X, Array.from({ length: 1000 }, (_, i) => i));
    const test = selectRows(X, Array.from({ length: 500 }, (_, i) => 1000 + i));
    const a = await new MLPClassifier({ seed: 2, epochs: 15 }).fit(train, y.subarray(0, 1000));
    const b = await new MLPClassifier({ seed: 2, epochs: 15 }).fit(train, y.subarray(0, 1000));
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    expect(a.score(test, y.subarray(1000))).toBeGreaterThan(0.9);
    const { mean, std } = a.predictProbaMC(test, 40, 3);
    // spread vs distance from 0.5: the most uncertain quarter has a larger spread than the most certain one
    const order = Array.from({ length: 500 }, (_, i) => i).sort((p, q) => Math.abs(mean[2 * p + 1] - 0.5) - Math.abs(mean[2 * q + 1] - 0.5));
    const avg = (ix: number[]) => ix.reduce((s, i) => s + std[2 * i + 1], 0) / ix.length;
    expect(avg(order.slice(0, 125))).toBeGreaterThan(2 * avg(order.slice(375)));
    const back = MLPClassifier.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(Array.from(back.predictProba(test))).toEqual(Array.from(a.predictProba(test)));
  });
});
