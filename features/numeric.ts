/** Small numeric helpers shared by the extractors, matching numpy's conventions where Fink relies on them. */

/** numpy.rint / np.around(x, 0): round half to even. */
export function rintHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds .5 up; numpy rounds .5 to the even neighbour.
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy.round(x, decimals): scale, round half to even, unscale (the same float steps numpy takes). */
export function roundDecimals(x: number, decimals: number): number {
  const f = 10 ** decimals;
  return rintHalfEven(x * f) / f;
}

