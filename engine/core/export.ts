import {
  AADForest, BandAADModel, IsolationForest, RandomForestClassifier, TwoBandAADModel, aadForestToOnnx, exportBandAnomalyZip, exportFinkAnomalyZip, isolationForestToOnnx,
  modelFromBundle, randomForestToOnnx, randomForestToSklearnPickle, serializeBundle, type ModelBundle,
} from '../../models/index.ts';

/** The broker-facing formats a model version can be written in (`sieve export`, the API's export route). */
export const EXPORT_FORMATS = ['bundle', 'onnx', 'fink-anomaly-zip', 'sklearn'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** What each format holds and what loads it (the README's table is generated from this). */
export const EXPORT_FORMAT_DOCS: Record<ExportFormat, { holds: string; models: string; loadedBy: string }> = {
  bundle: {
    holds: "Sieve's model bundle: one JSON file with the declaration, the FeatureSpec, the model and a sha256",
    models: 'every model type',
    loadedBy: '`sieve score --bundles DIR` (no store needed)',
  },
  onnx: {
    holds: 'the forest as one ONNX graph (ai.onnx.ml tree ensemble), float32 inputs in the FeatureSpec\'s column order',
    models: 'random forest, isolation forest, AAD forest',
    loadedBy: 'onnxruntime (any language)',
  },
  'fink-anomaly-zip': {
    holds: "one ONNX forest per band, `forest_<band>_AAD_<name>.onnx`, zipped as Fink's anomaly module loads them",
    models: 'per-band anomaly modules',
    loadedBy: "fink-science's anomaly_detection processors (ZTF, Rubin)",
  },
  sklearn: {
    holds: 'a scikit-learn RandomForestClassifier pickle in the layout of scikit-learn 1.0.2, `classes_` 0..K-1',
    models: 'random forest',
    loadedBy: "fink-science's early SN Ia (ZTF, Rubin), kilonova and microlensing processors",
  },
};

/** A model in one of the broker-facing formats, with the file name and media type to serve it under. */
export function exportModelBytes(bundle: ModelBundle, source: string, format: string, name?: string): { bytes: Uint8Array; fileName: string; contentType: string } {
  const model = modelFromBundle(bundle);
  const base = `${bundle.manifest.module}_v${bundle.manifest.version}`.replace(/[^A-Za-z0-9_.-]/g, '_');
  switch (format) {
    case 'bundle':
      return { bytes: Buffer.from(serializeBundle(bundle), 'utf8'), fileName: `${base}.bundle.json`, contentType: 'application/json' };
    case 'onnx': {
      let bytes: Uint8Array;
      if (model instanceof RandomForestClassifier) bytes = randomForestToOnnx(model);
      else if (model instanceof AADForest) bytes = aadForestToOnnx(model);
      else if (model instanceof IsolationForest) bytes = isolationForestToOnnx(model);
      else throw new Error(`${source}: a ${bundle.manifest.modelType} model has no single-file ONNX export (use --format fink-anomaly-zip for per-band anomaly modules)`);
      return { bytes, fileName: `${base}.onnx`, contentType: 'application/octet-stream' };
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
