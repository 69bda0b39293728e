/**
 * `npm run bench`: throughput of the feature extractors, single-threaded (so "per core"), on the real ZTF
 * alerts (repeated to a few seconds of work) and on 100k simulated light curves; the early SN Ia and
 * kilonova features side by side with their Python baselines run in the same command on the same alerts,
 * and the forests against scikit-learn (see bench/README.md).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readAlertFile, simulate, type Alert } from '../datasets/index.ts';
import { anomalyExtractor, earlySnIaExtractor, kilonovaExtractor, type FeatureExtractor } from '../features/index.ts';
import { runKndetectSideBySide } from './kndetect.ts';
import { earlySnIaRubinPath, runRubinSideBySide } from './rubin.ts';
import { runSigmoidSideBySide } from './sigmoid.ts';
import { runForestPredictCompiled, runForestSideBySide, runModelBenchmarks, runNetworkBenchmarks } from './models.ts';
import { randomForestFromSklearnPickle } from '../models/index.ts';
import { runEngineBenchmarks } from './engine.ts';
import { runIngestMemoryBenchmarks } from './ingestMemory.ts';
import { runServerBenchmarks } from './server.ts';
import { runScorerBenchmarks } from './scorer.ts';
import { runCliBenchmarks } from './cli.ts';
import { exponents, runScaleApi, runScaleApiOnCopy, runScaleSteps } from './scale.ts';
import { SHARED_DATA, benchFile } from './paths.ts';

const SHARED = SHARED_DATA;
const N_SIM = Number(process.env.SIEVE_BENCH_NSIM ?? 100_000);
const SECONDS = Number(process.env.SIEVE_BENCH_SECONDS ?? 3);
/**
 * SIEVE_BENCH_ONLY=cli,features,models,engine,server,scorer,scale runs only those sections (all by default);
 * `rubin` picks the Rubin rows of features alone.
 */
const ONLY = new Set((process.env.SIEVE_BENCH_ONLY ?? 'cli,features,models,engine,server,scorer,scale').split(',').map((x) => x.trim()));
mkdirSync(benchFile('results'), { recursive: true });

interface Row {
  extractor: string;
  data: string;
  alerts: number;
  seconds: number;
  alertsPerSecond: number;
}

function time(extractor: FeatureExtractor, alerts: Alert[], minSeconds: number): { n: number; s: number } {
  const out = new Float64Array(extractor.spec.columns.length);
  let sink = 0;
  // warm-up so the JIT has compiled the hot loops before timing
  for (let i = 0; i < Math.min(alerts.length, 2000); i++) sink += extractor.extract(alerts[i], out)[0] || 0;
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (const a of alerts) sink += extractor.extract(a, out)[0] || 0;
    n += alerts.length;
    elapsed = (performance.now() - start) / 1000;
  } while (elapsed < minSeconds);
  if (Number.isNaN(sink)) console.error('unexpected NaN sink');
  return { n, s: elapsed };
}

if (ONLY.has('cli')) {
  const cli = runCliBenchmarks();
  console.log('\nCLI start-up (median wall time)');
  for (const r of cli) console.log(`  ${r.what.padEnd(78)} ${r.value}`);
  writeFileSync(benchFile('results/cli.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, cli }, null, 2));
}

if (ONLY.has('features')) {
  const extractors = [earlySnIaExtractor(), anomalyExtractor(), kilonovaExtractor()];
  const rows: Row[] = [];
  const real = (await readAlertFile(`${SHARED}ztf/alerts.jsonl`)).alerts;
  for (const ex of extractors) {
    const { n, s } = time(ex, real, SECONDS);
    rows.push({ extractor: ex.spec.name, data: `real ZTF (${real.length} alerts, repeated)`, alerts: n, seconds: s, alertsPerSecond: n / s });
  }
  const t0 = performance.now();
  const sims: Alert[] = [];
  for (const o of simulate(N_SIM, 1)) sims.push(o.alert);
  const simSeconds = (performance.now() - t0) / 1000;
  for (const ex of extractors) {
    const { n, s } = time(ex, sims, 0);
    rows.push({ extractor: ex.spec.name, data: `${N_SIM} simulated curves`, alerts: n, seconds: s, alertsPerSecond: n / s });
  }
  // the 100k simulated alerts would otherwise stay in the heap and slow the fits below (and the later
  // sections) with garbage collection: the Rainbow row ran at 247 fits/CPU-s beside them, 398 without
  sims.length = 0;

  console.log(`\nFeature extraction, 1 thread (Node ${process.version}); simulation of ${N_SIM} curves took ${simSeconds.toFixed(1)} s\n`);
  console.log('extractor'.padEnd(22) + 'data'.padEnd(36) + 'alerts/s'.padStart(12));
  for (const r of rows) console.log(r.extractor.padEnd(22) + r.data.padEnd(36) + r.alertsPerSecond.toFixed(0).padStart(12));
  const ano = rows.filter((r) => r.extractor === 'anomaly-lc-features');
  console.log(`\ngoal: anomaly >= 100k light curves/s per core: ${ano.map((r) => `${(r.alertsPerSecond / 1000).toFixed(0)}k/s (${r.data})`).join(', ')}`);

  // side by side with the Python tools, same alerts, same run, CPU-seconds
  const refRows = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(3).map(Number));
  const tns: Alert[] = [];
  const tnsRef: number[][] = [];
  for (const name of ['nov2019', '202001', '202002', '202003']) {
    tns.push(...(await readAlertFile(`${SHARED}tns/fink_cross_tns_${name}.parquet`)).alerts);
    tnsRef.push(...refRows(`${SHARED}tns/reference/fink_cross_tns_${name}_sigmoid_features.csv`));
  }
  const sigmoidRows = [
    runSigmoidSideBySide(`real ZTF alerts`, real, refRows(`${SHARED}ztf/reference_sigmoid_features.csv`)),
    runSigmoidSideBySide('TNS-labelled alerts (fit-heavy)', tns, tnsRef),
  ];
  const kn = runKndetectSideBySide(real);
  const perCpuS = (s: number | null) => (s === null ? '-' : (1 / s).toFixed(0));
  console.log('\nSide by side with Python, 1 core each: alerts per CPU-second');
  console.log(`  ${'features'.padEnd(26)} ${'data'.padEnd(52)} ${'Sieve'.padStart(8)} ${'Python'.padStart(8)}  ratio`);
  for (const r of sigmoidRows) {
    const ratio = r.baselineCpuSecondsPerAlert === null ? r.note : `${(r.baselineCpuSecondsPerAlert / r.sieveCpuSecondsPerAlert).toFixed(0)}x  (${r.note}; ${r.baseline})`;
    console.log(`  ${'early SN Ia sigmoid'.padEnd(26)} ${`${r.data}, ${r.alerts}, ${r.bandFits} band fits`.padEnd(52)} ${perCpuS(r.sieveCpuSecondsPerAlert).padStart(8)} ${perCpuS(r.baselineCpuSecondsPerAlert).padStart(8)}  ${ratio}`);
  }
  const knRatio = kn.baselineCpuSecondsPerAlert === null ? kn.note : `${(kn.baselineCpuSecondsPerAlert / kn.sieveCpuSecondsPerAlert).toFixed(0)}x  (${kn.note})`;
  console.log(`  ${'kilonova (kndetect)'.padEnd(26)} ${`real ZTF alerts, ${kn.alerts}`.padEnd(52)} ${perCpuS(kn.sieveCpuSecondsPerAlert).padStart(8)} ${perCpuS(kn.baselineCpuSecondsPerAlert).padStart(8)}  ${knRatio}`);
  console.log('  goal: early SN Ia features >= 100x the Python reference per CPU-second on the fit-heavy TNS set');
  writeFileSync(benchFile('results/features.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rows, sigmoid: sigmoidRows, kndetect: kn }, null, 2));
}

// Rubin (part of features; SIEVE_BENCH_ONLY=rubin runs it alone): the 752 ELAsTiCC and real Rubin alerts of
// ../shared, side by side with light-curve's Python code
if (ONLY.has('features') || ONLY.has('rubin')) {
  const rubinAlerts: Alert[] = [];
  const rubinSource: string[] = [];
  for (const f of ['rubin/elasticc_earlysnia.parquet', 'rubin/elasticc_sample_seed0.parquet', 'rubin/elasticc_agn.parquet', 'lsst/part-2-918301.avro']) {
    const alerts = (await readAlertFile(`${SHARED}${f}`)).alerts;
    rubinAlerts.push(...alerts);
    rubinSource.push(...alerts.map(() => (f.startsWith('rubin/elasticc') ? 'ELAsTiCC' : 'Rubin alerts')));
  }
  // simulated Rubin light curves of a seed the choice of Rainbow's starts did not see (features/rainbow.ts):
  // whether Sieve's cost stays at or below the Python fit's away from the light curves it was tuned on
  for (const o of simulate(200, 7, { survey: 'lsst' })) {
    rubinAlerts.push(o.alert);
    rubinSource.push('simulated (sieve simulate --survey lsst --seed 7)');
  }
  const rubin = runRubinSideBySide(rubinAlerts, rubinSource);
  // the module as Fink's Rubin processor runs it, with the forest of ../shared/data/fink/rubin/models
  const earlySnia = (await readAlertFile(`${SHARED}rubin/elasticc_earlysnia.parquet`)).alerts;
  const forest = randomForestFromSklearnPickle(new Uint8Array(readFileSync(`${SHARED}fink/rubin/models/early-snia-rubin.pkl`)), 'early-snia-rubin.pkl').rf;
  rubin.push(earlySnIaRubinPath(earlySnia, forest));
  console.log('\nRubin features side by side with Fink\'s Python code, 1 core each, per CPU-second');
  console.log(`  ${'features'.padEnd(42)} ${'units'.padEnd(26)} ${'Sieve'.padStart(9)} ${'Python'.padStart(9)}  ratio`);
  for (const r of rubin) {
    const ratio = r.baselinePerCpuSecond === null ? r.note : `${(r.sievePerCpuSecond / r.baselinePerCpuSecond).toFixed(0)}x  (${r.note})`;
    console.log(`  ${r.what.padEnd(42)} ${`${r.units} ${r.unitName}`.padEnd(26)} ${r.sievePerCpuSecond.toFixed(0).padStart(9)} ${(r.baselinePerCpuSecond === null ? '-' : r.baselinePerCpuSecond.toFixed(1)).padStart(9)}  ${ratio}`);
  }
  console.log('  goals: Rainbow >= 1,200 fits per CPU-second on ELAsTiCC\'s light curves; anomaly-rubin >= 100,000 band light curves per CPU-second; early-snia-rubin path >= 1,000 alerts per CPU-second');
  writeFileSync(benchFile('results/rubin.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, rubin }, null, 2));
}

if (ONLY.has('models')) {
  const forests = runForestSideBySide();
  console.log(`\nForests vs ${forests[0]?.baseline ?? 'scikit-learn'}, 1 core each, CPU-seconds (median of 3; random forest fit: 1 run)`);
  console.log(`  ${'what'.padEnd(50)} ${'Sieve'.padStart(8)} ${'sklearn'.padStart(8)}  ratio (sklearn / Sieve; > 1: Sieve faster)`);
  for (const m of forests) {
    const b = m.baselineCpuSeconds;
    console.log(`  ${m.what.padEnd(50)} ${m.sieveCpuSeconds.toFixed(3).padStart(8)} ${(b === null ? '-' : b.toFixed(3)).padStart(8)}  ${b === null ? `baseline unavailable (${m.baseline})` : `${(b / m.sieveCpuSeconds).toFixed(2)}x`}`);
  }
  const compiled = runForestPredictCompiled();
  console.log(`\nRandom-forest predict on the compiled code (plain node, as the CLI runs it) vs ${compiled.note}, the same trees, CPU-seconds: first call / median of 3 after 2 more (goal >= 2x on both)`);
  for (const m of compiled.rows ?? []) {
    console.log(`  ${m.what.padEnd(66)} ${m.nodes} nodes, depth ${m.depth}: Sieve ${m.sieveFirst.toFixed(3)} / ${m.sieveWarm.toFixed(3)}, sklearn ${m.sklearnFirst.toFixed(3)} / ${m.sklearnWarm.toFixed(3)}, ${(m.sklearnFirst / m.sieveFirst).toFixed(2)}x / ${(m.sklearnWarm / m.sieveWarm).toFixed(2)}x; ${m.differ === 0 ? 'bit-identical probabilities' : `${m.differ} probabilities DIFFER`}`);
  }
  if (!compiled.rows) console.log(`  ${compiled.note}`);
  const models = runModelBenchmarks();
  console.log('\nActive anomaly discovery, 1 thread');
  for (const m of models) console.log(`  ${m.what.padEnd(58)} ${m.seconds.toFixed(3).padStart(8)} s${m.goal ? `   goal ${m.goal}` : ''}`);
  const networks = await runNetworkBenchmarks();
  console.log('\nMC-dropout network (TensorFlow.js training, Sieve JS passes), 1 thread: CPU-seconds, wall seconds');
  for (const m of networks) console.log(`  ${m.what.padEnd(84)} ${m.cpuSeconds.toFixed(2).padStart(7)} CPU-s ${m.wallSeconds.toFixed(2).padStart(7)} s${m.goal ? `   goal ${m.goal}` : ''}`);
  writeFileSync(benchFile('results/models.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, forests, compiled, models, networks }, null, 2));

}

if (ONLY.has('engine')) {
  const pool = Number(process.env.SIEVE_BENCH_POOL ?? 100_000);
  const ingestMemory = await runIngestMemoryBenchmarks();
  console.log('\nIngest memory (a child process per file)');
  for (const r of ingestMemory) console.log(`  ${r.what.padEnd(70)} ${r.value}`);
  const engine = await runEngineBenchmarks(pool, 2000);
  console.log(`\nEngine (store on a temporary SQLite file, ${pool} alerts)`);
  for (const m of engine) console.log(`  ${m.what.padEnd(72)} ${m.seconds.toFixed(3).padStart(8)} s${m.rate ? `  ${m.rate}` : ''}${m.goal ? `   goal ${m.goal}` : ''}`);
  writeFileSync(benchFile('results/engine.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, pool, engine }, null, 2));
}

if (ONLY.has('server')) {
  const server = await runServerBenchmarks();
  console.log('\nWorkbench API and UI (demo store, localhost)');
  for (const r of server) console.log(`  ${r.what.padEnd(78)} ${r.value}`);
  writeFileSync(benchFile('results/server.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, server }, null, 2));
}

if (ONLY.has('scorer')) {
  const scorer = await runScorerBenchmarks();
  console.log('\nBroker scorer, end to end (Avro files -> JSONL)');
  for (const r of scorer) console.log(`  ${r.what.padEnd(100)} ${r.value}`);
  writeFileSync(benchFile('results/scorer.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, scorer }, null, 2));
}

if (ONLY.has('scale') && process.env.SIEVE_BENCH_SCALE_API) {
  // the API rows alone, over a copy of a store a scale run kept (the run adds users and labels to the store it serves)
  const api = await runScaleApiOnCopy(process.env.SIEVE_BENCH_SCALE_API);
  console.log(`\nScale: the API over ${api.n} alerts (a copy of ${process.env.SIEVE_BENCH_SCALE_API})`);
  for (const x of api.rows) console.log(`    ${x.what.padEnd(86)} ${x.value}`);
  writeFileSync(benchFile('results/scale-api.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, store: process.env.SIEVE_BENCH_SCALE_API, n: api.n, api: api.rows }, null, 2));
} else if (ONLY.has('scale')) {
  // SIEVE_BENCH_SCALE: pool sizes (half ZTF, half Rubin); SIEVE_BENCH_SCALE_DIR: where the stores go (deleted after)
  const sizes = (process.env.SIEVE_BENCH_SCALE ?? '10000,100000,1000000').split(',').map(Number);
  const dir = process.env.SIEVE_BENCH_SCALE_DIR ?? path.join(tmpdir(), `sieve-bench-scale-${process.pid}`);
  console.log(`\nScale: simulated pools of ${sizes.join(', ')} alerts (half ZTF, half Rubin) through the CLI, one process per step (${dir})`);
  try {
    const r = runScaleSteps(sizes, dir, (l) => console.log(l));
    const e = exponents(r.steps.filter((s) => !s.step.startsWith('simulate')));
    console.log('  growth exponents (CPU-seconds; 1 is linear):');
    for (const step of [...new Set(e.map((x) => x.step))]) console.log(`    ${step.padEnd(44)} ${e.filter((x) => x.step === step).map((x) => `${x.from / 1000}k->${x.to / 1000}k ${x.exponent.toFixed(2)}`).join(', ')}`);
    const largest = Math.max(...sizes);
    console.log(`  stored bytes per alert by kind (${sizes.join(' / ')} alerts):`);
    for (const kind of [...new Set(r.storage.map((x) => x.kind))]) console.log(`    ${kind.padEnd(70)} ${sizes.map((n) => r.storage.find((x) => x.kind === kind && x.n === n)!.bytesPerAlert.toFixed(0)).join(' / ')}`);
    const api = await runScaleApi(r.dbOf.get(largest)!, largest);
    console.log(`  the API over the ${largest}-alert store:`);
    for (const x of api) console.log(`    ${x.what.padEnd(86)} ${x.value}`);
    writeFileSync(benchFile('results/scale.json'), JSON.stringify({ date: new Date().toISOString(), node: process.version, sizes, steps: r.steps, exponents: e, storage: r.storage, api }, null, 2));
  } finally {
    if (!process.env.SIEVE_BENCH_SCALE_KEEP) rmSync(dir, { recursive: true, force: true });
  }
}
