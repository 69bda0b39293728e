import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { candidateFromLightCurve, LightCurveBuilder, readAlertFile, simulateObject, ZTF_BANDS, type Alert } from '../../datasets/index.ts';
import { MLPClassifier, RandomForestClassifier, Random, binaryReport, type ClassifierModel, type Matrix } from '../../models/index.ts';
import { MC_STRATEGIES, strategyScores } from '../core/strategies.ts';
import { mlpParams } from '../core/training.ts';
import { csvRows } from '../core/csv.ts';
import { builtinModule, moduleFromDeclaration, parseDeclaration, type ModuleDefinition } from '../core/modules/index.ts';
import { numericCell, readCsv } from '../core/csvRead.ts';
import { activeLearningSpec, type SeedCurvePoint } from '../adapters/plot/charts.ts';
import { writeChart } from '../adapters/plot/render.ts';
import { subsamplePositives } from './sampling.ts';

/** The strategies `experiment al` compares with random sampling (bald and predictive-entropy: mlp modules). */
export const AL_STRATEGIES = ['uncertainty', 'margin', 'entropy', 'bald', 'predictive-entropy', 'random'] as const;
/** Where `experiment al` looks for labelled alerts when --data is not given (the TNS-labelled alerts). */
export const DEFAULT_AL_DATA = '../shared/data/tns';
export type AlStrategy = (typeof AL_STRATEGIES)[number];

export interface AlExperimentOptions {
  /** Shipped modules' names or declaration files (default early-snia); several run side by side on the same seeds. */
  module?: string | string[];
  /** Each is compared with random sampling on the same seeds (random runs once). */
  strategies: AlStrategy[];
  seeds: number;
  firstSeed: number;
  /** 'sim', a labelled feature table (.csv), or alert files and folders with a label (TNS class or --label-column). */
  data: string | string[];
  labelColumn?: string;
  positive?: string;
  nInitial: number;
  nQueries: number;
  /** Queries per retraining (default 1, the paper's loop); a network retrains less often with more. */
  batch?: number;
  testFraction: number;
  nEstimators: number;
  simN: number;
  /** Subsample the positives (SN Ia) to this fraction of the data set (seeded), e.g. the paper's 6.7%. */
  positiveFraction?: number;
  out: string;
}

interface Dataset {
  X: Matrix;
  y: Uint8Array;
  description: string;
}

/**
 * The module of the experiment: a shipped module by name, or a declaration file (.json, .yaml). Its own
 * mapping of catalogue classes (TNS, simulations) to its labels decides which alerts are positive.
 */
export function experimentModule(nameOrFile: string): ModuleDefinition {
  if (/\.(json|ya?ml)$/i.test(nameOrFile)) {
    if (!existsSync(nameOrFile)) throw new Error(`--module ${nameOrFile}: no such declaration file`);
    return moduleFromDeclaration(parseDeclaration(readFileSync(nameOrFile, 'utf8'), nameOrFile));
  }
  return builtinModule(nameOrFile);
}

const catalogPositive = (def: ModuleDefinition) => (label: string) => {
  const l = def.catalogLabel(label);
  return l !== null && def.labelToClass(l) === def.positiveClass;
};

/** Rows of the alerts the module's declared cuts select (for early SN Ia: a rising fit in some band). */
function fromAlerts(alerts: Alert[], def: ModuleDefinition, description: string, isPositive: (label: string) => boolean = catalogPositive(def)): Dataset {
  const ex = def.extractor();
  const d = ex.spec.columns.length;
  const f = new Float64Array(d);
  const rows: number[][] = [];
  const y: number[] = [];
  for (const a of alerts) {
    ex.extract(a, f);
    if (!def.declaredCuts(a, f)) continue;
    rows.push(Array.from(f));
    y.push(isPositive(a.label ?? '') ? 1 : 0);
  }
  const data = new Float32Array(rows.length * d);
  rows.forEach((r, i) => data.set(r, i * d));
  return { X: { data, rows: rows.length, cols: d }, y: Uint8Array.from(y), description: `${description}: ${rows.length} alerts passing ${def.name}'s cuts, ${y.filter((v) => v).length} ${def.broker.positive}` };
}

/** Alert files (or folders of them): each alert's label is its TNS class, or the value of an alert field. */
async function alertDataset(inputs: readonly string[], def: ModuleDefinition, labelColumn: string | undefined, positive: string | undefined): Promise<Dataset> {
  const files: string[] = [];
  for (const p of inputs) {
    if (!existsSync(p)) throw new Error(`--data ${p}: no such file or folder (give alert files or folders with labels, a labelled table .csv, or 'sim'${p === DEFAULT_AL_DATA ? `; ${DEFAULT_AL_DATA} is the default, the TNS-labelled alerts of ../shared` : ''})`);
    if (statSync(p).isDirectory()) files.push(...readdirSync(p).filter((f) => /\.(parquet|avro|jsonl|json)(\.gz)?$/i.test(f)).sort().map((f) => path.join(p, f)));
    else files.push(p);
  }
  if (!files.length) throw new Error(`--data ${inputs.join(' ')}: no alert files (.parquet, .avro, .jsonl) there`);
  const alerts: Alert[] = [];
  for (const f of files) {
    const r = await readAlertFile(f);
    if (r.errors.length) throw new Error(`--data: ${r.errors[0].message}${r.errors.length > 1 ? ` (and ${r.errors.length - 1} more bad records)` : ''}`);
    for (const a of r.alerts) {
      const raw = labelColumn === undefined ? a.label : (a.extra[labelColumn] ?? (a.candidate as unknown as Record<string, unknown>)[labelColumn]);
      if (raw === undefined || raw === null || raw === '') continue;
      alerts.push({ ...a, label: String(raw) });
    }
  }
  if (!alerts.length) throw new Error(`--data ${inputs.join(' ')}: no alert carries a label${labelColumn ? ` in field '${labelColumn}'` : ' (a TNS class; name the field with --label-column)'}`);
  const isPositive = positive === undefined ? catalogPositive(def) : (l: string) => l === positive;
  return fromAlerts(alerts, def, `${alerts.length} labelled alerts from ${files.length} file(s)`, isPositive);
}

/**
 * Simulated early alerts: each object's light curve cut at a random night between its first detection and
 * 30 days later, as the stream delivers it while the transient still rises.
 */
function simDataset(n: number, seed: number, def: ModuleDefinition): Dataset {
  const rng = new Random(seed, 0xa1);
  const alerts: Alert[] = [];
  if (def.survey === 'lsst') {
    // the LSST mode issues each object's alert 0-30 days after its first detection itself
    for (let i = 0; i < n; i++) {
      const o = simulateObject(seed, i, { survey: 'lsst', earlyAlerts: true });
      if (o.alert.lightCurve.detected.some((d) => d === 1)) alerts.push(o.alert);
    }
    return fromAlerts(alerts, def, `${n} simulated Rubin/LSST objects, alerts 0-30 days after their first detection`);
  }
  for (let i = 0; i < n; i++) {
    const o = simulateObject(seed, i);
    const lc = o.alert.lightCurve;
    let first = -1;
    for (let k = 0; k < lc.jd.length; k++) if (lc.detected[k]) {
      first = k;
      break;
    }
    if (first < 0) continue;
    const cut = lc.jd[first] + rng.uniform(0, 30);
    const b = new LightCurveBuilder(ZTF_BANDS, 'mag');
    for (let k = 0; k < lc.jd.length; k++) if (lc.jd[k] <= cut) b.addMagnitude({ jd: lc.jd[k], band: lc.band[k], mag: lc.mag[k], magErr: lc.magErr[k], limitMag: lc.limitMag[k] });
    const early = b.build();
    // the alert of that night: its detection summary from the cut light curve (jd, ndethist, ...)
    const c = o.alert.candidate;
    const candidate = candidateFromLightCurve(early, { rb: c.rb, drb: c.drb, sgscore1: c.sgscore1, distpsnr1: c.distpsnr1, ssdistnr: c.ssdistnr, classtar: c.classtar });
    alerts.push({ ...o.alert, lightCurve: early, candidate });
  }
  return fromAlerts(alerts, def, `${n} simulated objects cut at an early epoch`);
}

function tableDataset(file: string, labelColumn: string, positive: string): Dataset {
  const { header, rows } = readCsv(file);
  const li = header.indexOf(labelColumn);
  if (li < 0) throw new Error(`${file}: no column '${labelColumn}'`);
  const cols = header.map((_, i) => i).filter((i) => i !== li && !['objectId', 'candid', 'passes_cuts', 'row', 'TNS'].includes(header[i]));
  const data = new Float32Array(rows.length * cols.length);
  rows.forEach((r, k) => cols.forEach((c, j) => (data[k * cols.length + j] = numericCell(r[c], file, k + 2, header[c]))));
  return { X: { data, rows: rows.length, cols: cols.length }, y: Uint8Array.from(rows, (r) => (r[li] === positive ? 1 : 0)), description: `${file}: ${rows.length} rows, positive ${labelColumn} = ${positive}` };
}

function rowsOf(X: Matrix, idx: readonly number[]): Matrix {
  const d = X.cols;
  const data = new Float32Array(idx.length * d);
  idx.forEach((r, k) => data.set(X.data.subarray(r * d, r * d + d), k * d));
  return { data, rows: idx.length, cols: d };
}

export interface CurvePoint {
  strategy: string;
  seed: number;
  nlabels: number;
  accuracy: number;
  efficiency: number;
  purity: number;
  fom: number;
}

/**
 * The module's model on the labelled rows: the loop's random forest (`--trees`, scikit-learn's defaults, as in
 * Leoni et al.), or the declared network. Neither weighs its classes: at the 0.5 threshold the FoM is read at,
 * balanced weights trade purity for efficiency, and the comparison is of the models, not of their weighting.
 */
function fitAlModel(def: ModuleDefinition, X: Matrix, y: Int32Array, seed: number, o: AlExperimentOptions): Promise<ClassifierModel> | ClassifierModel {
  if (def.model.type === 'mlp') return new MLPClassifier({ ...mlpParams(def, { seed }), classWeight: null }).fit(X, y, 2);
  return new RandomForestClassifier({ nEstimators: o.nEstimators, seed }).fit(X, y, 2);
}

/**
 * One run of the Leoni et al. (2022) loop: a fixed test set; 10 initial labels (5 SN Ia, 5 other) from the
 * pool; then the strategy's most informative alerts (or random ones), `batch` per loop (one in the paper),
 * until nQueries or an empty pool, retraining the module's model (a random forest, or its declared network)
 * and measuring the test set after every retraining.
 */
export async function runAlLoop(ds: Dataset, model: ModuleDefinition, strategy: AlStrategy, seed: number, o: AlExperimentOptions): Promise<CurvePoint[]> {
  const n = ds.X.rows;
  // the test set is the same for every seed and strategy
  const split = new Random(12345, 0x7e57);
  const isTest = Uint8Array.from({ length: n }, () => (split.next() < o.testFraction ? 1 : 0));
  const test = Array.from({ length: n }, (_, i) => i).filter((i) => isTest[i]);
  const pool = Array.from({ length: n }, (_, i) => i).filter((i) => !isTest[i]);
  const rng = new Random(seed, 0x1ab);
  const shuffled = [...pool];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  const half = Math.floor(o.nInitial / 2);
  const train = [...shuffled.filter((i) => ds.y[i] === 1).slice(0, half), ...shuffled.filter((i) => ds.y[i] === 0).slice(0, o.nInitial - half)];
  if (train.length < o.nInitial) throw new Error(`not enough alerts of both classes for ${o.nInitial} initial labels`);
  const remaining = new Set(pool.filter((i) => !train.includes(i)));
  const Xtest = rowsOf(ds.X, test);
  const ytest = Int32Array.from(test, (i) => ds.y[i]);
  const out: CurvePoint[] = [];
  const batch = o.batch ?? 1;
  for (let loop = 0; ; loop++) {
    const clf = await fitAlModel(model, rowsOf(ds.X, train), Int32Array.from(train, (i) => ds.y[i]), seed * 1000 + loop, o);
    const pred = clf.predict(Xtest);
    const r = binaryReport(ytest, pred);
    out.push({ strategy, seed, nlabels: train.length, accuracy: r.accuracy, efficiency: r.efficiency, purity: r.purity, fom: r.fom });
    const asked = train.length - o.nInitial;
    if (asked >= o.nQueries || remaining.size === 0) break;
    const cand = [...remaining];
    const want = Math.min(batch, o.nQueries - asked, cand.length);
    const picks: number[] = [];
    if (strategy === 'random') {
      for (let k = 0; k < want; k++) picks.push(...cand.splice(Math.floor(rng.next() * cand.length), 1));
    } else {
      const Xc = rowsOf(ds.X, cand);
      const mc = MC_STRATEGIES.has(strategy) && clf instanceof MLPClassifier ? clf.predictProbaMC(Xc) : undefined;
      if (MC_STRATEGIES.has(strategy) && !mc) throw new Error(`${strategy} needs an mlp module (${model.name} is a ${model.model.type})`);
      const s = strategyScores(strategy, { proba: clf.predictProba(Xc), nClasses: 2, n: cand.length, ...(mc ? { mc } : {}) });
      // the highest scores, ties to the earlier candidate (one query: the first maximum, as before)
      const v = (k: number) => (Number.isNaN(s[k]) ? -Infinity : s[k]);
      const order = Array.from({ length: cand.length }, (_, k) => k).sort((a, b) => v(b) - v(a) || a - b);
      for (let k = 0; k < want; k++) picks.push(cand[order[k]]);
    }
    for (const pick of picks) {
      remaining.delete(pick);
      train.push(pick);
    }
  }
  return out;
}

/** The labelled rows of one module: alert files, a feature table or simulated alerts, subsampled as asked. */
async function moduleDataset(def: ModuleDefinition, inputs: readonly string[], o: AlExperimentOptions): Promise<Dataset> {
  let ds: Dataset;
  if (inputs.length === 1 && inputs[0] === 'sim') ds = simDataset(o.simN, 1, def);
  else if (inputs.length === 1 && /\.csv$/i.test(inputs[0])) {
    if (!o.labelColumn || o.positive === undefined) throw new Error(`--data ${inputs[0]}: a feature table needs --label-column and --positive`);
    if (!existsSync(inputs[0])) throw new Error(`--data ${inputs[0]}: no such file`);
    ds = tableDataset(inputs[0], o.labelColumn, o.positive);
  } else ds = await alertDataset(inputs, def, o.labelColumn, o.positive);
  if (o.positiveFraction === undefined) return ds;
  const keep = subsamplePositives(ds.y, o.positiveFraction, 7);
  return {
    X: rowsOf(ds.X, keep), y: Uint8Array.from(keep, (i) => ds.y[i]),
    description: `${ds.description}; SN Ia subsampled to ${(100 * o.positiveFraction).toFixed(1)}%: ${keep.length} alerts, ${keep.filter((i) => ds.y[i]).length} SN Ia`,
  };
}

export async function runAlExperiment(o: AlExperimentOptions): Promise<{ summary: Record<string, unknown>; curves: CurvePoint[] }> {
  mkdirSync(o.out, { recursive: true });
  const inputs = typeof o.data === 'string' ? [o.data] : o.data;
  const names = o.module === undefined ? ['early-snia'] : typeof o.module === 'string' ? [o.module] : o.module;
  const defs = names.map(experimentModule);
  for (const def of defs) if (def.kind !== 'classifier' || def.classNames.length !== 2) throw new Error(`experiment al: ${def.name} is not a two-class classifier module`);
  if (new Set(defs.map((d) => d.name)).size !== defs.length) throw new Error(`--module names a module twice (${names.join(', ')})`);
  const asked: AlStrategy[] = [...new Set<AlStrategy>([...o.strategies.filter((st) => st !== 'random'), 'random'])];
  // several modules: curves are named "<module>: <strategy>", each compared with its own random sampling
  const label = (def: ModuleDefinition, st: string) => (defs.length > 1 ? `${def.name}: ${st}` : st);
  const datasets = new Map<string, Dataset>();
  const runs: Array<{ def: ModuleDefinition; ds: Dataset; strategies: AlStrategy[] }> = [];
  const skipped: Record<string, string[]> = {};
  for (const def of defs) {
    // modules with the same features and cuts (e.g. a forest and a network) share one data set
    const spec = def.extractor().spec;
    const key = JSON.stringify([spec.parameters, spec.columns]);
    const ds = datasets.get(key) ?? (await moduleDataset(def, inputs, o));
    datasets.set(key, ds);
    const mlp = def.model.type === 'mlp';
    const strategies = asked.filter((st) => mlp || !MC_STRATEGIES.has(st));
    if (strategies.length < asked.length) skipped[def.name] = asked.filter((st) => !strategies.includes(st));
    if (defs.length === 1 && strategies.length < asked.length) {
      const missing = skipped[def.name];
      throw new Error(`${missing.join(', ')} need${missing.length === 1 ? 's' : ''} the dropout passes of an mlp module; ${def.name} is a ${def.model.type}`);
    }
    runs.push({ def, ds, strategies });
  }
  const curves: CurvePoint[] = [];
  for (const run of runs) for (const strategy of run.strategies) for (let s = o.firstSeed; s < o.firstSeed + o.seeds; s++) {
    for (const c of await runAlLoop(run.ds, run.def, strategy, s, o)) curves.push({ ...c, strategy: label(run.def, strategy) });
  }
  writeFileSync(path.join(o.out, 'curves.csv'), csvRows([['strategy', 'seed', 'nlabels', 'accuracy', 'efficiency', 'purity', 'fom'],
    ...curves.map((c) => [c.strategy, c.seed, c.nlabels, c.accuracy, c.efficiency, c.purity, c.fom])]));
  const meanCurve = (strategy: string, metric: keyof CurvePoint) => {
    const byN = new Map<number, number[]>();
    for (const c of curves) if (c.strategy === strategy) (byN.get(c.nlabels) ?? byN.set(c.nlabels, []).get(c.nlabels)!).push(c[metric] as number);
    const ns = [...byN.keys()].sort((a, b) => a - b).filter((k) => byN.get(k)!.length === o.seeds);
    return { x: ns, y: ns.map((k) => byN.get(k)!.reduce((a, b) => a + b, 0) / o.seeds) };
  };
  const first = runs[0];
  // the paper's final FoM after 300 queries (Leoni et al. 2022) where this run reproduces its set-up
  const paper = o.positiveFraction !== undefined && Math.abs(o.positiveFraction - 0.067) < 0.001 && defs.length === 1 && first.def.name === 'early-snia';
  const labels = runs.flatMap((r) => r.strategies.map((st) => label(r.def, st)));
  await writeChart(activeLearningSpec({
    curves: curves as unknown as SeedCurvePoint[], metrics: ['fom', 'accuracy', 'efficiency', 'purity'],
    title: `Active learning, ${defs.map((d) => d.title).join(' vs ')}: ${asked.filter((st) => st !== 'random').join(', ') || 'random'} vs random`,
    subtitle: `${[...new Set(runs.map((r) => r.ds.description))].join('; ')}; ${o.batch && o.batch > 1 ? `${o.batch} queries per retraining; ` : ''}mean of ${o.seeds} seed(s), band ±1 standard deviation`,
    ...(paper ? { anchors: [
      { strategy: 'uncertainty', metric: 'fom', nlabels: o.nInitial + 300, value: 0.395, label: 'Leoni et al. 2022, uncertainty' },
      { strategy: 'random', metric: 'fom', nlabels: o.nInitial + 300, value: 0.160, label: 'Leoni et al. 2022, random' },
    ] } : {}),
  }), path.join(o.out, 'curves'));
  const final: Record<string, Record<string, number>> = {};
  for (const st of labels) {
    const last = (m: keyof CurvePoint) => {
      const c = meanCurve(st, m);
      return c.y[c.y.length - 1];
    };
    final[st] = { nlabels: meanCurve(st, 'fom').x.at(-1) ?? 0, accuracy: last('accuracy'), efficiency: last('efficiency'), purity: last('purity'), fom: last('fom') };
  }
  // labels each strategy needs to reach its module's random sampling's final FoM
  const labelsToMatchRandom: Record<string, number | null> = {};
  for (const run of runs) for (const st of run.strategies) if (st !== 'random') {
    const c = meanCurve(label(run.def, st), 'fom');
    const k = c.y.findIndex((v) => v >= final[label(run.def, 'random')].fom);
    labelsToMatchRandom[label(run.def, st)] = k >= 0 ? c.x[k] : null;
  }
  const summary = {
    data: [...new Set(runs.map((r) => r.ds.description))].join('; '), seeds: o.seeds, ...(defs.length > 1 ? { modules: defs.map((d) => `${d.name} (${d.model.type})`) } : {}),
    ...(o.batch && o.batch > 1 ? { queriesPerRetraining: o.batch } : {}), strategies: labels, final, labels_to_match_random_final_fom: labelsToMatchRandom,
    ...(Object.keys(skipped).length ? { not_run: Object.fromEntries(Object.entries(skipped).map(([m, st]) => [m, `${st.join(', ')}: needs an mlp module`])) } : {}),
  };
  writeFileSync(path.join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return { summary, curves };
}
