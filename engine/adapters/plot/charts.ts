import type { VegaLiteSpec } from './render.ts';

/**
 * The figures Sieve draws, as Vega-Lite specifications with their data inline. Titles and axis labels come from
 * the data and the module (its name, its class names, the metric), never from one module's wording.
 */

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const FONT = 'DejaVu Sans';
const CONFIG = { font: FONT, view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 }, title: { fontSize: 14 } };

const METRIC_TITLES: Record<string, string> = {
  fom: 'figure of merit (W = 3)', accuracy: 'accuracy', efficiency: 'efficiency (recall)', purity: 'purity (precision)', f1: 'F1', auc: 'ROC AUC',
};

export interface SeedCurvePoint {
  strategy: string;
  seed: number;
  nlabels: number;
  [metric: string]: number | string;
}

function meanSd(values: number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd };
}

/**
 * Active-learning curves: each metric against the number of labels, the mean over seeds as a line and ±1
 * standard deviation as a band, one colour per strategy, random sampling dashed. `anchors` marks published
 * values (e.g. the paper's final FoM) where the run reproduces the paper's set-up.
 */
export function activeLearningSpec(o: {
  curves: readonly SeedCurvePoint[]; metrics: readonly string[]; title: string; subtitle?: string;
  anchors?: Array<{ strategy: string; metric: string; nlabels: number; value: number; label: string }>;
}): VegaLiteSpec {
  const groups = new Map<string, number[]>();
  for (const c of o.curves) for (const m of o.metrics) {
    const v = c[m];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const key = `${c.strategy}\u0000${m}\u0000${c.nlabels}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(v);
  }
  const data = [...groups.entries()].map(([k, vs]) => {
    const [strategy, metric, n] = k.split('\u0000');
    const { mean, sd } = meanSd(vs);
    return { kind: 'curve', strategy, metric: METRIC_TITLES[metric] ?? metric, labels: Number(n), mean, low: mean - sd, high: mean + sd, seeds: vs.length };
  });
  const strategies = [...new Set(o.curves.map((c) => c.strategy))];
  const dash = { field: 'strategy', type: 'nominal', scale: { domain: strategies, range: strategies.map((s) => (s === 'random' || s.endsWith(': random') ? [6, 4] : [1, 0])) }, legend: null };
  // several modules side by side give long names: three to a row, and the legend's title in full
  const color = {
    field: 'strategy', type: 'nominal', title: 'strategy (random dashed; diamonds: published values)', scale: { domain: strategies },
    legend: { orient: 'top', direction: 'horizontal', titleLimit: 600, ...(strategies.length > 3 ? { columns: 3 } : {}) },
  };
  const curve = { filter: "datum.kind === 'curve'" };
  const layers: VegaLiteSpec[] = [
    { transform: [curve], mark: { type: 'area', opacity: 0.18 }, encoding: { x: { field: 'labels', type: 'quantitative', title: 'labels' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color } },
    { transform: [curve], mark: { type: 'line', strokeWidth: 2 }, encoding: { x: { field: 'labels', type: 'quantitative' }, y: { field: 'mean', type: 'quantitative', title: null }, color, strokeDash: dash } },
  ];
  // published values, in the facet of their metric only (they are rows of the same data, kind 'anchor')
  const anchors = (o.anchors ?? []).map((a) => ({ kind: 'anchor', strategy: a.strategy, metric: METRIC_TITLES[a.metric] ?? a.metric, labels: a.nlabels, mean: a.value, label: a.label }));
  if (anchors.length) {
    layers.push({
      transform: [{ filter: "datum.kind === 'anchor'" }],
      mark: { type: 'point', shape: 'diamond', size: 90, filled: true },
      encoding: { x: { field: 'labels', type: 'quantitative' }, y: { field: 'mean', type: 'quantitative' }, color, tooltip: [{ field: 'label' }] },
    });
  }
  return {
    $schema: SCHEMA,
    // a long description wraps at its '; ' (Vega draws each array item on its own line)
    title: { text: o.title, ...(o.subtitle ? { subtitle: o.subtitle.split('; ') } : {}) },
    data: { values: [...data, ...anchors] },
    facet: { field: 'metric', type: 'nominal', title: null, sort: o.metrics.map((m) => METRIC_TITLES[m] ?? m) },
    columns: Math.min(2, o.metrics.length),
    spec: { width: 320, height: 200, layer: layers },
    resolve: { scale: { y: 'independent' } },
    config: CONFIG,
  };
}

/** Anomaly discovery: rare objects found against alerts shown, mean over seeds with ±1 sd, one colour per method. */
export function discoverySpec(o: { curves: ReadonlyArray<{ method: string; seed: number; curve: ArrayLike<number> }>; title: string; subtitle?: string }): VegaLiteSpec {
  const groups = new Map<string, number[]>();
  for (const c of o.curves) Array.from(c.curve).forEach((v, k) => {
    const key = `${c.method}\u0000${k + 1}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(v);
  });
  const data = [...groups.entries()].map(([key, vs]) => {
    const [method, shown] = key.split('\u0000');
    const { mean, sd } = meanSd(vs);
    return { method: method === 'aad' ? 'AAD (with expert feedback)' : method === 'isolation_forest' ? 'isolation forest' : method, shown: Number(shown), mean, low: Math.max(0, mean - sd), high: mean + sd };
  });
  const color = { field: 'method', type: 'nominal', title: 'method', legend: { orient: 'top', direction: 'horizontal' } };
  return {
    $schema: SCHEMA, title: { text: o.title, ...(o.subtitle ? { subtitle: o.subtitle.split('; ') } : {}) }, width: 480, height: 300, data: { values: data },
    layer: [
      { mark: { type: 'area', opacity: 0.18 }, encoding: { x: { field: 'shown', type: 'quantitative', title: 'alerts shown to the expert' }, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, color } },
      { mark: { type: 'line', strokeWidth: 2 }, encoding: { x: { field: 'shown', type: 'quantitative' }, y: { field: 'mean', type: 'quantitative', title: 'rare objects found' }, color } },
    ],
    config: CONFIG,
  };
}

/** A module's learning curve from the registry: the gate metric of each version with its interval; deployments marked. */
export function learningCurveSpec(o: {
  module: string; metric: string;
  points: ReadonlyArray<{ version: number; nLabels: number; value: number | null; low: number | null; high: number | null; deployed: boolean; provisional: boolean }>;
}): VegaLiteSpec {
  const data = o.points.filter((p) => p.value !== null).map((p) => ({ ...p, status: p.deployed ? (p.provisional ? 'deployed (provisional)' : 'deployed') : 'not deployed' }));
  const y = METRIC_TITLES[o.metric] ?? o.metric;
  // labelled objects are counts from 0; an axis always spans some (versions imported with no labels sit at 0,
  // and a zero-width domain draws one tick labelled 0.000000)
  const xMax = Math.max(1, ...data.map((p) => p.nLabels));
  const x = { field: 'nLabels', type: 'quantitative', title: 'labelled objects', scale: { domain: [0, xMax], nice: true }, axis: { format: 'd', tickMinStep: 1 } };
  return {
    $schema: SCHEMA, title: { text: `${o.module}: ${y} of each version, as the promotion gate measured it`, subtitle: 'bars: 95% bootstrap interval (held-out objects, or cross-validated while they are too few)' },
    width: 480, height: 280, data: { values: data },
    layer: [
      { mark: { type: 'rule' }, encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' } } },
      { mark: { type: 'line', color: '#999' }, encoding: { x, y: { field: 'value', type: 'quantitative', title: y, ...(o.metric === 'labels' ? {} : { scale: { domain: [0, 1] } }) } } },
      {
        mark: { type: 'point', filled: true, size: 70 },
        encoding: {
          x, y: { field: 'value', type: 'quantitative' },
          shape: { field: 'status', type: 'nominal', title: null }, color: { field: 'status', type: 'nominal', title: null },
          tooltip: [{ field: 'version' }, { field: 'value', format: '.3f' }, { field: 'low', format: '.3f' }, { field: 'high', format: '.3f' }],
        },
      },
      { transform: [{ calculate: "'v' + datum.version", as: 'v' }], mark: { type: 'text', dy: -12, fontSize: 10 }, encoding: { x, y: { field: 'value', type: 'quantitative' }, text: { field: 'v', type: 'nominal' } } },
    ],
    config: CONFIG,
  };
}

/** A confusion matrix as a heatmap with the counts written in each cell. */
export function confusionSpec(o: { title: string; classNames: readonly string[]; matrix: readonly (readonly number[])[] }): VegaLiteSpec {
  const data = o.matrix.flatMap((row, t) => row.map((n, p) => ({ truth: o.classNames[t], predicted: o.classNames[p], count: n })));
  const side = Math.max(160, 70 * o.classNames.length);
  return {
    $schema: SCHEMA, title: o.title, width: side, height: side, data: { values: data },
    encoding: { x: { field: 'predicted', type: 'nominal', sort: [...o.classNames], title: 'predicted' }, y: { field: 'truth', type: 'nominal', sort: [...o.classNames], title: 'true class' } },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'count', type: 'quantitative', scale: { scheme: 'blues' }, legend: null } } },
      { mark: { type: 'text', fontSize: 13 }, encoding: { text: { field: 'count', type: 'quantitative' }, color: { condition: { test: `datum.count > ${Math.max(...o.matrix.flat(), 1) / 2}`, value: 'white' }, value: 'black' } } },
    ],
    config: CONFIG,
  };
}

/** Feature importances as horizontal bars, largest first, with the module's feature names. */
export function importancesSpec(o: { title: string; features: ReadonlyArray<{ name: string; importance: number }>; top?: number }): VegaLiteSpec {
  const data = [...o.features].sort((a, b) => b.importance - a.importance).slice(0, o.top ?? 25);
  // a forest that never split has importances all 0: keep a readable 0-1 axis rather than one 0.000000 tick
  const max = Math.max(0, ...data.map((f) => f.importance));
  return {
    $schema: SCHEMA, title: o.title, width: 380, height: Math.max(120, 16 * data.length), data: { values: data },
    mark: 'bar',
    encoding: {
      y: { field: 'name', type: 'nominal', sort: '-x', title: null },
      x: { field: 'importance', type: 'quantitative', title: 'mean decrease in impurity (normalised)', ...(max > 0 ? {} : { scale: { domain: [0, 1] } }) },
    },
    config: CONFIG,
  };
}

/**
 * A reliability diagram: the observed frequency of the outcome against the mean predicted probability in each
 * probability bin (points sized by the bin's rows), with the diagonal of perfect calibration.
 */
export function reliabilitySpec(o: {
  title: string; subtitle?: string; predicted: string; observed: string;
  bins: ReadonlyArray<{ low: number; high: number; n: number; meanPredicted: number; observedFrequency: number }>;
}): VegaLiteSpec {
  const data = o.bins.filter((b) => b.n > 0).map((b) => ({ ...b, bin: `${b.low.toFixed(1)}-${b.high.toFixed(1)}` }));
  const x = { field: 'meanPredicted', type: 'quantitative', title: o.predicted, scale: { domain: [0, 1] } };
  const y = { field: 'observedFrequency', type: 'quantitative', title: o.observed, scale: { domain: [0, 1] } };
  return {
    $schema: SCHEMA, title: { text: o.title, ...(o.subtitle ? { subtitle: o.subtitle.split('; ') } : {}) }, width: 320, height: 320,
    layer: [
      { data: { values: [{ p: 0, q: 0 }, { p: 1, q: 1 }] }, mark: { type: 'line', color: '#999', strokeDash: [4, 4] }, encoding: { x: { field: 'p', type: 'quantitative', title: o.predicted, scale: { domain: [0, 1] } }, y: { field: 'q', type: 'quantitative', title: o.observed, scale: { domain: [0, 1] } } } },
      { data: { values: data }, mark: { type: 'line', color: '#1f77b4' }, encoding: { x, y } },
      {
        data: { values: data }, mark: { type: 'point', filled: true, color: '#1f77b4' },
        encoding: { x, y, size: { field: 'n', type: 'quantitative', title: 'rows in bin', scale: { range: [20, 300], zero: false } }, tooltip: [{ field: 'bin' }, { field: 'n' }, { field: 'meanPredicted', format: '.3f' }, { field: 'observedFrequency', format: '.3f' }] },
      },
    ],
    config: CONFIG,
  };
}
