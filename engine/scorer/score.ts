import type { Alert } from '../../datasets/index.ts';
import { featureSpecHash, type FeatureExtractor } from '../../features/index.ts';
import { BandAADModel, TwoBandAADModel, isClassifierModel, modelFromBundle, parseBundle, type ClassifierModel } from '../../models/index.ts';
import { moduleFromDeclaration, parseDeclaration, type ModuleDefinition } from '../core/modules/index.ts';
import { bandInputs } from '../core/training.ts';

/** A module version as the registry (or a bundle folder) hands it to scorers: the bundle's JSON text. */
export interface ModuleVersion {
  module: string;
  version: number;
  bundleJson: string;
  /** The feature space of the module's current declaration in the registry: a bundle of another revision is refused. */
  expectedSpecHash?: string;
}

export interface LoadedModule {
  module: string;
  version: number;
  def: ModuleDefinition;
  extractor: FeatureExtractor;
  specHash: string;
  model: ClassifierModel | TwoBandAADModel | BandAADModel;
  threshold: number;
}

export interface ScoreResult {
  objectId: string;
  candid: string | null;
  module: string;
  version: number;
  passesCuts: boolean;
  scores: Record<string, number | null>;
  tags: string[];
}

export interface ScoreOptions {
  /** Tag anomaly_candidate when the AAD score is at or below this (lower = more anomalous); no tag when absent. */
  anomalyThreshold?: number;
  /** Schemaless Kafka messages (Fink's livestream): the writer schema when the key is not one (--schema). */
  streamSchema?: unknown;
  /** ... and schemas by version name, for keys that name one (--schema-dir). */
  namedSchemas?: Record<string, unknown>;
}

/**
 * Loads a module version for scoring. Throws, naming module and version, when the bundle's checksum is
 * wrong or its FeatureSpec is not the one this Sieve computes for the module (the scorer then keeps the
 * version it had).
 */
export function loadModuleVersion(v: ModuleVersion): LoadedModule {
  const source = `${v.module} v${v.version}`;
  const bundle = parseBundle(v.bundleJson, undefined, source);
  if (bundle.manifest.module !== v.module) throw new Error(`${source}: the bundle is for module '${bundle.manifest.module}'`);
  // the module as it was declared when the model was trained: a bundle scores on its own, as in the workbench
  if (bundle.manifest.declaration === undefined) throw new Error(`${source}: the bundle carries no module declaration (made before declarations): retrain it`);
  const def = moduleFromDeclaration(parseDeclaration(JSON.stringify(bundle.manifest.declaration), `${source} declaration`));
  const extractor = def.extractor();
  parseBundle(v.bundleJson, extractor.spec, source);
  if (v.expectedSpecHash && featureSpecHash(extractor.spec) !== v.expectedSpecHash) {
    throw new Error(`${source}: trained on another revision of the module (its features or cuts differ from the current declaration)`);
  }
  const model = modelFromBundle(bundle);
  if (!isClassifierModel(model) && !(model instanceof TwoBandAADModel) && !(model instanceof BandAADModel)) {
    throw new Error(`${v.module} v${v.version}: a ${bundle.manifest.modelType} cannot score alerts in the broker (random forest, mlp or per-band AAD)`);
  }
  // a classifier over another number of features than the extractor gives would fail on the first alert
  if (isClassifierModel(model) && model.nFeatures !== extractor.spec.columns.length) {
    throw new Error(`${source}: the ${bundle.manifest.modelType} takes ${model.nFeatures} features, the module's extractor gives ${extractor.spec.columns.length}`);
  }
  return { module: v.module, version: v.version, def, extractor, specHash: featureSpecHash(extractor.spec), model, threshold: bundle.manifest.decisionThreshold };
}

/** One module's output over a batch, column by column (no per-alert objects on the hot path). */
export interface ModuleColumns {
  module: LoadedModule;
  column: string;
  score: Float64Array;
  /** Anomaly module: each band's score as <column>_<band> (NaN when the band's features are incomplete). */
  perBand: Array<{ column: string; values: Float64Array }> | null;
  passes: Uint8Array;
  tagged: Uint8Array;
  /** Classifiers of more than two classes: each class's probability as its own column. */
  perClass: Array<{ column: string; values: Float64Array }> | null;
}

/** Scores a batch: each extractor the modules need runs once per alert, each model once per batch. */
export function scoreColumns(alerts: readonly Alert[], modules: readonly LoadedModule[], o: ScoreOptions = {}): ModuleColumns[] {
  const n = alerts.length;
  const features = new Map<string, { values: Float64Array; cols: number; cuts: Uint8Array }>();
  for (const m of modules) {
    if (features.has(m.specHash)) continue;
    const cols = m.extractor.spec.columns.length;
    const values = new Float64Array(n * cols);
    const row = new Float64Array(cols);
    const cuts = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      values.set(m.extractor.extract(alerts[i], row), i * cols);
      cuts[i] = m.extractor.passesCuts(alerts[i], row) ? 1 : 0;
    }
    features.set(m.specHash, { values, cols, cuts });
  }
  return modules.map((m) => {
    const f = features.get(m.specHash)!;
    const passes = new Uint8Array(n);
    const tagged = new Uint8Array(n);
    const score = new Float64Array(n);
    if (isClassifierModel(m.model)) {
      const proba = m.model.predictProba({ data: new Float32Array(f.values), rows: n, cols: f.cols });
      const C = m.model.nClasses;
      const pos = m.def.positiveClass;
      // the declared value outside the module's cuts (Fink: 0, or -1.0 for Rubin early SN Ia)
      const outside = m.def.broker.outside;
      for (let i = 0; i < n; i++) {
        // a network that refuses alerts with a missing feature gives NaN: not passed, score null
        const refused = Number.isNaN(proba[i * C + pos]);
        passes[i] = f.cuts[i] && !refused ? 1 : 0;
        score[i] = passes[i] ? proba[i * C + pos] : refused && f.cuts[i] ? NaN : outside;
        tagged[i] = passes[i] && score[i] >= m.threshold && m.def.broker.tag ? 1 : 0;
      }
      // K classes: every class's probability too, as <score>_<class>
      const perClass = C > 2 ? m.def.classNames.map((c, k) => ({ column: `${m.def.broker.scoreColumn}_${c}`, values: Float64Array.from({ length: n }, (_, i) => (passes[i] ? proba[i * C + k] : outside)) })) : null;
      return { module: m, column: m.def.broker.scoreColumn, score, perBand: null, passes, tagged, perClass };
    }
    const model = m.model;
    const s = model.scoreBands(bandInputs(m.def, f.values, n, model.bands), n);
    for (let i = 0; i < n; i++) {
      score[i] = s.final[i];
      passes[i] = f.cuts[i] && Number.isFinite(s.final[i]) ? 1 : 0;
      if (!f.cuts[i]) score[i] = m.def.broker.outside;
      // the scorer's --anomaly-threshold, else the declaration's broker.threshold; no tag without either
      const threshold = o.anomalyThreshold ?? m.def.broker.threshold ?? undefined;
      tagged[i] = passes[i] && threshold !== undefined && s.final[i] <= threshold && m.def.broker.tag ? 1 : 0;
    }
    const perBand = model.bands.map((band, b) => ({ column: `${m.def.broker.scoreColumn}_${band}`, values: s.scores[b] }));
    return { module: m, column: m.def.broker.scoreColumn, score, perBand, passes, tagged, perClass: null };
  });
}

const num = (x: number) => (Number.isFinite(x) ? x : null);

/** The same as objects: one result per alert and module, in alert order then module order. */
export function scoreAlerts(alerts: readonly Alert[], modules: readonly LoadedModule[], o: ScoreOptions = {}): ScoreResult[] {
  const cols = scoreColumns(alerts, modules, o);
  const results: ScoreResult[] = [];
  alerts.forEach((a, i) => {
    for (const c of cols) {
      const scores: Record<string, number | null> = { [c.column]: num(c.score[i]) };
      for (const p of c.perBand ?? []) scores[p.column] = num(p.values[i]);
      for (const p of c.perClass ?? []) scores[p.column] = num(p.values[i]);
      results.push({
        objectId: a.objectId, candid: a.candid === null ? null : a.candid.toString(), module: c.module.module, version: c.module.version,
        passesCuts: c.passes[i] === 1, scores, tags: c.tagged[i] && c.module.def.broker.tag ? [c.module.def.broker.tag] : [],
      });
    }
  });
  return results;
}

/**
 * The result lines of a batch as JSON text, rendered straight from the columns (the same text as
 * JSON.stringify of scoreAlerts' objects, without building them).
 */
export function renderResultLines(alerts: readonly Alert[], cols: readonly ModuleColumns[]): { lines: string; keys: string[] } {
  const parts: string[] = [];
  const keys: string[] = [];
  const js = (x: number) => (Number.isFinite(x) ? String(x) : 'null');
  const prefix = cols.map((c) => `,"module":${JSON.stringify(c.module.module)},"version":${c.module.version},"passesCuts":`);
  for (let i = 0; i < alerts.length; i++) {
    const a = alerts[i];
    const head = `{"objectId":${JSON.stringify(a.objectId)},"candid":${a.candid === null ? 'null' : `"${a.candid.toString()}"`}`;
    cols.forEach((c, k) => {
      let scores = `{"${c.column}":${js(c.score[i])}`;
      if (c.perBand) for (const p of c.perBand) scores += `,${JSON.stringify(p.column)}:${js(p.values[i])}`;
      if (c.perClass) for (const p of c.perClass) scores += `,${JSON.stringify(p.column)}:${js(p.values[i])}`;
      const tags = c.tagged[i] && c.module.def.broker.tag ? `["${c.module.def.broker.tag}"]` : '[]';
      parts.push(`${head}${prefix[k]}${c.passes[i] ? 'true' : 'false'},"scores":${scores}},"tags":${tags}}\n`);
      keys.push(a.objectId);
    });
  }
  return { lines: parts.join(''), keys };
}

/**
 * Fink's "enriched alert" view of a batch's results: one row per alert with the module columns
 * (rf_snia_vs_nonia, rf_kn_vs_nonkn, anomaly_score; with K classes also <score>_<class>) and the versions
 * that produced them.
 */
export function enrichedRows(alerts: readonly Alert[], results: readonly ScoreResult[], modules: readonly LoadedModule[]): Array<Record<string, unknown>> {
  const nModules = modules.length;
  return alerts.map((a, i) => {
    const row: Record<string, unknown> = { objectId: a.objectId, candid: a.candid === null ? null : a.candid.toString(), jd: a.candidate.jd, ra: a.ra, dec: a.dec };
    const versions: Record<string, number> = {};
    const tags: string[] = [];
    for (let k = 0; k < nModules; k++) {
      const r = results[i * nModules + k];
      const def = modules[k].def;
      const column = def.broker.scoreColumn;
      row[column] = r.scores[column];
      // K classes: each class's probability too, as the module's fink-science processor writes them
      if (def.kind === 'classifier' && def.classNames.length > 2) for (const c of def.classNames) row[`${column}_${c}`] = r.scores[`${column}_${c}`];
      versions[r.module] = r.version;
      tags.push(...r.tags);
    }
    row.sieve_versions = versions;
    row.tags = tags;
    return row;
  });
}
