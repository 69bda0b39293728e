import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAlertFile, Random } from '../../datasets/index.ts';
import { canonicalDeclaration, compileExpression, compileModule, DeclarationError, ensureBuiltinModules, moduleOf, parseDeclaration, Store, type ModuleDeclaration } from '../../engine/index.ts';
import { fuzz } from '../hostile.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';

const EXAMPLE = readFileSync(path.join(REPO_ROOT, 'examples', 'fast-transient.json'), 'utf8');
const RUBIN = readFileSync(path.join(REPO_ROOT, 'engine', 'core', 'modules', 'declarations', 'early-snia-rubin.json'), 'utf8');

/** The one-line error a declaration gets (it must be a DeclarationError), or null when it is accepted. */
function refusal(text: string, source = 'm.json'): string | null {
  try {
    parseDeclaration(text, source);
    return null;
  } catch (e) {
    if (!(e instanceof DeclarationError)) throw e;
    expect(e.message.split('\n')).toHaveLength(1);
    return e.message;
  }
}

/** The example with another cut, written as the file is (cuts on line 6). */
const withCuts = (cuts: string, base = EXAMPLE) => base.replace(/"cuts": ".*?",\n/, `"cuts": ${JSON.stringify(cuts)},\n`);
const rubinWithCuts = (cuts: string) => JSON.stringify({ ...JSON.parse(RUBIN), cuts }, null, 2);

describe('cuts are type-checked when declared (issue 23, point 3; issue 22, point 7)', () => {
  it('gives file:line:column for a bad cut, the column of the offending character', () => {
    const text = withCuts('drb > 0.5 and magnitude < 19');
    const line = text.split('\n').findIndex((l) => l.includes('"cuts"'));
    const column = text.split('\n')[line].indexOf('"drb') + 1 + 'drb > 0.5 and '.length + 1;
    expect(refusal(text, 'fast-transient.json')).toBe(`fast-transient.json:${line + 1}:${column}: cuts: unknown name 'magnitude': neither a feature column nor a ztf alert field`);
    // an escaped quote before the error still lands on the right column
    const escaped = withCuts('cdsxmatch == "x" and magpfs < 19');
    const col2 = escaped.split('\n')[line].indexOf('magpfs') + 1;
    expect(refusal(escaped)).toBe(`m.json:${line + 1}:${col2}: cuts: unknown name 'magpfs': neither a feature column nor a ztf alert field (did you mean 'magpsf'?)`);
  });

  it.each([
    ['drb in rb', /cuts: 'in' needs a list on its right, e\.g\. 'drb' in \['a', 'b'\]; 'rb' is a number$/],
    ["cdsxmatch in [1, 2]", /cuts: 'cdsxmatch' is text, the list holds 1, a number$/],
    ['drb > 0.5 and toString()', /cuts: unknown function 'toString' \(known: abs, log10, min, max, isnan, isnull\)$/],
    ['hasOwnProperty(drb)', /cuts: unknown function 'hasOwnProperty'/],
    ['drb.toString() > 0', /cuts: '\.' : member access is not part of the cut language$/],
    ['constructor > 0', /cuts: unknown name 'constructor'/],
    ['__proto__ > 0', /cuts: unknown name '__proto__'/],
    ['('.repeat(2000) + 'drb > 0' + ')'.repeat(2000), /cuts: nested more than 32 levels deep$/],
    ['not '.repeat(40) + 'drb > 0', /cuts: nested more than 32 levels deep$/],
    ['drb > 0.5;', /cuts: ';' : a cut is one expression, with nothing after it$/],
    ['drb > 0.5 ndethist', /cuts: unexpected 'ndethist' after a complete expression$/],
    ["drb > 'five'", /cuts: '>' compares 'drb', a number, with 'five', text$/],
    ["cdsxmatch == 3", /cuts: '==' compares 'cdsxmatch', text, with 3, a number$/],
    ['drb + cdsxmatch > 1', /cuts: '\+' needs numbers, 'cdsxmatch' is text$/],
    ["cdsxmatch", /cuts: a cut is a condition; this one gives text$/],
    ['abs(cdsxmatch) > 1', /cuts: abs takes numbers, 'cdsxmatch' is text$/],
    ['max(drb) > 1', /cuts: max takes 2-8 argument\(s\), not 1$/],
    ['drb > null', /cuts: '>' with null is never true; test for a missing value with isnull\(\.\.\.\)$/],
    ['drb = 1', /cuts: unexpected character '='$/],
    ['x'.repeat(5000), /cuts: 5000 characters, more than the 4096 a cut may have$|cuts: must NOT have more than 4096 characters$/],
  ].map(([cuts, message]) => [(cuts as string).length > 60 ? `${(cuts as string).slice(0, 24)}... (${(cuts as string).length} characters)` : cuts, cuts, message] as [string, string, RegExp]))('refuses %s', (_title, cuts, message) => {
    expect(refusal(withCuts(cuts))).toMatch(message);
  });

  it('accepts what the language allows, and evaluates it as before', () => {
    for (const cuts of ["drb > 0.5 and ndethist <= 20", "not (drb > 0.5) or isnull(cdsxmatch)", "cdsxmatch in ['Unknown', 'Candidate_SN*', null]", "abs(drb - 1) < 0.2 and log10(ndethist) < 1", "-drb < -0.5 && !(rb == 1)", "isdiffpos == 't'", "drb != null", "min(drb, rb, 1) >= 0"]) {
      expect(refusal(withCuts(cuts)), cuts).toBeNull();
    }
    const names = ['drb', 'ndethist', 'cdsxmatch'];
    const f = (e: string) => compileExpression(e, (n) => (names.includes(n) ? names.indexOf(n) : null));
    // unary binds to the value after it, as jsep parsed the language before
    expect(f('-drb < -0.5')([0.9, 1, null])).toBe(true);
    expect(f('drb > 0.5 and ndethist <= 20 or cdsxmatch == \'SN\'')([0.1, 1, 'SN'])).toBe(true);
    expect(f('1 + 2 * 3 == 7')([0, 0, null])).toBe(true);
  });

  it('keeps survey-specific fields to their survey: an LSST module refuses ZTF fields, with a line saying so', () => {
    expect(refusal(rubinWithCuts('drb > 0.5'))).toMatch(/cuts: unknown name 'drb': neither a feature column nor a lsst alert field \('drb' is a ztf field; a lsst module reads lsst alerts\)$/);
    expect(refusal(rubinWithCuts("snr > 'five'"))).toMatch(/cuts: '>' compares 'snr', a number, with 'five', text$/);
    expect(refusal(rubinWithCuts('snr > 5;'))).toMatch(/cuts: ';' : a cut is one expression/);
    expect(refusal(rubinWithCuts('snr > 5 and reliability > 0.5 and not isDipole'))).toBeNull();
    expect(refusal(rubinWithCuts('isDipole == 0'))).toMatch(/'==' compares 'isDipole', true\/false, with 0, a number$/);
    const ztfFieldAsFeature = JSON.stringify({ ...JSON.parse(RUBIN), features: ['early-snia-rubin', { alert: ['sgscore1'] }] }, null, 2);
    expect(refusal(ztfFieldAsFeature)).toMatch(/features\[1\]\.alert\[0\]: unknown lsst alert field 'sgscore1': 'sgscore1' is a ztf field, and a lsst module reads lsst alerts/);
    const ztfExtractor = JSON.stringify({ ...JSON.parse(RUBIN), features: ['early-snia'] }, null, 2);
    expect(refusal(ztfExtractor)).toMatch(/features\[0\]: unknown extractor 'early-snia' for lsst: 'early-snia' is a ztf extractor/);
    expect(refusal(rubinWithCuts('reliabilty > 0.5'))).toMatch(/unknown name 'reliabilty': .* \(did you mean 'reliability'\?\)$/);
  });
});

describe('a stored cut that today\'s compiler refuses (accepted by an older Sieve)', () => {
  it('turns that module\'s cut off with a reason, and throws for nothing', async () => {
    const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-hostile-modules-')), 's.db');
    const store = Store.create(db);
    try {
      ensureBuiltinModules(store);
      // as an older Sieve stored them: no check of 'in' operands, no refusal of a trailing ';' or toString()
      for (const [name, cuts] of [['old-in', 'drb in rb'], ['old-semicolon', 'drb > 0.5;'], ['old-tostring', 'toString() > 0']]) {
        const d = { ...(JSON.parse(EXAMPLE) as ModuleDeclaration), name, cuts };
        const { json, sha256 } = canonicalDeclaration(d);
        store.addModuleRevision(name, json, sha256, 'x'.repeat(64), 'old-sieve');
      }
      const alerts = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts.slice(0, 5);
      for (const name of ['old-in', 'old-semicolon', 'old-tostring']) {
        const def = moduleOf(store, name);
        expect(def.cutError()).toMatch(/^cuts: /);
        for (const a of alerts) expect(def.extractor().passesCuts(a)).toBe(false);
      }
      expect(moduleOf(store, 'old-in').cutError()).toMatch(/'in' needs a list on its right/);
      // the other modules are untouched
      expect(moduleOf(store, 'kilonova').cutError()).toBeNull();
      expect(typeof moduleOf(store, 'kilonova').extractor().passesCuts(alerts[0])).toBe('boolean');
    } finally {
      store.close();
    }
  });
});

describe('YAML and size limits on declarations (issue 23, point 4)', () => {
  it('refuses 56,000 anchors in a 1 MB text, an alias bomb, and a 50 MB title, before parsing', () => {
    const anchors = `name: x\nlist:\n${Array.from({ length: 56_000 }, (_, i) => `  - &a${i} ${i}\n`).join('')}`;
    expect(anchors.length).toBeGreaterThan(900_000);
    let t = Date.now();
    expect(refusal(anchors, 'm.yaml')).toMatch(/^m\.yaml: \d+ characters, more than the 32768 a declaration may have$/);
    expect(Date.now() - t).toBeLessThan(1000);
    const small = `name: x\nlist:\n${Array.from({ length: 40 }, (_, i) => `  - &a${i} ${i}\n`).join('')}`;
    expect(refusal(small, 'm.yaml')).toBe('m.yaml:35: more than 32 YAML anchors and aliases');
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
    expect(refusal(bomb, 'm.yaml')).toBe('m.yaml: its aliases expand to too many values (a YAML alias bomb)');
    t = Date.now();
    const title = withCuts('drb > 0.5').replace('"Fast transients"', JSON.stringify('t'.repeat(50_000_000)));
    expect(refusal(title)).toBe(`m.json: ${title.length} characters, more than the 32768 a declaration may have`);
    expect(Date.now() - t).toBeLessThan(5000);
    expect(refusal(`a: ${'['.repeat(40)}${']'.repeat(40)}`, 'm.yaml')).toBe('m.yaml:1: nested more than 32 levels deep');
    expect(refusal(Array.from({ length: 4100 }, (_, i) => `k${i}:`).join('\n'), 'm.yaml')).toMatch(/^m\.yaml:\d+: more than 4000 values$/);
    expect(refusal(withCuts('drb > 0.5').replace('"Fast transients"', JSON.stringify('t'.repeat(200))))).toMatch(/^m\.json:3:\d+: title: must NOT have more than 120 characters$/);
  });
});

/** Random cut expressions from the language and beyond it (member access, calls, mixed types, lists anywhere). */
function randomCut(rng: Random, depth = 0): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
  const leaf = () => pick(['drb', 'rb', 'ndethist', 'cdsxmatch', 'isdiffpos', 'magpsf', "'SN'", "'t'", '0.5', '20', '-1', 'true', 'null', 'nope', 'toString', 'constructor', "''", '1e309']);
  if (depth > 4 || rng.next() < 0.25) return leaf();
  const a = () => randomCut(rng, depth + 1);
  switch (Math.floor(rng.next() * 10)) {
    case 0: return `${a()} ${pick(['<', '<=', '>', '>=', '==', '!='])} ${a()}`;
    case 1: return `${a()} ${pick(['and', 'or', '&&', '||'])} ${a()}`;
    case 2: return `${pick(['not ', '!', '-', '+'])}${a()}`;
    case 3: return `(${a()})`;
    case 4: return `${a()} in [${Array.from({ length: Math.floor(rng.next() * 3) }, a).join(', ')}]`;
    case 5: return `${a()} in ${a()}`;
    case 6: return `${pick(['abs', 'log10', 'min', 'max', 'isnan', 'isnull', 'toString', 'valueOf', 'eval'])}(${Array.from({ length: Math.floor(rng.next() * 3) }, a).join(', ')})`;
    case 7: return `${a()} ${pick(['+', '-', '*', '/'])} ${a()}`;
    case 8: return `${a()}.${pick(['length', 'toString()', 'constructor'])}`;
    default: return `${a()}${pick([';', ',', ' ', ')', ''])}`;
  }
}

describe('fuzz: declarations and cuts (fixed seeds, time budget)', () => {
  it('a random cut is refused with one line, or accepted and then never throws on any row', async () => {
    const alerts = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts.slice(0, 20);
    const base = JSON.parse(EXAMPLE) as ModuleDeclaration;
    let accepted = 0;
    let refused = 0;
    const n = await fuzz(22, 3000, 3000, (rng) => {
      const cuts = randomCut(rng);
      const msg = refusal(withCuts(cuts));
      if (msg !== null) {
        refused++;
        expect(msg).toMatch(/^m\.json:\d+:\d+: cuts: \S/);
        return;
      }
      accepted++;
      // what passes the check runs on real alerts and on rows of any type without throwing
      const def = compileModule({ ...base, cuts });
      expect(def.cutError()).toBeNull();
      const ex = def.extractor();
      for (const a of alerts) expect(typeof ex.passesCuts(a)).toBe('boolean');
      const names = ['drb', 'rb', 'ndethist', 'cdsxmatch', 'isdiffpos', 'magpsf'];
      const f = compileExpression(cuts, (x) => (names.includes(x) ? names.indexOf(x) : null));
      for (const row of [[NaN, null, 'x', true, '', -1], [0.9, 1, 3, 'SN', 't', 19], [null, null, null, null, null, null]]) expect(typeof f(row as never)).toBe('boolean');
    });
    expect(n).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(10);
    expect(refused).toBeGreaterThan(10);
  });

  it('a mutated declaration text is accepted or refused with one DeclarationError line, never another error', async () => {
    const n = await fuzz(23, 3000, 3000, (rng) => {
      const b = Buffer.from(EXAMPLE);
      for (let k = 1 + Math.floor(rng.next() * 4); k > 0; k--) {
        const i = Math.floor(rng.next() * b.length);
        b[i] = "{}[]:,&*!|>'\"-#\n ax0"[Math.floor(rng.next() * 20)].charCodeAt(0);
      }
      const msg = refusal(b.toString('utf8'));
      if (msg !== null) expect(msg).toMatch(/^m\.json(:\d+(:\d+)?)?: /);
    });
    expect(n).toBeGreaterThan(100);
  });
});
