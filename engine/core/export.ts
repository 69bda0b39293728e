import {
  AADForest, BandAADModel, IsolationForest, MLPClassifier, RandomForestClassifier, TwoBandAADModel, aadForestToOnnx, exportBandAnomalyZip, exportFinkAnomalyZip, isolationForestToOnnx,
  mlpToOnnx, mlpToOnnxMC, modelFromBundle, randomForestToOnnx, randomForestToSklearnPickle, serializeBundle, type ModelBundle,
} from '../../models/index.ts';
import { canonicalDeclaration, type ModuleDeclaration } from './modules/declaration.ts';
import { finkScienceExport, finkScienceZip, type FinkScienceContext, type FinkScienceExport } from './finkScience/index.ts';
import type { Store } from './store/store.ts';

/** The broker-facing formats a model version can be written in (`sieve export`, the API's export route). */
export const EXPORT_FORMATS = ['bundle', 'onnx', 'onnx-mc', 'fink-anomaly-zip', 'sklearn', 'fink-science'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What each format holds and what loads it (the README's table is generated from this). */
export const EXPORT_FORMAT_DOCS: Record<ExportFormat, { holds: string; models: string; loadedBy: string }> = {
  bundle: {
    holds: "Sieve's model bundle: one JSON file with the declaration, the FeatureSpec, the model and a sha256",
    models: 'every model type',
    loadedBy: '`sieve score --bundles DIR` (no store needed)',
  },
  onnx: {
    holds: 'the model as one ONNX graph: a forest as an ai.onnx.ml tree ensemble, a network as standard ops with dropout off and its input scaling inside; float32 inputs in the FeatureSpec\'s column order',
    models: 'random forest, isolation forest, AAD forest, mlp',
    loadedBy: 'onnxruntime (any language)',
  },
  'onnx-mc': {
    holds: "a network with its Monte-Carlo dropout passes in the graph: outputs `probabilities` (the passes' mean) and `spread`",
    models: 'mlp',
    loadedBy: 'onnxruntime (any language)',
  },
  'fink-anomaly-zip': {
    holds: "one ONNX forest per band, `forest_<band>_AAD_<name>.onnx`, zipped as Fink's anomaly module loads them",
    models: 'per-band anomaly modules',
    loadedBy: "fink-science's ZTF anomaly_detection processor (fink-science has no Rubin anomaly scorer yet)",
  },
  sklearn: {
    holds: 'a scikit-learn RandomForestClassifier pickle in the layout of scikit-learn 1.0.2, `classes_` 0..K-1',
    models: 'random forest',
    loadedBy: "fink-science's early SN Ia (ZTF, Rubin), kilonova and microlensing processors",
  },
  'fink-science': {
    holds: "the module as a fink-science contribution: `fink_science/<ztf|rubin>/<name>/processor.py` (Fink's own feature code, the cuts, the model), the model file, a README for Fink's reviewers and the fink-broker snippet (--out: a folder; the API: a zip)",
    models: 'random forest, per-band AAD forests, on extractors and fields Fink computes',
    loadedBy: "fink-broker's science.py, once merged into fink-science",
  },
};

/** A model in one of the broker-facing formats, with the file name and media type to serve it under. */
export function exportModelBytes(bundle: ModelBundle, source: string, format: string, name?: string, ctx?: FinkScienceContext): { bytes: Uint8Array; fileName: string; contentType: string } {
  const base = `${bundle.manifest.module}_v${bundle.manifest.version}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  if (format === 'fink-science') {
    const e = finkScienceFiles(bundle, source, ctx);
    return { bytes: finkScienceZip(e), fileName: `${base}.fink-science.zip`, contentType: 'application/zip' };
  }
  const model = modelFromBundle(bundle);
  switch (format) {
    case 'bundle':
      return { bytes: Buffer.from(serializeBundle(bundle), 'utf8'), fileName: `${base}.bundle.json`, contentType: 'application/json' };
    case 'onnx': {
      let bytes: Uint8Array;
      if (model instanceof RandomForestClassifier) bytes = randomForestToOnnx(model);
      else if (model instanceof AADForest) bytes = aadForestToOnnx(model);
      else if (model instanceof IsolationForest) bytes = isolationForestToOnnx(model);
      else if (model instanceof MLPClassifier) bytes = mlpToOnnx(model);
      else throw new Error(`${source}: a ${bundle.manifest.modelType} model has no single-file ONNX export (use --format fink-anomaly-zip for per-band anomaly modules)`);
      return { bytes, fileName: `${base}.onnx`, contentType: 'application/octet-stream' };
    }
    case 'onnx-mc': {
      if (!(model instanceof MLPClassifier)) throw new Error(`${source}: onnx-mc is a network's Monte-Carlo dropout graph; this bundle holds a ${bundle.manifest.modelType} (use --format onnx)`);
      return { bytes: mlpToOnnxMC(model), fileName: `${base}_mc.onnx`, contentType: 'application/octet-stream' };
    }
    case 'fink-anomaly-zip': {
      const zipName = name ?? base;
      if (model instanceof TwoBandAADModel) return { bytes: exportFinkAnomalyZip({ forestG: model.forestG, forestR: model.forestR }, zipName), fileName: `${zipName}.zip`, contentType: 'application/zip' };
      // a Rubin (or any per-band) module: one forest per band in the same layout
      if (model instanceof BandAADModel) return { bytes: exportBandAnomalyZip(model.bands.map((band, b) => ({ band, forest: model.forests[b] })), zipName), fileName: `${zipName}.zip`, contentType: 'application/zip' };
      throw new Error(`${source}: fink-anomaly-zip needs a per-band AAD module, this bundle holds a ${bundle.manifest.modelType}`);
    }
    case 'sklearn': {
      if (!(model instanceof RandomForestClassifier)) throw new Error(`${source}: the sklearn format is a RandomForestClassifier; this bundle holds a ${bundle.manifest.modelType}`);
      // Fink's processors that read columns by name (ZTF early SN Ia) get feature_names_in_; those that pass
      // plain arrays (kndetect, the Rubin modules) get none, as their own files have none
      const decl = bundle.manifest.declaration as { broker?: { exportFeatureNames?: boolean } } | undefined;
      const names = decl?.broker?.exportFeatureNames === false ? null : bundle.manifest.featureSpec.columns;
      return { bytes: randomForestToSklearnPickle(model, { featureNames: names }), fileName: `${base}.pkl`, contentType: 'application/octet-stream' };
    }
    default:
      throw new Error(`unknown export format '${format}' (${EXPORT_FORMATS.join(', ')})`);
  }
}

/**
 * A version as a fink-science module (processor, model file, README, fink-broker snippet); refused with a
 * FinkScienceRefusal when Fink cannot run the module. `ctx` (finkScienceContext) adds who declared it and the gate.
 */
export function finkScienceFiles(bundle: ModelBundle, source: string, ctx: FinkScienceContext = {}): FinkScienceExport {
  return finkScienceExport(bundle, source, (format, name) => exportModelBytes(bundle, source, format, name).bytes, ctx);
}

/** What the store knows of a version for its fink-science README: the declaration's revision and author, the gate, the status. */
export function finkScienceContext(store: Store, bundle: ModelBundle): FinkScienceContext {
  const module = bundle.manifest.module;
  const row = store.getModel(module, Number(bundle.manifest.version));
  const decl = bundle.manifest.declaration as ModuleDeclaration | undefined;
  const sha = decl ? canonicalDeclaration(decl).sha256 : null;
  const rev = store.moduleRevisions(module).find((r) => r.sha256 === sha) ?? null;
  return { declaredBy: rev && { author: rev.author, createdAt: rev.createdAt, revision: rev.revision }, gate: row.gate, status: row.status };
}
