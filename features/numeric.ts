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

/** numpy's insertion-sort cut-off in its introsort (npysort SMALL_QUICKSORT). */
const NUMPY_SMALL_QUICKSORT = 15;

/**
 * numpy's `argsort(kind='quicksort')` of float64 values without NaN (the introsort of numpy's
 * npysort/quicksort.cpp `aquicksort_` up to numpy 1.24: median-of-3 quicksort, insertion sort below 17
 * elements, heapsort past the depth limit), written into `order[0..n)`. pandas' `sort_values` calls it,
 * and it is not stable beyond 16 elements: which of two equal keys comes first, and so which one Fink's
 * `drop_duplicates` keeps, follows this algorithm and nothing else.
 */
export function numpyArgsortQuicksort(v: ArrayLike<number>, n: number, order: Int32Array): void {
  for (let i = 0; i < n; i++) order[i] = i;
  if (n < 2) return;
  const stack: number[] = [];
  let pl = 0;
  let pr = n - 1;
  let cdepth = 2 * (31 - Math.clz32(n));
  const swap = (a: number, b: number) => {
    const t = order[a];
    order[a] = order[b];
    order[b] = t;
  };
  for (;;) {
    if (cdepth < 0) {
      numpyArgHeapsort(v, order, pl, pr - pl + 1);
    } else {
      while (pr - pl > NUMPY_SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (v[order[pm]] < v[order[pl]]) swap(pm, pl);
        if (v[order[pr]] < v[order[pm]]) swap(pr, pm);
        if (v[order[pm]] < v[order[pl]]) swap(pm, pl);
        const vp = v[order[pm]];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do ++pi; while (v[order[pi]] < vp);
          do --pj; while (vp < v[order[pj]]);
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // the larger partition waits on the stack
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr, --cdepth);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1, --cdepth);
          pl = pi + 1;
        }
      }
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vi = order[pi];
        const vp = v[vi];
        let pj = pi;
        while (pj > pl && vp < v[order[pj - 1]]) {
          order[pj] = order[pj - 1];
          pj--;
        }
        order[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    cdepth = stack.pop()!;
    pr = stack.pop()!;
    pl = stack.pop()!;
  }
}

/** numpy's `aheapsort_` on order[start .. start + n). */
function numpyArgHeapsort(v: ArrayLike<number>, order: Int32Array, start: number, n: number): void {
  // 1-based heap indexing, as numpy's
  const a = (k: number) => order[start + k - 1];
  const set = (k: number, x: number) => {
    order[start + k - 1] = x;
  };
  const siftDown = (from: number, tmp: number, size: number) => {
    let i = from;
    let j = from << 1;
    while (j <= size) {
      if (j < size && v[a(j)] < v[a(j + 1)]) j++;
      if (v[tmp] < v[a(j)]) {
        set(i, a(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  };
  for (let l = n >> 1; l > 0; l--) siftDown(l, a(l), n);
  for (let size = n; size > 1;) {
    const tmp = a(size);
    set(size, a(1));
    size--;
    siftDown(1, tmp, size);
  }
}
