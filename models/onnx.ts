import { createRequire } from 'node:module';
import type onnxProtoTypes from 'onnx-proto';

// loaded on first use (an export or an import of ONNX), not by every command that loads the models
const require = createRequire(import.meta.url);
let onnxLib: typeof onnxProtoTypes | null = null;
const onnxProto = () => (onnxLib ??= require('onnx-proto') as typeof onnxProtoTypes);
import type { AADForest } from './aad.ts';
import { averagePathLength, type IsolationForest } from './isolationForest.ts';
import { dropoutThreshold, type MLPClassifier } from './mlp.ts';
import type { RandomForestClassifier } from './randomForest.ts';
import { checkTrees, MODEL_LIMITS, ModelStructureError } from './structure.ts';

const onnx = () => onnxProto().onnx;
type Attr = InstanceType<typeof onnxProtoTypes.onnx.AttributeProto>;
// ONNX's AttributeProto.AttributeType values (fixed by the ONNX spec), so the enum needs no loaded library
const AT = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8, TENSORS: 9, GRAPHS: 10 } as const;
const FLOAT = 1; // onnx.TensorProto.DataType.FLOAT
const INT64 = 7; // onnx().TensorProto.DataType.INT64
const BOOL = 9; // onnx().TensorProto.DataType.BOOL

function ints(name: string, values: ArrayLike<number>): Attr {
  return onnx().AttributeProto.create({ name, type: AT.INTS, ints: Array.from(values) });
}
function floats(name: string, values: ArrayLike<number>): Attr {
  return onnx().AttributeProto.create({ name, type: AT.FLOATS, floats: Array.from(values) });
}
function strings(name: string, values: string[]): Attr {
  return onnx().AttributeProto.create({ name, type: AT.STRINGS, strings: values.map((s) => Buffer.from(s)) });
}
function str(name: string, value: string): Attr {
  return onnx().AttributeProto.create({ name, type: AT.STRING, s: Buffer.from(value) });
}
function int(name: string, value: number): Attr {
  return onnx().AttributeProto.create({ name, type: AT.INT, i: value });
}

/** A tensor value-info; `null` dims are left unnamed (any size), as Fink's files declare the batch dimension. */
function valueInfo(name: string, elemType: number, dims: Array<number | string | null>) {
  return onnx().ValueInfoProto.create({
    name,
    type: onnx().TypeProto.create({
      tensorType: onnx().TypeProto.Tensor.create({
        elemType,
        shape: onnx().TensorShapeProto.create({
          dim: dims.map((d) => onnx().TensorShapeProto.Dimension.create(d === null ? {} : typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        }),
      }),
    }),
  });
}

/** Tree structure in ONNX's per-tree node numbering (node ids restart at 0 in every tree). */
interface FlatTrees {
  feature: Int32Array;
  threshold: Float32Array;
  left: Int32Array;
  right: Int32Array;
  roots: Int32Array;
}

interface OnnxNodeArrays {
  treeIds: number[];
  nodeIds: number[];
  featureIds: number[];
  values: number[];
  modes: string[];
  trueIds: number[];
  falseIds: number[];
  /** for each leaf: [treeId, localNodeId, globalNode] */
  leaves: Array<[number, number, number]>;
}

function onnxNodes(trees: FlatTrees): OnnxNodeArrays {
  const out: OnnxNodeArrays = { treeIds: [], nodeIds: [], featureIds: [], values: [], modes: [], trueIds: [], falseIds: [], leaves: [] };
  trees.roots.forEach((root, t) => {
    // number the tree's nodes in preorder
    const local = new Map<number, number>();
    const order: number[] = [];
    const stack = [root];
    while (stack.length) {
      const node = stack.pop()!;
      local.set(node, order.length);
      order.push(node);
      if (trees.feature[node] >= 0) stack.push(trees.right[node], trees.left[node]);
    }
    for (const node of order) {
      const isLeaf = trees.feature[node] < 0;
      out.treeIds.push(t);
      out.nodeIds.push(local.get(node)!);
      out.featureIds.push(isLeaf ? 0 : trees.feature[node]);
      out.values.push(isLeaf ? 0 : trees.threshold[node]);
      out.modes.push(isLeaf ? 'LEAF' : 'BRANCH_LEQ');
      out.trueIds.push(isLeaf ? 0 : local.get(trees.left[node])!);
      out.falseIds.push(isLeaf ? 0 : local.get(trees.right[node])!);
      if (isLeaf) out.leaves.push([t, local.get(node)!, node]);
    }
  });
  return out;
}

function treeAttributes(n: OnnxNodeArrays): Attr[] {
  return [
    ints('nodes_falsenodeids', n.falseIds),
    ints('nodes_featureids', n.featureIds),
    strings('nodes_modes', n.modes),
    ints('nodes_nodeids', n.nodeIds),
    ints('nodes_treeids', n.treeIds),
    ints('nodes_truenodeids', n.trueIds),
    floats('nodes_values', n.values),
  ];
}

function model(graph: InstanceType<typeof onnxProtoTypes.onnx.GraphProto>, opsets: Array<[string, number]>, docString: string): Uint8Array {
  const m = onnx().ModelProto.create({
    irVersion: 8,
    producerName: 'sieve',
    producerVersion: '0.1.0',
    docString,
    opsetImport: opsets.map(([domain, version]) => onnx().OperatorSetIdProto.create({ domain, version })),
    graph,
  });
  return onnx().ModelProto.encode(m).finish();
}

/**
 * A random forest as ai.onnx.ml TreeEnsembleClassifier: input X float32 [N, F], outputs `label` int64 [N]
 * and `probabilities` float32 [N, C]; leaf weights are the leaf class frequencies divided by the number of
 * trees, so the summed output is the forest's mean probability.
 */
export function randomForestToOnnx(rf: RandomForestClassifier, name = 'sieve_random_forest'): Uint8Array {
  if (!rf.nodes) throw new Error('randomForestToOnnx: forest not fitted');
  const nodes = onnxNodes(rf.nodes);
  const C = rf.nClasses;
  const T = rf.nodes.roots.length;
  const classTree: number[] = [];
  const classNode: number[] = [];
  const classId: number[] = [];
  const classWeight: number[] = [];
  for (const [t, localId, global] of nodes.leaves) {
    for (let c = 0; c < C; c++) {
      classTree.push(t);
      classNode.push(localId);
      classId.push(c);
      classWeight.push(rf.nodes.value[global * C + c] / T);
    }
  }
  const node = onnx().NodeProto.create({
    opType: 'TreeEnsembleClassifier',
    domain: 'ai.onnx.ml',
    name,
    input: ['X'],
    output: ['tree_label', 'probabilities'],
    attribute: [
      ints('class_ids', classId), ints('class_nodeids', classNode), ints('class_treeids', classTree), floats('class_weights', classWeight),
      ints('classlabels_int64s', Array.from({ length: C }, (_, c) => c)),
      ...treeAttributes(nodes),
      str('post_transform', 'NONE'),
    ],
  });
  // onnxruntime's own label for two classes thresholds the positive score at 0, not at the larger
  // probability; an explicit ArgMax gives the forest's prediction (ties to the lower class, as Sieve).
  const argmax = onnx().NodeProto.create({ opType: 'ArgMax', input: ['probabilities'], output: ['label'], attribute: [int('axis', 1), int('keepdims', 0)] });
  const graph = onnx().GraphProto.create({
    name,
    node: [node, argmax],
    input: [valueInfo('X', FLOAT, ['N', rf.nFeatures])],
    output: [valueInfo('label', INT64, ['N']), valueInfo('probabilities', FLOAT, ['N', C])],
  });
  return model(graph, [['ai.onnx.ml', 1], ['', 13]], 'Sieve random forest');
}

/** A constant tensor (float32 or int64) for a graph's initializers. */
function constant(name: string, dims: number[], values: ArrayLike<number>, type: typeof FLOAT | typeof INT64 = FLOAT) {
  return onnx().TensorProto.create(type === FLOAT ? { name, dataType: FLOAT, dims, floatData: Array.from(values) } : { name, dataType: INT64, dims, int64Data: Array.from(values) });
}

function op(opType: string, input: string[], output: string[], attribute: Attr[] = []) {
  return onnx().NodeProto.create({ opType, input, output, attribute });
}

/**
 * The network's inputs from raw features X [N, F], as MLPClassifier.inputRow computes them: a missing value
 * (NaN, infinite) takes the training median; 'robust-asinh' then asinh((x - median) / robust spread); then
 * (x - mean) / scale, and one 0/1 column per feature with a missing indicator. 'refuse' takes X as it is
 * and returns `rowRefused` [N, 1] for the output to be NaN.
 */
function mlpInputNodes(m: MLPClassifier): { nodes: ReturnType<typeof op>[]; init: ReturnType<typeof constant>[]; output: string; rowRefused: string | null } {
  const F = m.nFeatures;
  const nodes = [op('IsNaN', ['X'], ['x_nan']), op('IsInf', ['X'], ['x_inf']), op('Or', ['x_nan', 'x_inf'], ['x_missing'])];
  const init = [constant('mean', [F], m.mean), constant('scale', [F], m.scale), constant('median', [F], m.median)];
  let rowRefused: string | null = null;
  let x = 'X';
  if (m.params.missing === 'refuse') {
    nodes.push(op('Cast', ['x_missing'], ['x_missing_f'], [int('to', FLOAT)]), op('ReduceMax', ['x_missing_f'], ['row_missing_f'], [ints('axes', [1]), int('keepdims', 1)]),
      op('Cast', ['row_missing_f'], ['row_refused'], [int('to', BOOL)]));
    rowRefused = 'row_refused';
  } else {
    nodes.push(op('Where', ['x_missing', 'median', 'X'], ['x_imputed']));
    x = 'x_imputed';
  }
  if (m.robustScale.length) {
    init.push(constant('robust_scale', [F], m.robustScale));
    nodes.push(op('Sub', [x, 'median'], ['x_from_median']), op('Div', ['x_from_median', 'robust_scale'], ['x_robust']), op('Asinh', ['x_robust'], ['x_asinh']));
    x = 'x_asinh';
  }
  nodes.push(op('Sub', [x, 'mean'], ['x_centred']), op('Div', ['x_centred', 'scale'], ['z']));
  if (!m.indicators.length) return { nodes, init, output: 'z', rowRefused };
  init.push(constant('indicator_columns', [m.indicators.length], m.indicators, INT64));
  nodes.push(
    op('Gather', ['x_missing', 'indicator_columns'], ['indicators_b'], [int('axis', 1)]), op('Cast', ['indicators_b'], ['indicators'], [int('to', FLOAT)]),
    op('Concat', ['z', 'indicators'], ['inputs'], [int('axis', 1)]),
  );
  return { nodes, init, output: 'inputs', rowRefused };
}

function mlpLayerInit(m: MLPClassifier) {
  return m.layers.flatMap((l, k) => [constant(`W${k}`, [l.nIn, l.nOut], l.w), constant(`B${k}`, [l.nOut], l.b)]);
}

/**
 * A trained network (MLPClassifier) as a standard-ops ONNX graph with dropout off, the probabilities Sieve's
 * scorer writes: input X float32 [N, F] (raw features: imputation, standardisation and missing indicators are
 * in the graph), outputs `label` int64 [N] and `probabilities` float32 [N, C], as the random-forest export.
 */
export function mlpToOnnx(m: MLPClassifier, name = 'sieve_mlp'): Uint8Array {
  if (!m.layers.length) throw new Error('mlpToOnnx: network not fitted');
  const inp = mlpInputNodes(m);
  const nodes = [...inp.nodes];
  let h = inp.output;
  m.layers.forEach((_, k) => {
    const last = k === m.layers.length - 1;
    nodes.push(op('MatMul', [h, `W${k}`], [`mm${k}`]), op('Add', [`mm${k}`, `B${k}`], [last ? 'logits' : `pre${k}`]));
    if (!last) nodes.push(op('Relu', [`pre${k}`], [`h${k}`]));
    h = `h${k}`;
  });
  nodes.push(op('Softmax', ['logits'], [inp.rowRefused ? 'probabilities_all' : 'probabilities'], [int('axis', 1)]));
  const init = [...inp.init, ...mlpLayerInit(m)];
  if (inp.rowRefused) {
    init.push(constant('nan', [], [NaN]));
    nodes.push(op('Where', [inp.rowRefused, 'nan', 'probabilities_all'], ['probabilities']));
  }
  nodes.push(op('ArgMax', ['probabilities'], ['label'], [int('axis', 1), int('keepdims', 0)]));
  const graph = onnx().GraphProto.create({
    name, node: nodes, initializer: init,
    input: [valueInfo('X', FLOAT, ['N', m.nFeatures])],
    output: [valueInfo('label', INT64, ['N']), valueInfo('probabilities', FLOAT, ['N', m.nClasses])],
  });
  return model(graph, [['', 13]], `Sieve MLP (${m.params.hiddenUnits.join('-')}), dropout off`);
}

/**
 * The same network with Monte-Carlo dropout in one run: the first hidden layer's output is repeated `samples`
 * times ([S, N, H]), every later layer's input goes through Dropout in training mode (seeded: a new session
 * repeats its passes), and the graph returns the passes' mean `probabilities` and standard deviation `spread`
 * (float32 [N, C]). onnxruntime draws its own masks, so the values are an independent Monte-Carlo estimate of
 * what `predictProbaMC` computes, not the same numbers.
 */
export function mlpToOnnxMC(m: MLPClassifier, samples = m.params.mcSamples, seed = m.params.seed, name = 'sieve_mlp_mc'): Uint8Array {
  if (!m.layers.length) throw new Error('mlpToOnnxMC: network not fitted');
  const inp = mlpInputNodes(m);
  const nodes = [...inp.nodes];
  const init = [...inp.init, ...mlpLayerInit(m),
    constant('passes', [3], [samples, 1, 1], INT64), constant('dropout_ratio', [], [dropoutThreshold(m.params.dropout) / 65536]),
    constant('keep_scale', [], [65536 / (65536 - dropoutThreshold(m.params.dropout))]),
    onnx().TensorProto.create({ name: 'training_mode', dataType: BOOL, dims: [], int32Data: [1] }), constant('axis0', [1], [0], INT64)];
  nodes.push(op('MatMul', [inp.output, 'W0'], ['mm0']), op('Add', ['mm0', 'B0'], ['pre0']), op('Relu', ['pre0'], ['h0']),
    op('Unsqueeze', ['h0', 'axis0'], ['h0_1']), op('Expand', ['h0_1', 'passes'], ['h0_s']));
  let h = 'h0_s';
  for (let k = 1; k < m.layers.length; k++) {
    const last = k === m.layers.length - 1;
    nodes.push(
      // the layer input is built from Dropout's mask: onnxruntime's optimiser removes a Dropout whose mask is
      // unused, whatever its training_mode says
      op('Dropout', [h, 'dropout_ratio', 'training_mode'], [`dropout${k}`, `keep${k}`], [int('seed', seed * 1000 + k)]),
      op('Cast', [`keep${k}`], [`keep${k}_f`], [int('to', FLOAT)]), op('Mul', [h, `keep${k}_f`], [`kept${k}`]), op('Mul', [`kept${k}`, 'keep_scale'], [`drop${k}`]),
      op('MatMul', [`drop${k}`, `W${k}`], [`mm${k}`]), op('Add', [`mm${k}`, `B${k}`], [last ? 'logits' : `pre${k}`]),
    );
    if (!last) nodes.push(op('Relu', [`pre${k}`], [`h${k}`]));
    h = `h${k}`;
  }
  nodes.push(
    op('Softmax', ['logits'], ['pass_probabilities'], [int('axis', -1)]),
    op('ReduceMean', ['pass_probabilities'], [inp.rowRefused ? 'mean_all' : 'probabilities'], [ints('axes', [0]), int('keepdims', 0)]),
    op('Mul', ['pass_probabilities', 'pass_probabilities'], ['pass_squares']),
    op('ReduceMean', ['pass_squares'], ['mean_squares'], [ints('axes', [0]), int('keepdims', 0)]),
    op('Mul', [inp.rowRefused ? 'mean_all' : 'probabilities', inp.rowRefused ? 'mean_all' : 'probabilities'], ['squared_mean']),
    op('Sub', ['mean_squares', 'squared_mean'], ['variance_raw']), op('Relu', ['variance_raw'], ['variance']),
    op('Sqrt', ['variance'], [inp.rowRefused ? 'spread_all' : 'spread']),
  );
  if (inp.rowRefused) {
    init.push(constant('nan', [], [NaN]));
    nodes.push(op('Where', [inp.rowRefused, 'nan', 'mean_all'], ['probabilities']), op('Where', [inp.rowRefused, 'nan', 'spread_all'], ['spread']));
  }
  const graph = onnx().GraphProto.create({
    name, node: nodes, initializer: init,
    input: [valueInfo('X', FLOAT, ['N', m.nFeatures])],
    output: [valueInfo('probabilities', FLOAT, ['N', m.nClasses]), valueInfo('spread', FLOAT, ['N', m.nClasses])],
  });
  return model(graph, [['', 13]], `Sieve MLP (${m.params.hiddenUnits.join('-')}), Monte-Carlo dropout, ${samples} passes`);
}

function regressor(trees: FlatTrees, leafWeight: (globalNode: number) => number, name: string, output: string): InstanceType<typeof onnxProtoTypes.onnx.NodeProto> {
  const nodes = onnxNodes(trees);
  return onnx().NodeProto.create({
    opType: 'TreeEnsembleRegressor',
    domain: 'ai.onnx.ml',
    name,
    input: ['X'],
    output: [output],
    attribute: [
      int('n_targets', 1),
      ...treeAttributes(nodes),
      str('post_transform', 'NONE'),
      ints('target_ids', nodes.leaves.map(() => 0)),
      ints('target_nodeids', nodes.leaves.map(([, id]) => id)),
      ints('target_treeids', nodes.leaves.map(([t]) => t)),
      floats('target_weights', nodes.leaves.map(([, , g]) => leafWeight(g))),
    ],
  });
}

/**
 * An AAD forest exactly in Fink's anomaly-module form: one TreeEnsembleRegressor, input `X` float32
 * [N, F], output `score` float32 (one value per row), each leaf's target weight = its AAD weight times its
 * value -1/(depth + c(n)), summed over trees; lower means more anomalous.
 */
export function aadForestToOnnx(f: AADForest, name = 'sieve_aad'): Uint8Array {
  const nodes = f.nodes;
  if (!nodes) throw new Error('aadForestToOnnx: forest not fitted');
  const node = regressor(nodes, (g) => f.weights[nodes.leafId[g]] * f.leafValue[nodes.leafId[g]], name, 'score');
  const graph = onnx().GraphProto.create({
    name,
    node: [node],
    input: [valueInfo('X', FLOAT, [null, f.nFeatures])],
    output: [valueInfo('score', FLOAT, [null])],
  });
  return model(graph, [['ai.onnx.ml', 1]], 'Sieve AAD forest (Fink anomaly-module layout)');
}

/**
 * A plain isolation forest: the regressor sums h_l / T (the mean path length), then standard ops give
 * scikit-learn's decision function 0.5 - 2^(-E[h]/c(psi)) as output `score` (negative = anomalous).
 */
export function isolationForestToOnnx(f: IsolationForest, name = 'sieve_isolation_forest'): Uint8Array {
  const nodes = f.nodes;
  if (!nodes) throw new Error('isolationForestToOnnx: forest not fitted');
  const T = nodes.roots.length;
  const c = averagePathLength(f.psi);
  const tree = regressor(nodes, (g) => nodes.leafPathLength[nodes.leafId[g]] / T, `${name}_trees`, 'mean_path_length');
  const scalar = (tname: string, v: number) => onnx().TensorProto.create({ name: tname, dataType: FLOAT, dims: [], floatData: [v] });
  const graph = onnx().GraphProto.create({
    name,
    node: [
      tree,
      onnx().NodeProto.create({ opType: 'Mul', input: ['mean_path_length', 'minus_ln2_over_c'], output: ['log_score'] }),
      onnx().NodeProto.create({ opType: 'Exp', input: ['log_score'], output: ['anomaly_score'] }),
      onnx().NodeProto.create({ opType: 'Sub', input: ['half', 'anomaly_score'], output: ['score'] }),
    ],
    initializer: [scalar('minus_ln2_over_c', -Math.LN2 / c), scalar('half', 0.5)],
    input: [valueInfo('X', FLOAT, ['N', f.nFeatures])],
    output: [valueInfo('score', FLOAT, ['N', 1])],
  });
  return model(graph, [['ai.onnx.ml', 1], ['', 13]], 'Sieve isolation forest: decision function');
}

/** A tree-ensemble regressor read back from ONNX, evaluated in JS (for imported Fink models). */
export interface OnnxTreeRegressor {
  nFeatures: number;
  inputName: string;
  outputName: string;
  /** Sum over trees of the leaf weights reached by each row. */
  predict(data: Float32Array, rows: number): Float64Array;
}

function attrMap(node: { attribute?: unknown[] | null }): Map<string, Attr> {
  return new Map((node.attribute ?? []).map((a) => [String((a as Attr).name), a as Attr]));
}

/** Parses a single-TreeEnsembleRegressor ONNX model (as Fink's anomaly forests are). */
export function readOnnxTreeRegressor(bytes: Uint8Array, source = 'model'): OnnxTreeRegressor {
  let m: InstanceType<typeof onnxProtoTypes.onnx.ModelProto>;
  try {
    m = onnx().ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source}: not an ONNX model (${(e as Error).message})`);
  }
  const g = m.graph;
  const node = g?.node?.find((n) => n.opType === 'TreeEnsembleRegressor');
  if (!g || !node || !g.input?.length || !g.output?.length) throw new Error(`${source}: no TreeEnsembleRegressor node`);
  const a = attrMap(node);
  const need = (k: string) => {
    const v = a.get(k);
    if (!v) throw new Error(`${source}: TreeEnsembleRegressor has no '${k}'`);
    return v;
  };
  const toNum = (x: unknown) => Number(x);
  const treeIds = need('nodes_treeids').ints.map(toNum);
  const nodeIds = need('nodes_nodeids').ints.map(toNum);
  const featureIds = need('nodes_featureids').ints.map(toNum);
  const values = need('nodes_values').floats;
  const modes = need('nodes_modes').strings.map((s) => Buffer.from(s).toString());
  const trueIds = need('nodes_truenodeids').ints.map(toNum);
  const falseIds = need('nodes_falsenodeids').ints.map(toNum);
  const post = a.get('post_transform');
  if (post && Buffer.from(post.s).toString() !== 'NONE') throw new Error(`${source}: post_transform other than NONE is not supported`);
  const agg = a.get('aggregate_function');
  if (agg && Buffer.from(agg.s).toString() !== 'SUM') throw new Error(`${source}: aggregate_function other than SUM is not supported`);
  const n = treeIds.length;
  if (n === 0 || n > MODEL_LIMITS.maxNodes) throw new ModelStructureError(`${source}: ${n} nodes (1 to ${MODEL_LIMITS.maxNodes} allowed)`);
  for (const [name, arr] of [['nodes_nodeids', nodeIds], ['nodes_featureids', featureIds], ['nodes_values', values], ['nodes_modes', modes], ['nodes_truenodeids', trueIds], ['nodes_falsenodeids', falseIds]] as const) {
    if (arr.length !== n) throw new ModelStructureError(`${source}: ${name} has ${arr.length} entries for ${n} nodes`);
  }
  // (tree, node) ids to positions; ids are arbitrary in ONNX, so the structure is checked without order
  const key = (t: number, k: number) => `${t}:${k}`;
  const index = new Map<string, number>();
  treeIds.forEach((t, i) => {
    const k = key(t, nodeIds[i]);
    if (index.has(k)) throw new ModelStructureError(`${source}: node ${nodeIds[i]} of tree ${t} is given twice`);
    index.set(k, i);
  });
  const position = (t: number, k: number, what: string): number => {
    const i = index.get(key(t, k));
    if (i === undefined) throw new ModelStructureError(`${source}: ${what} points to node ${k} of tree ${t}, which does not exist`);
    return i;
  };
  const feature = new Int32Array(n);
  const threshold = new Float32Array(n);
  const left = new Int32Array(n);
  const right = new Int32Array(n);
  const weight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (modes[i] === 'LEAF') feature[i] = -1;
    else if (modes[i] === 'BRANCH_LEQ') {
      feature[i] = featureIds[i];
      threshold[i] = values[i];
      left[i] = position(treeIds[i], trueIds[i], `node ${nodeIds[i]} of tree ${treeIds[i]}`);
      right[i] = position(treeIds[i], falseIds[i], `node ${nodeIds[i]} of tree ${treeIds[i]}`);
    } else throw new ModelStructureError(`${source}: node mode ${modes[i]} is not supported`);
  }
  const tt = need('target_treeids').ints.map(toNum);
  const tn = need('target_nodeids').ints.map(toNum);
  const tw = need('target_weights').floats;
  if (tn.length !== tt.length || tw.length !== tt.length) throw new ModelStructureError(`${source}: target_treeids, target_nodeids and target_weights differ in length`);
  tt.forEach((t, i) => {
    if (!Number.isFinite(tw[i])) throw new ModelStructureError(`${source}: target weight ${i} is ${tw[i]}, not finite`);
    weight[position(t, tn[i], `target ${i}`)] += tw[i];
  });
  const roots = [...new Set(treeIds)].map((t) => position(t, 0, `tree ${t}'s root`));
  const inDims = g.input[0]?.type?.tensorType?.shape?.dim ?? [];
  const nFeatures = Number(inDims[1]?.dimValue ?? 0);
  if (!Number.isInteger(nFeatures) || nFeatures < 1 || nFeatures > MODEL_LIMITS.maxFeatures) throw new ModelStructureError(`${source}: input '${String(g.input[0].name)}' has ${nFeatures} features`);
  // no cycle, no shared subtree, every feature index below nFeatures: a walk always ends at a leaf
  checkTrees({ feature, left, right, roots }, nFeatures, source, { forward: false });
  return {
    nFeatures,
    inputName: String(g.input[0].name),
    outputName: String(g.output[0].name),
    predict(data: Float32Array, rows: number): Float64Array {
      const out = new Float64Array(rows);
      const d = nFeatures;
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (const root of roots) {
          let k = root;
          while (feature[k] >= 0) k = data[r * d + feature[k]] <= threshold[k] ? left[k] : right[k];
          s += weight[k];
        }
        out[r] = s;
      }
      return out;
    },
  };
}
