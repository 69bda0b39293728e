/**
 * The WebAssembly binary format, as far as the modules Sieve writes byte by byte need it (no toolchain): LEB128
 * numbers, vectors, sections, names, memory arguments and the opcodes they use (core specification 2.0,
 * section 5.4; the 0xfd-prefixed 128-bit SIMD instructions of section 5.4.8). Used by features/rainbowKernel.ts
 * and models/forestWasm.ts.
 */

// control, locals, memory and numbers
export const BLOCK = 0x02, LOOP = 0x03, IF = 0x04, END = 0x0b, BR = 0x0c, BR_IF = 0x0d, SELECT = 0x1b;
export const GET = 0x20, SET = 0x21, TEE = 0x22;
export const I32_LOAD = 0x28, F32_LOAD = 0x2a, F64_LOAD = 0x2b, I32_LOAD8_U = 0x2d, I32_LOAD16_U = 0x2f, I32_STORE = 0x36, F64_STORE = 0x39;
export const I32_CONST = 0x41, F64_CONST = 0x44, I32_EQZ = 0x45, I32_NE = 0x47, I32_LT_S = 0x48, I32_GT_S = 0x4a, I32_GE_S = 0x4e, F32_LE = 0x5f;
export const I32_ADD = 0x6a, I32_SUB = 0x6b, I32_MUL = 0x6c, I32_OR = 0x72, I32_XOR = 0x73, I32_SHL = 0x74, F64_ADD = 0xa0;
export const VOID = 0x40, I32 = 0x7f, F64 = 0x7c, V128 = 0x7b;

/** The SIMD instructions (each follows the prefix 0xfd as an unsigned LEB128 number). */
export const SIMD = {
  load: 0x00, store: 0x0b, const: 0x0c, f64x2Splat: 0x14, f64x2ExtractLane: 0x21,
  f64x2Eq: 0x47, f64x2Lt: 0x49, f64x2Gt: 0x4a, f64x2Le: 0x4b, f64x2Ge: 0x4c,
  and: 0x4e, andNot: 0x4f, or: 0x50, bitselect: 0x52,
  i64x2Shl: 0xcb, i64x2Add: 0xce,
  f64x2Neg: 0xed, f64x2Add: 0xf0, f64x2Sub: 0xf1, f64x2Mul: 0xf2, f64x2Div: 0xf3, f64x2PMin: 0xf6, f64x2PMax: 0xf7,
} as const;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
export const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
export const mem = (op: number, align: number, offset = 0): number[] => [op, align, ...uleb(offset)];
export const i32 = (v: number): number[] => [I32_CONST, ...sleb(v)];
export const simd = (op: number): number[] => [0xfd, ...uleb(op)];

/** The little-endian bytes of a float64. */
export function f64Bytes(x: number): number[] {
  return Array.from(new Uint8Array(Float64Array.of(x).buffer));
}

/** A module's magic number and version. */
export const MODULE_HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
