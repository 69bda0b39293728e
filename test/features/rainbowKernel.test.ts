/**
 * The Rainbow kernel (features/rainbowKernel.ts) against the model written out here one point at a time in
 * plain JavaScript (Math.exp, Math.expm1): chi2 to 1e-13, and its gradient and Hessian against central
 * differences of the kernel's own chi2 and gradient. Light curves are random (seeded), with counts that
 * fill whole loop iterations or not, and parameters that put points in every branch: the bolometric sigmoid zero before 100 rise times and
 * 1 long after t0,
 * the temperature sigmoid saturated on both sides, the blackbody's e^x overflowing, |x| below ln 2 / 2.
 */
import { describe, expect, it } from 'vitest';
import { RainbowKernel } from '../../features/rainbowKernel.ts';

interface Curve {
  t: Float64Array;
  y: Float64Array;
  invErr: Float64Array;
  xOverT: Float64Array;
  sedScale: Float64Array;
}

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function curve(n: number, rand: () => number): Curve {
  const c: Curve = { t: new Float64Array(n), y: new Float64Array(n), invErr: new Float64Array(n), xOverT: new Float64Array(n), sedScale: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    c.t[i] = -2 + 4 * (i / Math.max(1, n - 1)) + 0.01 * rand();
    c.y[i] = rand();
    c.invErr[i] = 5 + 20 * rand();
    // h nu / k of the LSST bands (K) and a blackbody scale of their order
    c.xOverT[i] = 14_800 + 24_400 * rand();
    c.sedScale[i] = 1e13 * (0.5 + rand());
  }
  return c;
}

function load(k: RainbowKernel, c: Curve): number {
  k.setPoints(c.t.length, c.t, c.y, c.invErr, c.xOverT, c.sedScale);
  return k.pairs;
}

/** chi2 of the Rainbow model, point by point: B(t) S(T(t)), as light-curve's RainbowFit defines it. */
function referenceChi2(c: Curve, p: readonly number[]): number {
  const [t0, amp, rise, temp0, tAmp, tColor] = p;
  let chi2 = 0;
  for (let i = 0; i < c.t.length; i++) {
    const dt = c.t[i] - t0;
    const bol = dt > -100 * rise ? amp / (1 + Math.exp(-dt / rise)) : 0;
    const w = dt <= -100 * tColor ? 1 : dt >= 100 * tColor ? -1 : 2 / (1 + Math.exp(dt / tColor)) - 1;
    const temp = temp0 * (1 + tAmp * w);
    const sed = c.sedScale[i] / temp ** 4 / Math.expm1(c.xOverT[i] / temp);
    const r = (c.y[i] - bol * sed) * c.invErr[i];
    chi2 += r * r;
  }
  return chi2;
}

const cost = (k: RainbowKernel, pairs: number, p: readonly number[]): number =>
  k.cost(pairs, p[0], p[1], 1 / p[2], p[3], p[4], 1 / p[5], -100 * p[2], 100 * p[5]);

/** Gradient (6) and Hessian (6 x 6) of chi2 / 2 from the kernel, at p. */
function kernelDerivatives(k: RainbowKernel, pairs: number, p: readonly number[]): { g: number[]; h: number[][] } {
  cost(k, pairs, p);
  k.derivatives(pairs, p[0], p[1], p[2], p[3], p[4], p[5]);
  const g = Array.from(k.view.subarray(0, 6));
  const h = Array.from({ length: 6 }, () => new Array<number>(6).fill(0));
  let o = 6;
  for (let a = 0; a < 6; a++) for (let b = a; b < 6; b++) h[a][b] = h[b][a] = k.view[o++];
  return { g, h };
}

/** Parameters: [t0, amp, rise, T, T_amplitude, t_color], each case putting points in a different branch. */
const CASES: Array<{ what: string; p: number[] }> = [
  { what: 'near a typical fit', p: [0.3, 1.2, 0.4, 9_000, 0.2, 0.8] },
  { what: 'a cooling source', p: [-0.5, 2.0, 0.2, 12_000, -0.4, 0.3] },
  { what: 'the bolometric sigmoid zero before 100 rise times', p: [1.8, 1.0, 0.01, 8_000, 0.1, 1.0] },
  { what: 'the bolometric sigmoid at 1 long after t0 (e^-dt/rise underflowing)', p: [-1.9, 1.0, 0.002, 8_000, 0.1, 1.0] },
  { what: 'the temperature sigmoid saturated on both sides', p: [0.0, 1.0, 0.5, 7_000, 0.3, 0.005] },
  { what: 'e^x overflowing (a cold blackbody)', p: [0.0, 1.0, 0.5, 20, 0.5, 0.5] },
  { what: 'x below ln 2 / 2 (a hot blackbody)', p: [0.0, 1.0, 0.5, 1.5e6, 0.9, 0.5] },
];

describe('Rainbow kernel', () => {
  const k = new RainbowKernel();
  for (const n of [1, 2, 7, 8, 27, 301]) {
    for (const { what, p } of CASES) {
      it(`chi2 equals the point-by-point model's: ${n} points, ${what}`, () => {
        const c = curve(n, random(n * 7 + 1));
        const pairs = load(k, c);
        const want = referenceChi2(c, p);
        const got = cost(k, pairs, p);
        expect(Number.isFinite(got)).toBe(true);
        expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-13 * Math.max(want, 1e-300));
      });
    }
  }

  // not the cold blackbody: its model is ~1e-250, far below the ulp of chi2, so differences of chi2 see nothing
  for (const { what, p } of CASES.filter((x) => !x.what.startsWith('e^x overflowing'))) {
    it(`gradient and Hessian match central differences: ${what}`, () => {
      const c = curve(27, random(99));
      const pairs = load(k, c);
      const { g, h } = kernelDerivatives(k, pairs, p);
      // each parameter on its own scale (t0 on the sharper sigmoid's, the other times on their own, T in K): the derivatives
      // are compared as d/d(p / scale), against the largest of them
      const scale = [Math.min(1, Math.abs(p[2]), Math.abs(p[5])), Math.abs(p[1]), Math.abs(p[2]), Math.abs(p[3]), 1, Math.abs(p[5])];
      const gScaled = g.map((v, a) => v * scale[a]);
      const hScaled = h.map((row, a) => row.map((v, b) => v * scale[a] * scale[b]));
      const gMax = Math.max(...gScaled.map(Math.abs));
      const hMax = Math.max(...hScaled.flat().map(Math.abs));
      expect(gMax).toBeGreaterThan(0);
      for (let a = 0; a < 6; a++) {
        // central differences at steps s and s / 2, extrapolated (Richardson): error of order s^4
        const central = (fn: (q: number[]) => number[], s: number): number[] => {
          const up = p.slice();
          const down = p.slice();
          up[a] += s;
          down[a] -= s;
          const u = fn(up);
          const d = fn(down);
          return u.map((v, j) => (v - d[j]) / (2 * s));
        };
        const richardson = (fn: (q: number[]) => number[]): number[] => {
          const s = 1e-3 * scale[a];
          const coarse = central(fn, s);
          return central(fn, s / 2).map((v, j) => (4 * v - coarse[j]) / 3);
        };
        const numericG = richardson((q) => [cost(k, pairs, q) / 2])[0] * scale[a];
        expect(Math.abs(numericG - gScaled[a]), `g[${a}]`).toBeLessThanOrEqual(1e-6 * gMax);
        const numericH = richardson((q) => kernelDerivatives(k, pairs, q).g);
        for (let b = 0; b < 6; b++) {
          expect(Math.abs(numericH[b] * scale[a] * scale[b] - hScaled[a][b]), `h[${a}][${b}]`).toBeLessThanOrEqual(1e-6 * hMax);
        }
      }
    });
  }

  it('a light curve after a longer one: the records past the new end are not read', () => {
    const long = curve(301, random(5));
    load(k, long);
    const c = curve(7, random(6));
    const pairs = load(k, c);
    const p = CASES[0].p;
    expect(Math.abs(cost(k, pairs, p) - referenceChi2(c, p))).toBeLessThanOrEqual(1e-13 * referenceChi2(c, p));
  });
});
