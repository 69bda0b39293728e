import { Random } from '../datasets/index.ts';

export { Random };

/** k distinct integers from [0, n) in random order (partial Fisher-Yates on a scratch permutation). */
export function sampleWithoutReplacement(rng: Random, perm: Int32Array, n: number, k: number): number {
  const kk = Math.min(k, n);
  for (let i = 0; i < kk; i++) {
    const j = i + Math.floor(rng.next() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return kk;
}
