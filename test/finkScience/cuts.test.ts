import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Random } from '../../models/index.ts';
import { compileExpression, cutsToPython, FinkScienceRefusal } from '../../engine/index.ts';
import { REPO_ROOT } from '../shared.ts';

/** Debian's python3 with numpy and pandas (npm test installs them): runs the translated cuts independently of Sieve. */
const PYTHON = '/usr/bin/python3';

const NAMES: Record<string, 'num' | 'text'> = { a: 'num', b: 'num', flag: 'num', t: 'text', u: 'text' };
const resolve = (name: string) => {
  if (!NAMES[name]) throw new Error(`unknown name ${name}`);
  return { kind: NAMES[name], python: `v[${JSON.stringify(name)}]` };
};

/** Rows with every kind of value the cut language meets: numbers, NaN, text, null, booleans. */
function rows(n: number, seed: number): Array<Array<number | string | boolean | null>> {
  const rng = new Random(seed);
  const texts = ['x', 'y', 'z', '', '1', null];
  return Array.from({ length: n }, () => {
    // (+ 0: no negative zero, which JSON would carry to Python as +0)
    const num = () => (rng.next() < 0.15 ? NaN : Math.round((rng.next() * 2 - 0.5) * 8) / 8 + 0);
    return [num(), num(), rng.next() < 0.1 ? null : rng.next() < 0.5, texts[Math.floor(rng.next() * texts.length)], texts[Math.floor(rng.next() * texts.length)]];
  });
}

const EXPRESSIONS = [
  'a > 0.5', 'a >= 0.5 and b <= 0.25', 'a != b', 'a == b', 'not (a < b)', '!(a <= 0)', 'a + b > 1', 'a - b * 2 < 0', 'a / b >= 1',
  'b / 0 > 1', '-a > 0', '+a < 0', 'abs(a) < 0.3', 'log10(abs(b)) < -0.5', 'log10(a - 1) < 0', 'min(a, b) < 0.2', 'max(a, b, 0.5) > 0.6',
  'isnan(a)', 'isnan(t)', 'isnull(t)', 'isnull(a) or isnull(b)', "t == 'x'", "t != 'x'", "t in ['x', 'y']", "t < 'y'", "t >= u",
  't == u', 't != u', 'a in [0.25, 0.5, b]', 'flag', 'flag == true', 'not flag', 'flag and a > 0.5', "t == 1", 't', 'a', 'a != null',
  't == null', '1 < 2', "a > 0.5 && b < 0.5 || t == 'z'", '(a > 0.2) == (b > 0.2)', 'a * 0 == 0', 'null', 'isnull(null)', "t in ['1', 2]",
];

describe("module cuts in Python (fink-science processors), against Sieve's cut language", () => {
  it('gives the same decision as compileExpression on every row, missing values included', () => {
    const data = rows(400, 7);
    const names = Object.keys(NAMES);
    const expected = EXPRESSIONS.map((e) => {
      const f = compileExpression(e, (n) => (names.includes(n) ? names.indexOf(n) : null));
      return data.map((r) => f(r));
    });
    const body = readFileSync(path.join(REPO_ROOT, 'engine', 'core', 'finkScience', 'python', 'cuts.py'), 'utf8').split('# ----\n')[1];
    const dir = mkdtempSync(path.join(tmpdir(), 'sieve-cuts-'));
    writeFileSync(path.join(dir, 'rows.json'), JSON.stringify(data.map((r) => r.map((x) => (typeof x === 'number' && Number.isNaN(x) ? null : x)))));
    const script = [
      'import json, sys', 'import numpy as np', body,
      `data = json.load(open(${JSON.stringify(path.join(dir, 'rows.json'))}))`,
      'col = lambda j: [r[j] for r in data]',
      'v = {"a": np.array([np.nan if x is None else x for x in col(0)], dtype=float), "b": np.array([np.nan if x is None else x for x in col(1)], dtype=float),',
      '     "flag": np.array(col(2), dtype=object), "t": np.array(col(3), dtype=object), "u": np.array(col(4), dtype=object)}',
      'out = []',
      ...EXPRESSIONS.map((e) => `out.append([bool(x) for x in np.broadcast_to(${cutsToPython(e, resolve)}, (len(data),))])`),
      'json.dump(out, sys.stdout)',
    ].join('\n');
    writeFileSync(path.join(dir, 'cuts.py'), script);
    const r = spawnSync(PYTHON, [path.join(dir, 'cuts.py')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as boolean[][];
    EXPRESSIONS.forEach((e, k) => {
      const differ = data.map((_, i) => i).filter((i) => got[k][i] !== expected[k][i]);
      expect(differ.map((i) => `${JSON.stringify(data[i])}: python ${got[k][i]}, sieve ${expected[k][i]}`), e).toEqual([]);
    });
    // the rows make every expression both true and false somewhere (constant ones aside): the check can fail
    const varying = expected.filter((col) => col.some(Boolean) && col.some((x) => !x)).length;
    expect(varying).toBeGreaterThanOrEqual(EXPRESSIONS.length - 5);
  });

  it('refuses what has no faithful translation, in one line naming the cut', () => {
    const refused = (e: string) => {
      try {
        cutsToPython(e, resolve);
      } catch (err) {
        expect(err).toBeInstanceOf(FinkScienceRefusal);
        return (err as Error).message;
      }
      return null;
    };
    expect(refused('a == t')).toMatch(/^cuts 'a == t': compares text \(v\["t"\]\) with a number \(v\["a"\]\)/);
    expect(refused("t in ['x', a]")).toMatch(/compares text .* with a number/);
    expect(refused('[1, 2] == a')).toMatch(/a list is only allowed on the right of `in`/);
    expect(refused('a in b')).toMatch(/'in' needs a list on its right/);
    expect(refused('sqrt(a) > 1')).toMatch(/unknown function 'sqrt'/);
    expect(refused('a > 1')).toBeNull();
  });
});
