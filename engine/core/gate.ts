import { Random, figureOfMerit, rocAuc, type BinaryCounts } from '../../models/index.ts';

export type GateMetric = 'fom' | 'accuracy' | 'f1' | 'auc';

/** A metric's value on the held-out set with its bootstrap interval. */
export interface Interval {
  value: number;
  low: number;
  high: number;
}

/** What the gate's numbers were measured on. */
export type GateEstimate = 'held-out' | 'cross-validated';

/**
 * The promotion decision, kept with the version: a challenger is compared with the deployed champion on
 * the same objects neither model has trained on, resampled together (paired bootstrap over objects).
 */
export interface GateReport {
  metric: GateMetric;
  /** Held-out objects per class (the smallest decides whether the set can decide anything). */
  heldOutObjects: Record<string, number>;
  minPerClass: number;
  /** Too few held-out objects of some class to decide: a version deployed then is provisional. */
  tooSmall: boolean;
  /**
   * What `challenger` was measured on: the held-out objects, or (held-out set too small) every labelled
   * object out of sample: held-out rows by the model itself, training rows by k-fold cross-validation over
   * objects (`folds`).
   */
  estimate?: GateEstimate;
  folds?: number;
  /** Objects per class the challenger's estimate was made on. */
  estimateObjects?: Record<string, number>;
  challenger: Interval | null;
  champion: (Interval & { version: number }) | null;
  /** challenger - champion, paired. */
  difference: Interval | null;
  /** Objects the comparison with the champion was made on (those neither had trained on). */
  comparedObjects?: number;
  /** Why the challenger is useless whatever the champion (it never predicts the positive class, or its metric is undefined); null when it is not. */
  degenerate?: string | null;
  /** How much worse (in the metric) the challenger may be at the low end of its interval and still deploy. */
  tolerance: number;
  resamples: number;
  confidence: number;
  decision: 'deploy' | 'deploy-provisional' | 'keep';
  /** The decision in one short line (for a toast, a table cell, a log line). */
  summary?: string;
  reason: string;
}

/**
 * A metric of scores against truth, each row counted `weight` times; NaN when it is undefined on these rows
 * (AUC with one class; FoM, efficiency-based F1 with no positive row).
 */
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
  const n = c.tp + c.tn + c.fp + c.fn;
  if (metric === 'accuracy') return n ? (c.tp + c.tn) / n : NaN;
  // efficiency (and so FoM and F1) needs positives to find
  if (c.tp + c.fn === 0) return NaN;
  if (metric === 'f1') return c.tp === 0 ? 0 : (2 * c.tp) / (2 * c.tp + c.fp + c.fn);
  return figureOfMerit(c);
}

function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Rows to estimate on: each row's truth (0/1; all 1 for K-class correctness), its object, and the challenger's score. */
export interface GateRows {
  truth: Int32Array;
  /** The class of each row for counting objects per class, when `truth` is not it (K classes). */
  classOfRow?: Int32Array;
  objects: readonly string[];
  challengerScore: Float64Array;
  /**
   * Rows the challenger predicts in the positive class (two classes: score >= threshold, counted when absent);
   * none makes it degenerate.
   */
  predictedPositive?: number;
}

export interface GateInput extends GateRows {
  metric: GateMetric;
  classNames: readonly string[];
  /** The positive class's name, for the messages (classNames[1] when absent). */
  positiveClass?: string;
  /** The held-out rows are `truth`/`objects`/`challengerScore`; the champion's scores on them. */
  champion: { version: number; score: Float64Array; provisional: boolean } | null;
  /**
   * When the held-out set has too few objects of a class: the challenger's out-of-sample scores over every
   * labelled object (held-out rows by the challenger, training rows out of fold) and the champion's scores
   * where it has never seen the row (NaN where it trained on it).
   */
  crossValidated?: GateRows & { folds: number; championScore?: Float64Array };
  threshold?: number;
  minPerClass?: number;
  tolerance?: number;
  resamples?: number;
  confidence?: number;
  seed?: number;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const fmtI = (i: Interval) => `${fmt(i.value)} [${fmt(i.low)}, ${fmt(i.high)}]`;

/** Objects per class, and each row's object as an index. */
function objectsOf(rows: GateRows, classNames: readonly string[]): { perClass: Record<string, number>; rowObject: Int32Array; nObj: number } {
  const objectIndex = new Map<string, number>();
  const rowObject = Int32Array.from(rows.objects, (o) => {
    let k = objectIndex.get(o);
    if (k === undefined) objectIndex.set(o, (k = objectIndex.size));
    return k;
  });
  const perClass: Record<string, number> = Object.fromEntries(classNames.map((c) => [c, 0]));
  const seen = new Set<number>();
  const classOf = rows.classOfRow ?? rows.truth;
  for (let i = 0; i < rows.truth.length; i++) if (!seen.has(rowObject[i])) {
    seen.add(rowObject[i]);
    perClass[classNames[classOf[i]]]++;
  }
  return { perClass, rowObject, nObj: objectIndex.size };
}

/**
 * The metric of score `a` (and of `b`, and a - b, paired) on the rows, with bootstrap intervals over objects:
 * objects (not rows: the alerts of one object are not independent) are resampled with replacement.
 */
function pairedBootstrap(metric: GateMetric, truth: Int32Array, rowObject: Int32Array, nObj: number, a: Float64Array, b: Float64Array | null, o: { threshold: number; resamples: number; confidence: number; seed: number }) {
  const rowsOf: number[][] = Array.from({ length: nObj }, () => []);
  rowObject.forEach((k, i) => rowsOf[k].push(i));
  const ones = new Float64Array(truth.length).fill(1);
  const rng = new Random(o.seed);
  const w = new Float64Array(truth.length);
  const sa = new Float64Array(o.resamples);
  const sb = new Float64Array(o.resamples);
  const sd = new Float64Array(o.resamples);
  for (let r = 0; r < o.resamples; r++) {
    w.fill(0);
    for (let k = 0; k < nObj; k++) for (const i of rowsOf[Math.floor(rng.next() * nObj)]) w[i]++;
    sa[r] = metricOf(metric, truth, a, w, o.threshold);
    if (b) {
      sb[r] = metricOf(metric, truth, b, w, o.threshold);
      sd[r] = sa[r] - sb[r];
    }
  }
  const alpha = (1 - o.confidence) / 2;
  const interval = (value: number, samples: Float64Array): Interval => {
    const q = Float64Array.from(samples.filter(Number.isFinite)).sort();
    return q.length && Number.isFinite(value) ? { value, low: quantile(q, alpha), high: quantile(q, 1 - alpha) } : { value, low: NaN, high: NaN };
  };
  const va = metricOf(metric, truth, a, ones, o.threshold);
  const ia = interval(va, sa);
  if (!b) return { a: ia, b: null, difference: null };
  const vb = metricOf(metric, truth, b, ones, o.threshold);
  return { a: ia, b: interval(vb, sb), difference: interval(va - vb, sd) };
}

/** Keeps the rows where `keep` is true. */
function selectRows(rows: GateRows, score: Float64Array, keep: (i: number) => boolean): { truth: Int32Array; objects: string[]; a: Float64Array; b: Float64Array } {
  const idx: number[] = [];
  for (let i = 0; i < rows.truth.length; i++) if (keep(i)) idx.push(i);
  return {
    truth: Int32Array.from(idx, (i) => rows.truth[i]), objects: idx.map((i) => rows.objects[i]),
    a: Float64Array.from(idx, (i) => rows.challengerScore[i]), b: Float64Array.from(idx, (i) => score[i]),
  };
}

const describeCounts = (perClass: Record<string, number>) => Object.entries(perClass).map(([c, n]) => `${n} ${c}`).join(', ');

/**
 * Decides whether a retrained model replaces the deployed one. A challenger is promoted only when it is not
 * degenerate and at least as good as the champion by the module's metric:
 *
 * - degenerate: it predicts the positive class for no alert, or its metric is undefined, on the objects its
 *   estimate is made on: never promoted, whatever the champion;
 * - with at least `minPerClass` held-out objects of every class, both models are scored on the held-out
 *   objects, resampled together; the challenger deploys when the low end of the difference's interval is above
 *   -tolerance (non-inferiority) and the difference itself is not negative;
 * - with fewer (`crossValidated` given), the challenger's estimate is out of sample over every labelled object
 *   (held-out rows by the model, training rows by k-fold cross-validation over objects) and any version it
 *   deploys is provisional: the first version, or a challenger doing at least as well as a provisional champion
 *   on the objects neither has trained on; a trusted champion is never replaced on such evidence.
 */
export function promotionGate(g: GateInput): GateReport {
  const threshold = g.threshold ?? 0.5;
  const minPerClass = g.minPerClass ?? 30;
  const tolerance = g.tolerance ?? 0.02;
  const B = g.resamples ?? 1000;
  const confidence = g.confidence ?? 0.95;
  const boot = { threshold, resamples: B, confidence, seed: g.seed ?? 12345 };
  const positive = g.positiveClass ?? g.classNames[1] ?? 'the positive class';
  const held = objectsOf(g, g.classNames);
  const tooSmall = Object.values(held.perClass).some((n) => n < minPerClass);
  const useCv = tooSmall && g.crossValidated !== undefined;
  const est: GateRows = useCv ? g.crossValidated! : g;
  const estObjects = useCv ? objectsOf(est, g.classNames) : held;
  const estimate: GateEstimate = useCv ? 'cross-validated' : 'held-out';
  const base = {
    metric: g.metric, heldOutObjects: held.perClass, minPerClass, tooSmall, tolerance, resamples: B, confidence,
    estimate, ...(useCv ? { folds: g.crossValidated!.folds } : {}), estimateObjects: estObjects.perClass,
  };
  const on = useCv
    ? `cross-validated (${g.crossValidated!.folds} folds by object) over ${estObjects.nObj} labelled objects (${describeCounts(estObjects.perClass)})`
    : `${estObjects.nObj} held-out objects (${describeCounts(estObjects.perClass)})`;
  const keep = (summary: string, reason: string, extra: Partial<GateReport> = {}): GateReport =>
    ({ ...base, challenger: null, champion: null, difference: null, degenerate: null, ...extra, decision: 'keep', summary: `kept: ${summary}`, reason });

  if (estObjects.nObj === 0) {
    const first = g.champion === null;
    return first
      ? { ...base, challenger: null, champion: null, difference: null, degenerate: null, decision: 'deploy-provisional', summary: 'deployed (provisional): first version, nothing to measure it on yet', reason: 'first version; no held-out objects yet: deployed as provisional' }
      : keep('no held-out objects to compare on', 'no held-out objects to compare on; kept as a candidate');
  }
  const own = pairedBootstrap(g.metric, est.truth, estObjects.rowObject, estObjects.nObj, est.challengerScore, null, boot);
  const challenger = own.a;
  // degenerate: useless whatever the champion does
  let predicted = est.predictedPositive;
  if (predicted === undefined) {
    predicted = 0;
    for (const s of est.challengerScore) if (s >= threshold) predicted++;
  }
  let degenerate: string | null = null;
  if (predicted === 0) degenerate = `never predicts ${positive} (0 of ${est.truth.length} alerts${g.classNames.length === 2 ? ` at p >= ${threshold}` : ''}, ${estimate})`;
  else if (!Number.isFinite(challenger.value)) degenerate = `${g.metric} undefined on ${on}`;
  if (degenerate) {
    return keep(degenerate, `${g.metric} ${fmtI(challenger)} on ${on}; degenerate: ${degenerate}; never promoted`, { challenger, degenerate });
  }
  const mine = `${g.metric} ${fmtI(challenger)} on ${on}`;
  if (!g.champion) {
    const decision = tooSmall ? 'deploy-provisional' : 'deploy';
    return {
      ...base, challenger, champion: null, difference: null, degenerate: null, decision,
      summary: `deployed${tooSmall ? ' (provisional)' : ''}: first version, ${g.metric} ${fmt(challenger.value)} ${estimate}`,
      reason: `first version: ${mine}${tooSmall ? `; fewer than ${minPerClass} held-out objects per class: provisional` : ''}`,
    };
  }
  const v = g.champion.version;
  if (!tooSmall || !useCv) {
    // the held-out objects: neither model has seen them
    const pair = pairedBootstrap(g.metric, g.truth, held.rowObject, held.nObj, g.challengerScore, g.champion.score, boot);
    const champion = { ...pair.b!, version: v };
    const difference = pair.difference!;
    const vs = `${g.metric} ${fmtI(pair.a)} vs v${v} ${fmtI(champion)}, difference ${fmtI(difference)} (paired bootstrap, ${B} resamples of ${held.nObj} held-out objects (${describeCounts(held.perClass)}))`;
    const extra = { challenger, champion, difference, comparedObjects: held.nObj, degenerate: null };
    if (tooSmall) {
      if (g.champion.provisional && difference.value >= 0) {
        return { ...base, ...extra, decision: 'deploy-provisional', summary: `deployed (provisional): ${g.metric} ${fmt(pair.a.value)} >= v${v}'s ${fmt(champion.value)} (held-out)`, reason: `${vs}; held-out set too small to decide (under ${minPerClass} per class); replaces provisional v${v}, which it does not do worse than: provisional` };
      }
      return keep(`held-out set too small to ${g.champion.provisional ? `show it at least as good as v${v}` : `replace trusted v${v}`}`, `${vs}; held-out set too small to decide (under ${minPerClass} per class): kept as a candidate`, extra);
    }
    if (difference.low >= -tolerance && difference.value >= 0) {
      return { ...base, ...extra, decision: 'deploy', summary: `deployed: ${g.metric} ${fmt(pair.a.value)} >= v${v}'s ${fmt(champion.value)} (held-out)`, reason: `${vs}; not worse: the difference's ${Math.round(confidence * 100)}% interval starts above -${tolerance}` };
    }
    const worse = difference.high < 0 || difference.value < 0;
    return keep(worse ? `worse than v${v} (${g.metric} ${fmt(pair.a.value)} vs ${fmt(champion.value)}, held-out)` : `could be worse than v${v} by more than ${tolerance}`,
      `${vs}; ${difference.high < 0 ? 'worse than the deployed version' : `could be worse by more than ${tolerance}`}: kept as a candidate`, extra);
  }
  // too few held-out objects: provisional evidence only
  if (!g.champion.provisional) {
    return keep(`v${v} is trusted; the held-out set is too small to replace it`, `${mine}; held-out set too small (under ${minPerClass} per class) to replace trusted v${v}: kept as a candidate`, { challenger });
  }
  const cv = g.crossValidated!;
  const championScore = cv.championScore ?? new Float64Array(cv.truth.length).fill(NaN);
  const unseen = selectRows(cv, championScore, (i) => Number.isFinite(championScore[i]));
  const u = objectsOf({ truth: unseen.truth, objects: unseen.objects, challengerScore: unseen.a }, g.classNames);
  const pair = u.nObj ? pairedBootstrap(g.metric, unseen.truth, u.rowObject, u.nObj, unseen.a, unseen.b, boot) : null;
  if (!pair || !Number.isFinite(pair.difference!.value)) {
    return keep(`cannot compare with v${v} yet (${g.metric} undefined on the ${u.nObj} objects neither has trained on)`,
      `${mine}; v${v} and this version cannot be compared: ${g.metric} is undefined on the ${u.nObj} objects neither has trained on (${describeCounts(u.perClass)}): kept as a candidate`, { challenger, comparedObjects: u.nObj });
  }
  const champion = { ...pair.b!, version: v };
  const difference = pair.difference!;
  const vs = `${mine}; on the ${u.nObj} objects neither has trained on (${describeCounts(u.perClass)}): ${g.metric} ${fmtI(pair.a)} vs v${v} ${fmtI(champion)}, difference ${fmtI(difference)}`;
  const extra = { challenger, champion, difference, comparedObjects: u.nObj, degenerate: null };
  if (difference.value >= 0) {
    return { ...base, ...extra, decision: 'deploy-provisional', summary: `deployed (provisional): ${g.metric} ${fmt(pair.a.value)} >= v${v}'s ${fmt(champion.value)} (unseen objects)`, reason: `${vs}; at least as good as provisional v${v}: provisional` };
  }
  return keep(`worse than v${v} on the objects neither has trained on (${g.metric} ${fmt(pair.a.value)} vs ${fmt(champion.value)})`, `${vs}; worse than provisional v${v}: kept as a candidate`, extra);
}
