/**
 * The inner loops of the Rainbow fit (features/rainbow.ts) as a WebAssembly module written byte by byte, two
 * points at a time in 128-bit SIMD lanes: the cost of one parameter vector (chi2 over the points) and its
 * gradient and exact Hessian. The JavaScript loops spent most of their time in calls to Math.exp and Math.expm1
 * (three per point and evaluation) and in the registers those calls save; here e^x is a polynomial on the
 * lanes, inline. On one ELAsTiCC light curve (8 points) the cost took ~45 ns a point against ~150 for the
 * JavaScript loop it replaced, the derivatives ~35 against ~90. test/features/rainbowKernel.test.ts holds the model written out
 * point by point, which the kernel's chi2 is tested against, and checks the derivatives by differences;
 * rainbow.ts's rainbowModel evaluates the same model one point at a time for display.
 *
 * Memory: the 27 outputs of `derivatives` (gradient g0..g5, then the Hessian's upper triangle row by row,
 * float64) at byte 0; the constants the code uses at CONSTANTS (a data segment); from byte RECORDS, one record per pair of points: FIELDS float64x2 fields, the inputs
 * (t, y, 1/err, h nu / k, the blackbody's scale) and what `cost` leaves for `derivatives`. A light curve with
 * an odd number of points is padded with a point of zero weight (1/err = 0, scale 0), which adds nothing.
 */
import {
  BLOCK, END, BR, BR_IF, F64, F64_ADD, F64_STORE, GET, I32, I32_ADD, I32_EQZ, I32_SUB, LOOP, MODULE_HEADER, SET, V128, VOID,
  f64Bytes, i32, mem, name, section, simd, SIMD, uleb, vec,
} from './wasmEncoding.ts';

/** Fields of a pair's record, in order. */
export const FIELD = {
  t: 0, y: 1, invErr: 2, xOverT: 3, sedScale: 4,
  sBol: 5, sbBol: 6, w: 7, sbT: 8, invTemp: 9, invEm1: 10, sed: 11, res: 12, x: 13,
} as const;
export const FIELDS = 14;
/** Byte address of the table of constants (16 bytes each, up to MAX_CONSTANTS), then of the first record. */
const CONSTANTS = 256;
const MAX_CONSTANTS = 64;
export const RECORDS = CONSTANTS + 16 * MAX_CONSTANTS;
const RECORD_BYTES = FIELDS * 16;

const get = (local: number): number[] => [GET, ...uleb(local)];
const set = (local: number): number[] => [SET, ...uleb(local)];

/** The constants the functions use, in table order (filled while the functions are written). */
const constantValues: number[] = [];
function constantSlot(x: number): number {
  let slot = constantValues.findIndex((v) => Object.is(v, x));
  if (slot < 0) {
    slot = constantValues.push(x) - 1;
    if (slot >= MAX_CONSTANTS) throw new Error(`rainbowKernel: more than ${MAX_CONSTANTS} constants`);
  }
  return slot;
}

/**
 * The two-operand instructions the kernels use, by the name Body gives them: f64x2 arithmetic; min and max as
 * wasm's pmin / pmax (b < a ? b : a and a < b ? b : a: one instruction each, where min's and max's NaN rules take
 * six, and no NaN reaches them); comparisons (all-ones lanes where true); and, andNot (a & ~b).
 */
const BINARY = {
  add: SIMD.f64x2Add, sub: SIMD.f64x2Sub, mul: SIMD.f64x2Mul, div: SIMD.f64x2Div, min: SIMD.f64x2PMin, max: SIMD.f64x2PMax,
  gt: SIMD.f64x2Gt, ge: SIMD.f64x2Ge, le: SIMD.f64x2Le, lt: SIMD.f64x2Lt, eq: SIMD.f64x2Eq, and: SIMD.and, andNot: SIMD.andNot,
} as const;
type BinaryOperations = { readonly [K in keyof typeof BINARY]: (a: number, b: number) => number };
// the operations, attached in the constructor (declaration merging gives them their types)
interface Body extends BinaryOperations {}

/**
 * A function's body under construction, in single-assignment style: every operation stores its result in a
 * new v128 local (V8 allocates registers over them), so the code reads as the JavaScript it mirrors.
 */
class Body {
  readonly code: number[] = [];
  private readonly prologue: number[] = [];
  private nV128 = 0;
  constructor(private readonly nParams: number, private readonly nI32: number) {
    const ops = Object.fromEntries(Object.entries(BINARY).map(([name, op]) => [name, (a: number, b: number) => this.bin(op, a, b)]));
    Object.assign(this, ops as BinaryOperations);
  }

  private fresh(): number {
    return this.nParams + this.nI32 + this.nV128++;
  }
  i32Local(k: number): number {
    return this.nParams + k;
  }
  /**
   * A constant in both lanes, loaded from the module's table of constants where it is used: V8 rebuilds a v128
   * constant held in a local from immediates at every use (three instructions), a load is one.
   */
  c(x: number): number {
    const r = this.fresh();
    this.code.push(...i32(0), ...simd(SIMD.load), ...uleb(4), ...uleb(CONSTANTS + 16 * constantSlot(x)), ...set(r));
    return r;
  }
  /** An f64 parameter in both lanes. */
  splat(param: number): number {
    const r = this.fresh();
    this.code.push(...get(param), ...simd(SIMD.f64x2Splat), ...set(r));
    return r;
  }
  private bin(op: number, a: number, b: number): number {
    const r = this.fresh();
    this.code.push(...get(a), ...get(b), ...simd(op), ...set(r));
    return r;
  }
  /** ifSet where mask's bits are set, else ifClear. */
  select(ifSet: number, ifClear: number, mask: number): number {
    const r = this.fresh();
    this.code.push(...get(ifSet), ...get(ifClear), ...get(mask), ...simd(SIMD.bitselect), ...set(r));
    return r;
  }
  /** Products and sums of several terms, left to right. */
  prod(...xs: number[]): number {
    return xs.slice(1).reduce((acc, x) => this.mul(acc, x), xs[0]);
  }
  sum(...xs: number[]): number {
    return xs.slice(1).reduce((acc, x) => this.add(acc, x), xs[0]);
  }
  neg(a: number): number {
    const r = this.fresh();
    this.code.push(...get(a), ...simd(SIMD.f64x2Neg), ...set(r));
    return r;
  }
  load(ptr: number, field: number): number {
    const r = this.fresh();
    this.code.push(...get(ptr), ...simd(SIMD.load), ...uleb(4), ...uleb(field * 16), ...set(r));
    return r;
  }
  store(ptr: number, field: number, v: number): void {
    this.code.push(...get(ptr), ...get(v), ...simd(SIMD.store), ...uleb(4), ...uleb(field * 16));
  }
  zero(): number {
    return this.c(0);
  }
  /** A new accumulator, 0 in both lanes (set before the loop). */
  accumulator(): number {
    const r = this.fresh();
    this.prologue.push(...simd(SIMD.const), ...new Array(16).fill(0), ...set(r));
    return r;
  }
  addTo(acc: number, x: number): void {
    this.code.push(...get(acc), ...get(x), ...simd(SIMD.f64x2Add), ...set(acc));
  }
  /** acc's two lanes added, on the stack as an f64. */
  horizontal(acc: number): number[] {
    return [...get(acc), ...simd(SIMD.f64x2ExtractLane), 0, ...get(acc), ...simd(SIMD.f64x2ExtractLane), 1, F64_ADD];
  }

  /**
   * e^x and e^x - 1 for |x| <= 700 (callers clamp): x = k ln 2 + r with k an integer and |r| <= ln 2 / 2,
   * e^r - 1 by its Taylor series to r^13 (truncation below 1e-17 relative), 2^k put into the exponent bits.
   * Within a few ulp of Math.exp / Math.expm1.
   */
  expAndExpm1(x: number, withExpm1 = true): { exp: number; expm1: number } {
    // k = x log2(e) rounded to the nearest integer (ties to even, as f64x2.nearest) by adding 1.5 * 2^52: the sum's
    // low bits then hold k itself, so that shifting them by 52 gives 2^k's exponent bits without a conversion
    const shifted = this.add(this.mul(x, this.c(Math.LOG2E)), this.c(ROUNDING_SHIFT));
    const k = this.sub(shifted, this.c(ROUNDING_SHIFT));
    const r = this.sub(this.sub(x, this.mul(k, this.c(LN2_HI))), this.mul(k, this.c(LN2_LO)));
    // e^r - 1 = r P(r), P(r) = sum of r^j / (j + 1)! for j <= 12, by Estrin's scheme: pairs, then quads, then
    // octets of terms, so that the chain of dependent operations is 8 long rather than Horner's 24
    const coef = (j: number) => this.c(1 / FACTORIAL[j + 1]);
    const r2 = this.mul(r, r);
    const r4 = this.mul(r2, r2);
    const r8 = this.mul(r4, r4);
    const pair = (j: number) => this.add(coef(j), this.mul(coef(j + 1), r));
    const quad = (j: number) => this.add(pair(j), this.mul(pair(j + 2), r2));
    const low = this.add(quad(0), this.mul(quad(4), r4));
    const high = this.add(quad(8), this.mul(coef(12), r4));
    const q = this.mul(this.add(low, this.mul(high, r8)), r); // e^r - 1
    const scaled = this.fresh();
    this.code.push(...get(this.add(this.c(1), q)), ...get(shifted), ...i32(52), ...simd(SIMD.i64x2Shl), ...simd(SIMD.i64x2Add), ...set(scaled));
    if (!withExpm1) return { exp: scaled, expm1: -1 };
    // e^x - 1: q itself where k = 0 (|x| <= ln 2 / 2, where e^x - 1 would lose digits), else e^x - 1
    const expm1 = this.select(q, this.sub(scaled, this.c(1)), this.eq(k, this.c(0)));
    return { exp: scaled, expm1 };
  }

  /** The function's code entry: locals, prologue, body. */
  finish(): number[] {
    const locals = vec([[...uleb(this.nI32), I32], [...uleb(this.nV128), V128]]);
    const body = [...locals, ...this.prologue, ...this.code, END];
    return [...uleb(body.length), ...body];
  }
}

// ln 2 in two parts (fdlibm's): k * LN2_HI is exact for |k| < 2^20
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
/** 1.5 * 2^52: x + this rounds x to an integer held in the low bits of the sum (for |x| < 2^51). */
const ROUNDING_SHIFT = 6755399441055744;
const FACTORIAL = Array.from({ length: 14 }, (_, j) => {
  let f = 1;
  for (let i = 2; i <= j; i++) f *= i;
  return f;
});
/**
 * Arguments of e^x are clamped to +-EXP_LIMIT (2^k is built in the exponent bits, valid for |k| < 1022); the lanes
 * beyond are masked or set to e^x's limit.
 */
const EXP_LIMIT = 700;

/**
 * A loop over `pairs` records (param 0) around `perPair(ptr)`: ptr is the record's byte address.
 */
function loopOverPairs(b: Body, perPair: (ptr: number) => void): void {
  const [pairs, ptr, left] = [0, b.i32Local(0), b.i32Local(1)];
  b.code.push(...i32(RECORDS), ...set(ptr), ...get(pairs), ...set(left));
  b.code.push(BLOCK, VOID, LOOP, VOID, ...get(left), I32_EQZ, BR_IF, 1);
  perPair(ptr);
  b.code.push(...get(ptr), ...i32(RECORD_BYTES), I32_ADD, ...set(ptr));
  b.code.push(...get(left), ...i32(1), I32_SUB, ...set(left), BR, 0, END, END);
}

/**
 * cost(pairs, t0, amp, invRise, temp0, tAmp, invColor, bolFrom, colorSpan) -> chi2: features/rainbow.ts's
 * costAt loop, leaving its per-point values in the records.
 */
function costFunction(): number[] {
  const b = new Body(9, 2);
  const [t0, amp, invRise, temp0, tAmp, invColor, bolFrom, colorSpan] = [1, 2, 3, 4, 5, 6, 7, 8].map((p) => b.splat(p));
  const negColorSpan = b.neg(colorSpan);
  const chi2 = b.accumulator();
  // Two loops: the temperature first, then the bolometric flux, the blackbody and the residual. In one loop a
  // pair's chain of dependent operations (e^x, a division, another division, the blackbody's e^x, a division)
  // was longer than the processor could overlap with the next pair's; each half overlaps.
  loopOverPairs(b, (ptr) => {
    const one = b.c(1);
    const dt = b.sub(b.load(ptr, FIELD.t), t0);
    // temperature sigmoid, saturated beyond 100 t_color
    const ec = b.expAndExpm1(b.max(b.min(b.mul(dt, invColor), b.c(EXP_LIMIT)), b.c(-EXP_LIMIT)), false).exp;
    const sc = b.div(one, b.add(one, ec));
    const before = b.le(dt, negColorSpan);
    const after = b.ge(dt, colorSpan);
    const w = b.select(one, b.select(b.c(-1), b.sub(b.add(sc, sc), one), after), before);
    const sbT = b.andNot(b.andNot(b.prod(ec, sc, sc), before), after);
    const it = b.div(one, b.mul(temp0, b.add(one, b.mul(tAmp, w))));
    b.store(ptr, FIELD.w, w);
    b.store(ptr, FIELD.sbT, sbT);
    b.store(ptr, FIELD.invTemp, it);
    b.store(ptr, FIELD.x, b.mul(b.load(ptr, FIELD.xOverT), it));
  });
  loopOverPairs(b, (ptr) => {
    const one = b.c(1);
    const dt = b.sub(b.load(ptr, FIELD.t), t0);
    // bolometric sigmoid, zero far before t0, 1 far after it (where e^-dt/rise underflows: 0 below e^-700)
    const xb = b.neg(b.mul(dt, invRise));
    const eb = b.and(b.expAndExpm1(b.max(b.min(xb, b.c(EXP_LIMIT)), b.c(-EXP_LIMIT)), false).exp, b.ge(xb, b.c(-EXP_LIMIT)));
    const sb = b.div(one, b.add(eb, one));
    const live = b.gt(dt, bolFrom);
    const sBol = b.and(sb, live);
    const sbBol = b.and(b.prod(eb, sb, sb), live);
    // the blackbody: 1 / (e^x - 1), exactly 0 where e^x overflows as in JavaScript
    const x = b.load(ptr, FIELD.x);
    const it = b.load(ptr, FIELD.invTemp);
    const ie = b.and(b.div(one, b.expAndExpm1(b.min(x, b.c(EXP_LIMIT))).expm1), b.lt(x, b.c(EXP_LIMIT)));
    const it2 = b.mul(it, it);
    const sed = b.prod(b.load(ptr, FIELD.sedScale), it2, it2, ie);
    const r = b.mul(b.sub(b.load(ptr, FIELD.y), b.prod(amp, sBol, sed)), b.load(ptr, FIELD.invErr));
    b.addTo(chi2, b.mul(r, r));
    b.store(ptr, FIELD.sBol, sBol);
    b.store(ptr, FIELD.sbBol, sbBol);
    b.store(ptr, FIELD.invEm1, ie);
    b.store(ptr, FIELD.sed, sed);
    b.store(ptr, FIELD.res, r);
  });
  b.code.push(...b.horizontal(chi2));
  return b.finish();
}

/**
 * derivatives(pairs, t0, amp, rise, temp0, tAmp, tColor): features/rainbow.ts's derivatives loop (gradient and
 * exact Hessian of chi2 / 2, without the prior) from what `cost` left, into the 27 outputs at byte 0.
 */
function derivativesFunction(): number[] {
  const b = new Body(7, 2);
  const [t0, amp, rise, temp0, tAmp, tColor] = [1, 2, 3, 4, 5, 6].map((p) => b.splat(p));
  const one = b.c(1);
  const invRise = b.div(one, rise);
  const invColor = b.div(one, tColor);
  const ir2 = b.mul(invRise, invRise);
  const ic2 = b.mul(invColor, invColor);
  const temp0tAmp = b.mul(temp0, tAmp);
  const acc = Array.from({ length: 27 }, () => b.accumulator());
  const [g0, g1, g2, g3, g4, g5] = acc;
  const [h00, h01, h02, h03, h04, h05, h11, h12, h13, h14, h15, h22, h23, h24, h25, h33, h34, h35, h44, h45, h55] = acc.slice(6);
  loopOverPairs(b, (ptr) => {
    const s = b.load(ptr, FIELD.sed);
    const sb = b.load(ptr, FIELD.sBol);
    const r = b.load(ptr, FIELD.res);
    const ie = b.load(ptr, FIELD.invErr);
    const dt = b.sub(b.load(ptr, FIELD.t), t0);
    const q = b.load(ptr, FIELD.sbBol);
    const w = b.load(ptr, FIELD.w);
    const st = b.load(ptr, FIELD.sbT);
    const it = b.load(ptr, FIELD.invTemp);
    const invEm1 = b.load(ptr, FIELD.invEm1);
    const x = b.mul(b.load(ptr, FIELD.xOverT), it);
    const rho = b.add(one, invEm1);
    const xrho = b.mul(x, rho);
    const f = b.sub(xrho, b.c(4));
    const bol = b.mul(amp, sb);
    const u = b.mul(dt, invRise);
    const bd0 = b.neg(b.prod(amp, q, invRise));
    const bd1 = sb;
    const bd2 = b.mul(bd0, u);
    const v = b.mul(dt, invColor);
    const st2 = b.add(st, st);
    const wt0 = b.mul(st2, invColor);
    const wc = b.mul(wt0, v);
    const td0 = b.mul(temp0tAmp, wt0);
    const td3 = b.add(one, b.mul(tAmp, w));
    const td4 = b.mul(temp0, w);
    const td5 = b.mul(td0, v);
    const sT = b.prod(s, f, it);
    const sTT = b.prod(s, b.sub(b.sub(b.mul(f, f), f), b.mul(xrho, b.sub(one, b.mul(x, invEm1)))), it, it);
    const bsT = b.mul(bol, sT);
    const nie = b.neg(ie);
    const j0 = b.mul(nie, b.add(b.mul(bd0, s), b.mul(bsT, td0)));
    const j1 = b.prod(nie, bd1, s);
    const j2 = b.prod(nie, bd2, s);
    const j3 = b.prod(nie, bsT, td3);
    const j4 = b.prod(nie, bsT, td4);
    const j5 = b.prod(nie, bsT, td5);
    const js = [j0, j1, j2, j3, j4, j5];
    js.forEach((j, k) => b.addTo([g0, g1, g2, g3, g4, g5][k], b.mul(j, r)));
    const c = b.mul(b.neg(r), ie);
    const om = b.sub(one, b.add(sb, sb));
    const aq = b.mul(amp, q);
    const b00 = b.prod(aq, om, ir2);
    const b01 = b.neg(b.mul(q, invRise));
    const omu = b.mul(om, u);
    const b02 = b.prod(aq, b.add(omu, one), ir2);
    const b12 = b.mul(b01, u);
    const b22 = b.prod(aq, u, b.add(omu, b.c(2)), ir2);
    const nst2 = b.neg(st2);
    const wt0t0 = b.prod(nst2, w, ic2);
    const wv = b.mul(w, v);
    const wt0c = b.prod(nst2, b.add(wv, one), ic2);
    const wcc = b.prod(nst2, v, b.add(wv, b.c(2)), ic2);
    const bsTT = b.mul(bol, sTT);
    const sd0 = b.mul(sT, td0);
    const jj = (a: number, k: number) => b.mul(js[a], js[k]);
    const hess = (acc: number, a: number, k: number, second: number | null): void => {
      b.addTo(acc, second === null ? jj(a, k) : b.add(jj(a, k), b.mul(c, second)));
    };
    const sTbd0 = b.mul(sT, bd0);
    const sTbd1 = b.mul(sT, bd1);
    const sTbd2 = b.mul(sT, bd2);
    const bsTTtd0 = b.mul(bsTT, td0);
    hess(h00, 0, 0, b.sum(b.mul(b00, s), b.prod(b.c(2), bd0, sd0), b.mul(bsTTtd0, td0), b.prod(bsT, temp0tAmp, wt0t0)));
    hess(h01, 0, 1, b.add(b.mul(b01, s), b.mul(bd1, sd0)));
    hess(h02, 0, 2, b.add(b.mul(b02, s), b.mul(bd2, sd0)));
    hess(h03, 0, 3, b.sum(b.mul(sTbd0, td3), b.mul(bsTTtd0, td3), b.prod(bsT, tAmp, wt0)));
    hess(h04, 0, 4, b.sum(b.mul(sTbd0, td4), b.mul(bsTTtd0, td4), b.prod(bsT, temp0, wt0)));
    hess(h05, 0, 5, b.sum(b.mul(sTbd0, td5), b.mul(bsTTtd0, td5), b.prod(bsT, temp0tAmp, wt0c)));
    hess(h11, 1, 1, null);
    hess(h12, 1, 2, b.mul(b12, s));
    hess(h13, 1, 3, b.mul(sTbd1, td3));
    hess(h14, 1, 4, b.mul(sTbd1, td4));
    hess(h15, 1, 5, b.mul(sTbd1, td5));
    hess(h22, 2, 2, b.mul(b22, s));
    hess(h23, 2, 3, b.mul(sTbd2, td3));
    hess(h24, 2, 4, b.mul(sTbd2, td4));
    hess(h25, 2, 5, b.mul(sTbd2, td5));
    const bsTTtd3 = b.mul(bsTT, td3);
    hess(h33, 3, 3, b.mul(bsTTtd3, td3));
    hess(h34, 3, 4, b.add(b.mul(bsTTtd3, td4), b.mul(bsT, w)));
    hess(h35, 3, 5, b.add(b.mul(bsTTtd3, td5), b.prod(bsT, tAmp, wc)));
    const bsTTtd4 = b.mul(bsTT, td4);
    hess(h44, 4, 4, b.mul(bsTTtd4, td4));
    hess(h45, 4, 5, b.add(b.mul(bsTTtd4, td5), b.prod(bsT, temp0, wc)));
    hess(h55, 5, 5, b.add(b.prod(bsTT, td5, td5), b.prod(bsT, temp0tAmp, wcc)));
  });
  acc.forEach((a, k) => b.code.push(...i32(8 * k), ...b.horizontal(a), ...mem(F64_STORE, 3)));
  return b.finish();
}

let compiled: WebAssembly.Module | null = null;

function moduleBytes(): Uint8Array {
  const type = (params: number[], results: number[]) => [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
  // the functions first: writing them fills the table of constants, which a data segment puts in memory
  const functions = vec([costFunction(), derivativesFunction()]);
  const table = constantValues.flatMap((x) => [...f64Bytes(x), ...f64Bytes(x)]);
  return Uint8Array.from([
    ...MODULE_HEADER,
    ...section(1, vec([type([I32, F64, F64, F64, F64, F64, F64, F64, F64], [F64]), type([I32, F64, F64, F64, F64, F64, F64], [])])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, ...uleb(1)]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('cost'), 0x00, 0], [...name('derivatives'), 0x00, 1]])),
    ...section(10, functions),
    ...section(11, vec([[0x00, ...i32(CONSTANTS), END, ...uleb(table.length), ...table]])),
  ]);
}

/** One light curve's kernel: its own memory, grown to the light curve's records. */
export class RainbowKernel {
  private readonly instance: WebAssembly.Instance;
  private readonly memory: WebAssembly.Memory;
  readonly cost: (pairs: number, t0: number, amp: number, invRise: number, temp0: number, tAmp: number, invColor: number, bolFrom: number, colorSpan: number) => number;
  readonly derivatives: (pairs: number, t0: number, amp: number, rise: number, temp0: number, tAmp: number, tColor: number) => void;
  /** The memory as float64: the outputs at 0, record p's field f lane l at RECORDS / 8 + p * 2 FIELDS + 2 f + l. */
  view: Float64Array;

  constructor() {
    compiled ??= new WebAssembly.Module(moduleBytes());
    this.instance = new WebAssembly.Instance(compiled, {});
    const exports = this.instance.exports;
    this.memory = exports.memory as WebAssembly.Memory;
    this.cost = exports.cost as RainbowKernel['cost'];
    this.derivatives = exports.derivatives as RainbowKernel['derivatives'];
    this.view = new Float64Array(this.memory.buffer);
  }

  /** Pairs of points `cost` and `derivatives` take. */
  pairs = 0;

  /**
   * The light curve's n points into the records; an odd n gets a last point of zero weight (1/err 0, blackbody
   * scale 0, at the last point's time), which adds nothing.
   */
  setPoints(n: number, t: ArrayLike<number>, y: ArrayLike<number>, invErr: ArrayLike<number>, xOverT: ArrayLike<number>, sedScale: ArrayLike<number>): void {
    const pairs = (n + 1) >> 1;
    const bytes = RECORDS + pairs * RECORD_BYTES;
    if (bytes > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((bytes - this.memory.buffer.byteLength) / 65536));
      this.view = new Float64Array(this.memory.buffer);
    }
    const v = this.view;
    for (let i = 0; i < 2 * pairs; i++) {
      const pad = i >= n;
      v[RainbowKernel.index(i, FIELD.t)] = pad ? t[n - 1] : t[i];
      v[RainbowKernel.index(i, FIELD.y)] = pad ? 0 : y[i];
      v[RainbowKernel.index(i, FIELD.invErr)] = pad ? 0 : invErr[i];
      v[RainbowKernel.index(i, FIELD.xOverT)] = pad ? 1 : xOverT[i];
      v[RainbowKernel.index(i, FIELD.sedScale)] = pad ? 0 : sedScale[i];
    }
    this.pairs = pairs;
  }

  /** Index in `view` of point i's value of a field. */
  static index(i: number, field: number): number {
    return RECORDS / 8 + (i >> 1) * 2 * FIELDS + 2 * field + (i & 1);
  }
}
