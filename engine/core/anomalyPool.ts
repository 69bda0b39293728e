import { validRows, type AADForest, type PerBandAADModel } from '../../models/index.ts';
import { bandInputs } from './bandInputs.ts';
import { computeFeatures } from './features/pipeline.ts';
import type { ModuleDefinition } from './modules/index.ts';
import type { Store } from './store/store.ts';

/** Per band: every pool alert's leaf in every tree, as its rank among its tree's leaves (a byte for up to 256 leaves). */
export type LeafTable = Uint8Array | Uint16Array | Int32Array;

/** Where each tree's leaves start in the forest's numbering, and the smallest array type their ranks fit in. */
export function leafLayout(f: AADForest): { first: Int32Array; make: (n: number) => LeafTable } {
  const nodes = f.nodes!;
  const T = nodes.roots.length;
  const first = new Int32Array(T + 1).fill(-1);
  for (let l = nodes.leafTree.length - 1; l >= 0; l--) first[nodes.leafTree[l]] = l;
  first[T] = nodes.leafTree.length;
  let most = 0;
  for (let t = 0; t < T; t++) most = Math.max(most, first[t + 1] - first[t]);
  return { first, make: most <= 256 ? (n) => new Uint8Array(n) : most <= 65536 ? (n) => new Uint16Array(n) : (n) => new Int32Array(n) };
}

const BLOCK_ROWS = 16384;

/** What a session holds besides the model: per band the pool's leaves and valid rows; the pool's ids. */
export interface SessionPool {
  leaves: LeafTable[];
  valid: Uint8Array[];
  alertIds: Int32Array;
  objectIds: string[];
}

/** The leaves of every pool alert in every tree of the model's forests, read from the store in blocks. */
export function sessionPool(store: Store, def: ModuleDefinition, model: PerBandAADModel): SessionPool {
  computeFeatures(store, def.extractor());
  const spec = def.extractor().spec;
  const n = store.poolCounts(spec, def.survey).passing;
  const T = model.nEstimators;
  const F = model.nFeatures;
  const layouts = model.forests.map(leafLayout);
  const pool: SessionPool = { leaves: layouts.map((l) => l.make(n * T)), valid: model.bands.map(() => new Uint8Array(n)), alertIds: new Int32Array(n), objectIds: new Array(n) };
  let row = 0;
  for (const t of store.featureBlocks(spec, BLOCK_ROWS)) {
    const m = t.alertIds.length;
    if (row + m > n) throw new Error(`${def.name}: the pool grew while the session was opening`);
    pool.alertIds.set(t.alertIds, row);
    for (let i = 0; i < m; i++) pool.objectIds[row + i] = t.objectIds[i];
    const inputs = bandInputs(def, t.values, m, model.bands);
    model.forests.forEach((f, b) => {
      const global = f.leafIndices({ data: inputs[b], rows: m, cols: F });
      const first = layouts[b].first;
      const out = pool.leaves[b];
      for (let i = 0; i < m; i++) for (let k = 0; k < T; k++) out[(row + i) * T + k] = global[i * T + k] - first[k];
      pool.valid[b].set(validRows(inputs[b], m, F), row);
    });
    row += m;
  }
  if (row !== n) throw new Error(`${def.name}: ${n} pool rows counted, ${row} read`);
  return pool;
}
