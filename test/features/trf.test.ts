import { describe, expect, it } from 'vitest';
import { trfLeastSquares, fitSigmoid, sigmoid } from '../../features/index.ts';

describe('trust-region least squares', () => {
  it('solves a linear problem exactly', () => {
    // residual A x - y with A = [[1,0],[0,2],[1,1]], y = [1,4,3]: x = (1, 2)
    const res = trfLeastSquares((x, out) => {
      out[0] = x[0] - 1;
      out[1] = 2 * x[1] - 4;
      out[2] = x[0] + x[1] - 3;
    }, [0, 0], 3);
    expect(res.x[0]).toBeCloseTo(1, 6);
    expect(res.x[1]).toBeCloseTo(2, 6);
    expect(res.cost).toBeLessThan(1e-12);
    expect(res.status).toBeGreaterThan(0);
  });

  it('fits the Rosenbrock problem from the classic start', () => {
    const res = trfLeastSquares((x, out) => {
      out[0] = 10 * (x[1] - x[0] * x[0]);
      out[1] = 1 - x[0];
    }, [-1.2, 1], 2);
    expect(res.x[0]).toBeCloseTo(1, 6);
    expect(res.x[1]).toBeCloseTo(1, 6);
  });

  it('recovers a noise-free sigmoid', () => {
    const t = Float64Array.from([0, 2, 4, 6, 8, 10, 12]);
    const f = t.map((x) => sigmoid(x, 0.6, 5, 1000));
    const [a, b, c] = fitSigmoid(t, f, t.length).x;
    expect(a).toBeCloseTo(0.6, 5);
    expect(b).toBeCloseTo(5, 4);
    expect(c).toBeCloseTo(1000, 2);
  });

  it('refuses a non-finite starting point', () => {
    expect(() => trfLeastSquares((x, out) => { out[0] = Math.log(x[0]); }, [-1], 1)).toThrow(/not finite/);
  });
});
