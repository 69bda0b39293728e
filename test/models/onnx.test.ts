import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { unzipSync } from 'fflate';
import {
  AADForest, IsolationForest, MLPClassifier, RandomForestClassifier, aadForestToOnnx, exportFinkAnomalyZip, importFinkAnomalyZip,
  isolationForestToOnnx, jsScorer, mlpToOnnx, mlpToOnnxMC, onnxRuntimeScorer, randomForestToOnnx, scoreTwoBand, Random, FINK_MODEL_COLUMNS,
} from '../../models/index.ts';
import { sharedPath } from '../shared.ts';
import { twoClasses } from './data.ts';

const { onnx } = onnxProto;

async function run(bytes: Uint8Array, data: Float32Array, rows: number, cols: number): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  return session.run({ X: new ort.Tensor('float32', data, [rows, cols]) });
}

/** 10,000 inputs around the training distribution, some far outside it, a few NaN. */
function probeInputs(d: number): Float32Array {
  const rng = new Random(42, 1);
  const data = new Float32Array(10_000 * d);
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < 0.001 ? NaN : rng.normal(0.5, 2);
  return data;
}

describe('ONNX export, checked with onnxruntime-node on 10,000 inputs', () => {
  const { X, y } = twoClasses(3000, 8, 2);
  const probe = probeInputs(8);

  it('random forest -> TreeEnsembleClassifier: same probabilities and labels', async () => {
    const rf = new RandomForestClassifier({ nEstimators: 40, seed: 1 }).fit(X, y);
    const out = await run(randomForestToOnnx(rf), probe, 10_000, 8);
    const ours = rf.predictProba({ data: probe, rows: 10_000, cols: 8 });
    const theirs = out.probabilities.data as Float32Array;
    expect(out.probabilities.dims).toEqual([10_000, 2]);
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    expect(worst).toBeLessThanOrEqual(1e-5);
    const labels = out.label.data as BigInt64Array;
    const pred = rf.predict({ data: probe, rows: 10_000, cols: 8 });
    let disagreements = 0;
    for (let i = 0; i < 10_000; i++) if (Number(labels[i]) !== pred[i] && Math.abs(ours[2 * i] - 0.5) > 1e-6) disagreements++;
    expect(disagreements).toBe(0);
  });

  it('isolation forest -> regressor + standard ops: same decision function', async () => {
    const f = new IsolationForest({ nEstimators: 100, seed: 3 }).fit(X);
    const out = await run(isolationForestToOnnx(f), probe, 10_000, 8);
    const ours = f.decisionFunction({ data: probe, rows: 10_000, cols: 8 });
    const theirs = out.score.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('AAD forest (after feedback) -> Fink-layout regressor: same scores', async () => {
    const f = new AADForest({ seed: 5, nEstimators: 150, maxSamples: 512 }).fit(X);
    const leaves = f.leafIndices(X);
    const scores = f.scoreFromLeaves(leaves, X.rows);
    f.update([{ leaves: leaves.subarray(0, 150), anomaly: true }, { leaves: leaves.subarray(150, 300), anomaly: false }], scores);
    const out = await run(aadForestToOnnx(f), probe, 10_000, 8);
    const ours = f.scoreSamples({ data: probe, rows: 10_000, cols: 8 });
    const theirs = out.score.data as Float32Array;
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });
});

describe('MLP export, checked with onnxruntime-node', () => {
  // training rows with holes (NaN, and one infinity) so that imputation and missing indicators are in the graph
  const { X, y } = twoClasses(2000, 8, 2);
  for (let i = 0; i < 2000; i += 7) X.data[i * 8 + (i % 8)] = NaN;
  X.data[5 * 8 + 3] = Infinity;
  const probe = probeInputs(8);
  for (let i = 0; i < probe.length; i += 997) probe[i] = -Infinity;

  for (const [missing, scaling] of [['impute', 'robust-asinh'], ['refuse', 'standard']] as const) {
    it(`dropout off (missing: ${missing}, scaling: ${scaling}): the probabilities of predictProba within 1e-5 on 10,000 inputs, NaN where refused`, async () => {
      const m = await new MLPClassifier({ seed: 3, missing, scaling, hiddenUnits: [16, 8], epochs: 20 }).fit(X, y);
      expect(m.robustScale.length).toBe(scaling === 'robust-asinh' ? 8 : 0);
      expect(m.indicators.length).toBe(missing === 'impute' ? 8 : 0);
      const out = await run(mlpToOnnx(m), probe, 10_000, 8);
      expect(out.probabilities.dims).toEqual([10_000, 2]);
      const ours = m.predictProba({ data: probe, rows: 10_000, cols: 8 });
      const theirs = out.probabilities.data as Float32Array;
      let worst = 0;
      let refused = 0;
      for (let i = 0; i < ours.length; i++) {
        expect(Number.isNaN(theirs[i])).toBe(Number.isNaN(ours[i]));
        if (Number.isNaN(ours[i])) refused++;
        else worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
      }
      expect(worst).toBeLessThanOrEqual(1e-5);
      expect(refused > 0).toBe(missing === 'refuse');
      const labels = out.label.data as BigInt64Array;
      const pred = m.predict({ data: probe, rows: 10_000, cols: 8 });
      for (let i = 0; i < 10_000; i++) if (!Number.isNaN(ours[2 * i]) && Math.abs(ours[2 * i] - 0.5) > 1e-5) expect(Number(labels[i])).toBe(pred[i]);
    });
  }

  it('Monte-Carlo variant: onnxruntime\'s dropout passes give the mean and spread of predictProbaMC (independent estimates)', async () => {
    const m = await new MLPClassifier({ seed: 3, hiddenUnits: [16, 8], dropout: 0.25, epochs: 20 }).fit(X, y);
    const rows = 300;
    const S = 2000;
    const data = probe.subarray(0, rows * 8);
    const ours = m.predictProbaMC({ data, rows, cols: 8 }, S);
    const session = await ort.InferenceSession.create(mlpToOnnxMC(m, S), { logSeverityLevel: 3 });
    const out = await session.run({ X: new ort.Tensor('float32', data, [rows, 8]) });
    const mean = out.probabilities.data as Float32Array;
    const spread = out.spread.data as Float32Array;
    for (let i = 0; i < rows * 2; i++) {
      expect(Number.isNaN(mean[i])).toBe(Number.isNaN(ours.mean[i]));
      if (Number.isNaN(ours.mean[i])) continue;
      // two Monte-Carlo estimates of one mean: within 5 standard errors of their difference, sigma sqrt(2/S)
      const se = Math.sqrt(2 / S) * Math.max(ours.std[i], 1e-3);
      expect(Math.abs(mean[i] - ours.mean[i]) / se).toBeLessThan(5);
      // and of one variance: for values in [0, 1] the fourth central moment is at most the variance, so a
      // variance estimate's standard error is at most sigma / sqrt(S), and their difference's sigma sqrt(2/S)
      expect(Math.abs(spread[i] ** 2 - ours.std[i] ** 2) / se).toBeLessThan(5);
    }
    expect(Math.max(...Array.from(spread))).toBeGreaterThan(0.05);
    // seeded: a new session repeats its passes
    const again = await (await ort.InferenceSession.create(mlpToOnnxMC(m, S), { logSeverityLevel: 3 })).run({ X: new ort.Tensor('float32', data, [rows, 8]) });
    expect(Array.from(again.probabilities.data as Float32Array)).toEqual(Array.from(mean));
  });
});

describe("Fink's anomaly-module format", () => {
  const zipBytes = readFileSync(sharedPath('ztf', 'fink_anomaly_beta.zip'));
  const csv = readFileSync(sharedPath('ztf', 'reference_anomaly_scores.csv'), 'utf8').trim().split('\n');
  const header = csv[0].split(',');
  const rows = csv.slice(1).map((l) => l.split(','));
  const n = rows.length;
  const inputG = new Float32Array(n * 25);
  const inputR = new Float32Array(n * 25);
  const gi = header.indexOf('g_amplitude');
  const ri = header.indexOf('r_amplitude');
  expect(header.slice(gi, gi + 25)).toEqual(FINK_MODEL_COLUMNS.map((c) => `g_${c}`));
  rows.forEach((r, i) => {
    for (let j = 0; j < 25; j++) {
      inputG[i * 25 + j] = Number(r[gi + j]);
      inputR[i * 25 + j] = Number(r[ri + j]);
    }
  });
  const col = (name: string) => rows.map((r) => Number(r[header.indexOf(name)]));

  it('imports the model Fink runs and reproduces its reference scores through onnxruntime (and in JS)', async () => {
    const model = importFinkAnomalyZip(zipBytes, 'fink_anomaly_beta.zip');
    expect(model.name).toBe('beta');
    for (const scorers of [
      { forestG: await onnxRuntimeScorer(model.onnxG), forestR: await onnxRuntimeScorer(model.onnxR) },
      { forestG: jsScorer(model.forestG), forestR: jsScorer(model.forestR) },
    ]) {
      const res = await scoreTwoBand(scorers, inputG, inputR, n);
      const [sg, sr, fin, vg, vr] = [col('score_g'), col('score_r'), col('final'), col('valid_g'), col('valid_r')];
      for (let i = 0; i < n; i++) {
        expect(res.validG[i]).toBe(vg[i]);
        expect(res.validR[i]).toBe(vr[i]);
        if (!Number.isNaN(sg[i])) expect(Math.abs(res.scoreG[i] - sg[i])).toBeLessThanOrEqual(1e-5);
        if (!Number.isNaN(sr[i])) expect(Math.abs(res.scoreR[i] - sr[i])).toBeLessThanOrEqual(1e-5);
        if (Number.isNaN(fin[i])) expect(Number.isNaN(res.final[i])).toBe(true);
        else expect(Math.abs(res.final[i] - fin[i])).toBeLessThanOrEqual(1e-5);
      }
    }
    expect(col('final').filter(Number.isNaN)).toHaveLength(94);
  });

  it('exports Sieve AAD forests with the same input/output names, types and shapes as Fink', async () => {
    const rng = new Random(8, 8);
    const train = new Float32Array(600 * 25).map(() => rng.normal(0, 1));
    const X = { data: train, rows: 600, cols: 25 };
    const forestG = new AADForest({ seed: 1, nEstimators: 150, maxSamples: 300, Ca: 1000 }).fit(X);
    const forestR = new AADForest({ seed: 2, nEstimators: 150, maxSamples: 300 }).fit(X);
    const zip = exportFinkAnomalyZip({ forestG, forestR }, 'sieve_test');
    expect(Object.keys(unzipSync(zip)).sort()).toEqual(['forest_g_AAD_sieve_test.onnx', 'forest_r_AAD_sieve_test.onnx']);
    const ours = importFinkAnomalyZip(zip, 'ours.zip');
    const finks = Object.values(unzipSync(zipBytes))[0];
    const io = (bytes: Uint8Array) => {
      const m = onnx.ModelProto.decode(bytes);
      const g = m.graph!;
      const desc = (v: InstanceType<typeof onnx.ValueInfoProto>) => ({
        name: v.name, elemType: v.type!.tensorType!.elemType, dims: v.type!.tensorType!.shape!.dim!.map((d) => (d.dimValue ? Number(d.dimValue) : null)),
      });
      return { inputs: g.input!.map((v) => desc(v as InstanceType<typeof onnx.ValueInfoProto>)), outputs: g.output!.map((v) => desc(v as InstanceType<typeof onnx.ValueInfoProto>)), op: g.node![0].opType, opset: m.opsetImport!.map((o) => `${o.domain}:${o.version}`) };
    };
    expect(io(ours.onnxG)).toEqual(io(finks));
    expect(io(ours.onnxR)).toEqual(io(finks));
    // and the broker's runtime gives Sieve's own scores
    const scorer = await onnxRuntimeScorer(ours.onnxG);
    const probe = new Float32Array(10_000 * 25).map(() => rng.normal(0, 1.5));
    const got = await scorer(probe, 10_000);
    const want = forestG.scoreSamples({ data: probe, rows: 10_000, cols: 25 });
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  it('refuses a zip that is not a Fink anomaly model', () => {
    expect(() => importFinkAnomalyZip(new Uint8Array([1, 2, 3]), 'junk.zip')).toThrow(/junk\.zip: not a zip file/);
  });
});
