/**
 * Classification and ranking metrics. Binary metrics take 0/1 truth and predictions with 1 the positive
 * class (e.g. SN Ia); names follow the supernova-photometric-classification literature.
 */

export interface BinaryCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function binaryCounts(truth: ArrayLike<number>, predicted: ArrayLike<number>): BinaryCounts {
  if (truth.length !== predicted.length) throw new RangeError(`metrics: ${truth.length} labels vs ${predicted.length} predictions`);
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i] === 1;
    const p = predicted[i] === 1;
    if (t && p) c.tp++;
    else if (!t && p) c.fp++;
    else if (!t && !p) c.tn++;
    else c.fn++;
  }
  return c;
}

export function accuracy(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (truth.length !== predicted.length) throw new RangeError(`metrics: ${truth.length} labels vs ${predicted.length} predictions`);
  let ok = 0;
  for (let i = 0; i < truth.length; i++) if (truth[i] === predicted[i]) ok++;
  return truth.length ? ok / truth.length : NaN;
}

/** Efficiency = recall = TP / (TP + FN). */
export function efficiency(c: BinaryCounts): number {
  return c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : 0;
}

/** Purity = precision = TP / (TP + FP). */
export function purity(c: BinaryCounts): number {
  return c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : 0;
}

export function f1(c: BinaryCounts): number {
  const p = purity(c);
  const e = efficiency(c);
  return p + e > 0 ? (2 * p * e) / (p + e) : 0;
}

/**
 * SNPCC figure of merit (Kessler et al. 2010): efficiency times a pseudo-purity that counts each false
 * positive W = 3 times, FoM = eff * TP / (TP + W FP).
 */
export function figureOfMerit(c: BinaryCounts, w = 3): number {
  const denom = c.tp + w * c.fp;
  return denom > 0 ? (efficiency(c) * c.tp) / denom : 0;
}

/** ROC AUC as the Mann-Whitney statistic, ties counted one half. */
export function rocAuc(truth: ArrayLike<number>, score: ArrayLike<number>): number {
  const n = truth.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => score[a] - score[b]);
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && score[idx[j + 1]] === score[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (truth[idx[k]] === 1) {
      rankSumPos += avgRank;
      nPos++;
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Fraction of true positives among the k highest-ranked items (ranking = most anomalous first). */
export function precisionAtK(truth: ArrayLike<number>, ranking: ArrayLike<number>, k: number): number {
  const kk = Math.min(k, ranking.length);
  let hits = 0;
  for (let i = 0; i < kk; i++) if (truth[ranking[i]] === 1) hits++;
  return kk > 0 ? hits / kk : NaN;
}

/** confusion[t][p] = number of items of true class t predicted as p. */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, nClasses: number): number[][] {
  const m = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < truth.length; i++) m[truth[i]][predicted[i]]++;
  return m;
}

export interface BinaryReport {
  accuracy: number;
  efficiency: number;
  purity: number;
  f1: number;
  fom: number;
  counts: BinaryCounts;
}

export function binaryReport(truth: ArrayLike<number>, predicted: ArrayLike<number>): BinaryReport {
  const counts = binaryCounts(truth, predicted);
  return { accuracy: accuracy(truth, predicted), efficiency: efficiency(counts), purity: purity(counts), f1: f1(counts), fom: figureOfMerit(counts), counts };
}

export interface ReliabilityBin {
  /** Predicted-probability interval [low, high) (the last bin includes 1). */
  low: number;
  high: number;
  n: number;
  /** Mean predicted probability of the bin's rows, and the fraction of them that are positive (NaN when empty). */
  meanPredicted: number;
  observedFrequency: number;
}

/**
 * Calibration of probabilities against 0/1 outcomes: `bins` equal-width bins of the predicted probability, each
 * with its mean prediction and observed frequency (a reliability diagram), and the expected calibration error
 * ECE = sum over bins of n_b / n x |observed_b - predicted_b|. Rows with a NaN probability are left out.
 */
export function reliabilityCurve(truth: ArrayLike<number>, probability: ArrayLike<number>, bins = 10): { bins: ReliabilityBin[]; ece: number; n: number } {
  if (truth.length !== probability.length) throw new RangeError(`metrics: ${truth.length} labels vs ${probability.length} probabilities`);
  const n = new Float64Array(bins);
  const sumP = new Float64Array(bins);
  const pos = new Float64Array(bins);
  let total = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = probability[i];
    if (Number.isNaN(p)) continue;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    n[b]++;
    sumP[b] += p;
    if (truth[i] === 1) pos[b]++;
    total++;
  }
  let ece = 0;
  const out: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const meanPredicted = n[b] ? sumP[b] / n[b] : NaN;
    const observedFrequency = n[b] ? pos[b] / n[b] : NaN;
    if (n[b]) ece += (n[b] / total) * Math.abs(observedFrequency - meanPredicted);
    out.push({ low: b / bins, high: (b + 1) / bins, n: n[b], meanPredicted, observedFrequency });
  }
  return { bins: out, ece: total ? ece : NaN, n: total };
}
