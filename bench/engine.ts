/**
 * Engine benchmarks: ingest throughput into the SQLite store, and label-to-updated-queue latency with a
 * large pool (a full random-forest retrain + re-ranking, and an AAD update + re-ranking).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { readJsonLines, simulate, type Alert } from '../datasets/index.ts';
import { nextQueue } from '../engine/core/queue.ts';
import { Store } from '../engine/core/store/store.ts';
import { retrainClassifier, updateAnomalyModule } from '../engine/core/training.ts';
import { builtinModule, ensureBuiltinModules } from '../engine/core/modules/index.ts';
import { AnomalyQueueSession } from '../engine/core/anomalySession.ts';
import { computeFeatures } from '../engine/core/features/pipeline.ts';
import { SHARED_DATA } from './paths.ts';

export async function runEngineBenchmarks(nPool: number, nLabels: number): Promise<Array<{ what: string; seconds: number; goal?: string; rate?: string }>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sieve-bench-'));
  const rows: Array<{ what: string; seconds: number; goal?: string; rate?: string }> = [];
  try {
    const store = Store.create(path.join(dir, 'bench.db'));
    ensureBuiltinModules(store);
    const alerts = [...simulate(nPool, 7)].map((o) => o.alert);
    let t0 = performance.now();
    store.insertAlerts(alerts, 'bench');
    let s = (performance.now() - t0) / 1000;
    rows.push({ what: `ingest ${nPool} simulated alerts (one transaction)`, seconds: s, rate: `${Math.round(nPool / s)} alerts/s`, goal: '>= 20,000 alerts/s' });
    // real ZTF packets with their three stamps (~40 KB each), repeated under new candids
    const real = realAlerts();
    if (real.length) {
      const copies: typeof alerts = [];
      for (let r = 1; copies.length < 20_000; r++) for (const a of real) copies.push({ ...a, candid: a.candid === null ? null : a.candid + BigInt(r) * 10n ** 18n });
      t0 = performance.now();
      store.insertAlerts(copies, 'bench-real');
      s = (performance.now() - t0) / 1000;
      rows.push({ what: `ingest ${copies.length} real ZTF packets with 3 stamps each`, seconds: s, rate: `${Math.round(copies.length / s)} alerts/s` });
    }
    t0 = performance.now();
    computeFeatures(store, nextQueueModuleExtractor('anomaly'));
    rows.push({ what: `anomaly features of ${nPool} stored alerts`, seconds: (performance.now() - t0) / 1000 });
    // labels: the simulated truth, eclipsing binaries as the anomalies of interest; 1999 already given
    updateAnomalyModule(store, 'anomaly', { seed: 1 });
    const ids = store.alertIds();
    const step = Math.max(1, Math.floor(ids.length / nLabels));
    const truth = (id: number) => (store.getAlert(id).label === 'eclipsing binary' ? 'anomaly' : 'nominal');
    for (let k = 0; k < nLabels - 1; k++) store.addLabel({ module: 'anomaly', alertId: ids[k * step], label: truth(ids[k * step]), author: 'bench' });
    t0 = performance.now();
    const session = AnomalyQueueSession.open(store, 'anomaly');
    rows.push({ what: `AAD session start (leaves of ${nPool} alerts in 2 x 150 trees)`, seconds: (performance.now() - t0) / 1000 });
    const last = ids[(nLabels - 1) * step];
    t0 = performance.now();
    session.label(last, truth(last), 'bench');
    session.queue(10);
    rows.push({ what: `AAD: label ${nLabels} -> re-weighted, re-ranked queue over ${nPool} alerts`, seconds: (performance.now() - t0) / 1000, goal: '< 1 s' });
    computeFeatures(store, nextQueueModuleExtractor('early-snia'));
    const eligible = nextQueue(store, 'early-snia', { k: nLabels, strategy: 'random' });
    for (const e of eligible) {
      const a = store.getAlert(e.alertId);
      store.addLabel({ module: 'early-snia', alertId: a.id, label: a.label === 'SN Ia' ? 'SN Ia' : 'other SN', author: 'bench' });
    }
    t0 = performance.now();
    await retrainClassifier(store, 'early-snia', { seed: 1 });
    nextQueue(store, 'early-snia', { k: 10 });
    rows.push({ what: `random forest: ${eligible.length} labels -> retrain + updated queue over ${nPool} alerts`, seconds: (performance.now() - t0) / 1000, goal: '< 5 s' });
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

function realAlerts(): Alert[] {
  const file = `${SHARED_DATA}ztf/alerts.jsonl`;
  if (!existsSync(file)) return [];
  const out = { file, format: 'jsonl' as const, alerts: [] as Alert[], errors: [] };
  readJsonLines(readFileSync(file, 'utf8'), file, out);
  return out.alerts;
}

function nextQueueModuleExtractor(name: string) {
  return builtinModule(name).extractor();
}
