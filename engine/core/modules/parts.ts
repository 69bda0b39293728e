import type { Alert } from '../../../datasets/index.ts';
import { extractorByName, type FeatureExtractor } from '../../../features/index.ts';
import type { SurveyName } from './fields.ts';

/** The named extractors a declaration may list, per survey. */
export const EXTRACTORS_BY_SURVEY: Record<SurveyName, readonly string[]> = {
  ztf: ['early-snia', 'anomaly', 'kilonova', 'kilonova-sieve'],
  lsst: ['anomaly-rubin', 'early-snia-rubin', 'rainbow'],
};

/** Extractors whose columns are the same features repeated per band (`<feature>_<band>`): AAD fits a forest per band. */
export const PER_BAND_EXTRACTORS: readonly string[] = ['anomaly', 'anomaly-rubin'];

/** Known alert fields that hold text (usable in cuts, not as model features). */
export const TEXT_FIELDS: ReadonlySet<string> = new Set([
  'band', 'isdiffpos', 'ssnamenr', 'programpi', 'rbversion', 'drbversion', 'cdsxmatch', 'tns', 'DR3Name', 'gaiaClass', 'vsx', 'spicy_class',
  'gcvs', 'x3hsp', 'x4lac', 'mangrove', 'tracklet', 'finkclass', 'tnsclass', 'tns_type_recomputed',
]);

const cache = new Map<string, FeatureExtractor>();

/** The extractor behind a declared name (one instance per process: the kilonova basis is read once). */
export function namedExtractor(name: string): FeatureExtractor {
  let ex = cache.get(name);
  if (!ex) cache.set(name, (ex = extractorByName(name)));
  return ex;
}

export function extractorColumns(name: string): readonly string[] {
  return namedExtractor(name).spec.columns;
}

/**
 * One scalar field of an alert by name: Sieve's summary of the triggering detection, then the survey's own
 * record of it (ZTF candidate, Rubin diaSource), then the broker's added columns. Undefined when absent.
 */
export function alertField(alert: Alert, name: string): string | number | boolean | null | undefined {
  const summary = (alert.candidate as unknown as Record<string, unknown>)[name];
  if (summary !== undefined) return summary as string | number | null;
  if (name === 'ra') return alert.ra;
  if (name === 'dec') return alert.dec;
  const raw = alert.raw?.[name];
  // stored records keep 64-bit integers as decimal strings: a field that is a number reads as one
  if (raw !== undefined) return typeof raw === 'bigint' ? Number(raw) : typeof raw === 'string' && /^-?\d{16,}$/.test(raw) ? Number(raw) : (raw as string | number | boolean | null);
  return alert.extra[name];
}

/** A field as a model input: numbers as they are, booleans as 0/1, anything else (missing, text) NaN. */
export function numericField(v: string | number | boolean | null | undefined): number {
  return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : NaN;
}
