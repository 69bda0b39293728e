import { createRequire } from 'node:module';
import type * as fflateTypes from 'fflate';

const require = createRequire(import.meta.url);
let fflateLib: typeof fflateTypes | null = null;
/** fflate on first use (a Fink zip read or written). */
const fflate = () => (fflateLib ??= require('fflate') as typeof fflateTypes);
import { ANOMALY_FEATURE_NAMES } from '../features/index.ts';
import type { AADForest } from './aad.ts';
import { aadForestToOnnx, readOnnxTreeRegressor, type OnnxTreeRegressor } from './onnx.ts';

/** Fink's MODEL_COLUMNS: the 25 features each band's forest takes, in order. */
export const FINK_MODEL_COLUMNS: readonly string[] = ANOMALY_FEATURE_NAMES;

/**
 * Which light-curve band feeds which of Fink's forests. Fink's anomaly processor feeds the features of
 * fid 2 (ZTF r) to `forest_g_*` and those of fid 1 (ZTF g) to `forest_r_*`; Sieve reproduces the broker
 * as it runs, so a model trained here for `forest_g` is trained on r-band features, and vice versa.
 */
export const FINK_FOREST_INPUT_BAND = { forest_g: 'r', forest_r: 'g' } as const;

export interface FinkAnomalyModel {
  name: string;
  /** Raw ONNX bytes of forest_g_AAD_<name>.onnx and forest_r_AAD_<name>.onnx. */
  onnxG: Uint8Array;
  onnxR: Uint8Array;
  /** The same forests evaluated in JS. */
  forestG: OnnxTreeRegressor;
  forestR: OnnxTreeRegressor;
}

/** Reads a Fink anomaly zip (`forest_g_AAD_<name>.onnx`, `forest_r_AAD_<name>.onnx`). */
export function importFinkAnomalyZip(bytes: Uint8Array, source = 'zip'): FinkAnomalyModel {
  let files: Record<string, Uint8Array>;
  try {
    files = fflate().unzipSync(bytes);
  } catch (e) {
    throw new Error(`${source}: not a zip file (${(e as Error).message})`);
  }
  const names = Object.keys(files).map((f) => f.split('/').pop()!);
  const g = Object.keys(files).find((f) => /(^|\/)forest_g_AAD_.+\.onnx$/.test(f));
  const r = Object.keys(files).find((f) => /(^|\/)forest_r_AAD_.+\.onnx$/.test(f));
  if (!g || !r) throw new Error(`${source}: expected forest_g_AAD_<name>.onnx and forest_r_AAD_<name>.onnx, found ${names.join(', ')}`);
  const name = g.split('/').pop()!.replace(/^forest_g_AAD_/, '').replace(/\.onnx$/, '');
  const forestG = readOnnxTreeRegressor(files[g], `${source}:${g}`);
  const forestR = readOnnxTreeRegressor(files[r], `${source}:${r}`);
  for (const [f, m] of [[g, forestG], [r, forestR]] as const) {
    if (m.nFeatures !== FINK_MODEL_COLUMNS.length || m.inputName !== 'X' || m.outputName !== 'score') {
      throw new Error(`${source}:${f}: expected input X [N, 25] and output score, found ${m.inputName} [N, ${m.nFeatures}] -> ${m.outputName}`);
    }
  }
  return { name, onnxG: files[g], onnxR: files[r], forestG, forestR };
}

/** Writes Sieve AAD forests as a Fink anomaly zip. `forestG` must have been trained on r-band features. */
export function exportFinkAnomalyZip(forests: { forestG: AADForest; forestR: AADForest }, name: string): Uint8Array {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`model name '${name}' must be letters, digits, '_', '.', '-'`);
  for (const [k, f] of Object.entries(forests)) {
    if (f.nFeatures !== FINK_MODEL_COLUMNS.length) throw new Error(`${k}: ${f.nFeatures} features, Fink's forests take ${FINK_MODEL_COLUMNS.length}`);
  }
  return fflate().zipSync({
    [`forest_g_AAD_${name}.onnx`]: aadForestToOnnx(forests.forestG, `forest_g_AAD_${name}`),
    [`forest_r_AAD_${name}.onnx`]: aadForestToOnnx(forests.forestR, `forest_r_AAD_${name}`),
  }, { mtime: new Date('2020-01-01T00:00:00Z') });
}

/**
 * A per-band AAD model of any survey in the same layout: one ONNX forest per band,
 * `forest_<band>_AAD_<name>.onnx`, each taking that band's features in the module's column order.
 */
export function exportBandAnomalyZip(forests: ReadonlyArray<{ band: string; forest: AADForest }>, name: string): Uint8Array {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`model name '${name}' must be letters, digits, '_', '.', '-'`);
  const files: Record<string, Uint8Array> = {};
  for (const { band, forest } of forests) files[`forest_${band}_AAD_${name}.onnx`] = aadForestToOnnx(forest, `forest_${band}_AAD_${name}`);
  return fflate().zipSync(files, { mtime: new Date('2020-01-01T00:00:00Z') });
}

/** Rows with any non-finite feature are invalid for a band, as in Fink. */
export function validRows(data: Float32Array, rows: number, cols = FINK_MODEL_COLUMNS.length): Uint8Array {
  const ok = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    let good = 1;
    for (let j = 0; j < cols; j++) if (!Number.isFinite(data[i * cols + j])) {
      good = 0;
      break;
    }
    ok[i] = good;
  }
  return ok;
}

/**
 * Fink's two-band final score: the minimum of the valid bands' scores, the one valid score, or NaN when
 * neither band is valid.
 */
export function combineBandScores(scoreG: ArrayLike<number>, validG: ArrayLike<number>, scoreR: ArrayLike<number>, validR: ArrayLike<number>): Float64Array {
  const out = new Float64Array(scoreG.length);
  for (let i = 0; i < out.length; i++) {
    if (validG[i] && validR[i]) out[i] = Math.min(scoreG[i], scoreR[i]);
    else if (validG[i]) out[i] = scoreG[i];
    else if (validR[i]) out[i] = scoreR[i];
    else out[i] = NaN;
  }
  return out;
}

export type BandScorer = (data: Float32Array, rows: number) => Promise<Float64Array>;

/** JS evaluation of an imported forest (no native runtime needed). */
export function jsScorer(forest: OnnxTreeRegressor): BandScorer {
  return async (data, rows) => forest.predict(data, rows);
}

/**
 * onnxruntime-node evaluation, as the broker does it. Loaded lazily: the native runtime is optional
 * and only needed where ONNX models are actually run. onnxruntime sums a batch of more than 50 rows over
 * `intraOpNumThreads` groups of trees (float32), so the last bits of a score depend on the batch size and
 * the thread count; pin the threads to reproduce a given run.
 */
export async function onnxRuntimeScorer(onnxBytes: Uint8Array, o: { intraOpNumThreads?: number } = {}): Promise<BandScorer> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnxBytes, { logSeverityLevel: 3, ...(o.intraOpNumThreads ? { intraOpNumThreads: o.intraOpNumThreads } : {}) });
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  return async (data, rows) => {
    const cols = data.length / Math.max(rows, 1);
    const res = await session.run({ [input]: new ort.Tensor('float32', data, [rows, cols]) });
    return Float64Array.from(res[output].data as Float32Array);
  };
}

/** Scores rows of g- and r-forest inputs (each N x 25, NaN rows invalid) the way Fink's processor does. */
export async function scoreTwoBand(
  scorers: { forestG: BandScorer; forestR: BandScorer },
  inputG: Float32Array, inputR: Float32Array, rows: number,
): Promise<{ scoreG: Float64Array; scoreR: Float64Array; validG: Uint8Array; validR: Uint8Array; final: Float64Array }> {
  const scoreG = await scorers.forestG(inputG, rows);
  const scoreR = await scorers.forestR(inputR, rows);
  const validG = validRows(inputG, rows);
  const validR = validRows(inputR, rows);
  return { scoreG, scoreR, validG, validR, final: combineBandScores(scoreG, validG, scoreR, validR) };
}
