/**
 * Structure checks for models read from outside (bundles, scikit-learn pickles, ONNX files), made on every
 * load whatever a checksum says: a checksum proves the bytes are the ones written, not that the writer was
 * sound. A tree whose child points back at an ancestor makes prediction loop forever, a feature index past
 * the row reads outside it, and a non-finite leaf value poisons every score, so each is refused here with a
 * line naming the model part and node.
 */

export class ModelStructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelStructureError';
  }
}

/**
 * Sizes no real model reaches: Sieve's forests hold ~10^5 nodes, Fink's a few 10^4; scikit-learn forests of
 * 1,000 deep trees ~10^7.
 */
export const MODEL_LIMITS = {
  maxNodes: 1 << 24,
  maxTrees: 1 << 16,
  maxFeatures: 1 << 16,
  maxClasses: 1 << 10,
} as const;

function fail(what: string, message: string): never {
  throw new ModelStructureError(`${what}: ${message}`);
}

/** A whole number in [min, max], or a line saying which it is not. */
export function checkCount(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) fail(what, `${JSON.stringify(value)} is not a whole number in [${min}, ${max}]`);
  return value;
}

export interface NumberArrayRule {
  length?: number;
  maxLength?: number;
  integer?: boolean;
  /** Refuse NaN and infinities (JSON has neither; a typed array read from bytes may). */
  finite?: boolean;
  min?: number;
}

/** An array (or typed array) of numbers obeying the rule; JSON bundles are checked before typed arrays are made. */
export function checkNumbers(a: unknown, what: string, rule: NumberArrayRule = {}): ArrayLike<number> {
  if (!Array.isArray(a) && !(ArrayBuffer.isView(a) && !(a instanceof DataView))) fail(what, 'not an array of numbers');
  const arr = a as ArrayLike<unknown>;
  if (rule.length !== undefined && arr.length !== rule.length) fail(what, `${arr.length} entries, expected ${rule.length}`);
  if (rule.maxLength !== undefined && arr.length > rule.maxLength) fail(what, `${arr.length} entries, more than the ${rule.maxLength} allowed`);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (typeof v !== 'number') fail(what, `entry ${i} is ${JSON.stringify(v)}, not a number`);
    if (rule.finite && !Number.isFinite(v)) fail(what, `entry ${i} is ${v}, not finite`);
    if (rule.integer && !Number.isInteger(v)) fail(what, `entry ${i} is ${v}, not a whole number`);
    if (rule.min !== undefined && v < rule.min) fail(what, `entry ${i} is ${v}, below ${rule.min}`);
  }
  return arr as ArrayLike<number>;
}

export interface TreeArrays {
  /** Split feature per node; negative at leaves. */
  feature: ArrayLike<number>;
  left: ArrayLike<number>;
  right: ArrayLike<number>;
  roots: ArrayLike<number>;
}

/**
 * Checks that flat node arrays are a forest of binary trees over `nFeatures` features: every split's
 * feature in [0, nFeatures), children in range, every node reached exactly once (as a root or as one
 * split's child), and so no cycle, no shared subtree, nothing unreachable. With `forward` (Sieve's and
 * scikit-learn's numbering) a child's index must also be above its parent's, which a walk can rely on.
 * Runs in O(nodes).
 */
export function checkTrees(t: TreeArrays, nFeatures: number, what: string, { forward = true }: { forward?: boolean } = {}): void {
  const n = t.feature.length;
  if (n === 0) fail(what, 'no nodes');
  if (n > MODEL_LIMITS.maxNodes) fail(what, `${n} nodes, more than the ${MODEL_LIMITS.maxNodes} allowed`);
  if (t.left.length !== n || t.right.length !== n) fail(what, `node arrays of different lengths (${n} features, ${t.left.length} left, ${t.right.length} right)`);
  const T = t.roots.length;
  if (T === 0 || T > MODEL_LIMITS.maxTrees) fail(what, `${T} trees (1 to ${MODEL_LIMITS.maxTrees} allowed)`);
  const references = new Uint8Array(n);
  const refer = (k: number, from: string) => {
    if (!Number.isInteger(k) || k < 0 || k >= n) fail(what, `${from} points to node ${k}, outside 0..${n - 1}`);
    if (references[k]++) fail(what, `node ${k} is reached twice (${from}): not a tree`);
  };
  for (let r = 0; r < T; r++) refer(t.roots[r], `root of tree ${r}`);
  for (let i = 0; i < n; i++) {
    const f = t.feature[i];
    if (!Number.isInteger(f)) fail(what, `node ${i} has feature ${f}`);
    if (f < 0) continue;
    if (f >= nFeatures) fail(what, `node ${i} splits on feature ${f}, but the model has ${nFeatures} features`);
    const l = t.left[i];
    const r = t.right[i];
    if (forward && !(l > i && r > i)) fail(what, `node ${i} has children ${l} and ${r}: a child must come after its parent`);
    refer(l, `node ${i}'s left child`);
    refer(r, `node ${i}'s right child`);
  }
  for (let i = 0; i < n; i++) if (!references[i]) fail(what, `node ${i} is not reached from any root`);
  if (forward) return;
  // Every node is referenced exactly once, but a ring of nodes pointing at each other may still sit apart
  // from the roots: a walk from the roots reaches every node only if there is none.
  const stack = new Int32Array(n);
  let sp = 0;
  let seen = 0;
  for (let r = 0; r < T; r++) stack[sp++] = t.roots[r];
  while (sp > 0) {
    const k = stack[--sp];
    seen++;
    if (t.feature[k] >= 0) {
      stack[sp++] = t.left[k];
      stack[sp++] = t.right[k];
    }
  }
  if (seen !== n) fail(what, `${n - seen} node(s) form a cycle apart from the roots`);
}

/** The parts every flat forest's JSON has (Sieve's random and isolation forests). */
interface FlatForestJSON {
  schema?: unknown;
  params?: unknown;
  nFeatures?: unknown;
  nodes?: { feature?: unknown; threshold?: unknown; left?: unknown; right?: unknown; roots?: unknown };
}

/**
 * Checks what Sieve's flat forests share: an object of the given schema with params, a feature count, and
 * node arrays (feature, threshold, left, right, roots) of one length that are trees (checkTrees). Returns
 * them for the checks a model type adds.
 */
export function checkFlatForest(json: unknown, what: string, schema: string) {
  if (!json || typeof json !== 'object') fail(what, 'not an object');
  const j = json as FlatForestJSON;
  if (j.schema !== schema) fail(what, `schema '${String(j.schema)}' is not ${schema}`);
  if (!j.params || typeof j.params !== 'object') fail(what, 'params is not an object');
  const nFeatures = checkCount(j.nFeatures, `${what}: nFeatures`, 1, MODEL_LIMITS.maxFeatures);
  const nodes = j.nodes;
  if (!nodes || typeof nodes !== 'object') fail(what, 'nodes is not an object');
  const feature = checkNumbers(nodes!.feature, `${what}: nodes.feature`, { integer: true, maxLength: MODEL_LIMITS.maxNodes, min: -1 });
  const n = feature.length;
  checkNumbers(nodes!.threshold, `${what}: nodes.threshold`, { length: n });
  const left = checkNumbers(nodes!.left, `${what}: nodes.left`, { length: n, integer: true });
  const right = checkNumbers(nodes!.right, `${what}: nodes.right`, { length: n, integer: true });
  const roots = checkNumbers(nodes!.roots, `${what}: nodes.roots`, { integer: true, maxLength: MODEL_LIMITS.maxTrees });
  checkTrees({ feature, left, right, roots }, nFeatures, `${what}: nodes`);
  return { nFeatures, n, feature, left, right, roots };
}
