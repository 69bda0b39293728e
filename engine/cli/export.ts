import { readFileSync, writeFileSync } from 'node:fs';
import {
  AADForest, IsolationForest, RandomForestClassifier, TwoBandAADModel, aadForestToOnnx, exportFinkAnomalyZip, isolationForestToOnnx,
  modelFromBundle, parseBundle, randomForestToOnnx, serializeBundle, type ModelBundle,
} from '../../models/index.ts';

/**
 * Exports a trained module. Until the model registry exists (engine issue), <module> is the path of a
 * bundle file, e.g. the anomaly-module.bundle.json an experiment writes.
 */
export function exportCommand(module: string, opts: { format: string; out: string; name?: string }): void {
  exportBundle(parseBundle(readFileSync(module, 'utf8'), undefined, module), module, opts);
}

export function exportBundle(bundle: ModelBundle, module: string, opts: { format: string; out: string; name?: string }): void {
  const model = modelFromBundle(bundle);
  switch (opts.format) {
    case 'bundle':
      writeFileSync(opts.out, serializeBundle(bundle));
      break;
    case 'onnx': {
      let bytes: Uint8Array;
      if (model instanceof RandomForestClassifier) bytes = randomForestToOnnx(model);
      else if (model instanceof AADForest) bytes = aadForestToOnnx(model);
      else if (model instanceof IsolationForest) bytes = isolationForestToOnnx(model);
      else throw new Error(`${module}: a ${bundle.manifest.modelType} model has no single-file ONNX export (use --format fink-anomaly-zip for two-band anomaly modules)`);
      writeFileSync(opts.out, bytes);
      break;
    }
    case 'fink-anomaly-zip': {
      if (!(model instanceof TwoBandAADModel)) throw new Error(`${module}: fink-anomaly-zip needs a two-band AAD module, this bundle holds a ${bundle.manifest.modelType}`);
      const name = opts.name ?? `${bundle.manifest.module}_v${bundle.manifest.version}`.replace(/[^A-Za-z0-9_.-]/g, '_');
      writeFileSync(opts.out, exportFinkAnomalyZip({ forestG: model.forestG, forestR: model.forestR }, name));
      break;
    }
    default:
      throw new Error(`unknown export format '${opts.format}' (bundle, onnx, fink-anomaly-zip)`);
  }
  process.stderr.write(`${bundle.manifest.module} v${bundle.manifest.version} (${bundle.manifest.modelType}) exported as ${opts.format} to ${opts.out}\n`);
}
