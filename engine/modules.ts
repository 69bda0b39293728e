import { anomalyExtractor, earlySnIaExtractor, kilonovaExtractor, type FeatureExtractor } from '../features/index.ts';

/**
 * The science modules the workbench trains. A classifier module maps expert labels to training classes
 * (null: recorded but not trained on); an anomaly module takes anomaly / nominal.
 */
export interface ModuleDefinition {
  name: string;
  kind: 'classifier' | 'anomaly';
  extractor: () => FeatureExtractor;
  classNames: string[];
  /** The labels an expert can give, with their default keyboard keys. */
  labels: Array<{ label: string; key: string }>;
  labelToClass(label: string): number | null;
  /** Whether a feature row carries information for this module (queued and trained on only then). */
  informative?(row: ArrayLike<number>, offset: number): boolean;
  /** What the broker-side scorer writes: Fink's column name for the score, and the tag a positive gets. */
  broker: { scoreColumn: string; tag: string | null };
}

const NOT_TRAINED = new Set(['unsure', 'skip']);

export const MODULES: Record<string, ModuleDefinition> = {
  'early-snia': {
    name: 'early-snia',
    kind: 'classifier',
    extractor: () => earlySnIaExtractor(),
    classNames: ['other', 'SN Ia'],
    labels: [
      { label: 'SN Ia', key: '1' }, { label: 'other SN', key: '2' }, { label: 'not SN', key: '3' }, { label: 'bogus', key: '4' }, { label: 'unsure', key: '5' },
    ],
    // TNS classes such as "SN Ia-91T-like" are SN Ia; everything else is the other class.
    labelToClass: (l) => (NOT_TRAINED.has(l) ? null : l === 'SN Ia' || l.startsWith('SN Ia-') ? 1 : 0),
    // Fink's placeholder rows (no rising fit in either band) are all alike: nothing to learn or ask.
    informative: (row, o) => row[o + 5] > 0 || row[o + 11] > 0,
    broker: { scoreColumn: 'rf_snia_vs_nonia', tag: 'early_snia_candidate' },
  },
  kilonova: {
    name: 'kilonova',
    kind: 'classifier',
    extractor: () => kilonovaExtractor(),
    classNames: ['other', 'kilonova'],
    labels: [{ label: 'kilonova', key: '1' }, { label: 'other', key: '2' }, { label: 'bogus', key: '3' }, { label: 'unsure', key: '4' }],
    labelToClass: (l) => (NOT_TRAINED.has(l) ? null : l === 'kilonova' ? 1 : 0),
    broker: { scoreColumn: 'rf_kn_vs_nonkn', tag: 'kilonova_candidate' },
  },
  anomaly: {
    name: 'anomaly',
    kind: 'anomaly',
    extractor: () => anomalyExtractor(),
    classNames: ['nominal', 'anomaly'],
    labels: [{ label: 'anomaly', key: '1' }, { label: 'nominal', key: '2' }, { label: 'unsure', key: '3' }],
    labelToClass: (l) => (l === 'anomaly' ? 1 : l === 'nominal' ? 0 : null),
    // AAD scores are ranked, not thresholded: the tag needs the scorer's --anomaly-threshold.
    broker: { scoreColumn: 'anomaly_score', tag: 'anomaly_candidate' },
  },
};

export function moduleByName(name: string): ModuleDefinition {
  const m = MODULES[name];
  if (!m) throw new Error(`unknown module '${name}' (known: ${Object.keys(MODULES).join(', ')})`);
  return m;
}
