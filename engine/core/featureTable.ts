import type { Alert } from '../../datasets/index.ts';
import type { FeatureExtractor } from '../../features/index.ts';
import { csvLine } from './csv.ts';

export const FEATURE_TABLE_ID_COLUMNS = ['objectId', 'candid', 'passes_cuts'] as const;

/** Header of a feature CSV: ids, passes_cuts, then the extractor's columns in its spec order. */
export function featureTableHeader(extractor: FeatureExtractor): string {
  return csvLine([...FEATURE_TABLE_ID_COLUMNS, ...extractor.spec.columns]);
}

/**
 * One CSV row per alert. Features are computed for every alert, as Fink's reference does; passes_cuts
 * says whether the module would score it.
 */
export function featureTableRow(extractor: FeatureExtractor, alert: Alert, scratch: Float64Array): string {
  const values = extractor.extract(alert, scratch);
  return csvLine([alert.objectId, alert.candid, extractor.passesCuts(alert), ...values]);
}
