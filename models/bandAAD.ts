import { AADForest, type AADForestJSON, type AADLabel } from './aad.ts';
import { ModelStructureError } from './structure.ts';
import { validRows } from './finkAnomaly.ts';

export const BAND_AAD_SCHEMA = 'sieve-aad-bands/1';

/** What the engine needs of a per-band AAD model, whatever its number of bands. */
export interface PerBandAADModel {
  readonly bands: readonly string[];
  readonly forests: readonly AADForest[];
  readonly nFeatures: number;
  readonly nEstimators: number;
  /** Per band, each row's score (NaN where the band's features are incomplete) and validity; the minimum over the valid bands. */
  scoreBands(inputs: readonly Float32Array[], rows: number): { scores: Float64Array[]; valid: Uint8Array[]; final: Float64Array };
  updateBands(labels: ReadonlyArray<{ leaves: ReadonlyArray<ArrayLike<number> | null>; anomaly: boolean }>, poolScores: readonly ArrayLike<number>[]): void;
  resetWeights(): void;
}

/**
 * Each band's scores and validity, and their minimum over the valid bands. A row whose features in a band are
 * incomplete is not walked through that band's forest: its score there is NaN (no score is defined for it,
 * and most alerts of a night have too few points in one band or both).
 */
export function scoreForestBands(forests: readonly AADForest[], inputs: readonly Float32Array[], rows: number): { scores: Float64Array[]; valid: Uint8Array[]; final: Float64Array } {
  const d = forests[0].nFeatures;
  const valid = inputs.map((x) => validRows(x, rows, d));
  const scores = forests.map((f, b) => scoreValidRows(f, inputs[b], valid[b], rows, d));
  return { scores, valid, final: minOverValid(scores, valid, rows) };
}

function scoreValidRows(forest: AADForest, data: Float32Array, valid: Uint8Array, rows: number, d: number): Float64Array {
  let n = 0;
  for (let i = 0; i < rows; i++) n += valid[i];
  if (n === rows) return forest.scoreSamples({ data, rows, cols: d });
  const out = new Float64Array(rows).fill(NaN);
  if (n === 0) return out;
  const kept = new Float32Array(n * d);
  for (let i = 0, k = 0; i < rows; i++) if (valid[i]) kept.set(data.subarray(i * d, i * d + d), d * k++);
  const s = forest.scoreSamples({ data: kept, rows: n, cols: d });
  for (let i = 0, k = 0; i < rows; i++) if (valid[i]) out[i] = s[k++];
  return out;
}

export function updateForestBands(
  forests: readonly AADForest[], labels: ReadonlyArray<{ leaves: ReadonlyArray<ArrayLike<number> | null>; anomaly: boolean }>, poolScores: readonly ArrayLike<number>[],
): void {
  forests.forEach((forest, b) => updateForestBand(forest, b, labels, poolScores[b]));
}

/** Band b's forest updated from the labels valid in that band (none: left as it is); `poolScores` are the band's valid pool rows' scores. */
export function updateForestBand(forest: AADForest, b: number, labels: ReadonlyArray<{ leaves: ReadonlyArray<ArrayLike<number> | null>; anomaly: boolean }>, poolScores: ArrayLike<number>): void {
  const own: AADLabel[] = [];
  for (const l of labels) if (l.leaves[b]) own.push({ leaves: l.leaves[b]!, anomaly: l.anomaly });
  if (own.length) forest.update(own, poolScores);
}

/**
 * A per-band anomaly model for any number of bands (Rubin's six; ZTF's two are TwoBandAADModel): one AAD
 * forest per band, fed with that band's features; a band whose features are not all finite is left out
 * for that alert, and the final score is the minimum over the bands left (lower = more anomalous), as
 * Fink combines its two ZTF forests. Labels update each band's forest where the object has valid features.
 */
export class BandAADModel implements PerBandAADModel {
  constructor(readonly bands: readonly string[], readonly forests: readonly AADForest[]) {
    if (bands.length !== forests.length || bands.length === 0) throw new Error(`BandAADModel: ${bands.length} bands for ${forests.length} forests`);
  }

  /** Features per band (every forest has the same). */
  get nFeatures(): number {
    return this.forests[0].nFeatures;
  }

  get nEstimators(): number {
    return this.forests[0].params.nEstimators;
  }

  /** Scores of each band's rows (NaN-free rows only are valid) and their minimum over the valid bands. */
  scoreBands(inputs: readonly Float32Array[], rows: number): { scores: Float64Array[]; valid: Uint8Array[]; final: Float64Array } {
    return scoreForestBands(this.forests, inputs, rows);
  }

  /** Updates each band's forest from labels given as per-band leaf ids (null where the band is invalid). */
  updateBands(labels: ReadonlyArray<{ leaves: ReadonlyArray<ArrayLike<number> | null>; anomaly: boolean }>, poolScores: readonly ArrayLike<number>[]): void {
    updateForestBands(this.forests, labels, poolScores);
  }

  resetWeights(): void {
    for (const f of this.forests) f.resetWeights();
  }

  toJSON(): BandAADJSON {
    return { schema: BAND_AAD_SCHEMA, bands: [...this.bands], forests: this.forests.map((f) => f.toJSON()) };
  }

  static checkJSON(json: unknown, what = 'per-band AAD model'): asserts json is BandAADJSON {
    if (!json || typeof json !== 'object' || (json as BandAADJSON).schema !== BAND_AAD_SCHEMA) throw new ModelStructureError(`${what}: not a ${BAND_AAD_SCHEMA} model`);
    const { bands, forests } = json as BandAADJSON;
    if (!Array.isArray(bands) || !Array.isArray(forests) || bands.length === 0 || bands.length > 64 || bands.length !== forests.length || bands.some((b) => typeof b !== 'string')) {
      throw new ModelStructureError(`${what}: expected as many band names as forests (1 to 64)`);
    }
    forests.forEach((f, i) => AADForest.checkJSON(f, `${what}: band ${bands[i]}`));
  }

  static fromJSON(json: BandAADJSON): BandAADModel {
    BandAADModel.checkJSON(json, 'BandAADModel.fromJSON');
    return new BandAADModel(json.bands, json.forests.map((f) => AADForest.fromJSON(f)));
  }
}

export interface BandAADJSON {
  schema: string;
  bands: string[];
  forests: AADForestJSON[];
}

/** Per alert, the minimum score over the bands valid for it; NaN when none is. */
export function minOverValid(scores: readonly ArrayLike<number>[], valid: readonly ArrayLike<number>[], rows: number, out: Float64Array = new Float64Array(rows)): Float64Array {
  for (let i = 0; i < rows; i++) {
    let m = NaN;
    for (let b = 0; b < scores.length; b++) if (valid[b][i] && !(scores[b][i] >= m)) m = scores[b][i];
    out[i] = m;
  }
  return out;
}
