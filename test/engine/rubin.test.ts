import { mkdtempSync, rmSync } from 'node:fs';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readAlertFile, simulate, simulateObject, stringifyJsonExact, toSieveRecord, alertFromSieveRecord, parseJsonExact } from '../../datasets/index.ts';
import { extractorByName } from '../../features/index.ts';
import { BandAADModel, RandomForestClassifier, modelFromBundle, serializeBundle } from '../../models/index.ts';
import { exportModelBytes } from '../../engine/index.ts';
import { AnomalyQueueSession, ensureBuiltinModules, moduleOf, nextQueue, retrainClassifier, Store, updateAnomalyModule } from '../../engine/index.ts';
import { loadModuleVersion, scoreAlerts } from '../../engine/scorer/index.ts';
import { sharedPath } from '../shared.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-rubin-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the LSST mode of the simulator', () => {
  const sims = [...simulate(1500, 3, { survey: 'lsst' })].map((o) => o.alert);

  it('is reproducible from its seed and survives the Sieve file format with its MJDs', () => {
    const a = stringifyJsonExact(toSieveRecord(simulateObject(5, 17, { survey: 'lsst' }).alert));
    expect(stringifyJsonExact(toSieveRecord(simulateObject(5, 17, { survey: 'lsst' }).alert))).toBe(a);
    const back = alertFromSieveRecord(parseJsonExact(a) as Record<string, unknown>);
    const orig = simulateObject(5, 17, { survey: 'lsst' }).alert;
    expect(back.survey).toBe('lsst');
    expect(Array.from(back.lightCurve.mjd!)).toEqual(Array.from(orig.lightCurve.mjd!));
  });

  it('observes in six bands in nJy, in same-night pairs of two bands, with seasonal gaps and depths near Rubin\'s', () => {
    const bands = new Set<string>();
    let pairs = 0;
    let nights = 0;
    let seasonGaps = 0;
    const limits: Record<string, number[]> = {};
    for (const a of sims) {
      const lc = a.lightCurve;
      expect(lc.nativeUnit).toBe('nJy');
      for (let i = 0; i < lc.jd.length; i++) {
        const b = lc.bands[lc.band[i]];
        bands.add(b);
        // the depth shows where the source does not add its own noise: forced photometry below threshold
        if (!lc.detected[i]) (limits[b] ??= []).push(lc.limitMag[i]);
        if (i > 0) {
          const dt = lc.mjd![i] - lc.mjd![i - 1];
          if (dt < 0.05) {
            pairs++;
            expect(lc.band[i]).not.toBe(lc.band[i - 1]);
          } else nights++;
          if (dt > 100) seasonGaps++;
        }
      }
    }
    expect([...bands].sort()).toEqual(['g', 'i', 'r', 'u', 'y', 'z']);
    expect(pairs).toBeGreaterThan(0.5 * nights);
    expect(seasonGaps).toBeGreaterThan(10);
    const median = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1];
    // limits from 5 sigma flux errors; Ivezic et al. 2019: u 23.9, g 25.0, r 24.7, i 24.0, z 23.3, y 22.1 (minus moonlight)
    expect(median(limits.r)).toBeGreaterThan(24.2);
    expect(median(limits.r)).toBeLessThan(24.9);
    expect(median(limits.y)).toBeLessThan(median(limits.g));
  });

  it('gives SN Ia that pass Fink\'s Rubin selection when caught early, with Rainbow temperatures of a supernova', () => {
    const early = [...simulate(3000, 4, { survey: 'lsst', earlyAlerts: true, classWeights: { 'SN Ia': 1 } })].map((o) => o.alert);
    const ex = extractorByName('early-snia-rubin');
    const fitted = early.map((a) => ex.extract(a)).filter((v) => v[1] !== 0);
    expect(fitted.length).toBeGreaterThan(150);
    const temps = fitted.map((v) => v[3]).sort((p, q) => p - q);
    const median = temps[temps.length >> 1];
    expect(median).toBeGreaterThan(4000);
    expect(median).toBeLessThan(20000);
  });
});

describe('the Rubin modules train, queue, deploy and score on Rubin alerts', () => {
  it('early-snia-rubin and anomaly-rubin, end to end in a store with ZTF alerts beside them', async () => {
    const store = Store.create(path.join(tmp, 'rubin.db'));
    try {
      const rubinSims = [...simulate(1500, 2, { survey: 'lsst', earlyAlerts: true })].map((o) => o.alert).filter((a) => a.lightCurve.detected.some((d) => d === 1));
      store.insertAlerts(rubinSims, 'sim lsst', 'test');
      store.insertAlerts([...simulate(200, 2)].map((o) => o.alert), 'sim ztf', 'test');
      await store.importFiles([sharedPath('lsst', 'part-2-918301.avro'), sharedPath('rubin', 'elasticc_sample_seed0.parquet')], 'test');
      ensureBuiltinModules(store);

      // early-snia-rubin: labels from the simulated classes, a first version, a queue of Rubin alerts only
      const def = moduleOf(store, 'early-snia-rubin');
      const candidates = nextQueue(store, 'early-snia-rubin', { k: 10_000, expert: 'seed', strategy: 'random', seed: 1 });
      expect(candidates.length).toBeGreaterThan(60);
      for (const e of candidates.slice(0, 120)) {
        const a = store.getAlert(e.alertId);
        expect(a.survey).toBe('lsst');
        if (a.label) store.addLabel({ module: 'early-snia-rubin', alertId: e.alertId, label: def.catalogLabel(a.label)!, author: 'seed' });
      }
      const r = retrainClassifier(store, 'early-snia-rubin', { seed: 1, actor: 'test' });
      expect(r.version).toBe(1);
      const queue = nextQueue(store, 'early-snia-rubin', { k: 5, expert: 'you' });
      expect(queue).toHaveLength(5);
      for (const q of queue) expect(store.getAlert(q.alertId).survey).toBe('lsst');

      // anomaly-rubin: one AAD forest per band with enough complete rows; a label re-ranks
      const ar = updateAnomalyModule(store, 'anomaly-rubin', { seed: 1, actor: 'test' });
      const model = modelFromBundle(store.getBundle('anomaly-rubin', ar.version));
      expect(model).toBeInstanceOf(BandAADModel);
      const bands = (model as BandAADModel).bands;
      expect(bands.length).toBeGreaterThanOrEqual(4);
      expect(bands.every((b) => 'ugrizy'.includes(b))).toBe(true);
      const session = AnomalyQueueSession.open(store, 'anomaly-rubin');
      const before = session.queue(20, 'you');
      const first = before[0];
      expect(store.getAlert(first.alertId).survey).toBe('lsst');
      session.label(first.alertId, 'nominal', 'you');
      const after = session.queue(19, 'you');
      expect(after.map((e) => e.alertId)).not.toContain(first.alertId);
      // the label moved the weights: the remaining alerts' scores changed
      const scoreBefore = new Map(before.map((e) => [e.alertId, e.score]));
      expect(after.some((e) => scoreBefore.has(e.alertId) && scoreBefore.get(e.alertId) !== e.score)).toBe(true);

      // exported for a broker: one ONNX forest per band, scoring as the band's forest does
      const zip = unzipSync(exportModelBytes(store.getBundle('anomaly-rubin', ar.version), 'anomaly-rubin', 'fink-anomaly-zip', 'rubin').bytes);
      expect(Object.keys(zip)).toEqual(bands.map((b) => `forest_${b}_AAD_rubin.onnx`));
      const band = (model as BandAADModel).forests[0];
      const F = band.nFeatures;
      const probe = new Float32Array(50 * F).map((_, k) => ((k * 7919) % 1000) / 10);
      const onnxSession = await ort.InferenceSession.create(zip[`forest_${bands[0]}_AAD_rubin.onnx`], { logSeverityLevel: 3 });
      const onnxScores = (await onnxSession.run({ X: new ort.Tensor('float32', probe, [50, F]) })).score.data as Float32Array;
      const ours = band.scoreSamples({ data: probe, rows: 50, cols: F });
      for (let i = 0; i < 50; i++) expect(Math.abs(onnxScores[i] - ours[i])).toBeLessThanOrEqual(1e-5);

      // the broker side: both deployed versions score real Rubin Avro and ELAsTiCC Parquet
      store.deploy('early-snia-rubin', 1, 'test', 'first');
      const loaded = ['early-snia-rubin', 'anomaly-rubin'].map((m) => {
        const v = store.deployedVersion(m)!;
        return loadModuleVersion({ module: m, version: v, bundleJson: serializeBundle(store.getBundle(m, v)) });
      });
      expect(modelFromBundle(store.getBundle('early-snia-rubin', 1))).toBeInstanceOf(RandomForestClassifier);
      for (const file of [sharedPath('lsst', 'part-2-918301.avro'), sharedPath('rubin', 'elasticc_earlysnia.parquet')]) {
        const { alerts } = await readAlertFile(file);
        const results = scoreAlerts(alerts, loaded);
        expect(results).toHaveLength(2 * alerts.length);
        const snia = results.filter((x) => x.module === 'early-snia-rubin');
        // Fink writes -1.0 outside its selection (the module's broker.outside); inside, a probability
        for (const x of snia) {
          const s = x.scores.earlySNIa_score!;
          if (!x.passesCuts) expect(s).toBe(-1);
          else expect(s).toBeGreaterThanOrEqual(0);
        }
        const ano = results.filter((x) => x.module === 'anomaly-rubin');
        expect(Object.keys(ano[0].scores)).toEqual(['anomaly_score', ...bands.map((b) => `anomaly_score_${b}`)]);
        expect(ano.some((x) => x.scores.anomaly_score !== null)).toBe(true);
      }
    } finally {
      store.close();
    }
  }, 120_000);
});
