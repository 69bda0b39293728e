import { modelFromBundle, RandomForestClassifier } from '../../models/index.ts';
import { moduleSummary } from '../core/modules/index.ts';
import { heldOutCalibration } from '../core/training.ts';
import { confusionSpec, importancesSpec, learningCurveSpec, reliabilitySpec } from './plot/charts.ts';
import { renderSvg, type VegaLiteSpec } from './plot/render.ts';
import type { Store } from '../core/store/store.ts';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v.toFixed(d)).toString());

/** The learning curve of a module from its registry: each version's gate metric and interval, deployments marked. */
export function learningCurveChart(store: Store, module: string): VegaLiteSpec {
  const def = moduleSummary(store, module);
  const deployed = new Set(store.deploymentHistory(module).map((d) => d.version));
  const models = store.listModels(module);
  const metric = models.find((m) => m.gate)?.gate?.metric ?? (def.kind === 'anomaly' ? 'labels' : 'fom');
  return learningCurveSpec({
    module, metric,
    points: models.map((m) => ({
      version: m.version, nLabels: m.nLabels,
      value: m.gate?.challenger?.value ?? m.metrics[metric] ?? null, low: m.gate?.challenger?.low ?? null, high: m.gate?.challenger?.high ?? null,
      deployed: deployed.has(m.version), provisional: m.provisional,
    })),
  });
}

/** The confusion matrix of a version on its held-out objects (two classes: tp/fn/fp/tn; K classes: cm_i_j). */
export function confusionChart(module: string, version: number, classNames: string[], metrics: Record<string, number>): VegaLiteSpec | null {
  let matrix: number[][];
  if (metrics.tp !== undefined) matrix = [[metrics.tn, metrics.fp], [metrics.fn, metrics.tp]];
  else if (metrics.cm_0_0 !== undefined) matrix = classNames.map((_, a) => classNames.map((_b, b) => metrics[`cm_${a}_${b}`] ?? 0));
  else return null;
  return confusionSpec({ title: `${module} v${version}: held-out confusion matrix`, classNames, matrix });
}

/** The reliability diagram of a classifier version on the module's held-out objects (null: not a classifier of this feature space, or nothing held out). */
export function calibrationChart(store: Store, module: string, version: number): VegaLiteSpec | null {
  const c = heldOutCalibration(store, module, version);
  if (!c) return null;
  return reliabilitySpec({
    title: `${module} v${version}: calibration on held-out objects`,
    subtitle: `${c.rows} held-out alerts; expected calibration error ${c.curve.ece.toFixed(3)}`,
    predicted: `predicted ${c.what}`, observed: c.what.startsWith('P(') ? `observed frequency of ${c.what.slice(2, -1)}` : 'observed fraction right', bins: c.curve.bins,
  });
}

/**
 * One self-contained HTML page about a module for collaborators: its declaration, versions with metrics and
 * intervals, learning curve, confusion matrix, calibration and importances of the deployed (or newest) version, deployment
 * history, and labels per class and per expert. The charts are inline SVG: the page makes no request.
 */
export async function moduleReportHtml(store: Store, module: string): Promise<string> {
  const s = moduleSummary(store, module);
  const models = store.listModels(module);
  const shown = s.deployedVersion ?? models.at(-1)?.version ?? null;
  const charts: string[] = [];
  if (models.length) charts.push(await renderSvg(learningCurveChart(store, module)));
  if (shown !== null) {
    const m = store.getModel(module, shown);
    const bundle = store.getBundle(module, shown);
    const cm = confusionChart(module, shown, bundle.manifest.classNames, m.metrics);
    if (cm) charts.push(await renderSvg(cm));
    const calibration = calibrationChart(store, module, shown);
    if (calibration) charts.push(await renderSvg(calibration));
    const model = modelFromBundle(bundle);
    const imp = model instanceof RandomForestClassifier ? model.featureImportances : null;
    if (imp && imp.length) charts.push(await renderSvg(importancesSpec({ title: `${module} v${shown}: feature importances`, features: bundle.manifest.featureSpec.columns.map((name, j) => ({ name, importance: imp[j] })) })));
  }
  const perExpert = store.db.prepare(`SELECT author, label, COUNT(*) AS n FROM labels WHERE module = ? AND undone_at IS NULL GROUP BY author, label ORDER BY author, label`).all(module) as Array<{ author: string; label: string; n: number }>;
  const versionRows = models.map((m) => {
    const g = m.gate;
    const interval = g?.challenger ? `${g.metric} ${fmt(g.challenger.value)} [${fmt(g.challenger.low)}, ${fmt(g.challenger.high)}]` : '—';
    const diff = g?.difference ? `${fmt(g.difference.value)} [${fmt(g.difference.low)}, ${fmt(g.difference.high)}] vs v${g.champion?.version}` : '—';
    const current = s.versions.find((v) => v.version === m.version)?.currentRevision ?? true;
    return `<tr><td>v${m.version}</td><td>${esc(m.status)}${m.provisional ? ' <b>(provisional)</b>' : ''}${current ? '' : ' (other revision)'}</td><td>${m.nLabels}</td>`
      + `<td>${fmt(m.metrics.fom)}</td><td>${fmt(m.metrics.accuracy)}</td><td>${fmt(m.metrics.auc)}</td><td>${esc(interval)}${g?.estimate ? ` <span class="muted">${esc(g.estimate)}</span>` : ''}</td><td>${esc(diff)}</td>`
      + `<td>${g ? esc(g.summary ?? g.reason) : '—'}</td><td>${esc(m.createdAt)}</td></tr>`;
  }).join('\n');
  const deployments = store.deploymentHistory(module).map((d) => `<li>${esc(d.createdAt)}: ${esc(d.action)} v${d.version} by ${esc(d.actor)}${d.reason ? ` — ${esc(d.reason)}` : ''}</li>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(s.title)} — Sieve module report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>body{font-family:'DejaVu Sans',system-ui,sans-serif;margin:2rem;max-width:1100px;color:#223}table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:.25rem .5rem;font-size:.9rem}
pre{background:#f5f6f8;padding:.75rem;overflow:auto}.charts{display:flex;flex-wrap:wrap;gap:1rem}.muted{color:#667}</style></head>
<body>
<h1>${esc(s.title)} <span class="muted">(${esc(s.name)}, ${esc(s.survey)}, ${esc(s.kind)})</span></h1>
<p>Revision ${s.revision}; deployed version: ${s.deployedVersion === null ? 'none' : `v${s.deployedVersion}`}. Cuts: ${s.cuts.expression ? `<code>${esc(s.cuts.expression)}</code>` : 'none'} —
${s.cuts.passing} of ${s.cuts.alerts} stored ${s.survey === 'lsst' ? 'Rubin' : 'ZTF'} alerts pass. Report made ${esc(new Date().toISOString())} by Sieve.</p>
<h2>Versions</h2>
<table><thead><tr><th>version</th><th>status</th><th>labels</th><th>FoM</th><th>accuracy</th><th>AUC</th><th>gate estimate (95% interval)</th><th>difference from the champion</th><th>gate decision</th><th>created</th></tr></thead>
<tbody>${versionRows}</tbody></table>
<h2>Figures</h2>
<div class="charts">${charts.join('\n')}</div>
<h2>Labels</h2>
<p>Labelled objects per class: ${Object.entries(s.labels.objectsPerClass).map(([c, n]) => `${esc(c)} ${n}`).join(', ')}; not trained on: ${s.labels.objectsNotTrainedOn}.</p>
<table><thead><tr><th>expert</th><th>label</th><th>labels</th></tr></thead><tbody>${perExpert.map((r) => `<tr><td>${esc(r.author)}</td><td>${esc(r.label)}</td><td>${r.n}</td></tr>`).join('')}</tbody></table>
<h2>Deployments</h2>
<ul>${deployments || '<li>none</li>'}</ul>
<h2>Declaration</h2>
<pre>${esc(JSON.stringify(s.declaration, null, 2))}</pre>
</body></html>
`;
}
