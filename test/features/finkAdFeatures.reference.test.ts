import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAlertFile, readAvroContainer, type Alert } from '../../datasets/index.ts';
import {
  ANOMALY_FEATURE_NAMES, AnomalyScratch, anomalyExtractor, dcMagnitude, finkAnomalyLightCurve, finkUsesDcMagnitudes,
} from '../../features/index.ts';
import { SHARED, sharedPath } from '../shared.ts';
import type { AdFeatureCause } from './finkAdFeatures.cells.ts';
import { AD_FEATURE_REL as REL, adBandSizes as bandSizes, adCauseHolds, adNamedCells as namedCells } from './finkAdFeaturesRules.ts';

/**
 * The `anomaly` extractor against Fink's ad_features processor (fink-science ztf/ad_features
 * extract_features_ad_raw, with fink-broker's concat_col inputs; ../shared/data/fink/README.md):
 * `fink/ztf/fink_ad_features.csv` (181 alerts, computed with light-curve's pure-Python features) and the
 * `lc_features_g/_r` that Fink's production (light-curve's Rust features) wrote into the 31 alerts of
 * `ztf/fink_avro/part-3-305711.avro`. Sieve follows production: every production value within 1e-6; every
 * reference cell within 1e-6 except the cells named in finkAdFeatures.cells.ts, each with its cause.
 */
interface Row extends Record<string, string> {
  objectId: string;
  candid: string;
  source: string;
  dc_converted: string;
  py_extractor_failed_bands: string;
}

const rows = parse(readFileSync(sharedPath('fink', 'ztf', 'fink_ad_features.csv'), 'utf8'), { columns: true }) as Row[];
const alerts: Alert[] = [];

const ex = anomalyExtractor();
/** the CSV's `<feature>_1` is fid 1 (g), `_2` fid 2 (r); Sieve's columns are `<feature>_g`, `<feature>_r` */
const csvColumns = ex.spec.columns.map((c) => c.replace(/_g$/, '_1').replace(/_r$/, '_2'));

function cell(v: string): number {
  return v === '' ? NaN : Number(v);
}

function close(got: number, ref: number, rel: number): boolean {
  return (Number.isNaN(got) && Number.isNaN(ref)) || got === ref || Math.abs(got - ref) <= rel * Math.abs(ref);
}

beforeAll(async () => {
  for (const source of [...new Set(rows.map((r) => r.source))]) {
    const { alerts: read, errors } = await readAlertFile(path.join(SHARED, source));
    expect(errors).toEqual([]);
    alerts.push(...read);
  }
}, 120_000);

describe("anomaly features as Fink's ad_features processor computes them (fink/ztf/fink_ad_features.csv)", () => {
  it('reads the 181 alerts of the reference, in its order', () => {
    expect(rows).toHaveLength(181);
    expect(alerts.map((a) => `${a.objectId} ${a.candid}`)).toEqual(rows.map((r) => `${r.objectId} ${r.candid}`));
  });

  it('converts to DC magnitudes exactly where Fink does (some detection with 0 <= distnr <= 1.5: 165 of 181)', () => {
    const ours = alerts.map((a) => finkUsesDcMagnitudes(a.lightCurve));
    expect(ours).toEqual(rows.map((r) => r.dc_converted === 'true'));
    expect(ours.filter(Boolean)).toHaveLength(165);
  });

  it('matches every cell within 1e-6 relative, but for the named Python-vs-Rust cells, each within its rule', () => {
    const named = namedCells();
    const seen = new Map<AdFeatureCause, number>();
    let matched = 0;
    const unexplained: string[] = [];
    alerts.forEach((a, i) => {
      const row = rows[i];
      const got = ex.extract(a);
      const sizes = bandSizes(a);
      csvColumns.forEach((col, k) => {
        const ref = cell(row[col]);
        const key = `${row.objectId} ${row.candid} ${col}`;
        const cause = named.get(key);
        if (close(got[k], ref, REL)) {
          if (cause) unexplained.push(`${key}: named (${cause}) but equal (${got[k]})`);
          else matched++;
          return;
        }
        const feature = col.slice(0, -2);
        const band = Number(col.slice(-1));
        const holds = cause !== undefined && adCauseHolds(cause, feature, got[k], ref, sizes[band - 1], row.py_extractor_failed_bands.split(/\D+/).includes(String(band)));
        if (!holds) unexplained.push(`${key}: Sieve ${got[k]}, Fink ${row[col]}${cause ? ` (named ${cause}, rule broken)` : ''}`);
        else seen.set(cause!, (seen.get(cause!) ?? 0) + 1);
      });
    });
    expect(unexplained).toEqual([]);
    const counts = Object.fromEntries(seen);
    console.log(`fink_ad_features.csv: ${matched} of ${rows.length * 50} cells within 1e-6; named: ${JSON.stringify(counts)}`);
    expect(matched + named.size).toBe(rows.length * 50);
    expect(counts).toEqual({ 'rust-min-points': 176, 'python-slope-sigma': 142, 'rust-straight-line': 8, 'python-linear-fit-nan': 3, 'python-raised': 25 });
  });

  it('keeps one detection per (jd, fid): no infinite slope, on the 12 alerts with a repeated (jd, fid) detection', () => {
    const slopes = ex.spec.columns.flatMap((c, k) => (c.startsWith('maximum_slope_') ? [k] : []));
    const repeated = alerts.filter((a) => {
      const lc = a.lightCurve;
      const seen = new Set<string>();
      let twice = false;
      for (let i = 0; i < lc.jd.length; i++) {
        if (!lc.detected[i] || lc.band[i] > 1) continue;
        const key = `${lc.jd[i]} ${lc.band[i]}`;
        if (seen.has(key)) twice = true;
        seen.add(key);
      }
      return twice;
    });
    expect(repeated).toHaveLength(12);
    for (const a of repeated) {
      const got = ex.extract(a);
      for (const k of slopes) expect(got[k] === Infinity, `${a.objectId} ${ex.spec.columns[k]}`).toBe(false);
    }
    // ZTF18aavqlva has 21 detections, three (jd, fid) pairs repeated with different magnitudes: pandas keeps
    // the one numpy's quicksort puts first, which is not always the first in the alert
    const i = rows.findIndex((r) => r.candid === '1786119423415015015');
    const got = ex.extract(alerts[i]);
    expect(got[ex.spec.columns.indexOf('mean_r')]).toBeCloseTo(cell(rows[i].mean_2), 12);
    expect(got[ex.spec.columns.indexOf('median_r')]).toBeCloseTo(cell(rows[i].median_2), 12);
  });

  it("gives fink-utils vect_dc_mag's values and NaN rules for one detection", () => {
    const out = new Float64Array(2);
    // reference flux + difference flux for a positive subtraction, minus for a negative one
    dcMagnitude(18, 0.1, 17, 0.02, true, out);
    expect(out[0]).toBeCloseTo(-2.5 * Math.log10(10 ** -6.8 + 10 ** -7.2), 12);
    dcMagnitude(18, 0.1, 17, 0.02, false, out);
    expect(out[0]).toBeCloseTo(-2.5 * Math.log10(10 ** -6.8 - 10 ** -7.2), 12);
    dcMagnitude(17, 0.1, 18, 0.02, false, out); // difference brighter than the reference: no magnitude
    expect(Number.isNaN(out[0])).toBe(true);
    dcMagnitude(17, 0.1, -999, 0.02, true, out); // magnr < 0 is no reference source
    expect(Number.isNaN(out[0])).toBe(true);
  });
});

describe("anomaly features against Fink's production values (lc_features_g/_r of part-3-305711.avro)", () => {
  it('matches all 1550 values of the 31 alerts within 1e-6 relative (no value where production has none)', async () => {
    const file = sharedPath('ztf', 'fink_avro', 'part-3-305711.avro');
    const records = readAvroContainer(readFileSync(file), file).records.map((r) => r.value);
    const { alerts: read } = await readAlertFile(file);
    expect(read).toHaveLength(31);
    let compared = 0;
    const bad: string[] = [];
    read.forEach((a, i) => {
      const got = ex.extract(a);
      (['g', 'r'] as const).forEach((band, b) => {
        const prod = records[i][`lc_features_${band}`] as Record<string, number | null> | null;
        ANOMALY_FEATURE_NAMES.forEach((name, k) => {
          const v = prod?.[name];
          const ref = v === null || v === undefined ? NaN : v;
          compared++;
          if (!close(got[b * 25 + k], ref, REL)) bad.push(`${a.objectId} ${name}_${band}: Sieve ${got[b * 25 + k]}, production ${ref}`);
        });
      });
    });
    expect(compared).toBe(1550);
    expect(bad).toEqual([]);
  });
});
