/** Layout rules of the light-curve plot, kept apart from uPlot so that they can be tested. */

/** Pixels an axis needs: its widest tick label, the gap to the title, and the title itself. */
export function axisSize(values: readonly string[] | null, measure: (text: string) => number, titleAndGapPx = 34): number {
  return Math.ceil(Math.max(24, ...(values ?? []).map(measure))) + titleAndGapPx;
}

/** [min, max] widened by a fraction of the span (at least `atLeast`), so that end points are drawn whole. */
export function paddedRange(min: number, max: number, frac: number, atLeast: number): [number, number] {
  const p = Math.max((max - min) * frac, atLeast);
  return [min - p, max + p];
}

/**
 * The x range of a light curve: its span padded by 3% (at least 0.5 day each side), and at least 10 days wide
 * around a single night, so that one point sits on a readable MJD axis.
 */
export function xRange(xs: readonly number[]): [number, number] {
  if (!xs.length) return [0, 1];
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  const [lo, hi] = paddedRange(min, max, 0.03, 0.5);
  const mid = (min + max) / 2;
  return hi - lo >= 10 ? [lo, hi] : [mid - 5, mid + 5];
}

/** The y range of held-out metrics: [0, 1] while every value is in it (all zeros included), else from 0 to the largest. */
export function metricRange(values: readonly number[]): [number, number] {
  const max = values.length ? Math.max(...values) : 1;
  const min = values.length ? Math.min(...values) : 0;
  if (min >= 0 && max <= 1) return [0, 1];
  return [Math.min(0, min), max > 0 ? max * 1.05 : 1];
}
