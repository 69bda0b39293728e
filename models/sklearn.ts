import {
  bytes, dict, float, global, int, list, newobj, readPickle, reduce, tuple, writePickle, PickleError,
  type Py, type PyDict, type PyNewObj, type PyReduce,
} from './pickle.ts';
import { RandomForestClassifier, type ForestNodes } from './randomForest.ts';
import { checkCount, checkTrees, MODEL_LIMITS } from './structure.ts';

/**
 * Sieve's random forest as the pickled scikit-learn RandomForestClassifier that Fink's classifier modules load
 * (layout of scikit-learn 1.0.2, the version Fink pins; newer releases load it), and back. See models/README.md
 * for the exact layout. The decisions are identical: scikit-learn compares float32(x) <= threshold (float64);
 * Sieve compares float32 x <= threshold (float32), exported as that float32 value, so both agree on every input.
 */

const SKLEARN_VERSION = '1.0.2';
const TREE_LEAF = -1;
const TREE_UNDEFINED = -2;

/** NODE_DTYPE of sklearn/tree/_tree.pyx (1.0-1.2): seven fields, 56 bytes, packed. */
const NODE_FIELDS: Array<[string, 'i8' | 'f8', number]> = [
  ['left_child', 'i8', 0], ['right_child', 'i8', 8], ['feature', 'i8', 16], ['threshold', 'f8', 24], ['impurity', 'f8', 32],
  ['n_node_samples', 'i8', 40], ['weighted_n_node_samples', 'f8', 48],
];

/** The numpy objects a model file is made of, built as numpy's own __reduce__ builds them. */
class Numpy {
  private readonly dtypes = new Map<string, Py>();
  private readonly reconstruct = global('numpy.core.multiarray', '_reconstruct');
  private readonly ndarrayCls = global('numpy', 'ndarray');
  private readonly empty = tuple(int(0));
  private readonly b = bytes(Uint8Array.of(0x62));

  dtype(code: 'i8' | 'f8' | 'b1' | 'O8'): Py {
    let d = this.dtypes.get(code);
    if (!d) {
      const endian = code === 'b1' || code === 'O8' ? '|' : '<';
      d = reduce(global('numpy', 'dtype'), tuple(code, false, true), tuple(int(3), endian, null, null, null, int(-1), int(-1), int(code === 'O8' ? 63 : 0)));
      this.dtypes.set(code, d);
    }
    return d;
  }

  nodeDtype(): Py {
    let d = this.dtypes.get('node');
    if (!d) {
      const fields = dict(NODE_FIELDS.map(([name, code, offset]) => [name, tuple(this.dtype(code), int(offset))]));
      d = reduce(global('numpy', 'dtype'), tuple('V56', false, true), tuple(int(3), '|', null, tuple(...NODE_FIELDS.map(([n]) => n)), fields, int(56), int(1), int(16)));
      this.dtypes.set('node', d);
    }
    return d;
  }

  array(shape: number[], dtype: Py, data: Uint8Array | Py[]): Py {
    return reduce(this.reconstruct, tuple(this.ndarrayCls, this.empty, this.b),
      tuple(int(1), tuple(...shape.map((n) => int(n))), dtype, false, data instanceof Uint8Array ? bytes(data) : list(data)));
  }

  scalarI8(v: number): Py {
    const raw = new Uint8Array(8);
    new DataView(raw.buffer).setBigInt64(0, BigInt(v), true);
    return reduce(global('numpy.core.multiarray', 'scalar'), tuple(this.dtype('i8'), bytes(raw)));
  }
}

function f64Bytes(values: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i], true);
  return b;
}

function i64Bytes(values: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(values.length * 8);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) dv.setBigInt64(i * 8, BigInt(values[i]), true);
  return b;
}

export interface SklearnExportOptions {
  /** Column names (feature_names_in_), as Fink's ZTF early SN Ia module reads them; null: none. */
  featureNames?: readonly string[] | null;
  /** The labels of classes_, in Sieve's class order; default 0..K-1. */
  classes?: ReadonlyArray<number | boolean>;
}

/** The forest as a pickled scikit-learn RandomForestClassifier (bytes of a .pkl file). */
export function randomForestToSklearnPickle(rf: RandomForestClassifier, o: SklearnExportOptions = {}): Uint8Array {
  const nodes = rf.nodes;
  if (!nodes) throw new Error('random forest: not fitted');
  if (!nodes.nSamples || !nodes.wSamples || !nodes.impurity) throw new Error('this forest was trained before Sieve kept node statistics (samples, weights, impurity); retrain it to export a scikit-learn model');
  const np = new Numpy();
  const C = rf.nClasses;
  const d = rf.nFeatures;
  const p = rf.params;
  const mtry = p.maxFeatures === 'sqrt' ? Math.max(1, Math.floor(Math.sqrt(d))) : p.maxFeatures === 'log2' ? Math.max(1, Math.floor(Math.log2(d)))
    : p.maxFeatures < 1 ? Math.max(1, Math.floor(p.maxFeatures * d)) : Math.min(d, Math.floor(p.maxFeatures));
  const maxFeatures: Py = p.maxFeatures === 'sqrt' || p.maxFeatures === 'log2' ? p.maxFeatures : p.maxFeatures < 1 ? float(p.maxFeatures) : int(p.maxFeatures);
  const maxDepth: Py = p.maxDepth === null ? null : int(p.maxDepth);
  const classWeight: Py = p.classWeight === 'balanced' ? 'balanced' : null;
  const treeCls = global('sklearn.tree._classes', 'DecisionTreeClassifier');
  const treeParams = (randomState: Py): Array<[Py, Py]> => [
    ['criterion', 'gini'], ['splitter', 'best'], ['max_depth', maxDepth], ['min_samples_split', int(p.minSamplesSplit)],
    ['min_samples_leaf', int(p.minSamplesLeaf)], ['min_weight_fraction_leaf', float(0)], ['max_features', maxFeatures], ['max_leaf_nodes', null],
    ['random_state', randomState], ['min_impurity_decrease', float(0)], ['class_weight', null], ['ccp_alpha', float(0)],
  ];
  const baseEstimator = newobj(treeCls, tuple(), dict([...treeParams(null), ['_sklearn_version', SKLEARN_VERSION]]));
  // every tree's classes_ is the float-encoded class index, as a fitted forest gives its trees
  const treeClasses = np.array([C], np.dtype('f8'), f64Bytes(Array.from({ length: C }, (_, c) => c)));
  const nClassesArray = np.array([1], np.dtype('i8'), i64Bytes([C]));
  const estimators: Py[] = [];
  for (let t = 0; t < nodes.roots.length; t++) {
    // scikit-learn numbers a tree's nodes depth first, left child first, from 0 at the root
    const order: number[] = [];
    const depthOf: number[] = [];
    const stack: Array<[number, number]> = [[nodes.roots[t], 0]];
    let maxD = 0;
    while (stack.length) {
      const [node, depth] = stack.pop()!;
      order.push(node);
      depthOf.push(depth);
      maxD = Math.max(maxD, depth);
      if (nodes.feature[node] >= 0) stack.push([nodes.right[node], depth + 1], [nodes.left[node], depth + 1]);
    }
    const local = new Map(order.map((g, i) => [g, i]));
    const n = order.length;
    const raw = new Uint8Array(n * 56);
    const dv = new DataView(raw.buffer);
    const values = new Float64Array(n * C);
    order.forEach((g, i) => {
      const leaf = nodes.feature[g] < 0;
      const o = i * 56;
      dv.setBigInt64(o, BigInt(leaf ? TREE_LEAF : local.get(nodes.left[g])!), true);
      dv.setBigInt64(o + 8, BigInt(leaf ? TREE_LEAF : local.get(nodes.right[g])!), true);
      dv.setBigInt64(o + 16, BigInt(leaf ? TREE_UNDEFINED : nodes.feature[g]), true);
      dv.setFloat64(o + 24, leaf ? TREE_UNDEFINED : nodes.threshold[g], true);
      dv.setFloat64(o + 32, nodes.impurity![g], true);
      dv.setBigInt64(o + 40, BigInt(nodes.nSamples![g]), true);
      dv.setFloat64(o + 48, nodes.wSamples![g], true);
      for (let c = 0; c < C; c++) values[i * C + c] = nodes.value[g * C + c];
    });
    const tree = reduce(global('sklearn.tree._tree', 'Tree'), tuple(int(d), nClassesArray, int(1)), dict([
      ['max_depth', int(maxD)], ['node_count', int(n)], ['nodes', np.array([n], np.nodeDtype(), raw)], ['values', np.array([n, 1, C], np.dtype('f8'), f64Bytes(values))],
    ]));
    // a seed per tree, as a forest draws them; scikit-learn only needs it to refit
    const seed = ((p.seed * 1_000_003 + t * 7919) >>> 0) % 2147483647;
    estimators.push(newobj(treeCls, tuple(), dict([
      ...treeParams(int(seed)), ['n_features_in_', int(d)], ['n_outputs_', int(1)], ['classes_', treeClasses], ['n_classes_', np.scalarI8(C)],
      ['max_features_', int(mtry)], ['tree_', tree], ['_sklearn_version', SKLEARN_VERSION],
    ])));
  }
  const classes = o.classes ?? Array.from({ length: C }, (_, c) => c);
  const classesArray = typeof classes[0] === 'boolean'
    ? np.array([C], np.dtype('b1'), Uint8Array.from(classes as boolean[], (b) => (b ? 1 : 0)))
    : np.array([C], np.dtype('i8'), i64Bytes(classes as number[]));
  const names = o.featureNames ?? null;
  if (names && names.length !== d) throw new Error(`random forest: ${names.length} feature names for ${d} features`);
  const state = dict([
    ['base_estimator', baseEstimator], ['n_estimators', int(nodes.roots.length)],
    ['estimator_params', tuple('criterion', 'max_depth', 'min_samples_split', 'min_samples_leaf', 'min_weight_fraction_leaf', 'max_features', 'max_leaf_nodes', 'min_impurity_decrease', 'random_state', 'ccp_alpha')],
    ['bootstrap', p.bootstrap], ['oob_score', false], ['n_jobs', null], ['random_state', int(p.seed)], ['verbose', int(0)], ['warm_start', false],
    ['class_weight', classWeight], ['max_samples', null], ['criterion', 'gini'], ['max_depth', maxDepth], ['min_samples_split', int(p.minSamplesSplit)],
    ['min_samples_leaf', int(p.minSamplesLeaf)], ['min_weight_fraction_leaf', float(0)], ['max_features', maxFeatures], ['max_leaf_nodes', null],
    ['min_impurity_decrease', float(0)], ['ccp_alpha', float(0)], ['n_features_in_', int(d)],
    ...(names ? [['feature_names_in_', np.array([d], np.dtype('O8'), [...names])] as [Py, Py]] : []),
    ['n_outputs_', int(1)], ['classes_', classesArray], ['n_classes_', int(C)], ['base_estimator_', baseEstimator], ['estimators_', list(estimators)],
    ['_sklearn_version', SKLEARN_VERSION],
  ]);
  return writePickle(newobj(global('sklearn.ensemble._forest', 'RandomForestClassifier'), tuple(), state));
}

/** What a scikit-learn model file may refer to: the forest, its trees, and numpy's array reconstruction. */
export const SKLEARN_FOREST_GLOBALS: ReadonlySet<string> = new Set([
  'sklearn.ensemble._forest.RandomForestClassifier', 'sklearn.tree._classes.DecisionTreeClassifier', 'sklearn.tree._tree.Tree',
  'numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct', 'numpy.ndarray', 'numpy.dtype',
  'numpy.core.multiarray.scalar', 'numpy._core.multiarray.scalar',
]);

export interface ImportedForest {
  rf: RandomForestClassifier;
  classes: Array<number | boolean | string>;
  featureNames: string[] | null;
  sklearnVersion: string | null;
}

interface NdArray {
  shape: number[];
  dtype: { code: string; fields: Map<string, { code: string; offset: number }> | null; itemsize: number };
  data: Uint8Array | Py[];
}

/**
 * Reads a pickled scikit-learn RandomForestClassifier (1.0-1.2 layout, single output, Gini trees) into a
 * Sieve forest with the same decisions and probabilities. Anything else — another estimator, another global,
 * an opcode a model file does not need — is refused, and nothing in the file is executed.
 */
export function randomForestFromSklearnPickle(data: Uint8Array, source = 'model.pkl'): ImportedForest {
  const fail = (reason: string): never => {
    throw new PickleError(source, reason);
  };
  const root = readPickle(data, SKLEARN_FOREST_GLOBALS, source);
  const isGlobal = (v: Py, dotted: string) => v !== null && typeof v === 'object' && v.kind === 'global' && `${v.module}.${v.name}` === dotted;
  const stateOf = (v: Py, cls: string, what: string): Map<string, Py> => {
    if (v === null || typeof v !== 'object' || v.kind !== 'newobj' || !isGlobal(v.cls, cls)) fail(`${what} is not a ${cls.split('.').pop()}`);
    const s = (v as PyNewObj).state;
    if (!s || typeof s !== 'object' || s.kind !== 'dict') fail(`${what} has no state`);
    return new Map((s as PyDict).entries.map(([k, x]) => [String(k), x]));
  };
  const num = (v: Py | undefined, what: string): number => {
    if (v && typeof v === 'object' && (v.kind === 'int' || v.kind === 'float')) return Number(v.value);
    if (v && typeof v === 'object' && v.kind === 'reduce' && (isGlobal(v.callable, 'numpy.core.multiarray.scalar') || isGlobal(v.callable, 'numpy._core.multiarray.scalar'))) {
      const args = v.args as { items: Py[] };
      const raw = (args.items[1] as { value: Uint8Array }).value;
      return Number(new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getBigInt64(0, true));
    }
    return fail(`${what} is not a number`);
  };
  const dtypeOf = (v: Py): NdArray['dtype'] => {
    if (!v || typeof v !== 'object' || v.kind !== 'reduce' || !isGlobal(v.callable, 'numpy.dtype')) return fail('an array has no numpy dtype');
    const code = ((v.args as { items: Py[] }).items[0]) as string;
    const st = (v as PyReduce).state as { items: Py[] } | undefined;
    let fields: NdArray['dtype']['fields'] = null;
    let itemsize = Number(/\d+/.exec(code)?.[0] ?? 8);
    if (st && st.items[4] && typeof st.items[4] === 'object' && (st.items[4] as PyDict).kind === 'dict') {
      fields = new Map((st.items[4] as PyDict).entries.map(([k, x]) => {
        const t = x as { items: Py[] };
        return [String(k), { code: dtypeOf(t.items[0]).code, offset: num(t.items[1], 'a field offset') }];
      }));
      itemsize = num(st.items[5], 'itemsize');
    }
    const endian = st ? st.items[1] : '<';
    if (endian === '>') fail('big-endian arrays are not supported');
    return { code, fields, itemsize };
  };
  const arrayOf = (v: Py | undefined, what: string): NdArray => {
    if (!v || typeof v !== 'object' || v.kind !== 'reduce' || !(isGlobal(v.callable, 'numpy.core.multiarray._reconstruct') || isGlobal(v.callable, 'numpy._core.multiarray._reconstruct'))) return fail(`${what} is not a numpy array`);
    const st = (v as PyReduce).state as { items: Py[] } | undefined;
    if (!st || st.items.length !== 5) return fail(`${what}: unexpected array state`);
    if (st.items[3] === true) fail(`${what}: Fortran-ordered arrays are not supported`);
    const dims = st.items[1];
    if (!dims || typeof dims !== 'object' || dims.kind !== 'tuple') return fail(`${what}: no shape`);
    const shape = dims.items.map((x) => num(x, `${what}: a dimension`));
    // the shape must describe the data: a hostile file may claim 10^12 elements over a few bytes
    const count = shape.reduce((x, y) => x * y, 1);
    if (shape.some((x) => !Number.isSafeInteger(x) || x < 0) || count > MODEL_LIMITS.maxNodes * MODEL_LIMITS.maxClasses) fail(`${what}: shape [${shape.join(', ')}] is not a valid array size`);
    const raw = st.items[4] as Py;
    const data = raw && typeof raw === 'object' && raw.kind === 'bytes' ? raw.value : raw && typeof raw === 'object' && raw.kind === 'list' ? raw.items : fail(`${what}: no data`);
    const dtype = dtypeOf(st.items[2]);
    const size = data instanceof Uint8Array ? data.length : data.length * dtype.itemsize;
    if (size !== count * dtype.itemsize) fail(`${what}: shape [${shape.join(', ')}] of ${dtype.itemsize}-byte items does not match its ${size} bytes of data`);
    return { shape, dtype, data };
  };
  const numbers = (a: NdArray, what: string): number[] => {
    const n = a.shape.reduce((x, y) => x * y, 1);
    if (!(a.data instanceof Uint8Array)) return fail(`${what}: expected numbers`);
    const dv = new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength);
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const c = a.dtype.code;
      out.push(c === 'f8' ? dv.getFloat64(i * 8, true) : c === 'i8' ? Number(dv.getBigInt64(i * 8, true)) : c === 'b1' ? a.data[i] : c === 'i4' ? dv.getInt32(i * 4, true) : c === 'f4' ? dv.getFloat32(i * 4, true) : fail(`${what}: dtype ${c} is not supported`));
    }
    return out;
  };

  const forest = stateOf(root, 'sklearn.ensemble._forest.RandomForestClassifier', 'the file');
  const nOutputs = num(forest.get('n_outputs_'), 'n_outputs_');
  if (nOutputs !== 1) fail(`n_outputs_ = ${nOutputs}: only single-output forests are supported`);
  const nFeatures = num(forest.get('n_features_in_') ?? forest.get('n_features_'), 'n_features_in_');
  const classesArr = arrayOf(forest.get('classes_'), 'classes_');
  const classes: Array<number | boolean | string> = classesArr.dtype.code === 'b1' ? numbers(classesArr, 'classes_').map((x) => x === 1)
    : Array.isArray(classesArr.data) ? classesArr.data.map((x) => (typeof x === 'string' ? x : String(x))) : numbers(classesArr, 'classes_');
  const C = classes.length;
  const namesPy = forest.get('feature_names_in_');
  const featureNames = namesPy ? (arrayOf(namesPy, 'feature_names_in_').data as Py[]).map(String) : null;
  const criterion = forest.get('criterion');
  if (criterion !== undefined && criterion !== 'gini') fail(`criterion '${String(criterion)}': only Gini forests are supported`);
  const estimators = forest.get('estimators_');
  if (!estimators || typeof estimators !== 'object' || estimators.kind !== 'list' || estimators.items.length === 0) return fail('estimators_ is not a list of trees');
  if (estimators.items.length > MODEL_LIMITS.maxTrees) fail(`estimators_ holds ${estimators.items.length} trees, more than ${MODEL_LIMITS.maxTrees}`);
  checkCount(nFeatures, `${source}: n_features_in_`, 1, MODEL_LIMITS.maxFeatures);
  checkCount(C, `${source}: classes_ (count)`, 1, MODEL_LIMITS.maxClasses);
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const roots: number[] = [];
  const nSamples: number[] = [];
  const wSamples: number[] = [];
  const impurity: number[] = [];
  estimators.items.forEach((e, t) => {
    const st = stateOf(e, 'sklearn.tree._classes.DecisionTreeClassifier', `estimators_[${t}]`);
    const tree = st.get('tree_');
    if (!tree || typeof tree !== 'object' || tree.kind !== 'reduce' || !isGlobal(tree.callable, 'sklearn.tree._tree.Tree')) return fail(`estimators_[${t}].tree_ is not a Tree`);
    const ts = new Map(((tree as PyReduce).state as PyDict).entries.map(([k, x]) => [String(k), x]));
    const nodesArr = arrayOf(ts.get('nodes'), `estimators_[${t}].tree_.nodes`);
    const vals = numbers(arrayOf(ts.get('values'), `estimators_[${t}].tree_.values`), 'values');
    const f = nodesArr.dtype.fields;
    if (!f || !(nodesArr.data instanceof Uint8Array)) return fail(`estimators_[${t}]: nodes are not a structured array`);
    for (const [name] of NODE_FIELDS) if (!f.has(name)) fail(`estimators_[${t}]: node field '${name}' missing`);
    for (const [name, code] of NODE_FIELDS) {
      const field = f.get(name)!;
      if (field.code !== code || !Number.isSafeInteger(field.offset) || field.offset < 0 || field.offset + 8 > nodesArr.dtype.itemsize) fail(`estimators_[${t}]: node field '${name}' is not an ${code} inside the ${nodesArr.dtype.itemsize}-byte node`);
    }
    const dv = new DataView(nodesArr.data.buffer, nodesArr.data.byteOffset, nodesArr.data.byteLength);
    const n = nodesArr.shape[0];
    if (nodesArr.shape.length !== 1 || n === 0) fail(`estimators_[${t}]: nodes of shape [${nodesArr.shape.join(', ')}]`);
    if (feature.length + n > MODEL_LIMITS.maxNodes) fail(`more than ${MODEL_LIMITS.maxNodes} nodes in the forest`);
    if (vals.length !== n * C) fail(`estimators_[${t}]: ${vals.length} values for ${n} nodes of ${C} classes`);
    const base = feature.length;
    const at = (i: number, name: string) => i * nodesArr.dtype.itemsize + f.get(name)!.offset;
    roots.push(base);
    for (let i = 0; i < n; i++) {
      const l = Number(dv.getBigInt64(at(i, 'left_child'), true));
      const leaf = l === TREE_LEAF;
      const th = dv.getFloat64(at(i, 'threshold'), true);
      feature.push(leaf ? -1 : Number(dv.getBigInt64(at(i, 'feature'), true)));
      // the largest float32 not above the float64 threshold: float32 x <= it exactly when x <= the threshold
      let t32 = Math.fround(th);
      if (!leaf && t32 > th) t32 = nextDown32(t32);
      threshold.push(leaf ? 0 : t32);
      left.push(leaf ? -1 : base + l);
      right.push(leaf ? -1 : base + Number(dv.getBigInt64(at(i, 'right_child'), true)));
      impurity.push(dv.getFloat64(at(i, 'impurity'), true));
      nSamples.push(Number(dv.getBigInt64(at(i, 'n_node_samples'), true)));
      wSamples.push(dv.getFloat64(at(i, 'weighted_n_node_samples'), true));
      for (let c = 0; c < C; c++) value.push(vals[i * C + c]);
    }
    // the tree as a structure, in its own numbering, so that the line names the tree and the node
    checkTrees({ feature: feature.slice(base), left: left.slice(base).map((x) => (x < 0 ? x : x - base)), right: right.slice(base).map((x) => (x < 0 ? x : x - base)), roots: [0] }, nFeatures, `${source}: estimators_[${t}].tree_`);
  });
  const maxFeatures = forest.get('max_features');
  const json = {
    schema: 'sieve-random-forest/1',
    params: {
      nEstimators: roots.length, maxDepth: forest.get('max_depth') === null || forest.get('max_depth') === undefined ? null : num(forest.get('max_depth'), 'max_depth'),
      minSamplesSplit: num(forest.get('min_samples_split') ?? int(2), 'min_samples_split'), minSamplesLeaf: num(forest.get('min_samples_leaf') ?? int(1), 'min_samples_leaf'),
      maxFeatures: maxFeatures === 'log2' ? 'log2' : typeof maxFeatures === 'object' && maxFeatures !== null && (maxFeatures.kind === 'int' || maxFeatures.kind === 'float') ? Number(maxFeatures.value) : 'sqrt',
      bootstrap: forest.get('bootstrap') !== false, classWeight: forest.get('class_weight') === 'balanced' ? 'balanced' : null, balancedBootstrap: false,
      maxBins: 255, oobScore: false, seed: forest.get('random_state') && typeof forest.get('random_state') === 'object' ? num(forest.get('random_state'), 'random_state') : 0,
    },
    nFeatures, nClasses: C,
    nodes: { feature, threshold, left, right, value, roots, nSamples, wSamples, impurity },
    featureImportances: [],
    oobScore: null,
  };
  // leaf values, impurities and sizes as numbers a forest can hold (NaN and infinities refused), named by file
  RandomForestClassifier.checkJSON(json, source);
  const rf = RandomForestClassifier.fromJSON(json);
  const version = forest.get('_sklearn_version');
  return { rf, classes, featureNames, sklearnVersion: typeof version === 'string' ? version : null };
}

function nextDown32(x: number): number {
  const b = new Float32Array([x]);
  const u = new Uint32Array(b.buffer);
  if (x > 0) u[0]--;
  else if (x < 0) u[0]++;
  else return -1.4e-45;
  return b[0];
}

export type { ForestNodes };
