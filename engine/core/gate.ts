import { Random, figureOfMerit, rocAuc, type BinaryCounts } from '../../models/index.ts';

export type GateMetric = 'fom' | 'accuracy' | 'f1' | 'auc';

/** A metric's value on the held-out set with its bootstrap interval. */
export interface Interval {
  value: number;
  low: number;
  high: number;
}

/**
 * The promotion decision, kept with the version: a challenger is compared with the deployed champion on
 * the same held-out objects, resampled together (paired bootstrap over objects).
 */
export interface GateReport {
  metric: GateMetric;
  /** Held-out objects per class (the smallest decides whether the set can decide anything). */
  heldOutObjects: Record<string, number>;
  minPerClass: number;
  /** Too few held-out objects of some class to decide: a version deployed then is provisional. */
  tooSmall: boolean;
  challenger: Interval | null;
  champion: (Interval & { version: number }) | null;
  /** challenger - champion, paired. */
  difference: Interval | null;
  /** How much worse (in the metric) the challenger may be at the low end of its interval and still deploy. */
  tolerance: number;
  resamples: number;
  confidence: number;
  decision: 'deploy' | 'deploy-provisional' | 'keep';
  reason: string;
}

function metricOf(metric: GateMetric, truth: Int32Array, score: Float64Array, weight: Float64Array, threshold: number): number {
  if (metric === 'auc') {
    // the weighted Mann-Whitney statistic: resampled rows counted as often as they were drawn
    const t: number[] = [];
    const s: number[] = [];
    for (let i = 0; i < truth.length; i++) for (let k = 0; k < weight[i]; k++) {
      t.push(truth[i]);
      s.push(score[i]);
    }
    return rocAuc(t, s);
  }
  const c: BinaryCounts = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < truth.length; i++) {
    const w = weight[i];
    if (w === 0) continue;
    const p = score[i] >= threshold;
    if (truth[i] === 1) p ? (c.tp += w) : (c.fn += w);
    else p ? (c.fp += w) : (c.tn += w);
  }
  if (metric === 'accuracy') return (c.tp + c.tn) / Math.max(1, c.tp + c.tn + c.fp + c.fn);
  if (metric === 'f1') return c.tp === 0 ? 0 : (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
  return figureOfMerit(c);
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export interface GateInput {
  metric: GateMetric;
  /** Held-out rows: true class (0/1), the object each row belongs to, and the class names. */
  truth: Int32Array;
  /** The class of each row for counting held-out objects per class, when `truth` is not it (K classes). */
  classOfRow?: Int32Array;
  objects: readonly string[];
  classNames: readonly string[];
  challengerScore: Float64Array;
  champion: { version: number; score: Float64Array; provisional: boolean } | null;
  threshold?: number;
  minPerClass?: number;
  tolerance?: number;
  resamples?: number;
  confidence?: number;
  seed?: number;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const fmtI = (i: Interval) => `${fmt(i.value)} [${fmt(i.low)}, ${fmt(i.high)}]`;

/**
 * Decides whether a retrained model replaces the deployed one. Objects (not rows: the alerts of one object
 * are not independent) are resampled with replacement; both models are scored on each resample, so the
 * difference's interval is paired. A challenger deploys when the held-out set has enough objects of each
 * class and the low end of the difference's interval is above -tolerance (non-inferiority); with too few,
 * the first version (or a challenger replacing a provisional one that it does not do worse than) is
 * deployed as provisional, and a trusted champion is never replaced.
 */
export function promotionGate(g: GateInput): GateReport {
  const threshold = g.threshold ?? 0.5;
  const minPerClass = g.minPerClass ?? 30;
  const tolerance = g.tolerance ?? 0.02;
  const B = g.resamples ?? 1000;
  const confidence = g.confidence ?? 0.95;
  const objectIndex = new Map<string, number>();
  const rowObject = Int32Array.from(g.objects, (o) => {
    let k = objectIndex.get(o);
    if (k === undefined) objectIndex.set(o, (k = objectIndex.size));
    return k;
  });
  const perClass: Record<string, number> = Object.fromEntries(g.classNames.map((c) => [c, 0]));
  const seen = new Set<number>();
  const classOf = g.classOfRow ?? g.truth;
  for (let i = 0; i < g.truth.length; i++) if (!seen.has(rowObject[i])) {
    seen.add(rowObject[i]);
    perClass[g.classNames[classOf[i]]]++;
  }
  const tooSmall = Object.values(perClass).some((n) => n < minPerClass);
  const nObj = objectIndex.size;
  const rowsOf: number[][] = Array.from({ length: nObj }, () => []);
  rowObject.forEach((o, i) => rowsOf[o].push(i));
  const ones = new Float64Array(g.truth.length).fill(1);
  const base = { metric: g.metric, heldOutObjects: perClass, minPerClass, tooSmall, tolerance, resamples: B, confidence };
  if (nObj === 0) {
    const first = g.champion === null;
    return { ...base, challenger: null, champion: null, difference: null, decision: first ? 'deploy-provisional' : 'keep',
      reason: first ? 'first version; no held-out objects yet: deployed as provisional' : 'no held-out objects to compare on; kept as a candidate' };
  }
  const rng = new Random(g.seed ?? 12345);
  const rand = () => rng.next();
  const w = new Float64Array(g.truth.length);
  const a = new Float64Array(B);
  const b = new Float64Array(B);
  const d = new Float64Array(B);
  for (let r = 0; r < B; r++) {
    w.fill(0);
    for (let k = 0; k < nObj; k++) for (const i of rowsOf[Math.floor(rand() * nObj)]) w[i]++;
    a[r] = metricOf(g.metric, g.truth, g.challengerScore, w, threshold);
    if (g.champion) {
      b[r] = metricOf(g.metric, g.truth, g.champion.score, w, threshold);
      d[r] = a[r] - b[r];
    }
  }
  const alpha = (1 - confidence) / 2;
  const interval = (value: number, samples: Float64Array): Interval => {
    const s = Float64Array.from(samples.filter(Number.isFinite)).sort();
    return s.length ? { value, low: quantile(s, alpha), high: quantile(s, 1 - alpha) } : { value, low: NaN, high: NaN };
  };
  const challenger = interval(metricOf(g.metric, g.truth, g.challengerScore, ones, threshold), a);
  const size = `${nObj} held-out objects (${Object.entries(perClass).map(([c, n]) => `${n} ${c}`).join(', ')})`;
  if (!g.champion) {
    return { ...base, challenger, champion: null, difference: null, decision: tooSmall ? 'deploy-provisional' : 'deploy',
      reason: `first version: ${g.metric} ${fmtI(challenger)} on ${size}${tooSmall ? `; fewer than ${minPerClass} per class: provisional` : ''}` };
  }
  const champion = { ...interval(metricOf(g.metric, g.truth, g.champion.score, ones, threshold), b), version: g.champion.version };
  const difference = interval(challenger.value - champion.value, d);
  const vs = `${g.metric} ${fmtI(challenger)} vs v${champion.version} ${fmtI(champion)}, difference ${fmtI(difference)} (paired bootstrap, ${B} resamples of ${size})`;
  let decision: GateReport['decision'];
  let why: string;
  if (tooSmall) {
    if (g.champion.provisional && difference.value >= 0) {
      decision = 'deploy-provisional';
      why = `held-out set too small to decide (under ${minPerClass} per class); replaces provisional v${champion.version}, which it does not do worse than: provisional`;
    } else {
      decision = 'keep';
      why = `held-out set too small to decide (under ${minPerClass} per class): kept as a candidate`;
    }
  } else if (difference.low >= -tolerance && difference.value >= 0) {
    decision = 'deploy';
    why = `not worse: the difference's ${Math.round(confidence * 100)}% interval starts above -${tolerance}`;
  } else {
    decision = 'keep';
    why = difference.high < 0 ? 'worse than the deployed version: kept as a candidate' : `could be worse by more than ${tolerance}: kept as a candidate`;
  }
  return { ...base, challenger, champion, difference, decision, reason: `${vs}; ${why}` };
}
