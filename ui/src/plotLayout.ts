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
