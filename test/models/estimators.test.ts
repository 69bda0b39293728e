import { describe, expect, it } from 'vitest';
import { RandomForestClassifier as MlRandomForest } from 'ml-random-forest';
import {
  AADForest, BandAADModel, IsolationForest, RandomForestClassifier, averagePathLength, precisionAtK, selectRows, type AADLabel,
} from '../../models/index.ts';
import { plantedAnomalies, twoClasses } from './data.ts';

function split(n: number, trainFraction: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < n; i++) (i < n * trainFraction ? train : test).push(i);
  return { train, test };
}

describe('RandomForestClassifier', () => {
  const { X, y } = twoClasses(3000, 10, 1);
  const { train, test } = split(3000, 0.7);
  const Xtr = selectRows(X, train);
  const ytr = Int32Array.from(train, (i) => y[i]);
  const Xte = selectRows(X, test);
  const yte = Int32Array.from(test, (i) => y[i]);

  it('separates separable classes and says which features matter', () => {
    const rf = new RandomForestClassifier({ nEstimators: 50, seed: 3, oobScore: true }).fit(Xtr, ytr);
    expect(rf.score(Xte, yte)).toBeGreaterThan(0.9);
    expect(rf.oobScore!).toBeGreaterThan(0.88);
    const imp = Array.from(rf.featureImportances!);
    expect(imp.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    const informative = imp.slice(0, 3).reduce((a, b) => a + b, 0);
    expect(informative).toBeGreaterThan(0.5);
    const proba = rf.predictProba(Xte);
    for (let i = 0; i < Xte.rows; i++) expect(proba[2 * i] + proba[2 * i + 1]).toBeCloseTo(1, 6);
  });

  it('is deterministic for a seed and round-trips through JSON', () => {
    const a = new RandomForestClassifier({ nEstimators: 10, seed: 5 }).fit(Xtr, ytr);
    const b = new RandomForestClassifier({ nEstimators: 10, seed: 5 }).fit(Xtr, ytr);
    const c = new RandomForestClassifier({ nEstimators: 10, seed: 6 }).fit(Xtr, ytr);
    expect(JSON.stringify(a.toJSON())).toBe(JSON.stringify(b.toJSON()));
    expect(JSON.stringify(a.toJSON())).not.toBe(JSON.stringify(c.toJSON()));
    const back = RandomForestClassifier.fromJSON(JSON.parse(JSON.stringify(a.toJSON())));
    expect(Array.from(back.predictProba(Xte))).toEqual(Array.from(a.predictProba(Xte)));
  });

  it('finds a rare class better with balanced class weights', () => {
    const rare = twoClasses(4000, 8, 9, 1.2, 3, 0.03);
    const tr = selectRows(rare.X, Array.from({ length: 3000 }, (_, i) => i));
    const ytr2 = rare.y.subarray(0, 3000);
    const te = selectRows(rare.X, Array.from({ length: 1000 }, (_, i) => 3000 + i));
    const yte2 = rare.y.subarray(3000);
    const recall = (rf: RandomForestClassifier) => {
      const p = rf.predictProba(te);
      let tp = 0;
      let pos = 0;
      for (let i = 0; i < te.rows; i++) if (yte2[i] === 1) {
        pos++;
        if (p[2 * i + 1] > 0.2) tp++;
      }
      return tp / pos;
    };
    const plain = new RandomForestClassifier({ nEstimators: 50, seed: 1, minSamplesLeaf: 5 }).fit(tr, ytr2);
    const balanced = new RandomForestClassifier({ nEstimators: 50, seed: 1, minSamplesLeaf: 5, classWeight: 'balanced' }).fit(tr, ytr2);
    expect(recall(balanced)).toBeGreaterThan(recall(plain));
  });

  it('handles NaN features (they go right at every split)', () => {
    const data = Float32Array.from(X.data);
    for (let i = 0; i < data.length; i += 7) data[i] = NaN;
    const rf = new RandomForestClassifier({ nEstimators: 20, seed: 2 }).fit({ ...X, data }, y);
    expect(rf.score({ ...X, data }, y)).toBeGreaterThan(0.85);
  });

  it('agrees with ml-random-forest on the same split (independent cross-check)', () => {
    const small = twoClasses(600, 6, 4);
    const idx = split(600, 0.7);
    const rows = (ix: number[]) => ix.map((i) => Array.from(small.X.data.subarray(i * 6, i * 6 + 6)));
    const ml = new MlRandomForest({ nEstimators: 25, seed: 3, maxFeatures: 0.5, replacement: true });
    ml.train(rows(idx.train), idx.train.map((i) => small.y[i]));
    const mlPred: number[] = ml.predict(rows(idx.test));
    const mlAcc = mlPred.filter((p, k) => p === small.y[idx.test[k]]).length / idx.test.length;
    const ours = new RandomForestClassifier({ nEstimators: 25, seed: 3, maxFeatures: 0.5 }).fit(selectRows(small.X, idx.train), idx.train.map((i) => small.y[i]));
    const ourAcc = ours.score(selectRows(small.X, idx.test), idx.test.map((i) => small.y[i]));
    expect(ourAcc).toBeGreaterThan(0.85);
    expect(Math.abs(ourAcc - mlAcc)).toBeLessThan(0.05);
  });

  it('rejects bad input with a clear error', () => {
    expect(() => new RandomForestClassifier().fit(Xtr, ytr.subarray(1))).toThrow(/rows but .* labels/);
    expect(() => new RandomForestClassifier().predict(Xte)).toThrow(/not fitted/);
    const rf = new RandomForestClassifier({ nEstimators: 2 }).fit(Xtr, ytr);
    expect(() => rf.predict({ data: new Float32Array(9), rows: 1, cols: 9 })).toThrow(/fitted on 10 features, given 9/);
  });
});

describe('IsolationForest', () => {
  it('ranks a planted anomaly cluster first', () => {
    const { X, truth, boring } = plantedAnomalies(3);
    const f = new IsolationForest({ nEstimators: 100, seed: 1 }).fit(X);
    const s = f.score(X);
    for (const v of s) {
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
    }
    const order = Array.from(s.keys()).sort((a, b) => s[b] - s[a]);
    const isAnomaly = Int32Array.from(truth, (t, i) => t | boring[i]);
    expect(precisionAtK(isAnomaly, order, 80)).toBeGreaterThan(0.8);
    const dec = f.decisionFunction(X);
    expect(dec[order[0]]).toBeLessThan(0);
    expect(f.predict(X)[order[0]]).toBe(-1);
    const back = IsolationForest.fromJSON(JSON.parse(JSON.stringify(f.toJSON())));
    expect(Array.from(back.score(X))).toEqual(Array.from(s));
  });

  it('uses the c(n) correction of Liu et al.', () => {
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    expect(averagePathLength(256)).toBeCloseTo(2 * (Math.log(255) + 0.5772156649) - (2 * 255) / 256, 10);
  });
});

describe('AADForest (Active Anomaly Discovery)', () => {
  const { X, truth } = plantedAnomalies(11);

  function discover(f: AADForest, feedback: boolean, budget: number): number {
    const T = f.params.nEstimators;
    const leaves = f.leafIndices(X);
    let scores = f.scoreFromLeaves(leaves, X.rows);
    const shown = new Uint8Array(X.rows);
    const labels: AADLabel[] = [];
    let found = 0;
    for (let k = 0; k < budget; k++) {
      let best = -1;
      for (let i = 0; i < X.rows; i++) if (!shown[i] && (best < 0 || scores[i] < scores[best])) best = i;
      shown[best] = 1;
      found += truth[best];
      if (!feedback) continue;
      labels.push({ leaves: leaves.subarray(best * T, best * T + T), anomaly: truth[best] === 1 });
      f.update(labels, scores);
      scores = f.scoreFromLeaves(leaves, X.rows, scores);
    }
    return found;
  }

  it('finds clearly more of the anomalies the expert wants when it learns from labels', () => {
    const plain = discover(new AADForest({ seed: 2, maxSamples: 256 }).fit(X), false, 50);
    const aad = discover(new AADForest({ seed: 2, maxSamples: 256 }).fit(X), true, 50);
    expect(aad).toBeGreaterThan(plain + 8);
  });

  it('moves the ranking with each label, keeps one model per expert, and round-trips', () => {
    const f = new AADForest({ seed: 4, maxSamples: 256, nEstimators: 60 }).fit(X);
    const T = 60;
    const leaves = f.leafIndices(X);
    const scores = f.scoreFromLeaves(leaves, X.rows);
    let top = 0;
    for (let i = 1; i < X.rows; i++) if (scores[i] < scores[top]) top = i;
    const alice = f.cloneWeights();
    alice.update([{ leaves: leaves.subarray(top * T, top * T + T), anomaly: false }], scores);
    const after = alice.scoreFromLeaves(leaves, X.rows);
    const rankAfter = Array.from(after).filter((s) => s < after[top]).length;
    expect(rankAfter).toBeGreaterThan(0); // no longer the most anomalous for Alice
    expect(Array.from(f.scoreFromLeaves(leaves, X.rows))).toEqual(Array.from(scores)); // Bob's model untouched
    let norm = 0;
    for (const w of alice.weights) norm += w * w;
    expect(norm).toBeCloseTo(1, 10);
    const back = AADForest.fromJSON(JSON.parse(JSON.stringify(alice.toJSON())));
    expect(Array.from(back.scoreSamples(X))).toEqual(Array.from(alice.scoreSamples(X)));
  });
});

describe('per-band AAD scoring', () => {
  it('scores each band on its complete rows only, as if those rows were scored alone, and combines the valid bands', () => {
    const { X } = plantedAnomalies(5, 600, 20);
    const d = X.cols;
    const n = 300;
    const band = (offset: number) => X.data.slice(offset * d, (offset + n) * d);
    const model = new BandAADModel(['g', 'r'], [new AADForest({ seed: 1, nEstimators: 40 }).fit(X), new AADForest({ seed: 2, nEstimators: 40 }).fit(X)]);
    const inputs = [band(0), band(n)];
    // g: every third row incomplete; r: every fifth, and row 0 incomplete in both bands
    for (let i = 0; i < n; i += 3) inputs[0][i * d + (i % d)] = NaN;
    for (let i = 0; i < n; i += 5) inputs[1][i * d] = Infinity;
    const s = model.scoreBands(inputs, n);
    inputs.forEach((x, b) => {
      const alone = model.forests[b].scoreSamples({ data: x, rows: n, cols: d });
      for (let i = 0; i < n; i++) {
        expect(s.valid[b][i]).toBe(b === 0 ? (i % 3 ? 1 : 0) : i % 5 ? 1 : 0);
        if (s.valid[b][i]) expect(s.scores[b][i]).toBe(alone[i]);
        else expect(s.scores[b][i]).toBeNaN();
      }
    });
    for (let i = 0; i < n; i++) {
      const kept = [0, 1].filter((b) => s.valid[b][i]).map((b) => s.scores[b][i]);
      if (kept.length) expect(s.final[i]).toBe(Math.min(...kept));
      else expect(s.final[i]).toBeNaN();
    }
    expect(s.final[0]).toBeNaN();
    // a batch with every row complete takes the whole-table path and gives the same numbers
    const complete = model.scoreBands([band(0), band(n)], n);
    expect(Array.from(complete.scores[0])).toEqual(Array.from(model.forests[0].scoreSamples({ data: band(0), rows: n, cols: d })));
  });
});
