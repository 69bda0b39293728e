import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAlertFile } from '../../datasets/index.ts';
import { DeclarationError, Store, compileExpression, ensureBuiltinModules, moduleOf, parseDeclaration } from '../../engine/index.ts';
import { RegistryProvider, runScorer, PathSource, type ResultSink, type UnitResult } from '../../engine/scorer/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { computeFeatures } from '../../engine/core/features/pipeline.ts';

const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-modules-'));
const EXAMPLE = readFileSync(path.join(REPO_ROOT, 'examples', 'fast-transient.json'), 'utf8');

function sieve(args: string[]) {
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The declaration error a text gets, as one line. */
function refusal(text: string, source = 'm.json'): string {
  try {
    parseDeclaration(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(DeclarationError);
    const msg = (e as Error).message;
    expect(msg.split('\n')).toHaveLength(1);
    return msg;
  }
  throw new Error('the declaration was accepted');
}

const example = () => JSON.parse(EXAMPLE) as Record<string, unknown>;
const pretty = (o: unknown) => JSON.stringify(o, null, 2);

describe('module declarations', () => {
  it('accepts the fast-transient example as written, in JSON and in YAML', async () => {
    const d = parseDeclaration(EXAMPLE, 'fast-transient.json');
    expect(d.name).toBe('fast-transient');
    const { stringify } = await import('yaml');
    expect(parseDeclaration(stringify(example()), 'fast-transient.yaml')).toEqual(d);
  });

  it('refuses bad declarations with one line naming file, line and field', () => {
    const withField = (patch: (o: Record<string, unknown>) => void) => {
      const o = example();
      patch(o);
      return pretty(o);
    };
    expect(refusal(withField((o) => (o.colour = 'red')))).toMatch(/^m\.json:\d+:\d+: colour: unknown field$/);
    expect(refusal(withField((o) => ((o.features as unknown[])[0] = 'sigmoid')))).toMatch(/^m\.json:6:5: features\[0\]: unknown extractor 'sigmoid' for ztf \(known: early-snia, anomaly, kilonova, kilonova-sieve\)$/);
    expect(refusal(withField((o) => ((o.features as Array<{ alert: string[] }>)[1].alert[2] = 'sgscore9')))).toMatch(/^m\.json:\d+:\d+: features\[1\]\.alert\[2\]: unknown ztf alert field 'sgscore9' \(did you mean 'sgscore1' or 'sgscore2' or 'sgscore3'\?\) \(known: .*sgscore1/);
    expect(refusal(withField((o) => ((o.features as Array<{ alert: string[] }>)[1].alert[0] = 'cdsxmatch')))).toMatch(/'cdsxmatch' is text: use it in cuts/);
    expect(refusal(withField((o) => (o.cuts = 'drb > 0.5 and (ndethist <= 20')))).toMatch(/^m\.json:\d+:\d+: cuts: expected '\)' to close the parenthesis, found the end$/);
    expect(refusal(withField((o) => (o.cuts = 'drb > 0.5 and magnitude < 19')))).toMatch(/cuts: unknown name 'magnitude': neither a feature column nor a ztf alert field/);
    expect(refusal(withField((o) => ((o.labels as Array<{ key: string }>)[1].key = '1')))).toMatch(/labels\[1\]\.key: key '1' is used twice/);
    expect(refusal(withField((o) => ((o.labels as Array<{ key: string }>)[1].key = 's')))).toMatch(/labels\[1\]\.key: key 's' is taken by the workbench/);
    expect(refusal(withField((o) => ((o.broker as { positive: string }).positive = 'quick')))).toMatch(/broker\.positive: 'quick' is not a class of the labels \(fast, other\)/);
    expect(refusal(withField((o) => ((o.model as { type: string }).type = 'svm')))).toMatch(/model\.type: must be one of "random-forest", "isolation-forest"/);
    expect(refusal(withField((o) => delete o.labels))).toMatch(/^m\.json:1:1: missing field 'labels'$/);
    // the line is where the field is: here line 6 of the YAML file
    expect(refusal('name: x-y\nsurvey: ztf\nlabels: []\nmodel: {type: random-forest}\nbroker: {score: s}\nfeatures: [nope]\n', 'm.yaml')).toMatch(/^m\.yaml:\d+:\d+: /);
    expect(refusal('name: [unclosed\n', 'bad.yaml')).toMatch(/^bad\.yaml:\d+:\d+: /);
  });

  it('declares an mlp model: its fields with their ranges, the defaults it leaves, and the strategies that need its dropout passes', () => {
    const rubin = readFileSync(path.join(REPO_ROOT, 'examples', 'early-snia-rubin-mlp.json'), 'utf8');
    const d = parseDeclaration(rubin, 'early-snia-rubin-mlp.json');
    expect(d.model).toMatchObject({ type: 'mlp', hidden: [64, 32], dropout: 0.2, mcSamples: 30, missing: 'impute' });
    expect(d.queue?.strategy).toBe('bald');
    expect(parseDeclaration(readFileSync(path.join(REPO_ROOT, 'examples', 'early-snia-mlp.json'), 'utf8'), 'early-snia-mlp.json').model.type).toBe('mlp');
    const withModel = (model: Record<string, unknown>, queue?: string) => pretty({ ...example(), model, ...(queue ? { queue: { strategy: queue } } : {}) });
    expect(refusal(withModel({ type: 'mlp', trees: 100 }))).toMatch(/^m\.json:\d+:\d+: model\.trees: applies to random forests, not to an mlp$/);
    expect(refusal(withModel({ type: 'random-forest', hidden: [8] }))).toMatch(/^m\.json:\d+:\d+: model\.hidden: applies to an mlp model \(this one is a random-forest\)$/);
    expect(refusal(withModel({ type: 'mlp', dropout: 0.95 }))).toMatch(/^m\.json:\d+:\d+: model\.dropout: must be <= 0\.9$/);
    expect(refusal(withModel({ type: 'mlp', hidden: [] }))).toMatch(/model\.hidden: must NOT have fewer than 1 items/);
    expect(refusal(withModel({ type: 'mlp', hidden: [64, 0] }))).toMatch(/model\.hidden\[1\]: must be >= 1/);
    expect(refusal(withModel({ type: 'mlp', missing: 'zero' }))).toMatch(/model\.missing: must be one of "impute", "refuse"/);
    expect(refusal(withModel({ type: 'mlp', mcSamples: 1 }))).toMatch(/model\.mcSamples: must be >= 2/);
    expect(refusal(withModel({ type: 'mlp', scaling: 'log' }))).toMatch(/model\.scaling: must be one of "robust-asinh", "standard"/);
    expect(refusal(withModel({ type: 'random-forest', scaling: 'standard' }))).toMatch(/model\.scaling: applies to an mlp model/);
    expect(refusal(withModel({ type: 'random-forest' }, 'bald'))).toMatch(/^m\.json:\d+:\d+: queue\.strategy: 'bald' needs the Monte-Carlo dropout passes of an mlp model$/);
    expect(refusal(withModel({ type: 'random-forest' }, 'predictive-entropy'))).toMatch(/'predictive-entropy' needs the Monte-Carlo dropout passes/);
    // an mlp with nothing but its type takes the documented defaults, committee and the point strategies included
    for (const strategy of ['uncertainty', 'committee', 'bald', 'predictive-entropy']) expect(parseDeclaration(withModel({ type: 'mlp' }, strategy), 'm.json').queue?.strategy).toBe(strategy);
  });

  it('evaluates cuts like the README says: and/or/not, in lists, missing values fail comparisons', () => {
    const names = ['drb', 'ndethist', 'cdsxmatch'];
    const f = (expr: string) => compileExpression(expr, (n) => (names.includes(n) ? names.indexOf(n) : null));
    expect(f('drb > 0.5 and ndethist <= 20')([0.9, 3, 'Unknown'])).toBe(true);
    expect(f('drb > 0.5 and ndethist <= 20')([0.9, 30, 'Unknown'])).toBe(false);
    expect(f('drb > 0.5 or ndethist <= 20')([0.1, 3, null])).toBe(true);
    expect(f('not (drb > 0.5)')([0.1, 3, null])).toBe(true);
    expect(f("cdsxmatch in ['Unknown', 'Candidate_SN*']")([0.1, 3, 'Unknown'])).toBe(true);
    expect(f("cdsxmatch in ['Unknown']")([0.1, 3, 'Star'])).toBe(false);
    expect(f('drb > 0.5')([NaN, 3, null])).toBe(false);
    expect(f('drb <= 0.5')([NaN, 3, null])).toBe(false);
    expect(f('abs(drb - 1) < 0.2 and log10(ndethist) < 1')([0.9, 3, null])).toBe(true);
    expect(() => f('drb > 0.5 and unknown_field > 1')).toThrow(/unknown name 'unknown_field'/);
  });
});

describe('a module an expert adds, end to end (the fast-transient example on real ZTF alerts)', () => {
  it('add, label, train and score through the CLI; a changed revision starts a new feature space', async () => {
    const db = path.join(tmp, 'fast.db');
    const file = path.join(tmp, 'fast-transient.json');
    writeFileSync(file, EXAMPLE);
    expect(sieve(['ingest', sharedPath('ztf', 'alerts.jsonl'), '--db', db]).status).toBe(0);
    const schema = sieve(['module', 'schema']);
    expect(JSON.parse(schema.stdout).title).toBe('Sieve science module declaration');
    const check = sieve(['module', 'check', file, '--in', sharedPath('ztf', 'alerts.jsonl')]);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/alerts: 140 \(ztf\); passing the cuts: \d+ \(/);
    expect(check.stdout).toMatch(/keys: 1 fast, 2 slow, 3 bogus, 4 unsure, s skip/);
    const add = sieve(['module', 'add', file, '--db', db]);
    expect(add.status, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/fast-transient: revision 1 stored \(classifier, 56 features, classes other, fast\)/);
    expect(sieve(['module', 'add', file, '--db', db]).stdout).toMatch(/unchanged \(revision 1\)/);

    // an expert labels by the module's labels: the real alerts that pass the cuts, alternately fast / slow
    const store = Store.create(db);
    const passing = store.featureTable(moduleOf(store, 'fast-transient').extractor().spec);
    computeFeatures(store, moduleOf(store, 'fast-transient').extractor());
    const t = store.featureTable(moduleOf(store, 'fast-transient').extractor().spec);
    expect(passing.alertIds.length).toBe(0);
    const objects = new Map<string, number>();
    t.alertIds.forEach((id, i) => t.passesCuts[i] && objects.set(t.objectIds[i], id));
    store.close();
    const ids = [...objects.values()].slice(0, 16);
    expect(ids.length).toBe(16);
    ids.forEach((id, k) => {
      const r = sieve(['label', String(id), k % 2 ? 'slow' : 'fast', '--module', 'fast-transient', '--db', db, '--expert', 'ana', '--retrain-every', '1000']);
      expect(r.status, r.stderr).toBe(0);
    });
    const refused = sieve(['label', String(ids[0]), 'SN Ia', '--module', 'fast-transient', '--db', db]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/label 'SN Ia' is not one of fast-transient's labels: fast, slow, bogus, unsure, skip/);
    const train = sieve(['train', 'fast-transient', '--db', db]);
    expect(train.status, train.stderr).toBe(0);
    expect(train.stdout).toMatch(/fast-transient v1: 16 labelled rows; deployed/);

    const out = path.join(tmp, 'fast.jsonl');
    const score = sieve(['score', '--module', 'fast-transient', '--db', db, '--from', sharedPath('ztf', 'avro'), '--to', out, '--workers', '0']);
    expect(score.status, score.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).toMatchObject({ module: 'fast-transient', version: 1 });
      expect(Object.keys(l.scores)).toEqual(['rf_fast_vs_other']);
    }

    // a new revision that changes the cuts: a new feature space; v1 is another revision's, the scorer refuses it
    const d = example();
    d.cuts = 'drb > 0.6 and ndethist <= 20';
    writeFileSync(file, pretty(d));
    expect(sieve(['module', 'add', file, '--db', db]).stdout).toMatch(/revision 2 stored[\s\S]*a new feature space/);
    const show = JSON.parse(sieve(['module', 'show', 'fast-transient', '--db', db, '--json']).stdout);
    expect(show.revision).toBe(2);
    expect(show.versions).toEqual([{ version: 1, status: 'deployed', currentRevision: false, provisional: true }]);
    const logs: string[] = [];
    const sink: ResultSink = { write: async (_r: UnitResult) => {}, close: async () => {} };
    await expect(runScorer({ source: new PathSource([sharedPath('ztf', 'avro')]), sink, provider: new RegistryProvider(db, ['fast-transient'], (l) => logs.push(l)), workers: 0, log: () => {} }))
      .rejects.toThrow(/no usable deployed version of fast-transient/);
    expect(logs.join('\n')).toMatch(/REFUSED fast-transient v1 .*trained on another revision of the module/);
    // labels belong to objects: the new revision trains on them at once
    const again = sieve(['train', 'fast-transient', '--db', db]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/fast-transient v2: \d+ labelled rows; deployed \(first version of this feature space/);
  }, 240_000);
});

describe("a module's value outside its cuts (broker.outside)", () => {
  it('is written for every alert outside the cuts: as declared (a number or null), 0 for a classifier that declares none', async () => {
    const { createBundle, RandomForestClassifier } = await import('../../models/index.ts');
    const { moduleFromDeclaration } = await import('../../engine/index.ts');
    const { loadModuleVersion, scoreAlerts } = await import('../../engine/scorer/index.ts');
    const alerts = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts;
    const scoresWith = (outside: number | null | undefined) => {
      const d = example();
      d.cuts = 'ndethist <= 20';
      if (outside !== undefined) (d.broker as Record<string, unknown>).outside = outside;
      const def = moduleFromDeclaration(parseDeclaration(pretty(d), 'm.json'));
      const cols = def.extractor().spec.columns.length;
      const rf = new RandomForestClassifier({ nEstimators: 3, seed: 1 }).fit({ data: Float32Array.from({ length: 20 * cols }, (_, i) => i % 7), rows: 20, cols }, Int32Array.from({ length: 20 }, (_, i) => i % 2), 2);
      const bundle = createBundle({
        module: 'fast-transient', version: '1', model: rf, featureSpec: def.extractor().spec, classNames: def.classNames,
        training: { X: { data: new Float32Array(cols), rows: 1, cols } }, metrics: {}, declaration: def.declaration,
      });
      return scoreAlerts(alerts, [loadModuleVersion({ module: 'fast-transient', version: 1, bundleJson: JSON.stringify(bundle) })]);
    };
    const outsideOf = (results: ReturnType<typeof scoresWith>) => results.filter((r) => !r.passesCuts).map((r) => r.scores.rf_fast_vs_other);
    const declared = scoresWith(-1);
    expect(declared.filter((r) => r.passesCuts).length).toBeGreaterThan(0);
    expect(outsideOf(declared).length).toBeGreaterThan(0);
    expect(new Set(outsideOf(declared))).toEqual(new Set([-1]));
    expect(new Set(outsideOf(scoresWith(undefined)))).toEqual(new Set([0]));
    expect(new Set(outsideOf(scoresWith(null)))).toEqual(new Set([null]));
    for (const r of declared.filter((x) => x.passesCuts)) expect(r.scores.rf_fast_vs_other).toBeGreaterThanOrEqual(0);
    expect(refusal(pretty({ ...example(), broker: { ...(example().broker as object), outside: 'zero' } }))).toMatch(/broker\.outside: must be number,null/);
  });

  it("says Fink's values in the shipped declarations: 0 for early SN Ia and kilonova, none for anomaly, -1.0 for Rubin early SN Ia", () => {
    const store = Store.create(path.join(tmp, 'outside.db'));
    ensureBuiltinModules(store);
    expect(moduleOf(store, 'early-snia').broker.outside).toBe(0);
    expect(moduleOf(store, 'kilonova').broker.outside).toBe(0);
    expect(moduleOf(store, 'anomaly').broker.outside).toBeNaN();
    expect(moduleOf(store, 'early-snia-rubin').broker.outside).toBe(-1);
    // Fink's rfscore_sigmoid_full scores only alerts with a sigmoid fit in both bands
    expect(moduleOf(store, 'early-snia').declaration.cuts).toBe('a_g != 0 and a_r != 0');
    store.close();
  });
});

describe('catalogue order through the store', () => {
  it('keeps each catalog in the order written when the CLI builds the store and another process reads labels', () => {
    const db = path.join(tmp, 'catalog-order.db');
    const made = sieve(['ingest', sharedPath('ztf', 'avro', '472263571115115000.avro'), '--db', db]);
    expect(made.status, made.stderr).toBe(0);
    // a second process, which never compiled the shipped files: the labels come from the stored revisions
    const script = path.join(tmp, 'read-labels.mts');
    writeFileSync(script, [
      `import { Store, moduleOf } from ${JSON.stringify(path.join(REPO_ROOT, 'engine', 'index.ts'))};`,
      `const store = Store.open(${JSON.stringify(db)});`,
      "const classes = ['SN Ia', 'SN Ia-91T-like', 'SN II', 'SLSN-I', 'bogus', 'TDE', 'kilonova', 'RR Lyrae', 'microlensing'];",
      "const out = {};",
      "for (const m of ['early-snia', 'early-snia-rubin', 'kilonova', 'microlensing']) out[m] = Object.fromEntries(classes.map((c) => [c, moduleOf(store, m).catalogLabel(c)]));",
      "out.stored = JSON.parse(store.moduleDeclarations().find((r) => r.name === 'early-snia').declarationJson).catalog;",
      'console.log(JSON.stringify(out));',
    ].join('\n'));
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got['early-snia']).toEqual({
      'SN Ia': 'SN Ia', 'SN Ia-91T-like': 'SN Ia', 'SN II': 'other SN', 'SLSN-I': 'other SN', bogus: 'bogus', TDE: 'not SN',
      kilonova: 'not SN', 'RR Lyrae': 'not SN', microlensing: 'not SN',
    });
    expect(got['early-snia-rubin']['SN Ia']).toBe('SN Ia');
    expect(got.kilonova).toMatchObject({ kilonova: 'kilonova', bogus: 'bogus', 'SN Ia': 'other' });
    expect(got.microlensing).toMatchObject({ microlensing: 'ML', 'RR Lyrae': 'VAR', 'SN Ia': 'SN', bogus: null, TDE: null });
    // stored as the ordered list, "*" last as written
    expect(got.stored.map((e: { pattern: string }) => e.pattern)).toEqual(['SN Ia', 'SN Ia-*', 'SN*', 'SLSN*', 'bogus', '*']);
  }, 120_000);

  it('reads a catalog written as a list, keeps integer-like patterns where written, and refuses a repeated pattern', () => {
    const asList = { ...example(), catalog: [{ pattern: 'fast*', label: 'fast' }, { pattern: '*', label: 'slow' }] };
    const d = parseDeclaration(pretty(asList), 'm.json');
    expect(d.catalog).toEqual([{ pattern: 'fast*', label: 'fast' }, { pattern: '*', label: 'slow' }]);
    const yaml = `${EXAMPLE.replace(/\n}\s*$/, ',\n  "catalog": {"x*": "fast", "2": "slow", "*": null}\n}')}`;
    expect(parseDeclaration(yaml, 'm.json').catalog!.map((e) => e.pattern)).toEqual(['x*', '2', '*']);
    expect(refusal(pretty({ ...example(), catalog: [{ pattern: 'a', label: 'fast' }, { pattern: 'a', label: 'slow' }] }))).toMatch(/catalog\[1\]: pattern 'a' appears twice/);
    expect(refusal(pretty({ ...example(), catalog: { 'a*': 'quick' } }))).toMatch(/:\d+: catalog\.a\*: 'quick' is not one of the labels/);
  });
});

describe('the shipped modules are declarations too', () => {
  it('puts early-snia, kilonova, anomaly, microlensing, satellite-glints and the Rubin modules in a new store, through the same code', async () => {
    const store = Store.create(path.join(tmp, 'builtin.db'));
    expect(ensureBuiltinModules(store)).toEqual(['early-snia', 'kilonova', 'anomaly', 'anomaly-rubin', 'early-snia-rubin', 'microlensing', 'satellite-glints']);
    expect(ensureBuiltinModules(store)).toEqual([]);
    const snia = moduleOf(store, 'early-snia');
    expect(snia.classNames).toEqual(['other', 'SN Ia']);
    expect(snia.catalogLabel('SN Ia-91T-like')).toBe('SN Ia');
    expect(snia.catalogLabel('SN II')).toBe('other SN');
    expect(snia.catalogLabel('TDE')).toBe('not SN');
    const ml = moduleOf(store, 'microlensing');
    expect(ml.classNames).toEqual(['ML', 'VAR', 'CONST', 'SN']);
    expect(ml.queueStrategy).toBe('entropy');
    // the early SN Ia cut ("a rising fit in some band") on the real ZTF alerts: Fink's 3 of 140 pass both
    const alerts = (await readAlertFile(sharedPath('ztf', 'alerts.jsonl'))).alerts;
    const ex = snia.extractor();
    const pass = alerts.filter((a) => ex.passesCuts(a, ex.extract(a)));
    expect(pass.length).toBeGreaterThan(0);
    for (const a of pass) {
      const v = ex.extract(a);
      expect(v[5] > 0 || v[11] > 0).toBe(true);
    }
    store.close();
    const dir = path.join(REPO_ROOT, 'engine');
    // nothing in engine/ special-cases a module's name
    const grep = spawnSync('grep', ['-rnE', "'(early-snia|kilonova|microlensing|satellite-glints)'|\"anomaly\"", '--include=*.ts', dir], { encoding: 'utf8' });
    // (the feature extractors share three of those names: their list in modules/parts.ts is not a module's)
    // names.ts lists simulated classes and extractor names; the experiment reproduces the early SN Ia paper;
    // finkScience/counterparts.ts lists fink-science's own module folders (two share a module's name)
    const hits = grep.stdout.split('\n').filter((l) => l && !/engine\/core\/modules\/parts\.ts:\d+:\s+ztf: \[/.test(l) && !/engine\/cli\/names\.ts/.test(l)
      && !/engine\/core\/finkScience\/counterparts\.ts:\d+:\s+('[a-z_]+', )+'[a-z_]+',$/.test(l)
      && !/engine\/cli\/program\.ts:\d+:.*'--module <name\|file\.\.\.>'/.test(l) && !/engine\/experiments\/activeLearning\.ts:\d+:\s+const names = o\.module === undefined \? \['early-snia'\]/.test(l)
      && !/engine\/experiments\/activeLearning\.ts:\d+:\s+const paper = .*def\.name === 'early-snia';$/.test(l));
    expect(hits).toEqual([]);
  });
});
