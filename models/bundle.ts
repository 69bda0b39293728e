import { createHash } from 'node:crypto';
import { assertFeatureSpecMatches, featureSpecHash, FeatureSpecMismatchError, type FeatureSpec } from '../features/index.ts';
import { AADForest, type AADForestJSON } from './aad.ts';
import { IsolationForest, type IsolationForestJSON } from './isolationForest.ts';
import type { Matrix } from './matrix.ts';
import { MLPClassifier, type MLPJSON } from './mlp.ts';
import { RandomForestClassifier, type RandomForestJSON } from './randomForest.ts';
import { TwoBandAADModel, type TwoBandJSON } from './twoBand.ts';
import { BandAADModel, type BandAADJSON } from './bandAAD.ts';
import { ModelStructureError } from './structure.ts';

export const BUNDLE_SCHEMA = 'sieve-bundle/1';

export type SieveModel = RandomForestClassifier | IsolationForest | AADForest | MLPClassifier | TwoBandAADModel | BandAADModel;
/** The models that give class probabilities (`predictProba`, `predict`, `nClasses`, `nFeatures`). */
export type ClassifierModel = RandomForestClassifier | MLPClassifier;

export function isClassifierModel(model: unknown): model is ClassifierModel {
  return model instanceof RandomForestClassifier || model instanceof MLPClassifier;
}
export type ModelType = 'random-forest' | 'isolation-forest' | 'aad-forest' | 'mlp' | 'aad-two-band' | 'aad-bands';

export interface BundleManifest {
  schema: typeof BUNDLE_SCHEMA;
  module: string;
  version: string;
  created: string;
  modelType: ModelType;
  featureSpec: FeatureSpec;
  featureSpecHash: string;
  classNames: string[];
  decisionThreshold: number;
  training: { datasetSha256: string; size: number; labelCounts: Record<string, number> };
  metrics: Record<string, number>;
  parentVersion: string | null;
  /** sha256 of the model weights alone: equal for equal seeds and data, whatever `created` says. */
  modelSha256: string;
  /**
   * The module declaration the model was trained under (features, cuts, labels, broker output), so that a
   * broker given only the bundle scores it exactly as the workbench does. Opaque JSON to this layer.
   */
  declaration?: unknown;
}

/** The artefact that goes to a broker: manifest, weights, and a checksum over both. */
export interface ModelBundle {
  manifest: BundleManifest;
  model: RandomForestJSON | IsolationForestJSON | AADForestJSON | MLPJSON | TwoBandJSON | BandAADJSON;
  sha256: string;
}

function canonicalJson(value: unknown): string {
  const norm = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(norm);
    if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, norm((v as Record<string, unknown>)[k])]));
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`bundle: non-finite number ${v} cannot be serialised`);
    return v;
  };
  return JSON.stringify(norm(value));
}

function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export function modelType(model: SieveModel): ModelType {
  if (model instanceof AADForest) return 'aad-forest';
  if (model instanceof IsolationForest) return 'isolation-forest';
  if (model instanceof RandomForestClassifier) return 'random-forest';
  if (model instanceof MLPClassifier) return 'mlp';
  if (model instanceof TwoBandAADModel) return 'aad-two-band';
  if (model instanceof BandAADModel) return 'aad-bands';
  throw new Error('bundle: unknown model type');
}

/** sha256 over a training set's features and labels, so a bundle says exactly what it learned from. */
export function datasetSha256(X: Matrix, y?: ArrayLike<number>): string {
  const h = createHash('sha256');
  h.update(`${X.rows}x${X.cols}`);
  h.update(new Uint8Array(X.data.buffer, X.data.byteOffset, X.data.byteLength));
  if (y) h.update(new Uint8Array(Int32Array.from(y).buffer));
  return h.digest('hex');
}

export interface BundleInput {
  module: string;
  version: string;
  model: SieveModel;
  featureSpec: FeatureSpec;
  classNames: string[];
  decisionThreshold?: number;
  training: { X: Matrix; y?: ArrayLike<number> };
  metrics?: Record<string, number>;
  parentVersion?: string | null;
  /** ISO time; injectable so that a rebuild is byte-identical. */
  created?: string;
  declaration?: unknown;
}

export function createBundle(input: BundleInput): ModelBundle {
  const modelJson = input.model.toJSON();
  const labelCounts: Record<string, number> = {};
  if (input.training.y) for (const c of Array.from(input.training.y)) {
    const name = input.classNames[c] ?? String(c);
    labelCounts[name] = (labelCounts[name] ?? 0) + 1;
  }
  const manifest: BundleManifest = {
    schema: BUNDLE_SCHEMA,
    module: input.module,
    version: input.version,
    created: input.created ?? new Date().toISOString(),
    modelType: modelType(input.model),
    featureSpec: input.featureSpec,
    featureSpecHash: featureSpecHash(input.featureSpec),
    classNames: input.classNames,
    decisionThreshold: input.decisionThreshold ?? 0.5,
    training: { datasetSha256: datasetSha256(input.training.X, input.training.y), size: input.training.X.rows, labelCounts },
    metrics: input.metrics ?? {},
    parentVersion: input.parentVersion ?? null,
    modelSha256: sha256(canonicalJson(modelJson)),
    ...(input.declaration === undefined ? {} : { declaration: input.declaration }),
  };
  return { manifest, model: modelJson, sha256: sha256(canonicalJson({ manifest, model: modelJson })) };
}

/** The bundle as text: canonical JSON (sorted keys), so equal bundles are equal bytes. */
export function serializeBundle(bundle: ModelBundle): string {
  return canonicalJson(bundle);
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

/**
 * Parses and verifies a bundle: schema, checksum over manifest and weights, and (when given) that the
 * features on offer have the spec the model was trained on.
 */
export function parseBundle(text: string, offeredSpec?: FeatureSpec, source = 'bundle'): ModelBundle {
  let b: ModelBundle;
  try {
    b = JSON.parse(text) as ModelBundle;
  } catch (e) {
    throw new BundleError(`${source}: not JSON (${(e as Error).message})`);
  }
  if (!b || typeof b !== 'object' || !b.manifest || typeof b.manifest !== 'object' || b.manifest.schema !== BUNDLE_SCHEMA) throw new BundleError(`${source}: not a ${BUNDLE_SCHEMA} bundle`);
  try {
    const expected = sha256(canonicalJson({ manifest: b.manifest, model: b.model }));
    if (expected !== b.sha256) throw new BundleError(`${source}: checksum mismatch (bundle says ${String(b.sha256)}, content hashes to ${expected})`);
    const spec = b.manifest.featureSpec;
    if (!spec || typeof spec !== 'object' || !Array.isArray(spec.columns) || typeof spec.name !== 'string') throw new BundleError(`${source}: the manifest has no valid featureSpec`);
    if (featureSpecHash(spec) !== b.manifest.featureSpecHash) throw new BundleError(`${source}: featureSpecHash does not match its featureSpec`);
    if (offeredSpec) assertFeatureSpecMatches(spec, offeredSpec);
    // The checksum only says the bytes are the ones written; the model is checked as a structure whoever wrote it.
    checkBundleModel(b);
  } catch (e) {
    if (e instanceof BundleError || e instanceof FeatureSpecMismatchError) throw e;
    throw new BundleError(`${source}: ${(e as Error).message}`);
  }
  return b;
}

/** Throws a ModelStructureError unless the bundle's model is a sound model of its declared type (see structure.ts). */
export function checkBundleModel(b: ModelBundle): void {
  switch (b.manifest.modelType) {
    case 'random-forest':
      RandomForestClassifier.checkJSON(b.model, 'random forest');
      break;
    case 'isolation-forest':
      IsolationForest.checkJSON(b.model, 'isolation forest');
      break;
    case 'aad-forest':
      AADForest.checkJSON(b.model, 'AAD forest');
      break;
    case 'mlp':
      MLPClassifier.checkJSON(b.model, 'MLP');
      break;
    case 'aad-two-band':
      TwoBandAADModel.checkJSON(b.model, 'two-band AAD model');
      break;
    case 'aad-bands':
      BandAADModel.checkJSON(b.model, 'per-band AAD model');
      break;
    default:
      throw new ModelStructureError(`unknown model type '${String((b.manifest as BundleManifest).modelType)}'`);
  }
}

/** The estimator inside a verified bundle. */
export function modelFromBundle(b: ModelBundle): SieveModel {
  switch (b.manifest.modelType) {
    case 'random-forest':
      return RandomForestClassifier.fromJSON(b.model as RandomForestJSON);
    case 'isolation-forest':
      return IsolationForest.fromJSON(b.model as IsolationForestJSON);
    case 'aad-forest':
      return AADForest.fromJSON(b.model as AADForestJSON);
    case 'mlp':
      return MLPClassifier.fromJSON(b.model as MLPJSON);
    case 'aad-two-band':
      return TwoBandAADModel.fromJSON(b.model as TwoBandJSON);
    case 'aad-bands':
      return BandAADModel.fromJSON(b.model as BandAADJSON);
    default:
      throw new BundleError(`unknown model type '${String((b.manifest as BundleManifest).modelType)}'`);
  }
}
