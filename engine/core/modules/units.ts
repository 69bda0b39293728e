import { columnUnit } from '../../../features/index.ts';
import type { ModuleDefinition } from './compile.ts';
import { alertFieldUnit } from './fields.ts';
import { namedExtractor } from './parts.ts';

/**
 * The unit of each of a module's feature columns, in column order: an extractor's columns carry the units
 * the extractor declares (FeatureSpec.units: the extractor owns them, whatever module lists it), an alert
 * field the unit its survey's schema gives it. null: dimensionless, a count, or no unit.
 */
export function moduleColumnUnits(def: ModuleDefinition): Array<string | null> {
  const out: Array<string | null> = [];
  for (const f of def.declaration.features) {
    if (typeof f === 'string') {
      const spec = namedExtractor(f).spec;
      for (let j = 0; j < spec.columns.length; j++) out.push(columnUnit(spec, j));
    } else for (const field of f.alert) out.push(alertFieldUnit(field));
  }
  return out;
}
