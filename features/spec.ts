import { createHash } from 'node:crypto';

/**
 * What a model was trained on: extractor name and version, its parameters and its output columns. A model
 * bundle stores the spec (and its hash); features offered with another spec are refused.
 */
export interface FeatureSpec {
  readonly name: string;
  readonly version: string;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly columns: readonly string[];
  /**
   * The unit of each column, in column order, as the extractor computes it ('' for a dimensionless value or
   * a count). Descriptive only: not part of the spec's identity (featureSpecHash leaves it out), so that
   * stored features and trained models keep their spec when a unit is documented.
   */
  readonly units?: readonly string[];
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

const hashes = new WeakMap<FeatureSpec, string>();

/**
 * sha256 of the spec's canonical JSON (keys sorted), stable across runs and machines; once per spec object
 * (specs are not changed after they are made, and views and queues ask for the hash on every request).
 */
export function featureSpecHash(spec: FeatureSpec): string {
  let h = hashes.get(spec);
  if (h === undefined) {
    const { units: _units, ...identity } = spec;
    hashes.set(spec, (h = createHash('sha256').update(JSON.stringify(canonical(identity))).digest('hex')));
  }
  return h;
}

/** A column's unit as its extractor declares it: null for a dimensionless value, a count, or an undeclared unit. */
export function columnUnit(spec: FeatureSpec, column: number): string | null {
  const u = spec.units?.[column];
  return u ? u : null;
}

export class FeatureSpecMismatchError extends Error {
  constructor(readonly expected: FeatureSpec, readonly offered: FeatureSpec, readonly differences: string[]) {
    super(`feature spec mismatch: model expects ${expected.name}@${expected.version}, offered ${offered.name}@${offered.version}: ${differences.join('; ')}`);
    this.name = 'FeatureSpecMismatchError';
  }
}

/** Lists how two specs differ (empty when they are the same). */
export function featureSpecDifferences(expected: FeatureSpec, offered: FeatureSpec): string[] {
  const out: string[] = [];
  if (expected.name !== offered.name) out.push(`name '${expected.name}' != '${offered.name}'`);
  if (expected.version !== offered.version) out.push(`version '${expected.version}' != '${offered.version}'`);
  const ep = JSON.stringify(canonical(expected.parameters));
  const op = JSON.stringify(canonical(offered.parameters));
  if (ep !== op) out.push(`parameters ${ep} != ${op}`);
  if (expected.columns.length !== offered.columns.length) out.push(`${expected.columns.length} columns != ${offered.columns.length}`);
  else {
    const i = expected.columns.findIndex((c, k) => c !== offered.columns[k]);
    if (i >= 0) out.push(`column ${i} '${expected.columns[i]}' != '${offered.columns[i]}'`);
  }
  return out;
}

/** Throws FeatureSpecMismatchError, saying exactly what differs, unless the specs are identical. */
export function assertFeatureSpecMatches(expected: FeatureSpec, offered: FeatureSpec): void {
  const diff = featureSpecDifferences(expected, offered);
  if (diff.length > 0) throw new FeatureSpecMismatchError(expected, offered, diff);
}
