import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAlertFile, type Alert } from '../../datasets/index.ts';
import { sharedPath } from '../shared.ts';
import { explainDifference } from './agreement.ts';

/**
 * The ZTF anomaly rule of agreement.ts (what finkScience.test.ts accepts between Sieve's anomaly features and
 * those Fink's ad_features code computes under light-curve's pure Python): the reference test's 1e-6, and
 * only the cells finkAdFeatures.cells.ts names, each within its cause. Runs without the Fink checkouts.
 */
const byCandid = new Map<string, Alert>();

beforeAll(async () => {
  const files = [sharedPath('ztf', 'alerts.jsonl'), ...['avro', 'fink_avro'].flatMap((d) => readdirSync(sharedPath('ztf', d)).filter((f) => f.endsWith('.avro')).map((f) => sharedPath('ztf', d, f)))];
  for (const f of files) for (const a of (await readAlertFile(f)).alerts) byCandid.set(String(a.candid), a);
}, 120_000);

const explain = (candid: string, column: string, sieve: number, fink: number) => {
  const alert = byCandid.get(candid);
  if (!alert) throw new Error(`no alert ${candid} in ../shared/data/ztf`);
  return explainDifference('anomaly-lc-features', { column, sieve, fink }, alert);
};

describe('agreement: the ZTF anomaly features (anomaly-lc-features)', () => {
  it('accepts any cell within 1e-6 relative, no cell beyond it unless named', () => {
    expect(explain('975188145315010269', 'mean_g', 18 * (1 + 5e-7), 18)).toBe('light-curve definitions (1e-6)');
    expect(explain('975188145315010269', 'mean_g', 18 * (1 + 5e-6), 18)).toBeNull();
    expect(explain('975188145315010269', 'mean_g', NaN, 18)).toBeNull();
  });

  it("accepts a named cell only within its cause's rule", () => {
    // python-slope-sigma: within 5e-4 relative, on the named alert and band only
    expect(explain('975188145315010269', 'linear_fit_slope_sigma_g', 0.01 * (1 + 4e-4), 0.01)).toBe('light-curve Rust vs pure Python (python-slope-sigma)');
    expect(explain('975188145315010269', 'linear_fit_slope_sigma_g', 0.01 * (1 + 6e-4), 0.01)).toBeNull();
    expect(explain('975188143515015117', 'linear_fit_slope_sigma_g', 0.01 * (1 + 4e-4), 0.01)).toBeNull();
    // rust-min-points: Sieve (Rust) gives no value where Python gives one, on a band below the feature's minimum
    expect(explain('975188143515015117', 'beyond_1_std_r', NaN, 0.5)).toBe('light-curve Rust vs pure Python (rust-min-points)');
    expect(explain('975188143515015117', 'beyond_1_std_r', 0.4, 0.5)).toBeNull();
    expect(explain('975188143515015117', 'beyond_1_std_g', NaN, 0.5)).toBeNull();
    // python-raised: the band the Python extractor raised on (the reference's flag) has no values on Fink's side
    expect(explain('1786555201115010001', 'median_r', 18.5, NaN)).toBe('light-curve Rust vs pure Python (python-raised)');
    expect(explain('1786555201115010001', 'median_g', 18.5, NaN)).toBeNull();
  });
});
