import type { Alert } from '../../../datasets/index.ts';
import type { FeatureExtractor } from '../../../features/index.ts';
import type { ModuleFeatures } from '../modules/compile.ts';
import { alertFromRow, type AlertRow } from '../store/alertRow.ts';
import { decodeFeatureRow, encodeFeatureRow } from '../store/featureCodec.ts';

/** One spec to bring up to date over a batch: a module (its pool) or a plain extractor (its values). */
export type BatchTask =
  | { specId: number; through: number; module: ModuleFeatures; extractor?: undefined }
  | { specId: number; through: number; extractor: FeatureExtractor; module?: undefined };

/** Values already stored for the batch's alerts, per extractor spec id. */
export type StoredValues = Map<number, Map<number, { passes: number; vals: Uint8Array }>>;

/** What a feature worker starts from: the modules (as declarations) and the store's spec ids. */
export interface FeatureWorkerData {
  modules: Array<{ declaration: unknown; specId: number; through: number }>;
  extractorIds: Array<[string, number]>;
}

export interface BatchResult {
  /** [spec id, alert id, passes, encoded values] of every extractor row computed here. */
  values: Array<[number, number, number, Buffer]>;
  /** [module spec id, alert id, encoded alert-field values or null] of every alert that passes a module's cuts. */
  pool: Array<[number, number, Buffer | null]>;
  /** Alerts decoded (each once, whatever the number of modules). */
  decoded: number;
  /** Extractor rows computed, and the ones a prefilter spared. */
  computed: number;
  skipped: number;
}

/**
 * Brings every task up to date over one batch of stored alerts. Each alert is decoded once, and only when a
 * task needs it; each extractor runs at most once per alert whatever the number of modules reading it (or
 * not at all when its values are stored already); a module's prefilter (survey, extractors' cheap
 * selections, cuts on alert fields) spares the extraction of alerts its cuts reject anyway; the cuts then see
 * the values just computed.
 */
export function processBatch(rows: readonly AlertRow[], tasks: readonly BatchTask[], extractorIds: ReadonlyMap<FeatureExtractor, number>, stored: StoredValues): BatchResult {
  const out: BatchResult = { values: [], pool: [], decoded: 0, computed: 0, skipped: 0 };
  const perAlert = new Map<FeatureExtractor, { passes: boolean; vals: Float64Array }>();
  for (const row of rows) {
    let alert: Alert | null = null;
    const decode = (): Alert => {
      if (!alert) {
        alert = alertFromRow(row);
        out.decoded++;
      }
      return alert;
    };
    perAlert.clear();
    const valuesOf = (ex: FeatureExtractor): { passes: boolean; vals: Float64Array } => {
      let v = perAlert.get(ex);
      if (v) return v;
      const id = extractorIds.get(ex)!;
      const have = stored.get(id)?.get(row.id);
      const d = ex.spec.columns.length;
      if (have) {
        const vals = new Float64Array(d);
        decodeFeatureRow(have.vals, d, vals, 0, `alert ${row.id}, ${ex.spec.name}`);
        v = { passes: have.passes === 1, vals };
      } else {
        const a = decode();
        const vals = ex.extract(a, new Float64Array(d));
        v = { passes: ex.passesCuts(a, vals), vals };
        out.values.push([id, row.id, v.passes ? 1 : 0, encodeFeatureRow(vals)]);
        out.computed++;
      }
      perAlert.set(ex, v);
      return v;
    };
    for (const t of tasks) {
      if (row.id <= t.through) continue;
      if (t.extractor) {
        valuesOf(t.extractor);
        continue;
      }
      const m = t.module;
      if (row.survey !== m.survey) continue;
      const a = decode();
      if (!m.prefilter(a)) {
        out.skipped += m.extractors.filter((p) => !perAlert.has(p.extractor)).length;
        continue;
      }
      const values = new Float64Array(m.spec.columns.length);
      let passes = true;
      for (const p of m.extractors) {
        const v = valuesOf(p.extractor);
        if (!v.passes) {
          passes = false;
          break;
        }
        values.set(v.vals, p.offset);
      }
      if (!passes) continue;
      if (m.fields.length) {
        const fv = m.fieldValues(a, new Float64Array(m.fields.length));
        m.fields.forEach((f, k) => (values[f.offset] = fv[k]));
      }
      if (!m.declaredCuts(a, values)) continue;
      out.pool.push([t.specId, row.id, m.fields.length ? encodeFeatureRow(Float64Array.from(m.fields, (f) => values[f.offset])) : null]);
    }
  }
  return out;
}
