import { AADForest, type AADForestJSON, type AADLabel } from './aad.ts';
import { ModelStructureError } from './structure.ts';
import { scoreForestBands, updateForestBands, type PerBandAADModel } from './bandAAD.ts';
import { combineBandScores, validRows } from './finkAnomaly.ts';

export const TWO_BAND_SCHEMA = 'sieve-aad-two-band/1';

/**
 * Fink's anomaly module as one model: an AAD forest per band input (`forestG` fed with what Fink feeds
 * forest_g, i.e. r-band features; see FINK_FOREST_INPUT_BAND) and the final score the minimum over the
 * valid bands. Labels update each band's forest where the object has valid features.
 */
export class TwoBandAADModel implements PerBandAADModel {
  readonly bands: readonly string[] = ['g', 'r'];
  readonly forests: readonly AADForest[];
  constructor(readonly forestG: AADForest, readonly forestR: AADForest) {
    this.forests = [forestG, forestR];
  }

  get nFeatures(): number {
    return this.forestG.nFeatures;
  }

  get nEstimators(): number {
    return this.forestG.params.nEstimators;
  }

  scoreBands(inputs: readonly Float32Array[], rows: number): { scores: Float64Array[]; valid: Uint8Array[]; final: Float64Array } {
    return scoreForestBands(this.forests, inputs, rows);
  }

  updateBands(labels: ReadonlyArray<{ leaves: ReadonlyArray<ArrayLike<number> | null>; anomaly: boolean }>, poolScores: readonly ArrayLike<number>[]): void {
    updateForestBands(this.forests, labels, poolScores);
  }

  resetWeights(): void {
    this.forestG.resetWeights();
    this.forestR.resetWeights();
  }

  scoreRows(inputG: Float32Array, inputR: Float32Array, rows: number): { scoreG: Float64Array; scoreR: Float64Array; final: Float64Array; validG: Uint8Array; validR: Uint8Array } {
    const d = this.forestG.nFeatures;
    const scoreG = this.forestG.scoreSamples({ data: inputG, rows, cols: d });
    const scoreR = this.forestR.scoreSamples({ data: inputR, rows, cols: d });
    const validG = validRows(inputG, rows, d);
    const validR = validRows(inputR, rows, d);
    return { scoreG, scoreR, validG, validR, final: combineBandScores(scoreG, validG, scoreR, validR) };
  }

  /** Updates both forests from labels given as per-band leaf ids (null where the band is invalid). */
  update(labels: Array<{ leavesG: ArrayLike<number> | null; leavesR: ArrayLike<number> | null; anomaly: boolean }>, poolScoresG: ArrayLike<number>, poolScoresR: ArrayLike<number>): void {
    const g: AADLabel[] = labels.filter((l) => l.leavesG).map((l) => ({ leaves: l.leavesG!, anomaly: l.anomaly }));
    const r: AADLabel[] = labels.filter((l) => l.leavesR).map((l) => ({ leaves: l.leavesR!, anomaly: l.anomaly }));
    if (g.length) this.forestG.update(g, poolScoresG);
    if (r.length) this.forestR.update(r, poolScoresR);
  }

  toJSON(): TwoBandJSON {
    return { schema: TWO_BAND_SCHEMA, forestG: this.forestG.toJSON(), forestR: this.forestR.toJSON() };
  }

  static checkJSON(json: unknown, what = 'two-band AAD model'): asserts json is TwoBandJSON {
    if (!json || typeof json !== 'object' || (json as TwoBandJSON).schema !== TWO_BAND_SCHEMA) throw new ModelStructureError(`${what}: not a ${TWO_BAND_SCHEMA} model`);
    AADForest.checkJSON((json as TwoBandJSON).forestG, `${what}: forestG`);
    AADForest.checkJSON((json as TwoBandJSON).forestR, `${what}: forestR`);
  }

  static fromJSON(json: TwoBandJSON): TwoBandAADModel {
    TwoBandAADModel.checkJSON(json, 'TwoBandAADModel.fromJSON');
    return new TwoBandAADModel(AADForest.fromJSON(json.forestG), AADForest.fromJSON(json.forestR));
  }
}

export interface TwoBandJSON {
  schema: string;
  forestG: AADForestJSON;
  forestR: AADForestJSON;
}
