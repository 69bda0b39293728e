import type { Alert } from '../../../datasets/index.ts';
import type { FeatureExtractor, FeatureSpec, FitCurve } from '../../../features/index.ts';
import { canonicalDeclaration, catalogEntries, type ModuleDeclaration } from './declaration.ts';
import { compilePartialExpression, expressionNames, UNKNOWN, type Value } from './expression.ts';
import { alertField, namedExtractor, numericField, PER_BAND_EXTRACTORS } from './parts.ts';

export type StrategyName = 'uncertainty' | 'margin' | 'entropy' | 'committee' | 'random' | 'bald' | 'predictive-entropy';

/**
 * A module as the engine runs it, compiled from its declaration: one code path for the shipped modules and
 * the ones experts write.
 */
export interface ModuleDefinition {
  name: string;
  title: string;
  survey: 'ztf' | 'lsst';
  kind: 'classifier' | 'anomaly';
  declaration: ModuleDeclaration;
  /** sha256 of the declaration's canonical JSON. */
  revisionSha256: string;
  /** The module's features and cuts (cached): its spec changes exactly when features or cuts change. */
  extractor(): FeatureExtractor;
  /** The same, part by part, as the store computes and keeps it (moduleFeaturesOf(extractor())). */
  features(): ModuleFeatures;
  /** Training classes; for two classes the positive one is index 1 (FoM, probabilities as Fink writes them). */
  classNames: string[];
  positiveClass: number;
  labels: Array<{ label: string; key: string }>;
  labelToClass(label: string): number | null;
  /** A catalogue class (TNS, simulation) as this module's label, or null. */
  catalogLabel(catalogClass: string): string | null;
  /**
   * The declaration's `cuts` alone, without the broker cuts built into an extractor (Fink's early SN Ia
   * selection): what an experiment on catalogued or simulated data selects by.
   */
  declaredCuts(alert: Alert, values: ArrayLike<number>): boolean;
  /** Why the module's cut cannot run (a stored cut today's compiler refuses), or null: then no alert passes. */
  cutError(): string | null;
  /** Alert fields the module reads (features and cuts), for decoders that skip the rest. */
  alertFields: string[];
  /** Per-band anomaly modules: the bands and the number of features per band, in column order. */
  perBand: { bands: string[]; featuresPerBand: number } | null;
  queueStrategy: StrategyName;
  retrainEvery: number | null;
  gate: { metric: 'fom' | 'accuracy' | 'f1' | 'auc'; minHeldOutPerClass: number; tolerance: number };
  model: ModuleDeclaration['model'];
  /** `outside`: the score written for an alert outside the cuts (NaN: no value). */
  broker: { scoreColumn: string; positive: string; tag: string | null; threshold: number | null; outside: number };
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/**
 * A module's features as parts: named extractors (stored once per extractor, whichever modules use them)
 * and alert fields, with the module's cuts split into what can be decided before any feature is computed
 * and what needs the values.
 */
export interface ModuleFeatures {
  survey: 'ztf' | 'lsst';
  /** The module's own spec (features and cuts). */
  spec: FeatureSpec;
  extractors: Array<{ extractor: FeatureExtractor; offset: number }>;
  fields: Array<{ name: string; offset: number }>;
  /**
   * False when the alert fails the cuts whatever its features are: another survey, an extractor's own cheap
   * selection (FeatureExtractor.prefilter), or the declared cuts decided by alert fields alone.
   */
  prefilter(alert: Alert): boolean;
  /** The declared cuts on the module's values (the extractors' own cuts are their stored pass flags). */
  declaredCuts(alert: Alert, values: ArrayLike<number>): boolean;
  /** The alert-field columns, as model inputs, into out[offset + k] in `fields` order. */
  fieldValues(alert: Alert, out: Float64Array, offset?: number): Float64Array;
}

const declaredCutsOf = new WeakMap<FeatureSpec, (alert: Alert, values: ArrayLike<number>) => boolean>();
const cutErrors = new WeakMap<FeatureSpec, string | null>();

const reported = new Set<string>();
/** One stderr line per module and reason: a cut that cannot run, which the API shows as `cutError` too. */
function reportCutFailure(module: string, reason: string): void {
  const line = `sieve: module ${module}: its cuts cannot run, no alert passes them: ${reason}; fix the declaration (sieve module add)`;
  if (reported.has(line) || reported.size > 1000) return;
  reported.add(line);
  process.stderr.write(`${line}\n`);
}

const moduleFeatures = new WeakMap<FeatureExtractor, ModuleFeatures>();

/** The parts of a module's extractor (undefined for a plain extractor). */
export function moduleFeaturesOf(extractor: FeatureExtractor): ModuleFeatures | undefined {
  return moduleFeatures.get(extractor);
}

/** The module's features: the named extractors' columns, then the alert fields, in declaration order. */
function moduleExtractor(d: ModuleDeclaration): FeatureExtractor {
  const parts: Array<{ ex: FeatureExtractor; offset: number } | { field: string; offset: number }> = [];
  const columns: string[] = [];
  const specs: Array<FeatureSpec | { alert: string[] }> = [];
  for (const f of d.features) {
    if (typeof f === 'string') {
      const ex = namedExtractor(f);
      parts.push({ ex, offset: columns.length });
      columns.push(...ex.spec.columns);
      // an extractor's units are how its values are shown, not what they are: no part of the module's identity
      const { units: _units, ...identity } = ex.spec;
      specs.push(identity);
    } else {
      for (const field of f.alert) {
        parts.push({ field, offset: columns.length });
        columns.push(field);
      }
      specs.push({ alert: [...f.alert] });
    }
  }
  const d1 = columns.length;
  // names the cuts read that are not columns: alert fields, looked up per alert after the columns
  let cutFields: string[] = [];
  let cut: ((row: ArrayLike<Value>) => boolean | null) | null = null;
  // A stored declaration is not parsed again (it was checked when added, by the rules of that day): a cut
  // those rules let through and today's compiler refuses turns the module's cut off — no alert passes, one
  // line says why — instead of failing every request that touches the module.
  let cutError: string | null = null;
  if (d.cuts) {
    try {
      cutFields = expressionNames(d.cuts).filter((n) => !columns.includes(n));
      cut = compilePartialExpression(d.cuts, (name) => {
        const c = columns.indexOf(name);
        if (c >= 0) return c;
        const k = cutFields.indexOf(name);
        return k >= 0 ? d1 + k : null;
      });
    } catch (e) {
      cutError = (e as Error).message;
      cutFields = [];
      reportCutFailure(d.name, cutError);
    }
  }
  const spec: FeatureSpec = {
    name: `module:${d.name}`,
    version: '1',
    // what the features and the cuts are, and nothing else: a changed label key keeps the feature space
    parameters: { survey: d.survey, parts: specs, cuts: d.cuts ?? null },
    columns,
  };
  const scratch = new Map<FeatureExtractor, Float64Array>();
  const row: Value[] = new Array(d1 + cutFields.length);
  const readCutFields = (alert: Alert) => {
    for (let k = 0; k < cutFields.length; k++) {
      const x = alertField(alert, cutFields[k]);
      row[d1 + k] = x === undefined ? null : x;
    }
  };
  /** The declaration's own `cuts` expression alone (without the extractors' built-in broker cuts). */
  const declaredCuts = (alert: Alert, v: ArrayLike<number>): boolean => {
    if (cutError !== null) return false;
    if (!cut) return true;
    for (let i = 0; i < d1; i++) row[i] = v[i];
    readCutFields(alert);
    return cut(row) === true;
  };
  declaredCutsOf.set(spec, declaredCuts);
  cutErrors.set(spec, cutError);
  const extractors = parts.filter((p): p is { ex: FeatureExtractor; offset: number } => 'ex' in p);
  const fields = parts.filter((p): p is { field: string; offset: number } => 'field' in p);
  const fieldValues = (alert: Alert, out: Float64Array, offset = 0): Float64Array => {
    for (let k = 0; k < fields.length; k++) out[offset + k] = numericField(alertField(alert, fields[k].field));
    return out;
  };
  const features: ModuleFeatures = {
    survey: d.survey,
    spec,
    extractors: extractors.map((p) => ({ extractor: p.ex, offset: p.offset })),
    fields: fields.map((p) => ({ name: p.field, offset: p.offset })),
    prefilter(alert) {
      if (alert.survey !== d.survey) return false;
      for (const p of extractors) if (p.ex.prefilter && !p.ex.prefilter(alert)) return false;
      if (cutError !== null) return false;
      if (!cut) return true;
      // the feature columns unknown, the fields (columns or not) read from the alert
      row.fill(UNKNOWN, 0, d1);
      for (const p of fields) row[p.offset] = numericField(alertField(alert, p.field));
      readCutFields(alert);
      return cut(row) !== false;
    },
    declaredCuts,
    fieldValues,
  };
  const extractor: FeatureExtractor = {
    spec,
    passesCuts(alert: Alert, values?: ArrayLike<number>): boolean {
      // a module reads its own survey's alerts only (ZTF magnitudes and Rubin fluxes are different features)
      if (alert.survey !== d.survey) return false;
      const v = values ?? this.extract(alert);
      // each extractor's own cuts see its slice of the values just computed (a fit is never run twice)
      for (const p of extractors) if (!p.ex.passesCuts(alert, slice(v, p.offset, p.ex.spec.columns.length))) return false;
      return declaredCuts(alert, v);
    },
    extract(alert: Alert, out = new Float64Array(d1)): Float64Array {
      if (alert.survey !== d.survey) return out.fill(NaN);
      for (const p of extractors) {
        let s = scratch.get(p.ex);
        if (!s) scratch.set(p.ex, (s = new Float64Array(p.ex.spec.columns.length)));
        out.set(p.ex.extract(alert, s), p.offset);
      }
      for (const p of fields) out[p.offset] = numericField(alertField(alert, p.field));
      return out;
    },
    fitCurves(alert: Alert, values: ArrayLike<number>): FitCurve[] {
      // another survey's row is NaN: nothing was fitted
      if (alert.survey !== d.survey) return [];
      const out: FitCurve[] = [];
      for (const p of extractors) if (p.ex.fitCurves) {
        const n = p.ex.spec.columns.length;
        out.push(...p.ex.fitCurves(alert, Array.prototype.slice.call(values, p.offset, p.offset + n) as number[]));
      }
      return out;
    },
  };
  moduleFeatures.set(extractor, features);
  return extractor;
}

/** values[offset, offset + n) without a copy where the values are a typed array. */
function slice(values: ArrayLike<number>, offset: number, n: number): ArrayLike<number> {
  if (values instanceof Float64Array) return values.subarray(offset, offset + n);
  return Array.prototype.slice.call(values, offset, offset + n) as number[];
}

/** Compiles a validated declaration (parseDeclaration) into the module the engine runs. */
export function compileModule(d: ModuleDeclaration): ModuleDefinition {
  const { sha256 } = canonicalDeclaration(d);
  const anomaly = d.model.type === 'isolation-forest';
  let classes = [...new Set(d.labels.map((l) => l.class).filter((c): c is string => c !== null))];
  const positive = d.broker.positive!;
  // two classes: negative first, positive second, as Fink's binary classifiers (and FoM) have them
  if (classes.length === 2) classes = [classes.find((c) => c !== positive)!, positive];
  const labelClass = new Map(d.labels.map((l) => [l.label, l.class === null ? null : classes.indexOf(l.class)]));
  const catalog = catalogEntries(d.catalog).map(({ pattern, label }) => ({ re: globToRegExp(pattern), label }));
  const fields = new Set<string>();
  for (const f of d.features) if (typeof f !== 'string') f.alert.forEach((x) => fields.add(x));
  let ex: FeatureExtractor | null = null;
  const extractor = () => (ex ??= moduleExtractor(d));
  if (d.cuts) {
    const cols = new Set(extractor().spec.columns);
    let names: string[] = [];
    try {
      names = expressionNames(d.cuts);
    } catch {
      // reported by the extractor: the module's cut is off
    }
    for (const n of names) if (!cols.has(n)) fields.add(n);
  }
  let perBand: ModuleDefinition['perBand'] = null;
  if (anomaly) {
    const name = d.features[0] as string;
    if (!PER_BAND_EXTRACTORS.includes(name)) throw new Error(`${d.name}: '${name}' is not a per-band extractor`);
    const cols = extractor().spec.columns;
    const bands = [...new Set(cols.map((c) => c.slice(c.lastIndexOf('_') + 1)))];
    perBand = { bands, featuresPerBand: cols.length / bands.length };
  }
  return {
    name: d.name,
    title: d.title ?? d.name,
    survey: d.survey,
    kind: anomaly ? 'anomaly' : 'classifier',
    declaration: d,
    revisionSha256: sha256,
    extractor,
    features: () => moduleFeaturesOf(extractor())!,
    declaredCuts: (alert, values) => declaredCutsOf.get(extractor().spec)!(alert, values),
    cutError: () => cutErrors.get(extractor().spec) ?? null,
    classNames: classes,
    positiveClass: classes.indexOf(positive),
    labels: d.labels.map((l) => ({ label: l.label, key: l.key })),
    labelToClass: (label) => labelClass.get(label) ?? null,
    catalogLabel: (c) => catalog.find((x) => x.re.test(c))?.label ?? null,
    alertFields: [...fields],
    perBand,
    queueStrategy: d.queue?.strategy ?? 'uncertainty',
    retrainEvery: d.retrain?.every ?? null,
    gate: {
      metric: d.retrain?.gate ?? (classes.length > 2 ? 'accuracy' : 'fom'),
      minHeldOutPerClass: d.retrain?.minHeldOutPerClass ?? 30,
      tolerance: d.retrain?.tolerance ?? 0.02,
    },
    model: d.model,
    broker: {
      scoreColumn: d.broker.score, positive, tag: d.broker.tag ?? null, threshold: d.broker.threshold ?? (anomaly ? null : 0.5),
      // Fink's classifiers write 0 outside their selection, its anomaly module no value
      outside: d.broker.outside === undefined ? (anomaly ? NaN : 0) : d.broker.outside === null ? NaN : d.broker.outside,
    },
  };
}
