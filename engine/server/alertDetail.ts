import { BandAADModel, FINK_FOREST_INPUT_BAND, MLPClassifier, RandomForestClassifier, TwoBandAADModel } from '../../models/index.ts';
import { alertFieldUnit, hasLabelled, isTruthField, moduleColumnUnits, type ModuleDefinition } from '../core/modules/index.ts';
import type { User } from '../core/store/store.ts';
import { baldScore, entropyScore } from '../core/strategies.ts';
import { bandInputs, isFinkZtfAnomaly } from '../core/training.ts';
import { featureSpecHash } from '../../features/index.ts';
import type { Workbench } from './workbench.ts';
import { LruCache, type Alert } from '../../datasets/index.ts';

/** JSON has no NaN: missing numbers travel as null. */
export function numbers(a: ArrayLike<number>): Array<number | null> {
  return Array.from(a, (v) => (Number.isFinite(v) ? v : null));
}

const CONTEXT_FIELDS = ['rb', 'drb', 'sgscore1', 'distpsnr1', 'ssdistnr', 'ndethist', 'classtar', 'magpsf', 'sigmapsf', 'diffmaglim', 'isdiffpos'] as const;
/** What a Rubin expert looks at on the triggering diaSource (Rubin's own names, lsst.v7-v10; ELAsTiCC's where they differ). */
const RUBIN_SOURCE_FIELDS = [
  'reliability', 'snr', 'extendedness', 'isNegative', 'psfFlux', 'psfFluxErr', 'psFlux', 'psFluxErr', 'trailLength', 'trailFlux', 'isDipole',
  'pixelFlags_saturated', 'pixelFlags_cr', 'pixelFlags_streak', 'glint_trail', 'ssObjectId', 'visit', 'detector', 'nobs',
] as const;

export interface ModuleView {
  module: string;
  kind: 'classifier' | 'anomaly';
  passesCuts: boolean | null;
  /** Each feature with the unit its extractor (or, for an alert field, the survey's schema) declares; null: none. */
  features: Array<{ name: string; value: number | null; unit: string | null }>;
  fits: Array<{ band: string; model: string; jd: number[]; fluxNanoJy: Array<number | null> }>;
  modelVersion: number | null;
  /**
   * Classifier: p(class) per class. A forest: its standard error over the trees and the trees' votes. A network:
   * p with dropout off (what the broker writes), and the mean and spread (standard deviation) over its
   * Monte-Carlo dropout passes.
   */
  probabilities?: Array<{ className: string; p: number; stdErr?: number; treeVotes?: number; mcMean?: number; spread?: number }>;
  /** A network: its Monte-Carlo dropout passes, and what the MC strategies make of them (nats). */
  mc?: { samples: number; bald: number; predictiveEntropy: number };
  /** A network that refuses alerts with a missing feature (missing: refuse), and this alert has one. */
  refused?: string;
  /**
   * Anomaly: the AAD score of each band's forest (null where the band's features are incomplete) and the final
   * (lower = more anomalous). `reads` is the band whose features the forest scores: Fink's ZTF forests are
   * named for one band and read the other's (forest_g reads r), and Sieve wires them as Fink runs them.
   */
  anomaly?: { bands: Array<{ band: string; reads: string; score: number | null }>; final: number | null; wiring: string | null };
  /** Why this module's cut cannot run (its stored cut is refused by today's compiler): no alert passes it. */
  cutError?: string;
  /** This module could not be shown for this alert (the other modules are): the reason, also logged. */
  error?: string;
}

/** Plain links to the object on public portals (ZTF ids only; coordinates for SIMBAD and TNS). */
function portalLinks(survey: string, objectId: string, ra: number, dec: number): Array<{ name: string; url: string }> {
  const out: Array<{ name: string; url: string }> = [];
  if (survey === 'ztf' && /^ZTF\d{2}[a-z]{7}$/.test(objectId)) {
    out.push({ name: 'Fink', url: `https://fink-portal.org/${objectId}` });
    out.push({ name: 'ALeRCE', url: `https://alerce.online/object/${objectId}` });
  }
  // Rubin diaObjectIds (about 1.7e17; simulated and ELAsTiCC ids are not on the portal)
  if (survey === 'lsst' && /^\d{15,}$/.test(objectId)) out.push({ name: 'Fink (Rubin)', url: `https://lsst.fink-portal.org/${objectId}` });
  if (Number.isFinite(ra) && Number.isFinite(dec)) {
    out.push({ name: 'SIMBAD', url: `https://simbad.cds.unistra.fr/simbad/sim-coo?Coord=${ra.toFixed(6)}%20${dec >= 0 ? '%2B' : ''}${dec.toFixed(6)}&Radius=5&Radius.unit=arcsec` });
    out.push({ name: 'TNS', url: `https://www.wis-tns.org/search?ra=${ra.toFixed(6)}&decl=${dec.toFixed(6)}&radius=5&coords_unit=arcsec` });
  }
  return out;
}

/**
 * A module's values of an alert: its pool row when the alert passes the cuts, otherwise assembled from its
 * extractors' stored rows (an alert the cuts reject after a fit keeps that fit's values), computing only the
 * extractors nothing stored, and its alert fields.
 */
function moduleValues(wb: Workbench, def: ModuleDefinition, alert: Alert & { id: number }): { values: Float64Array; passesCuts: boolean } {
  const ex = def.extractor();
  const stored = wb.store.featureRow(alert.id, ex.spec);
  if (stored) return stored;
  const m = def.features();
  const values = new Float64Array(ex.spec.columns.length);
  let passesCuts = true;
  for (const p of m.extractors) {
    const row = wb.store.featureRow(alert.id, p.extractor.spec) ?? (() => {
      const v = p.extractor.extract(alert, new Float64Array(p.extractor.spec.columns.length));
      return { values: v, passesCuts: p.extractor.passesCuts(alert, v) };
    })();
    values.set(row.values, p.offset);
    passesCuts &&= row.passesCuts;
  }
  const fields = m.fieldValues(alert, new Float64Array(m.fields.length));
  m.fields.forEach((f, k) => (values[f.offset] = fields[k]));
  return { values, passesCuts: passesCuts && m.declaredCuts(alert, values) };
}

/** One module's view of an alert: features, fitted curves, and the deployed model's output. */
function moduleView(wb: Workbench, def: ModuleDefinition, alert: ReturnType<Workbench['store']['getAlert']>): ModuleView {
  const name = def.name;
  const ex = def.extractor();
  const units = moduleColumnUnits(def);
  // a module of another survey reads nothing of this alert (its row would be NaN: nothing to fit or score)
  if (def.survey !== alert.survey) {
    return { module: name, kind: def.kind, passesCuts: false, features: ex.spec.columns.map((c, j) => ({ name: c, value: null, unit: units[j] ?? null })), fits: [], modelVersion: null };
  }
  const { values, passesCuts } = moduleValues(wb, def, alert);
  const view: ModuleView = {
    module: name, kind: def.kind, passesCuts,
    features: ex.spec.columns.map((c, j) => ({ name: c, value: Number.isFinite(values[j]) ? values[j] : null, unit: units[j] ?? null })),
    fits: (ex.fitCurves?.(alert, values) ?? []).map((f) => ({ band: f.band, model: f.model, jd: Array.from(f.jd), fluxNanoJy: numbers(f.fluxNanoJy) })),
    modelVersion: null,
    ...(def.cutError() === null ? {} : { cutError: def.cutError()! }),
  };
  const deployed = wb.deployedModel(name);
  // a version trained on an earlier revision's features cannot read this revision's row
  if (!deployed || deployed.featureSpecHash !== featureSpecHash(ex.spec)) return view;
  view.modelVersion = deployed.version;
  if (deployed.model instanceof RandomForestClassifier) {
    const X = { data: Float32Array.from(values), rows: 1, cols: values.length };
    const p = deployed.model.predictProba(X);
    const votes = deployed.model.treeVotes(X);
    const T = deployed.model.params.nEstimators;
    view.probabilities = def.classNames.map((className, c) => ({
      className, p: p[c], treeVotes: votes[c],
      // spread of the trees' answers: the standard error of the forest's mean vote
      stdErr: Math.sqrt((votes[c] / T) * (1 - votes[c] / T) / T),
    }));
  } else if (deployed.model instanceof MLPClassifier) {
    const X = { data: Float32Array.from(values), rows: 1, cols: values.length };
    const p = deployed.model.predictProba(X);
    if (Number.isNaN(p[0])) {
      view.refused = 'a feature is missing and the network refuses such alerts (missing: refuse)';
      return view;
    }
    const mc = deployed.model.predictProbaMC(X);
    view.probabilities = def.classNames.map((className, c) => ({ className, p: p[c], mcMean: mc.mean[c], spread: mc.std[c] }));
    view.mc = { samples: mc.samples, bald: baldScore(mc.mean, mc.expectedEntropy, mc.mean.length)[0], predictiveEntropy: entropyScore(mc.mean, mc.mean.length)[0] };
  } else if (deployed.model instanceof TwoBandAADModel || deployed.model instanceof BandAADModel) {
    const model = deployed.model;
    const s = model.scoreBands(bandInputs(def, values, 1, model.bands), 1);
    const v = (x: number) => (Number.isFinite(x) ? x : null);
    // Fink's ZTF forests are named for one band and read the other's features: show them by forest name, with the band they read
    const fink = isFinkZtfAnomaly(def);
    const reads = (band: string) => (fink ? FINK_FOREST_INPUT_BAND[`forest_${band}` as keyof typeof FINK_FOREST_INPUT_BAND] ?? band : band);
    view.anomaly = {
      bands: model.bands.map((band, b) => ({ band, reads: reads(band), score: s.valid[b][0] ? v(s.scores[b][0]) : null })), final: v(s.final[0]),
      wiring: fink ? "Fink's ZTF anomaly module feeds the r-band features to forest_g and the g-band features to forest_r; Sieve scores them as Fink runs them" : null,
    };
  }
  return view;
}

/**
 * Module views already computed, per workbench: a view is a function of the module's revision (features,
 * cuts, fitted curves), its deployed version (the model's output; an AAD module's view scores with the
 * deployed version's weights, which a label changes only by saving a new version) and the alert, which is
 * never rewritten. Keyed by all three, an entry cannot go stale; a new revision or a deployment (retrain,
 * rollback, saved AAD weights) makes a new key. Bounded in entries and in the numbers the views hold.
 */
const VIEW_CACHE_ENTRIES = 4096;
const VIEW_CACHE_NUMBERS = 2_000_000;
const viewCaches = new WeakMap<Workbench, LruCache<string, ModuleView>>();

function viewWeight(v: ModuleView): number {
  return v.features.length + v.fits.reduce((s, f) => s + 2 * f.jd.length, 0) + 16;
}

/** moduleView through the workbench's cache (the same object for the same module revision, version and alert). */
function cachedModuleView(wb: Workbench, def: ModuleDefinition, alert: ReturnType<Workbench['store']['getAlert']>): ModuleView {
  let cache = viewCaches.get(wb);
  if (!cache) viewCaches.set(wb, (cache = new LruCache(VIEW_CACHE_ENTRIES, VIEW_CACHE_NUMBERS)));
  const key = `${def.name}\u0000${def.revisionSha256}\u0000${wb.store.deployedVersion(def.name) ?? 0}\u0000${alert.id}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const view = moduleView(wb, def, alert);
  cache.set(key, view, viewWeight(view));
  return view;
}

/**
 * One module's view, or, when that module cannot be loaded or fails on this alert, a view saying so: the alert
 * page shows every other module (a broken module must not answer 500 for all of them).
 */
function safeModuleView(wb: Workbench, name: string, def: ModuleDefinition | Error, alert: ReturnType<Workbench['store']['getAlert']>): ModuleView {
  try {
    if (def instanceof Error) throw def;
    return cachedModuleView(wb, def, alert);
  } catch (e) {
    const reason = (e as Error).message;
    process.stderr.write(`sieve: alert ${alert.id}: module ${name} not shown: ${reason}
`);
    const kind: ModuleView['kind'] = def instanceof Error ? 'classifier' : def.kind;
    return { module: name, kind, passesCuts: null, features: [], fits: [], modelVersion: null, error: reason };
  }
}

/**
 * Blind labelling, for one viewer of one alert in the modules a page shows: the truth (catalogue class, the
 * modules' truth fields) and the labels others gave the object are shown only once the viewer's own label on
 * the object is recorded in every shown module of the alert's survey. Anyone without a token sees no truth.
 */
function truthFor(wb: Workbench, a: { objectId: string; survey: string; label?: string }, defs: ModuleDefinition[], viewer: User | null) {
  const ofSurvey = defs.filter((d) => d.survey === a.survey);
  const labelledIn = viewer ? ofSurvey.filter((d) => hasLabelled(wb.store, d.name, a.objectId, viewer.name)) : [];
  const revealed = ofSurvey.length > 0 && labelledIn.length === ofSurvey.length;
  return { revealed, defs: ofSurvey.length ? ofSurvey : defs };
}

/** Everything the alert view shows, in one response (cutouts by URL, rendered on request), as `viewer` may see it. */
export function alertDetail(wb: Workbench, id: number, modules: readonly string[], viewer: User | null = null) {
  const a = wb.store.getAlert(id);
  const loaded = modules.map((m): ModuleDefinition | Error => {
    try {
      return wb.module(m);
    } catch (e) {
      return e as Error; // shown in that module's panel by safeModuleView
    }
  });
  const defs = loaded.filter((d): d is ModuleDefinition => !(d instanceof Error));
  const lc = a.lightCurve;
  const blind = truthFor(wb, a, defs, viewer);
  // the truth fields this alert has, kept apart from the context until the viewer has labelled
  const truthValues: Record<string, string | number | boolean | null> = {};
  const context: Record<string, string | number | null> = {};
  const cand = a.candidate as unknown as Record<string, unknown>;
  if (a.survey === 'lsst') {
    // Rubin: the diaSource's own fields; rb/drb, sgscore1, ... are ZTF's and would only show blanks
    context.band = a.candidate.band;
    context.ndethist = a.candidate.ndethist;
    const raw = (a.raw ?? {}) as Record<string, unknown>;
    for (const k of RUBIN_SOURCE_FIELDS) {
      const v = raw[k] ?? a.extra[k];
      if (typeof v === 'number') context[k] = Number.isFinite(v) ? v : null;
      else if (typeof v === 'boolean') context[k] = v ? 'true' : 'false';
      else if (typeof v === 'string' || typeof v === 'bigint') context[k] = String(v);
    }
  } else for (const k of CONTEXT_FIELDS) {
    const v = cand[k];
    if (typeof v === 'number') context[k] = Number.isFinite(v) ? v : null;
    else if (typeof v === 'string') context[k] = v;
  }
  const extra: Record<string, string | number | boolean | null> = {};
  for (const [k, v] of Object.entries(a.extra)) {
    // a field already in the context is shown there once
    if (k in context) continue;
    const value = typeof v === 'number' && !Number.isFinite(v) ? null : v;
    if (isTruthField(blind.defs, k)) truthValues[k] = value;
    else extra[k] = value;
  }
  const units: Record<string, string> = {};
  for (const k of [...Object.keys(context), ...Object.keys(extra), ...Object.keys(truthValues)]) {
    const u = alertFieldUnit(k);
    if (u) units[k] = u;
  }
  const cutouts: Record<string, string | null> = {};
  for (const kind of ['science', 'template', 'difference'] as const) cutouts[kind] = a.cutouts[kind] ? `/api/alerts/${id}/cutouts/${kind}.png` : null;
  const allLabels = wb.store.objectLabels(a.objectId);
  // until the viewer's own label is in, others' labels (experts, catalogues, seeds) would tell them the answer
  const shownLabels = blind.revealed ? allLabels : allLabels.filter((l) => viewer !== null && l.author === viewer.name && l.authorKind === 'person');
  const catalogueClass = a.label ?? null;
  return {
    id: a.id, survey: a.survey, objectId: a.objectId, candid: a.candid === null ? null : a.candid.toString(), ra: a.ra, dec: a.dec,
    jd: a.candidate.jd, mjd: a.candidate.jd - 2400000.5, band: a.candidate.band, sourceLabel: blind.revealed ? catalogueClass : null,
    context, extra, units, links: portalLinks(a.survey, a.objectId, a.ra, a.dec), cutouts,
    lightCurve: {
      bands: lc.bands, jd: Array.from(lc.jd), band: Array.from(lc.band), detected: Array.from(lc.detected),
      mag: numbers(lc.mag), magErr: numbers(lc.magErr), fluxNanoJy: numbers(lc.fluxNanoJy), fluxErrNanoJy: numbers(lc.fluxErrNanoJy), limitMag: numbers(lc.limitMag),
    },
    modules: modules.map((m, i) => safeModuleView(wb, m, loaded[i], a)),
    labels: shownLabels.map((l) => ({ module: l.module, label: l.label, author: l.author, authorKind: l.authorKind, createdAt: l.createdAt })),
    truth: {
      revealed: blind.revealed,
      /** The names of the truth this alert carries (never their values while hidden). */
      fields: [...(catalogueClass !== null ? ['catalogue class'] : []), ...Object.keys(truthValues)],
      values: blind.revealed ? { ...(catalogueClass !== null ? { 'catalogue class': catalogueClass } : {}), ...truthValues } : null,
      hiddenLabels: allLabels.length - shownLabels.length,
      // per shown module: the label the catalogue class maps to, beside the viewer's own
      verdicts: blind.revealed && viewer ? blind.defs.map((d) => {
        const mine = allLabels.find((l) => l.module === d.name && l.author === viewer.name && l.authorKind === 'person');
        const truthLabel = catalogueClass === null ? null : d.catalogLabel(catalogueClass);
        const same = mine && truthLabel !== null ? { sameLabel: mine.label === truthLabel, sameClass: d.labelToClass(mine.label) !== null && d.labelToClass(mine.label) === d.labelToClass(truthLabel) } : null;
        return { module: d.name, yourLabel: mine?.label ?? null, truthLabel, ...(same ?? { sameLabel: null, sameClass: null }) };
      }) : [],
    },
  };
}
