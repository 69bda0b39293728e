import { describe, expect, it } from 'vitest';
import { axisSize, paddedRange } from '../../ui/src/plotLayout.ts';

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
});
