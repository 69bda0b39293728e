import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { Lexer, LineCounter, parseDocument, isMap, isNode, isScalar, type Node as YamlNode } from 'yaml';
import { checkExpression, ExpressionError, type NameType } from './expression.ts';
import { knownAlertFields, type SurveyName } from './fields.ts';
import { BOOLEAN_FIELDS, extractorColumns, EXTRACTORS_BY_SURVEY, PER_BAND_EXTRACTORS, TEXT_FIELDS } from './parts.ts';

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
    type: 'random-forest' | 'isolation-forest' | 'mlp';
    trees?: number;
    maxDepth?: number;
    minSamplesLeaf?: number;
    maxFeatures?: 'sqrt' | 'log2' | 'all';
    classWeight?: 'balanced' | 'none';
    aad?: boolean;
    perBand?: boolean;
    maxSamples?: number;
    hidden?: number[];
    dropout?: number;
    epochs?: number;
    patience?: number;
    validationFraction?: number;
    batchSize?: number;
    learningRate?: number;
    mcSamples?: number;
    missing?: 'impute' | 'refuse';
    scaling?: 'robust-asinh' | 'standard';
  };
  queue?: { strategy?: 'uncertainty' | 'margin' | 'entropy' | 'committee' | 'random' | 'bald' | 'predictive-entropy' };
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

/** A declaration that cannot be used: the message names the file, the line (and column) and the field. */
export class DeclarationError extends Error {
  constructor(readonly source: string, readonly line: number | null, readonly field: string, reason: string, readonly column: number | null = null) {
    super(`${source}${line === null ? '' : `:${line}${column === null ? '' : `:${column}`}`}: ${field ? `${field}: ` : ''}${reason}`);
    this.name = 'DeclarationError';
  }
}

/**
 * Limits on a declaration's text, checked before it is parsed: the YAML parser's time grows faster than its
 * input with anchors, keys and nesting (a 1 MB upload with 56,000 anchors held the server 44 s). A
 * declaration is ~1 KB; these are far above any real one.
 */
export const DECLARATION_LIMITS = { maxBytes: 32 * 1024, maxScalars: 4000, maxAnchorsAndAliases: 32, maxFlowDepth: 32 } as const;

const RESERVED_KEYS = new Set(['s', 'c', 'm', '?', 'j', 'k', 'z']);
const MLP_FIELDS = ['hidden', 'dropout', 'epochs', 'patience', 'validationFraction', 'batchSize', 'learningRate', 'mcSamples', 'missing', 'scaling'] as const;

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
  prescan(text, source);
  const lines = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (e) {
    throw new DeclarationError(source, null, '', `cannot be parsed: ${(e as Error).message}`);
  }
  if (doc.errors.length) {
    const e = doc.errors[0];
    const at = lines.linePos(e.pos[0]);
    throw new DeclarationError(source, at.line, '', e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''), at.col);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: DECLARATION_LIMITS.maxAnchorsAndAliases });
  } catch (e) {
    const bomb = /alias count/i.test((e as Error).message);
    throw new DeclarationError(source, null, '', bomb ? 'its aliases expand to too many values (a YAML alias bomb)' : (e as Error).message);
  }
  const nodeOf = (path: Array<string | number>) => {
    for (let p = path; ; p = p.slice(0, -1)) {
      const node = p.length ? doc.getIn(p, true) : doc.contents;
      if (isNode(node) && node.range) return node;
      if (!p.length) return null;
    }
  };
  const fail = (path: Array<string | number>, reason: string, offset: number | null = null): never => {
    const node = nodeOf(path);
    const at = node?.range ? lines.linePos(offset === null ? node.range[0] : sourceOffset(text, node, offset)) : null;
    throw new DeclarationError(source, at?.line ?? null, fieldName(path), reason, at?.col ?? null);
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
  const other: SurveyName = d.survey === 'ztf' ? 'lsst' : 'ztf';
  const otherFields = knownAlertFields(other);
  const columns: string[] = [];
  d.features.forEach((f, i) => {
    if (typeof f === 'string') {
      if (!extractors.includes(f)) {
        const elsewhere = EXTRACTORS_BY_SURVEY[other].includes(f) ? `: '${f}' is a ${other} extractor` : didYouMean(f, extractors);
        fail(['features', i], `unknown extractor '${f}' for ${d.survey}${elsewhere} (known: ${extractors.join(', ')})`);
      }
      columns.push(...extractorColumns(f));
    } else {
      f.alert.forEach((name, k) => {
        if (!fields.has(name)) {
          const elsewhere = otherFields.has(name) ? `: '${name}' is a ${other} field, and a ${d.survey} module reads ${d.survey} alerts` : didYouMean(name, [...fields]);
          fail(['features', i, 'alert', k], `unknown ${d.survey} alert field '${name}'${elsewhere} (known: ${[...fields].sort().join(', ')})`);
        }
        if (TEXT_FIELDS.has(name)) fail(['features', i, 'alert', k], `'${name}' is text: use it in cuts, not as a feature`);
        if (BOOLEAN_FIELDS.has(name)) fail(['features', i, 'alert', k], `'${name}' is true/false: use it in cuts, not as a feature`);
        columns.push(name);
      });
    }
  });
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup) fail(['features'], `column '${dup}' appears twice`);

  if (d.cuts !== undefined) {
    // every name known, every operator given values of the types it takes: a cut that passes cannot fail on an alert
    const typeOf = (n: string): NameType | null => (columns.includes(n) ? 'number' : !fields.has(n) ? null : TEXT_FIELDS.has(n) ? 'string' : BOOLEAN_FIELDS.has(n) ? 'boolean' : 'number');
    const unknown = (n: string) => `unknown name '${n}': neither a feature column nor a ${d.survey} alert field${otherFields.has(n) ? ` ('${n}' is a ${other} field; a ${d.survey} module reads ${d.survey} alerts)` : didYouMean(n, [...columns, ...fields])}`;
    try {
      checkExpression(d.cuts, typeOf, unknown);
    } catch (e) {
      if (e instanceof ExpressionError) fail(['cuts'], e.reason, e.position);
      throw e;
    }
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
  // model: which fields go with which type, and the strategies that need a network's Monte-Carlo passes
  const mlp = d.model.type === 'mlp';
  if (mlp) for (const k of ['trees', 'maxDepth', 'minSamplesLeaf', 'maxFeatures'] as const) if (d.model[k] !== undefined) fail(['model', k], 'applies to random forests, not to an mlp');
  if (!mlp) for (const k of MLP_FIELDS) if (d.model[k] !== undefined) fail(['model', k], `applies to an mlp model (this one is a ${d.model.type})`);
  const strategy = d.queue?.strategy;
  if (!mlp && (strategy === 'bald' || strategy === 'predictive-entropy')) fail(['queue', 'strategy'], `'${strategy}' needs the Monte-Carlo dropout passes of an mlp model`);
  if (!d.broker.positive) fail(['broker'], "missing field 'positive' (the class whose probability is the score)");
  if (!classes.includes(d.broker.positive!)) fail(['broker', 'positive'], `'${d.broker.positive}' is not a class of the labels (${classes.join(', ')})`);
  if (!anomaly && d.broker.threshold !== undefined && !(d.broker.threshold >= 0 && d.broker.threshold <= 1)) fail(['broker', 'threshold'], 'a probability threshold is between 0 and 1');
  if (classes.length > 2 && (d.retrain?.gate ?? 'fom') === 'fom') {
    if (d.retrain?.gate === 'fom') fail(['retrain', 'gate'], `the figure of merit is for two classes; this module has ${classes.length}: use accuracy or f1`);
  }
  return d;
}

/** Refuses, before any parsing, a text beyond DECLARATION_LIMITS (one linear pass of the YAML lexer). */
function prescan(text: string, source: string): void {
  const refuse = (offset: number | null, reason: string): never => {
    const line = offset === null ? null : text.slice(0, offset).split('\n').length;
    throw new DeclarationError(source, line, '', reason);
  };
  if (text.length > DECLARATION_LIMITS.maxBytes) refuse(null, `${text.length} characters, more than the ${DECLARATION_LIMITS.maxBytes} a declaration may have`);
  let scalars = 0;
  let anchors = 0;
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    const c = token[0];
    if (c === '\x1f') scalars++;
    else if (c === '&' || c === '*') anchors++;
    else if (token === '[' || token === '{') depth++;
    else if (token === ']' || token === '}') depth--;
    if (scalars > DECLARATION_LIMITS.maxScalars) refuse(offset, `more than ${DECLARATION_LIMITS.maxScalars} values`);
    if (anchors > DECLARATION_LIMITS.maxAnchorsAndAliases) refuse(offset, `more than ${DECLARATION_LIMITS.maxAnchorsAndAliases} YAML anchors and aliases`);
    if (depth > DECLARATION_LIMITS.maxFlowDepth) refuse(offset, `nested more than ${DECLARATION_LIMITS.maxFlowDepth} levels deep`);
    // control tokens (document and scalar markers) are not in the text
    if (c !== '\x02' && c !== '\x18' && c !== '\x1f') offset += token.length;
  }
}

/**
 * The offset in the file of character `offset` of a string scalar's value: JSON and double-quoted YAML
 * strings count escapes (`\"` is two characters in the file, one in the value), single-quoted YAML counts ''.
 * A value spread over several lines is located at its first character.
 */
function sourceOffset(text: string, node: YamlNode, offset: number): number {
  const [start, end] = node.range!;
  const raw = text.slice(start, end);
  if (!isScalar(node) || raw.includes('\n')) return start;
  if (node.type === 'QUOTE_DOUBLE') {
    let i = 1;
    for (let k = 0; k < offset && i < raw.length; k++) {
      if (raw[i] !== '\\') i++;
      else i += raw[i + 1] === 'u' ? 6 : raw[i + 1] === 'x' ? 4 : raw[i + 1] === 'U' ? 10 : 2;
    }
    return start + i;
  }
  if (node.type === 'QUOTE_SINGLE') {
    let i = 1;
    for (let k = 0; k < offset && i < raw.length; k++) i += raw[i] === "'" && raw[i + 1] === "'" ? 2 : 1;
    return start + i;
  }
  return start + offset;
}

/** A near-miss name's likely intent: ` (did you mean 'x'?)`, or nothing. Edit distance at most 2 (3 for long names). */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const lower = name.toLowerCase();
  const limit = name.length > 8 ? 3 : 2;
  const scored = [...new Set(candidates)].map((c) => ({ c, d: c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase(), limit) })).filter((x) => x.d <= limit);
  if (!scored.length) return '';
  scored.sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  const best = scored.filter((x) => x.d === scored[0].d).slice(0, 3).map((x) => `'${x.c}'`);
  return ` (did you mean ${best.join(' or ')}?)`;
}

/** Levenshtein distance with adjacent transpositions, or limit + 1 once it is certainly above the limit. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      cur.push(v);
      best = Math.min(best, v);
    }
    if (best > limit) return limit + 1;
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length];
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
