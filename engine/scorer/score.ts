import type { Alert } from '../../datasets/index.ts';
import { featureSpecHash, type FeatureExtractor } from '../../features/index.ts';
import { RandomForestClassifier, TwoBandAADModel, modelFromBundle, parseBundle } from '../../models/index.ts';
import { moduleByName, type ModuleDefinition } from '../modules.ts';
import { anomalyInputs } from '../training.ts';

/** A module version as the registry (or a bundle folder) hands it to scorers: the bundle's JSON text. */
export interface ModuleVersion {
  module: string;
  version: number;
  bundleJson: string;
}

export interface LoadedModule {
  module: string;
  version: number;
  def: ModuleDefinition;
  extractor: FeatureExtractor;
  specHash: string;
  model: RandomForestClassifier | TwoBandAADModel;
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
}

/**
 * Loads a module version for scoring. Throws, naming module and version, when the bundle's checksum is
 * wrong or its FeatureSpec is not the one this Sieve computes for the module (the scorer then keeps the
 * version it had).
 */
export function loadModuleVersion(v: ModuleVersion): LoadedModule {
  const def = moduleByName(v.module);
  const extractor = def.extractor();
  const bundle = parseBundle(v.bundleJson, extractor.spec, `${v.module} v${v.version}`);
  if (bundle.manifest.module !== v.module) throw new Error(`${v.module} v${v.version}: the bundle is for module '${bundle.manifest.module}'`);
  const model = modelFromBundle(bundle);
  if (!(model instanceof RandomForestClassifier) && !(model instanceof TwoBandAADModel)) {
    throw new Error(`${v.module} v${v.version}: a ${bundle.manifest.modelType} cannot score alerts in the broker (random forest or two-band AAD)`);
  }
  return { module: v.module, version: v.version, def, extractor, specHash: featureSpecHash(extractor.spec), model, threshold: bundle.manifest.decisionThreshold };
}

/**
 * Scores a batch: each extractor the modules need runs once per alert, each model once per batch.
 * Returns one result per alert and module, in alert order then module order.
 */
export function scoreAlerts(alerts: readonly Alert[], modules: readonly LoadedModule[], o: ScoreOptions = {}): ScoreResult[] {
  const n = alerts.length;
  const features = new Map<string, { values: Float64Array; cols: number; cuts: Uint8Array }>();
  for (const m of modules) {
    if (features.has(m.specHash)) continue;
    const cols = m.extractor.spec.columns.length;
    const values = new Float64Array(n * cols);
    const cuts = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      m.extractor.extract(alerts[i], values.subarray(i * cols, (i + 1) * cols));
      cuts[i] = m.extractor.passesCuts(alerts[i]) ? 1 : 0;
    }
    features.set(m.specHash, { values, cols, cuts });
  }
  const perModule = modules.map((m) => {
    const f = features.get(m.specHash)!;
    const out: Array<{ passes: boolean; scores: Record<string, number | null>; tags: string[] }> = [];
    const column = m.def.broker.scoreColumn;
    if (m.model instanceof RandomForestClassifier) {
      const proba = m.model.predictProba({ data: Float32Array.from(f.values), rows: n, cols: f.cols });
      const C = m.model.nClasses;
      for (let i = 0; i < n; i++) {
        const passes = f.cuts[i] === 1 && (!m.def.informative || m.def.informative(f.values, i * f.cols));
        // Fink writes 0 for alerts outside the module's cuts
        const p = passes ? proba[i * C + 1] : 0;
        out.push({ passes, scores: { [column]: p }, tags: passes && p >= m.threshold && m.def.broker.tag ? [m.def.broker.tag] : [] });
      }
    } else {
      const { inputG, inputR } = anomalyInputs(f.values, n);
      const s = m.model.scoreRows(inputG, inputR, n);
      const v = (x: number) => (Number.isFinite(x) ? x : null);
      for (let i = 0; i < n; i++) {
        const final = v(s.final[i]);
        const tag = final !== null && o.anomalyThreshold !== undefined && final <= o.anomalyThreshold && m.def.broker.tag ? [m.def.broker.tag] : [];
        out.push({ passes: final !== null, scores: { [column]: final, [`${column}_g`]: s.validG[i] ? v(s.scoreG[i]) : null, [`${column}_r`]: s.validR[i] ? v(s.scoreR[i]) : null }, tags: tag });
      }
    }
    return out;
  });
  const results: ScoreResult[] = [];
  for (let i = 0; i < n; i++) {
    const a = alerts[i];
    modules.forEach((m, k) => {
      const r = perModule[k][i];
      results.push({ objectId: a.objectId, candid: a.candid === null ? null : a.candid.toString(), module: m.module, version: m.version, passesCuts: r.passes, scores: r.scores, tags: r.tags });
    });
  }
  return results;
}

/**
 * Fink's "enriched alert" view of a batch's results: one row per alert with the module columns
 * (rf_snia_vs_nonia, rf_kn_vs_nonkn, anomaly_score) and the versions that produced them.
 */
export function enrichedRows(alerts: readonly Alert[], results: readonly ScoreResult[], nModules: number): Array<Record<string, unknown>> {
  return alerts.map((a, i) => {
    const row: Record<string, unknown> = { objectId: a.objectId, candid: a.candid === null ? null : a.candid.toString(), jd: a.candidate.jd, ra: a.ra, dec: a.dec };
    const versions: Record<string, number> = {};
    const tags: string[] = [];
    for (let k = 0; k < nModules; k++) {
      const r = results[i * nModules + k];
      const column = moduleByName(r.module).broker.scoreColumn;
      row[column] = r.scores[column];
      versions[r.module] = r.version;
      tags.push(...r.tags);
    }
    row.sieve_versions = versions;
    row.tags = tags;
    return row;
  });
}
