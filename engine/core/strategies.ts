import { Random } from '../../models/index.ts';

/**
 * Query strategies over an unlabelled pool: each turns model outputs into an informativeness score per
 * candidate (higher = ask the expert first). Probabilities are n x C row-major.
 */
export const STRATEGY_NAMES = ['uncertainty', 'margin', 'entropy', 'committee', 'random', 'bald', 'predictive-entropy'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
/** Strategies that read a network's Monte-Carlo dropout passes rather than one set of probabilities. */
export const MC_STRATEGIES: ReadonlySet<StrategyName> = new Set(['bald', 'predictive-entropy']);

/** Least confident: 1 - max_c p(c). */
export function leastConfident(proba: ArrayLike<number>, nClasses: number): Float64Array {
  const n = proba.length / nClasses;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let mx = 0;
    for (let c = 0; c < nClasses; c++) mx = Math.max(mx, proba[i * nClasses + c]);
    out[i] = 1 - mx;
  }
  return out;
}

/** Margin: 1 - (p_best - p_second). */
export function marginScore(proba: ArrayLike<number>, nClasses: number): Float64Array {
  const n = proba.length / nClasses;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let a = -Infinity;
    let b = -Infinity;
    for (let c = 0; c < nClasses; c++) {
      const p = proba[i * nClasses + c];
      if (p > a) {
        b = a;
        a = p;
      } else if (p > b) b = p;
    }
    out[i] = 1 - (a - (nClasses > 1 ? b : 0));
  }
  return out;
}

/** Shannon entropy of the predicted distribution (nats). */
export function entropyScore(proba: ArrayLike<number>, nClasses: number): Float64Array {
  const n = proba.length / nClasses;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let h = 0;
    for (let c = 0; c < nClasses; c++) {
      const p = proba[i * nClasses + c];
      if (p > 0) h -= p * Math.log(p);
    }
    out[i] = h;
  }
  return out;
}

/** Query by committee: vote entropy of the members' hard votes (e.g. a forest's trees), votes n x C. */
export function voteEntropy(votes: ArrayLike<number>, nClasses: number): Float64Array {
  const n = votes.length / nClasses;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let c = 0; c < nClasses; c++) total += votes[i * nClasses + c];
    let h = 0;
    for (let c = 0; c < nClasses; c++) {
      const p = votes[i * nClasses + c] / total;
      if (p > 0) h -= p * Math.log(p);
    }
    out[i] = h;
  }
  return out;
}

/**
 * BALD (Houlsby et al. 2011; Gal et al. 2017 with MC dropout): the mutual information between the prediction
 * and the network's weights, H(mean of the passes) - mean of each pass's entropy. High where the passes are
 * each confident but disagree, low where every pass is unsure the same way (noise the weights cannot explain).
 */
export function baldScore(meanProba: ArrayLike<number>, expectedEntropy: ArrayLike<number>, nClasses: number): Float64Array {
  const h = entropyScore(meanProba, nClasses);
  // never below zero: rounding can leave a tiny negative difference where the passes agree
  for (let i = 0; i < h.length; i++) h[i] = Math.max(0, h[i] - expectedEntropy[i]);
  return h;
}

/** The random baseline: seeded uniform scores. */
export function randomScore(n: number, seed: number): Float64Array {
  const rng = new Random(seed, 0x4a11);
  return Float64Array.from({ length: n }, () => rng.next());
}

export interface QueueItem {
  /** Index into the candidate arrays. */
  index: number;
  score: number;
}

/**
 * The k best candidates by score, skipping excluded ones, and (batch mode) any candidate closer than
 * `minDistance` (Euclidean, on standardised features) to one already chosen, so that one batch does not
 * show the expert near-duplicates. Ties break on the lower index, so queues are reproducible.
 */
export function selectBatch(
  scores: ArrayLike<number>, k: number,
  opts: { exclude?: (i: number) => boolean; features?: { values: ArrayLike<number>; cols: number }; minDistance?: number } = {},
): QueueItem[] {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).filter((i) => !opts.exclude?.(i) && !Number.isNaN(scores[i]));
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  const chosen: QueueItem[] = [];
  const f = opts.features;
  let mean: Float64Array | null = null;
  let sd: Float64Array | null = null;
  if (f && opts.minDistance && opts.minDistance > 0) {
    const d = f.cols;
    mean = new Float64Array(d);
    sd = new Float64Array(d);
    const cnt = new Float64Array(d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
      const v = f.values[i * d + j];
      if (Number.isFinite(v)) {
        mean[j] += v;
        sd[j] += v * v;
        cnt[j]++;
      }
    }
    for (let j = 0; j < d; j++) {
      mean[j] = cnt[j] ? mean[j] / cnt[j] : 0;
      sd[j] = cnt[j] ? Math.sqrt(Math.max(0, sd[j] / cnt[j] - mean[j] * mean[j])) || 1 : 1;
    }
  }
  for (const i of order) {
    if (chosen.length >= k) break;
    if (f && mean && sd && opts.minDistance) {
      const d = f.cols;
      const tooClose = chosen.some((c) => {
        let s = 0;
        for (let j = 0; j < d; j++) {
          const a = f.values[i * d + j];
          const b = f.values[c.index * d + j];
          const za = Number.isFinite(a) ? (a - mean![j]) / sd![j] : 0;
          const zb = Number.isFinite(b) ? (b - mean![j]) / sd![j] : 0;
          s += (za - zb) ** 2;
        }
        return Math.sqrt(s) < opts.minDistance!;
      });
      if (tooClose) continue;
    }
    chosen.push({ index: i, score: scores[i] });
  }
  return chosen;
}

/** Informativeness of each candidate for a named strategy. */
export function strategyScores(
  strategy: StrategyName,
  inputs: {
    proba?: ArrayLike<number>; votes?: ArrayLike<number>; nClasses: number; n: number; seed?: number;
    /** A network's Monte-Carlo dropout passes: their mean probabilities and mean per-pass entropy. */
    mc?: { mean: ArrayLike<number>; expectedEntropy: ArrayLike<number> };
  },
): Float64Array {
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`strategy '${strategy}' needs ${what}`);
    return v;
  };
  switch (strategy) {
    case 'uncertainty':
      return leastConfident(need(inputs.proba, 'probabilities'), inputs.nClasses);
    case 'margin':
      return marginScore(need(inputs.proba, 'probabilities'), inputs.nClasses);
    case 'entropy':
      return entropyScore(need(inputs.proba, 'probabilities'), inputs.nClasses);
    case 'committee':
      return voteEntropy(need(inputs.votes, 'committee votes'), inputs.nClasses);
    case 'random':
      return randomScore(inputs.n, inputs.seed ?? 0);
    case 'bald': {
      const mc = need(inputs.mc, "a network's Monte-Carlo dropout passes");
      return baldScore(mc.mean, mc.expectedEntropy, inputs.nClasses);
    }
    case 'predictive-entropy':
      return entropyScore(need(inputs.mc, "a network's Monte-Carlo dropout passes").mean, inputs.nClasses);
    default:
      throw new Error(`unknown strategy '${String(strategy)}' (${STRATEGY_NAMES.join(', ')})`);
  }
}
