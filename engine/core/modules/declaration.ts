import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { LineCounter, parseDocument, isMap, isNode, isScalar } from 'yaml';
import { expressionNames, ExpressionError } from './expression.ts';
import { knownAlertFields, type SurveyName } from './fields.ts';
import { extractorColumns, EXTRACTORS_BY_SURVEY, PER_BAND_EXTRACTORS, TEXT_FIELDS } from './parts.ts';

/** A module as its author writes it (see module.schema.json for every field). */
export interface ModuleDeclaration {
  name: string;
  title?: string;
  description?: string;
  survey: SurveyName;
  features: Array<string | { alert: string[] }>;
  cuts?: string;
  labels: Array<{ label: string; key: string; class: string | null }>;
  /**
   * Catalogue classes as labels, in order (the first matching pattern wins). Authors may write an object
   * pattern -> label; parseDeclaration turns it into this list in the order written, so the order survives
   * the store's canonical JSON (which sorts object keys) and JavaScript objects (which move integer-like keys).
   */
  catalog?: CatalogEntry[];
  model: {
    type: 'random-forest' | 'isolation-forest';
    trees?: number;
    maxDepth?: number;
    minSamplesLeaf?: number;
    maxFeatures?: 'sqrt' | 'log2' | 'all';
    classWeight?: 'balanced' | 'none';
    aad?: boolean;
    perBand?: boolean;
    maxSamples?: number;
  };
  queue?: { strategy?: 'uncertainty' | 'margin' | 'entropy' | 'committee' | 'random' };
  retrain?: { every?: number; gate?: 'fom' | 'accuracy' | 'f1' | 'auc'; minHeldOutPerClass?: number; tolerance?: number };
  broker: { score: string; positive?: string; tag?: string | null; threshold?: number; outside?: number | null; exportFeatureNames?: boolean };
}

export interface CatalogEntry {
  pattern: string;
  label: string | null;
}

/**
 * A declaration's catalogue as its ordered entries. Revisions stored before the list form hold an object
 * whose keys the canonical JSON had sorted: their order is the sorted one.
 */
export function catalogEntries(catalog: CatalogEntry[] | Record<string, string | null> | undefined): CatalogEntry[] {
  if (!catalog) return [];
  if (Array.isArray(catalog)) return catalog;
  return Object.entries(catalog).map(([pattern, label]) => ({ pattern, label }));
}

export const MODULE_SCHEMA: object = JSON.parse(readFileSync(new URL('./module.schema.json', import.meta.url), 'utf8'));

/** A declaration that cannot be used: the message names the file, the line and the field. */
export class DeclarationError extends Error {
  constructor(readonly source: string, readonly line: number | null, readonly field: string, reason: string) {
    super(`${source}${line === null ? '' : `:${line}`}: ${field ? `${field}: ` : ''}${reason}`);
    this.name = 'DeclarationError';
  }
}

const RESERVED_KEYS = new Set(['s', 'c', 'm', '?', 'j', 'k', 'z']);

let validateSchema: ReturnType<Ajv['compile']> | null = null;

function pathOf(instancePath: string): Array<string | number> {
  return instancePath.split('/').slice(1).map((p) => (/^\d+$/.test(p) ? Number(p) : p.replace(/~1/g, '/').replace(/~0/g, '~')));
}

const fieldName = (path: Array<string | number>) => path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

/**
 * Parses a declaration (JSON or YAML: JSON is read by the YAML parser, so both give line numbers), checks it
 * against module.schema.json, then what a schema cannot say: extractor and alert-field names for the survey,
 * the cut expression and the names it reads, keys, classes and the broker's positive class.
 */
export function parseDeclaration(text: string, source = 'module'): ModuleDeclaration {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new DeclarationError(source, lines.linePos(e.pos[0]).line, '', e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''));
  }
  const value = doc.toJS() as unknown;
  const lineOf = (path: Array<string | number>): number | null => {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = p.length ? doc.getIn(p, true) : doc.contents;
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
      if (!p.length) return null;
    }
  };
  const fail = (path: Array<string | number>, reason: string): never => {
    throw new DeclarationError(source, lineOf(path), fieldName(path), reason);
  };
  validateSchema ??= new Ajv({ allErrors: false, strict: false }).compile(MODULE_SCHEMA);
  if (!validateSchema(value)) {
    const e = validateSchema.errors![0] as ErrorObject;
    const path = pathOf(e.instancePath);
    if (e.keyword === 'additionalProperties') fail([...path, (e.params as { additionalProperty: string }).additionalProperty], 'unknown field');
    if (e.keyword === 'required') fail(path, `missing field '${(e.params as { missingProperty: string }).missingProperty}'`);
    if (e.keyword === 'enum') fail(path, `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`);
    fail(path, e.message ?? 'is not valid');
  }
  const d = value as ModuleDeclaration;
  const catalogAsObject = d.catalog !== undefined && !Array.isArray(d.catalog);
  if (catalogAsObject) {
    // the patterns in the order the author wrote them, from the document itself
    const node = doc.get('catalog', true);
    const written = d.catalog as unknown as Record<string, string | null>;
    d.catalog = isMap(node)
      ? node.items.map((pair) => {
          const pattern = String(isScalar(pair.key) ? pair.key.value : pair.key);
          return { pattern, label: written[pattern] };
        })
      : catalogEntries(written);
  }

  // features: named extractors of this survey, and alert fields the survey has
  const extractors = EXTRACTORS_BY_SURVEY[d.survey];
  const fields = knownAlertFields(d.survey);
  const columns: string[] = [];
  d.features.forEach((f, i) => {
    if (typeof f === 'string') {
      if (!extractors.includes(f)) fail(['features', i], `unknown extractor '${f}' for ${d.survey} (known: ${extractors.join(', ')})`);
      columns.push(...extractorColumns(f));
    } else {
      f.alert.forEach((name, k) => {
        if (!fields.has(name)) fail(['features', i, 'alert', k], `unknown ${d.survey} alert field '${name}' (known: ${[...fields].sort().join(', ')})`);
        if (TEXT_FIELDS.has(name)) fail(['features', i, 'alert', k], `'${name}' is text: use it in cuts, not as a feature`);
        columns.push(name);
      });
    }
  });
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup) fail(['features'], `column '${dup}' appears twice`);

  if (d.cuts !== undefined) {
    let names: string[];
    try {
      names = expressionNames(d.cuts);
    } catch (e) {
      if (e instanceof ExpressionError) fail(['cuts'], e.message.replace(/^cuts: /, ''));
      throw e;
    }
    for (const n of names!) if (!columns.includes(n) && !fields.has(n)) fail(['cuts'], `unknown name '${n}': neither a feature column nor a ${d.survey} alert field`);
  }

  const keys = new Set<string>();
  const labels = new Set<string>();
  d.labels.forEach((l, i) => {
    if (labels.has(l.label)) fail(['labels', i, 'label'], `label '${l.label}' appears twice`);
    labels.add(l.label);
    if (l.label === 'skip') fail(['labels', i, 'label'], "'skip' is built in (key s)");
    if (RESERVED_KEYS.has(l.key)) fail(['labels', i, 'key'], `key '${l.key}' is taken by the workbench (s skip, c comment, m stretch, ? help, j/k next/previous)`);
    if (keys.has(l.key)) fail(['labels', i, 'key'], `key '${l.key}' is used twice`);
    keys.add(l.key);
  });
  const classes = [...new Set(d.labels.map((l) => l.class).filter((c): c is string => c !== null))];
  if (classes.length < 2) fail(['labels'], `needs at least two training classes (has ${classes.length}: ${classes.join(', ') || 'none'})`);
  const patterns = new Set<string>();
  d.catalog?.forEach(({ pattern, label }, i) => {
    const where = ['catalog', catalogAsObject ? pattern : i];
    if (patterns.has(pattern)) fail(where, `pattern '${pattern}' appears twice`);
    patterns.add(pattern);
    if (label !== null && !labels.has(label)) fail(where, `'${label}' is not one of the labels (${[...labels].join(', ')})`);
  });

  const anomaly = d.model.type === 'isolation-forest';
  if (anomaly) {
    if (d.model.aad === false) fail(['model', 'aad'], 'an isolation-forest module learns from labels through AAD: aad cannot be false');
    if (classes.length !== 2) fail(['labels'], `an anomaly module has two classes (anomalous and nominal), not ${classes.length}`);
    const perBand = d.features.filter((f) => typeof f === 'string' && PER_BAND_EXTRACTORS.includes(f));
    if (d.features.length !== 1 || perBand.length !== 1) fail(['features'], `an isolation-forest module takes one per-band extractor (${PER_BAND_EXTRACTORS.join(', ')}): one forest per band, as Fink's anomaly module`);
    if (d.queue?.strategy) fail(['queue', 'strategy'], 'an anomaly module ranks by its AAD score: no strategy');
    for (const k of ['maxDepth', 'minSamplesLeaf', 'maxFeatures', 'classWeight'] as const) if (d.model[k] !== undefined) fail(['model', k], 'applies to random forests');
  } else {
    for (const k of ['aad', 'perBand', 'maxSamples'] as const) if (d.model[k] !== undefined) fail(['model', k], 'applies to isolation forests');
  }
  if (!d.broker.positive) fail(['broker'], "missing field 'positive' (the class whose probability is the score)");
  if (!classes.includes(d.broker.positive!)) fail(['broker', 'positive'], `'${d.broker.positive}' is not a class of the labels (${classes.join(', ')})`);
  if (!anomaly && d.broker.threshold !== undefined && !(d.broker.threshold >= 0 && d.broker.threshold <= 1)) fail(['broker', 'threshold'], 'a probability threshold is between 0 and 1');
  if (classes.length > 2 && (d.retrain?.gate ?? 'fom') === 'fom') {
    if (d.retrain?.gate === 'fom') fail(['retrain', 'gate'], `the figure of merit is for two classes; this module has ${classes.length}: use accuracy or f1`);
  }
  return d;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  return value;
}

/** The declaration's canonical JSON (keys sorted) and its sha256: equal declarations, equal revisions. */
export function canonicalDeclaration(d: ModuleDeclaration): { json: string; sha256: string } {
  const json = JSON.stringify(canonical(d));
  return { json, sha256: createHash('sha256').update(json).digest('hex') };
}
