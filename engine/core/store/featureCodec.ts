/**
 * A feature row as stored: lossless, and small where features are often missing or zero. Two bits per value
 * say what it is — a float64 that follows, NaN (a band without points), +0 (Fink's placeholder rows) or a
 * float32 that follows (counts, flags, fields read from float32 packet columns) — then the values that need
 * bytes. Fink's 156 Rubin anomaly features of an alert seen in three bands take ~640 bytes instead of 1,248.
 */
const F64 = 0;
const NAN = 1;
const ZERO = 2;
const F32 = 3;

export function encodeFeatureRow(values: ArrayLike<number>, start = 0, length = values.length - start): Buffer {
  const codeBytes = (length + 3) >> 2;
  let size = codeBytes;
  for (let j = 0; j < length; j++) {
    const v = values[start + j];
    if (v !== v || (v === 0 && 1 / v > 0)) continue;
    size += Math.fround(v) === v ? 4 : 8;
  }
  const buf = Buffer.allocUnsafe(size);
  buf.fill(0, 0, codeBytes);
  let o = codeBytes;
  for (let j = 0; j < length; j++) {
    const v = values[start + j];
    let code: number;
    if (v !== v) code = NAN;
    else if (v === 0 && 1 / v > 0) code = ZERO;
    else if (Math.fround(v) === v) {
      code = F32;
      buf.writeFloatLE(v, o);
      o += 4;
    } else {
      code = F64;
      buf.writeDoubleLE(v, o);
      o += 8;
    }
    buf[j >> 2] |= code << ((j & 3) * 2);
  }
  return buf;
}

/** Decodes a row of `length` values into out[offset...]; a row of another length or size is an error. */
export function decodeFeatureRow(row: Uint8Array, length: number, out: Float64Array, offset = 0, source = 'feature row'): void {
  const bytes = Buffer.isBuffer(row) ? row : Buffer.from(row.buffer, row.byteOffset, row.byteLength);
  const codeBytes = (length + 3) >> 2;
  if (bytes.length < codeBytes) throw new Error(`${source}: ${bytes.length} bytes cannot hold ${length} values`);
  let o = codeBytes;
  for (let j = 0; j < length; j++) {
    const code = (bytes[j >> 2] >> ((j & 3) * 2)) & 3;
    if (code === NAN) out[offset + j] = NaN;
    else if (code === ZERO) out[offset + j] = 0;
    else {
      const size = code === F32 ? 4 : 8;
      if (o + size > bytes.length) throw new Error(`${source}: truncated (${bytes.length} bytes for ${length} values)`);
      out[offset + j] = size === 4 ? bytes.readFloatLE(o) : bytes.readDoubleLE(o);
      o += size;
    }
  }
  if (o !== bytes.length) throw new Error(`${source}: ${bytes.length - o} byte(s) beyond ${length} values (another feature spec?)`);
}
