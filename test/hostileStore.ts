import { ensureBuiltinModules, moduleOf, Store } from '../engine/index.ts';
import { createBundle, RandomForestClassifier, serializeBundle } from '../models/index.ts';

/**
 * A new store at `db` with the shipped modules and early-snia versions 1..n saved and deployed in turn (small
 * forests on made-up rows of its 12 features); returns each version's bundle text.
 */
export function storeWithEarlySnia(db: string, n: number): string[] {
  const store = Store.create(db);
  try {
    ensureBuiltinModules(store);
    const def = moduleOf(store, 'early-snia');
    const spec = def.extractor().spec;
    const d = spec.columns.length;
    const out: string[] = [];
    for (let v = 1; v <= n; v++) {
      const X = { data: Float32Array.from({ length: 40 * d }, (_, i) => ((i * 7919 + v) % 97) / 97), rows: 40, cols: d };
      const y = Int32Array.from({ length: 40 }, (_, i) => i % 2);
      const bundle = createBundle({
        module: 'early-snia', version: String(v), created: '2026-11-24T00:00:00.000Z', model: new RandomForestClassifier({ nEstimators: 3, seed: v }).fit(X, y),
        featureSpec: spec, classNames: def.classNames, training: { X, y }, declaration: def.declaration,
      });
      store.saveModel(bundle, 0, 'test');
      store.deploy('early-snia', v, 'test');
      out.push(serializeBundle(bundle));
    }
    return out;
  } finally {
    store.close();
  }
}
