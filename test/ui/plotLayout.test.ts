import { describe, expect, it } from 'vitest';
import { axisSize, metricRange, paddedRange, xRange } from '../../ui/src/plotLayout.ts';

describe('light-curve plot layout', () => {
  // 7 px per character, as a 12 px sans-serif font draws digits
  const measure = (s: string) => 7 * s.length;

  it('gives the y axis room for 7-8 digit flux ticks and its title (the title overlapped them at a fixed 70 px)', () => {
    const ticks = ['12,500,000', '12,750,000', '13,000,000'];
    const size = axisSize(ticks, measure);
    expect(size).toBeGreaterThanOrEqual(7 * 10 + 30);
    expect(size).toBeGreaterThan(70);
    expect(axisSize(['19', '20'], measure)).toBeLessThan(70);
  });

  it('pads the x range so the last point is not clipped at the edge', () => {
    const [lo, hi] = paddedRange(58800, 58860, 0.03, 0.5);
    expect(lo).toBeLessThan(58800);
    expect(hi).toBeGreaterThan(58860);
    // a single night still gets a visible range
    const [a, b] = paddedRange(58800.2, 58800.2, 0.03, 0.5);
    expect(b - a).toBe(1);
  });

  it('puts a one-point light curve on an MJD axis a few days wide (main drew 0 to 120,000)', () => {
    const [lo, hi] = xRange([61100.25]);
    expect(lo).toBeGreaterThan(61090);
    expect(hi).toBeLessThan(61110);
    expect(hi - lo).toBeGreaterThanOrEqual(10);
    const [a, b] = xRange([58800, 58860]);
    expect(a).toBeLessThan(58800);
    expect(b).toBeGreaterThan(58860);
  });

  it('keeps the learning curve on 0-1 when every metric is 0 (main stretched it to 0-100)', () => {
    expect(metricRange([0, 0, 0])).toEqual([0, 1]);
    expect(metricRange([0.2, 0.9])).toEqual([0, 1]);
    expect(metricRange([3, 12])[1]).toBeGreaterThan(12);
  });
});
