/** A dense row-major float32 feature matrix: the one input type every estimator takes. */
export interface Matrix {
  readonly data: Float32Array;
  readonly rows: number;
  readonly cols: number;
}

export function matrix(data: Float32Array, rows: number, cols: number): Matrix {
  if (data.length !== rows * cols) throw new RangeError(`matrix: ${data.length} values for ${rows} x ${cols}`);
  return { data, rows, cols };
}

export function selectRows(m: Matrix, idx: ArrayLike<number>): Matrix {
  const out = new Float32Array(idx.length * m.cols);
  for (let k = 0; k < idx.length; k++) out.set(m.data.subarray(idx[k] * m.cols, idx[k] * m.cols + m.cols), k * m.cols);
  return { data: out, rows: idx.length, cols: m.cols };
}

export function assertCols(m: Matrix, cols: number, who: string): void {
  if (m.cols !== cols) throw new RangeError(`${who}: fitted on ${cols} features, given ${m.cols}`);
}
