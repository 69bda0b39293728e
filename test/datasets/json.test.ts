import { describe, expect, it } from 'vitest';
import { Random, parseJsonExact, stringifyJsonExact } from '../../datasets/index.ts';

/** Random JSON text: nested objects and arrays, strings full of digits, commas, quotes and escapes. */
function randomValue(rng: Random, depth: number, bigs: Map<string, bigint>): unknown {
  const r = rng.next();
  if (depth > 3 || r < 0.35) {
    const k = Math.floor(rng.next() * 6);
    if (k === 0) return Math.floor(rng.uniform(-1e6, 1e6));
    if (k === 1) return rng.uniform(-1, 1) * 10 ** Math.floor(rng.uniform(-20, 20));
    if (k === 2) {
      // strings that look like the numbers the parser must leave alone
      const digits = String(Math.floor(rng.uniform(1e15, 9e15))) + String(Math.floor(rng.uniform(10, 99)));
      const pieces = [digits, ',', '"', '\\', ':', '[', ']', '{', '}', ' ', '-', 'x', '\n', '\u00e9'];
      return Array.from({ length: 1 + Math.floor(rng.next() * 8) }, () => pieces[Math.floor(rng.next() * pieces.length)]).join('');
    }
    if (k === 3) {
      const b = BigInt(Math.floor(rng.uniform(1e15, 9e15))) * 1000n + BigInt(Math.floor(rng.next() * 1000));
      const v = rng.next() < 0.5 ? -b : b;
      bigs.set(v.toString(), v);
      return v;
    }
    if (k === 4) return rng.next() < 0.5;
    return null;
  }
  if (r < 0.65) return Array.from({ length: Math.floor(rng.next() * 5) }, () => randomValue(rng, depth + 1, bigs));
  return Object.fromEntries(Array.from({ length: Math.floor(rng.next() * 5) }, (_, i) => [`k${i},"${Math.floor(rng.next() * 1e17)}`, randomValue(rng, depth + 1, bigs)]));
}

/**
 * What parseJsonExact must give: every integer token of 16 or more digits as its exact decimal text (a
 * bigint, or a large double that JSON writes without exponent), everything else as JSON.parse gives it.
 */
const longInteger = (v: number) => (/^-?\d{16,}$/.test(JSON.stringify(v)) ? JSON.stringify(v) : v);
const expected = (v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? longInteger(v) : Array.isArray(v) ? v.map(expected)
  : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expected(x)])) : v);

describe('exact JSON', () => {
  it('leaves strings holding long digit runs alone (the reported corruption)', () => {
    expect(parseJsonExact('{"a":"x,12345678901234567,y"}')).toEqual({ a: 'x,12345678901234567,y' });
    expect(parseJsonExact('["a\\",12345678901234567,"]')).toEqual(['a",12345678901234567,']);
    expect(parseJsonExact('{"candid":1234567890123456789,"f":1.23456789012345678}')).toEqual({ candid: '1234567890123456789', f: 1.2345678901234568 });
    expect(parseJsonExact('[ -9223372036854775807 ]')).toEqual(['-9223372036854775807']);
  });

  it('agrees with JSON.parse on 3,000 random documents, and keeps every 64-bit integer token exact', () => {
    const rng = new Random(2024);
    for (let i = 0; i < 3000; i++) {
      const bigs = new Map<string, bigint>();
      const value = randomValue(rng, 0, bigs);
      const text = stringifyJsonExact(value);
      // white space between tokens (never inside strings) on every other document
      const spaced = i % 2 ? text : text.replace(/"(?:[^"\\]|\\.)*"|[,:[{]/g, (m) => (m.length === 1 ? `${m} ` : m));
      if (!/(^|[:[,])\s*-?\d{16,}\s*([,\]}]|$)/.test(spaced.replace(/"(?:[^"\\]|\\.)*"/g, '""'))) expect(parseJsonExact(spaced)).toEqual(JSON.parse(spaced));
      expect(parseJsonExact(spaced)).toEqual(expected(value));
    }
  });
});
