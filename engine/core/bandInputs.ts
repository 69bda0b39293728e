import { ANOMALY_FEATURE_NAMES } from '../../features/index.ts';
import { FINK_FOREST_INPUT_BAND } from '../../models/index.ts';
import type { ModuleDefinition } from './modules/index.ts';

/** Fink-wired per-band inputs of the anomaly module (forest_g takes r-band features, forest_r g-band). */
export function anomalyInputs(values: ArrayLike<number>, rows: number): { inputG: Float32Array; inputR: Float32Array } {
  const F = ANOMALY_FEATURE_NAMES.length;
  const gOff = FINK_FOREST_INPUT_BAND.forest_g === 'r' ? F : 0;
  const rOff = FINK_FOREST_INPUT_BAND.forest_r === 'g' ? 0 : F;
  const inputG = new Float32Array(rows * F);
  const inputR = new Float32Array(rows * F);
  for (let i = 0; i < rows; i++) for (let j = 0; j < F; j++) {
    inputG[i * F + j] = values[i * 2 * F + gOff + j];
    inputR[i * F + j] = values[i * 2 * F + rOff + j];
  }
  return { inputG, inputR };
}

/** Fink's ZTF anomaly module: g and r, its 25 features per band, its two forests wired as Fink wires them. */
export function isFinkZtfAnomaly(def: ModuleDefinition): boolean {
  return def.survey === 'ztf' && def.perBand !== null && def.perBand.bands.join(',') === 'g,r' && def.perBand.featuresPerBand === ANOMALY_FEATURE_NAMES.length;
}

/**
 * Each band's feature rows of a per-band anomaly module, in the order of `bands` (the model's): Fink's
 * wiring for its ZTF module, the module's own column blocks otherwise.
 */
export function bandInputs(def: ModuleDefinition, values: ArrayLike<number>, rows: number, bands: readonly string[]): Float32Array[] {
  const pb = def.perBand;
  if (!pb) throw new Error(`${def.name}: not a per-band anomaly module`);
  if (isFinkZtfAnomaly(def)) {
    const { inputG, inputR } = anomalyInputs(values, rows);
    return [inputG, inputR];
  }
  const F = pb.featuresPerBand;
  const D = pb.bands.length * F;
  return bands.map((band) => {
    const b = pb.bands.indexOf(band);
    if (b < 0) throw new Error(`${def.name}: the model has a band '${band}' the module does not`);
    const out = new Float32Array(rows * F);
    for (let i = 0; i < rows; i++) for (let j = 0; j < F; j++) out[i * F + j] = values[i * D + b * F + j];
    return out;
  });
}
