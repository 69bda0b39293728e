import { BandAADModel, RandomForestClassifier, TwoBandAADModel } from '../../models/index.ts';
import { bandInputs } from '../core/training.ts';
import { featureSpecHash } from '../../features/index.ts';
import type { Workbench } from './workbench.ts';
import type { Alert } from '../../datasets/index.ts';
import type { ModuleDefinition } from '../core/modules/index.ts';

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
  features: Array<{ name: string; value: number | null }>;
  fits: Array<{ band: string; model: string; jd: number[]; fluxNanoJy: Array<number | null> }>;
  modelVersion: number | null;
  /** Classifier: p(class) per class, its standard error over the forest's trees, the trees' votes. */
  probabilities?: Array<{ className: string; p: number; stdErr: number; treeVotes: number }>;
  /** Anomaly: the AAD score of each band's forest (null where the band's features are incomplete) and the final (lower = more anomalous). */
  anomaly?: { bands: Array<{ band: string; score: number | null }>; final: number | null };
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
function moduleView(wb: Workbench, name: string, alert: ReturnType<Workbench['store']['getAlert']>): ModuleView {
  const def = wb.module(name);
  const ex = def.extractor();
  // a module of another survey reads nothing of this alert (its row would be NaN: nothing to fit or score)
  if (def.survey !== alert.survey) {
    return { module: name, kind: def.kind, passesCuts: false, features: ex.spec.columns.map((c) => ({ name: c, value: null })), fits: [], modelVersion: null };
  }
  const { values, passesCuts } = moduleValues(wb, def, alert);
  const view: ModuleView = {
    module: name, kind: def.kind, passesCuts,
    features: ex.spec.columns.map((c, j) => ({ name: c, value: Number.isFinite(values[j]) ? values[j] : null })),
    fits: (ex.fitCurves?.(alert, values) ?? []).map((f) => ({ band: f.band, model: f.model, jd: Array.from(f.jd), fluxNanoJy: numbers(f.fluxNanoJy) })),
    modelVersion: null,
  };
  const deployed = wb.deployedModel(name);
  // a version trained on an earlier revision's features cannot read this revision's row
  if (!deployed || wb.store.getModel(name, deployed.version).featureSpecHash !== featureSpecHash(ex.spec)) return view;
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
  } else if (deployed.model instanceof TwoBandAADModel || deployed.model instanceof BandAADModel) {
    const model = deployed.model;
    const s = model.scoreBands(bandInputs(def, values, 1, model.bands), 1);
    const v = (x: number) => (Number.isFinite(x) ? x : null);
    // Fink's ZTF forests are named for their input (forest_g reads the r band): show them by forest name
    view.anomaly = { bands: model.bands.map((band, b) => ({ band, score: s.valid[b][0] ? v(s.scores[b][0]) : null })), final: v(s.final[0]) };
  }
  return view;
}

/** Everything the alert view shows, in one response (cutouts by URL, rendered on request). */
export function alertDetail(wb: Workbench, id: number, modules: readonly string[]) {
  const a = wb.store.getAlert(id);
  const lc = a.lightCurve;
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
  for (const [k, v] of Object.entries(a.extra)) extra[k] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  const cutouts: Record<string, string | null> = {};
  for (const kind of ['science', 'template', 'difference'] as const) cutouts[kind] = a.cutouts[kind] ? `/api/alerts/${id}/cutouts/${kind}.png` : null;
  return {
    id: a.id, survey: a.survey, objectId: a.objectId, candid: a.candid === null ? null : a.candid.toString(), ra: a.ra, dec: a.dec,
    jd: a.candidate.jd, band: a.candidate.band, sourceLabel: a.label ?? null,
    context, extra, links: portalLinks(a.survey, a.objectId, a.ra, a.dec), cutouts,
    lightCurve: {
      bands: lc.bands, jd: Array.from(lc.jd), band: Array.from(lc.band), detected: Array.from(lc.detected),
      mag: numbers(lc.mag), magErr: numbers(lc.magErr), fluxNanoJy: numbers(lc.fluxNanoJy), fluxErrNanoJy: numbers(lc.fluxErrNanoJy), limitMag: numbers(lc.limitMag),
    },
    modules: modules.map((m) => moduleView(wb, m, a)),
    labels: wb.store.objectLabels(a.objectId).map((l) => ({ module: l.module, label: l.label, author: l.author, authorKind: l.authorKind, createdAt: l.createdAt })),
  };
}
