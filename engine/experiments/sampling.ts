import { Random } from '../../models/index.ts';

/**
 * Row indices (in order) keeping every negative and a seeded random subset of the positives, so that
 * positives make up `fraction` of the result: the class balance of a survey rather than of a catalogue.
 */
export function subsamplePositives(isPositive: ArrayLike<number | boolean>, fraction: number, seed: number): number[] {
  const neg: number[] = [];
  const pos: number[] = [];
  for (let i = 0; i < isPositive.length; i++) (isPositive[i] ? pos : neg).push(i);
  const want = Math.max(1, Math.round((fraction * neg.length) / (1 - fraction)));
  const rng = new Random(seed, 0xf4a);
  for (let i = pos.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [pos[i], pos[j]] = [pos[j], pos[i]];
  }
  return [...neg, ...pos.slice(0, want)].sort((a, b) => a - b);
}
