import { featureSpecHash } from '../../features/index.ts';
import { createBundle, randomForestFromSklearnPickle } from '../../models/index.ts';
import { moduleOf } from './modules/index.ts';
import type { Store } from './store/store.ts';
import { evaluateClassifier, labelledRows } from './training.ts';
import { computeFeatures } from './features/pipeline.ts';

export interface SklearnImportResult {
  module: string;
  version: number;
  classes: Array<number | boolean | string>;
  sklearnVersion: string | null;
  metrics: Record<string, number>;
  deployed: boolean;
}

/**
 * Imports a scikit-learn RandomForestClassifier pickle (e.g. the model a Fink module runs today) as the next
 * version of a module: checked against the module's features (count, and names when the file has them),
 * its classes mapped by position (classes_[i] is the module's class i), evaluated on the module's held-out
 * labelled objects like any retrained version, saved as a candidate (deployed only when asked).
 */
export function importSklearnModel(store: Store, moduleName: string, bytes: Uint8Array, source: string, o: { actor?: string; deploy?: boolean } = {}): SklearnImportResult {
  const def = moduleOf(store, moduleName);
  if (def.kind !== 'classifier') throw new Error(`${moduleName} is an anomaly module: a scikit-learn random forest replaces a classifier`);
  const imported = randomForestFromSklearnPickle(bytes, source);
  const spec = def.extractor().spec;
  if (imported.rf.nFeatures !== spec.columns.length) throw new Error(`${source}: ${imported.rf.nFeatures} features, ${moduleName} has ${spec.columns.length} (${spec.columns.join(', ')})`);
  if (imported.featureNames && imported.featureNames.join(',') !== spec.columns.join(',')) {
    throw new Error(`${source}: feature_names_in_ (${imported.featureNames.join(', ')}) are not ${moduleName}'s columns (${spec.columns.join(', ')})`);
  }
  if (imported.classes.length !== def.classNames.length) throw new Error(`${source}: ${imported.classes.length} classes, ${moduleName} has ${def.classNames.length} (${def.classNames.join(', ')})`);
  computeFeatures(store, def.extractor());
  const rows = labelledRows(store, def, 0.25);
  const idx: number[] = [];
  for (let i = 0; i < rows.y.length; i++) if (rows.holdout[i]) idx.push(i);
  const d = rows.X.cols;
  const data = new Float32Array(idx.length * d);
  idx.forEach((i, k) => data.set(rows.X.data.subarray(i * d, i * d + d), k * d));
  const metrics = evaluateClassifier(imported.rf, { data, rows: idx.length, cols: d }, Int32Array.from(idx, (i) => rows.y[i]), def.broker.threshold ?? 0.5, def.classNames.length);
  const actor = o.actor ?? 'import';
  const version = store.db.transaction(() => {
    const v = store.nextVersion(moduleName);
    const deployed = store.deployedVersion(moduleName);
    const bundle = createBundle({
      module: moduleName, version: String(v), model: imported.rf, featureSpec: spec, classNames: def.classNames,
      training: { X: { data: new Float32Array(0), rows: 0, cols: d } }, metrics: { ...metrics, imported: 1 },
      parentVersion: deployed === null ? null : String(deployed), declaration: def.declaration, decisionThreshold: def.broker.threshold ?? 0.5,
    });
    store.saveModel(bundle, 0, actor);
    store.audit(actor, 'import-sklearn', { module: moduleName, version: v, source, sklearnVersion: imported.sklearnVersion, classes: imported.classes.map(String), featureSpecHash: featureSpecHash(spec) });
    if (o.deploy) store.deploy(moduleName, v, actor, `imported from ${source} (scikit-learn ${imported.sklearnVersion ?? '?'})`);
    return v;
  })();
  return { module: moduleName, version, classes: imported.classes, sklearnVersion: imported.sklearnVersion, metrics, deployed: o.deploy === true };
}
