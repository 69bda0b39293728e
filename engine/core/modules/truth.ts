import type { Store } from '../store/store.ts';
import type { ModuleDefinition } from './compile.ts';
import type { SurveyName } from './fields.ts';

/**
 * Blind labelling: what the simulation or a catalogue knows about an object (its class, its true redshift,
 * its peak) is hidden from an expert until their own label on it is recorded, so that a label is the expert's
 * judgement and can be compared with the truth afterwards.
 *
 * The catalogue class of an alert (a simulated alert's class, a TNS class) is always truth. Besides it, a
 * module's declaration names its truth fields (`truth`: alert fields, `*` matching any run of characters);
 * without one, the survey's known simulation truth below. ELAsTiCC alerts carry SNANA's header: the simulated
 * type and model, the true redshift and distance, extinction, peak time and magnitudes, and summaries of the
 * whole simulated light curve (future detections included) that no broker has when the alert arrives.
 */
export const DEFAULT_TRUTH_FIELDS: Readonly<Record<SurveyName, readonly string[]>> = {
  ztf: [],
  lsst: [
    'GENTYPE', 'SIM_*', 'LIBID', 'ZCMB', 'ZHELIO', 'ZCMB_SMEAR', 'RV', 'AV', 'MU', 'LENSDMU', 'PEAKMJD', 'PEAKMAG_*',
    'MJD_DETECT_FIRST', 'MJD_DETECT_LAST', 'DTSEASON_PEAK', 'SNRMAX', 'SNRMAX2', 'SNRMAX3', 'NOBS', 'NOBS_SATURATE',
  ],
};

/** The declaration's `truth` patterns, or the survey's defaults when it names none. */
export function truthPatterns(def: ModuleDefinition): readonly string[] {
  // `truth` is read from the declaration as stored (module.schema.json describes it)
  const declared = (def.declaration as { truth?: string[] }).truth;
  return declared ?? DEFAULT_TRUTH_FIELDS[def.survey];
}

const patternCache = new Map<string, RegExp>();
function patternRegExp(p: string): RegExp {
  let re = patternCache.get(p);
  if (!re) patternCache.set(p, (re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)));
  return re;
}

/** Whether an alert field is truth for any of these modules. */
export function isTruthField(defs: readonly ModuleDefinition[], field: string): boolean {
  return defs.some((d) => truthPatterns(d).some((p) => patternRegExp(p).test(field)));
}

/** Whether an expert has a current label on an object in a module (the moment its truth may be shown). */
export function hasLabelled(store: Store, module: string, objectId: string, expert: string): boolean {
  return store.hasPersonLabel(module, objectId, expert);
}

export interface Agreement {
  expert: string;
  /** The expert's current labels (with a class) on objects whose catalogue class this module maps to a label. */
  compared: number;
  /** Of those, how many give the same training class as the catalogue class does. */
  sameClass: number;
  /** Of those, how many are the very label the catalogue class maps to. */
  sameLabel: number;
}

/**
 * Per expert, how their labels in a module compare with the catalogue class of the same objects (as the
 * module's `catalog` maps it to a label). Labels without a class (unsure, skip) and objects without a
 * catalogue class the module maps are not compared.
 */
export function agreementPerExpert(store: Store, def: ModuleDefinition): Agreement[] {
  const rows = store.db.prepare(`SELECT l.author, l.label, (SELECT a.source_label FROM alerts a WHERE a.object_id = l.object_id AND a.source_label IS NOT NULL LIMIT 1) AS truth
    FROM labels l WHERE l.module = ? AND l.author_kind = 'person' AND l.undone_at IS NULL ORDER BY l.author`).all(def.name) as Array<{ author: string; label: string; truth: string | null }>;
  const out = new Map<string, Agreement>();
  for (const r of rows) {
    if (r.truth === null) continue;
    const truthLabel = def.catalogLabel(r.truth);
    const given = def.labelToClass(r.label);
    if (truthLabel === null || given === null) continue;
    const a = out.get(r.author) ?? { expert: r.author, compared: 0, sameClass: 0, sameLabel: 0 };
    a.compared++;
    if (def.labelToClass(truthLabel) === given) a.sameClass++;
    if (truthLabel === r.label) a.sameLabel++;
    out.set(r.author, a);
  }
  return [...out.values()];
}
