import { describe, expect, it } from 'vitest';
import { Random, forEachJsonArrayElement, parseJsonExact, stringifyJsonExact } from '../../datasets/index.ts';

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
 * What parseJsonExact must give: every integer token that a double cannot hold exactly as a bigint (a bigint
 * written bare, or a large double that JSON writes as a digit run), everything else as JSON.parse gives it.
 */
const exactInteger = (v: number) => {
  const text = JSON.stringify(v);
  return /^-?\d+$/.test(text) && !Number.isSafeInteger(v) ? BigInt(text) : v;
};
const expected = (v: unknown): unknown => (typeof v === 'number' ? exactInteger(v) : Array.isArray(v) ? v.map(expected)
  : v && typeof v === 'object' && typeof v !== 'bigint' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expected(x)])) : v);

async function* inPieces(text: string, cuts: number[]): AsyncIterable<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    yield bytes.subarray(at, c);
    at = c;
  }
}

describe('exact JSON (lossless-json; @streamparser/json for streamed lists)', () => {
  it('leaves strings holding long digit runs alone, and reads 64-bit integers exactly', () => {
    expect(parseJsonExact('{"a":"x,12345678901234567,y"}')).toEqual({ a: 'x,12345678901234567,y' });
    expect(parseJsonExact('["a\\",12345678901234567,"]')).toEqual(['a",12345678901234567,']);
    expect(parseJsonExact('{"candid":1234567890123456789,"f":1.23456789012345678}')).toEqual({ candid: 1234567890123456789n, f: 1.2345678901234568 });
    expect(parseJsonExact('[ -9223372036854775807, 9007199254740993, 9007199254740991, 1e300 ]')).toEqual([-9223372036854775807n, 9007199254740993n, 9007199254740991, 1e300]);
    // the ZTF API's i:candid (api/README.md point 3) that JSON.parse rounds
    expect(JSON.parse('1786410691915010000')).toBe(1786410691915009920);
    expect(parseJsonExact('{"i:candid":1786410691915010000}')).toEqual({ 'i:candid': 1786410691915010000n });
    expect(() => parseJsonExact('{"a":1,')).toThrow(SyntaxError);
  });

  it('writes bigint as exact integers and NaN as null', () => {
    expect(stringifyJsonExact({ a: 1n << 62n, b: NaN, c: [1.5, Infinity, -0] })).toBe('{"a":4611686018427387904,"b":null,"c":[1.5,null,0]}');
  });

  it('agrees with JSON.parse on 3,000 random documents, and keeps every 64-bit integer token exact', () => {
    const rng = new Random(2024);
    for (let i = 0; i < 3000; i++) {
      const bigs = new Map<string, bigint>();
      const value = randomValue(rng, 0, bigs);
      const text = stringifyJsonExact(value);
      // white space between tokens (never inside strings) on every other document
      const spaced = i % 2 ? text : text.replace(/"(?:[^"\\]|\\.)*"|[,:[{]/g, (m) => (m.length === 1 ? `${m} ` : m));
      if (!bigs.size) expect(parseJsonExact(spaced)).toEqual(expected(JSON.parse(spaced)));
      expect(parseJsonExact(spaced)).toEqual(expected(value));
    }
  });

  it('streams the elements of a list cut anywhere into chunks, with the values parseJsonExact gives', async () => {
    const rng = new Random(7);
    for (let i = 0; i < 300; i++) {
      const list = Array.from({ length: 1 + Math.floor(rng.next() * 4) }, () => randomValue(rng, 1, new Map()));
      const text = stringifyJsonExact(list);
      const cuts = Array.from({ length: Math.floor(rng.next() * 5) }, () => Math.floor(rng.next() * text.length)).sort((a, b) => a - b);
      const got: unknown[] = [];
      const progress = await forEachJsonArrayElement(inPieces(text, cuts), (e, k) => got.push([k, e]));
      expect(got).toEqual((parseJsonExact(text) as unknown[]).map((e, k) => [k, e]));
      expect(progress).toEqual({ elements: list.length, bytes: Buffer.byteLength(text) });
    }
  });

  it('refuses what is not one complete list, at its first token when it is not a list', async () => {
    const read = async (text: string) => {
      const got: unknown[] = [];
      const error = await forEachJsonArrayElement(inPieces(text, []), (e) => got.push(e)).then(() => null, (e: Error) => e);
      return { got, error: error && `${error.name}: ${error.message}` };
    };
    expect(await read('{"a":[1,2]}')).toEqual({ got: [], error: 'SyntaxError: the answer is a JSON object, not a list' });
    expect(await read('"text"')).toEqual({ got: [], error: 'SyntaxError: the answer is a single JSON value, not a list' });
    expect(await read('')).toEqual({ got: [], error: 'SyntaxError: empty answer' });
    expect((await read('[1,')).error).toBe('SyntaxError: the text ends inside the list');
    expect((await read('[1] [2]')).error).toMatch(/^SyntaxError: Unexpected/);
    expect((await read('[1, nan]')).error).toMatch(/^SyntaxError: Unexpected "a"/);
    // an element handler that throws stops the reading with its error
    const stop = await forEachJsonArrayElement(inPieces('[1,2,3]', []), (e) => {
      if (e === 2) throw new RangeError('two');
    }).catch((e: Error) => e);
    expect(stop).toBeInstanceOf(RangeError);
  });
});
