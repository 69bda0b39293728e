import type { ModelBundle } from '../../../models/index.ts';
import { FINK_ZTF_FIELDS } from '../modules/fields.ts';
import type { ModuleDefinition } from '../modules/compile.ts';
import type { GateReport } from '../gate.ts';
import type { ProcessorPlan } from './processor.ts';

/** What the store knows of a version beyond its bundle: who declared the module, and the gate's report. */
export interface FinkScienceContext {
  declaredBy?: { author: string; createdAt: string; revision: number } | null;
  gate?: GateReport | null;
  status?: string | null;
}

/** Columns Fink's Rubin science modules write (fink_broker/rubin/science.py). */
const FINK_RUBIN_OUTPUTS = ['earlySNIa_score', 'snnSnVsOthers_score', 'cats_class', 'cats_score', 'elephant_kstest_science', 'elephant_kstest_template'];

/** Output columns that Fink's own modules already write: the snippet would replace them. */
export function replacedFinkColumns(plan: ProcessorPlan): string[] {
  const fink: readonly string[] = plan.survey === 'ztf' ? FINK_ZTF_FIELDS : FINK_RUBIN_OUTPUTS;
  return plan.outputColumns.filter((c) => fink.includes(c));
}

/** The lines to add to fink-broker's science.py (fink_broker/ztf/science.py or fink_broker/rubin/science.py). */
export function scienceSnippet(plan: ProcessorPlan): string {
  const file = `fink_broker/${plan.surveyFolder}/science.py`;
  const args = `${plan.pythonName}_args`;
  const L = [
    `# ${file}, with the other science modules' imports:`,
    `from fink_science.${plan.surveyFolder}.${plan.pythonName}.processor import ${plan.functionName}`,
    '',
    plan.survey === 'ztf'
      ? '# in apply_science_modules(), after the last module and before `df = df.drop(*expanded)` (the c* columns are still there):'
      : '# in apply_science_modules(), in the CLASSIFIERS section before `classifier_struct` is computed (so that the column joins `clf`):',
    `    _LOG.info("New processor: ${plan.module} (Sieve module v${plan.version})")`,
    `    ${args} = [`,
    ...plan.arguments.map((a) => `        F.col(${JSON.stringify(a)}),`),
    '    ]',
  ];
  if (plan.outputColumns.length === 1) L.push(`    df = df.withColumn(${JSON.stringify(plan.outputColumns[0])}, ${plan.functionName}(*${args}))`);
  else {
    const tmp = `${plan.pythonName}_module`;
    L.push('    cols_before = df.columns');
    L.push(`    df = df.withColumn(${JSON.stringify(tmp)}, ${plan.functionName}(*${args}))`);
    L.push(`    df = df.select(cols_before + [df[${JSON.stringify(tmp)}][k].alias(k) for k in ${JSON.stringify(plan.outputColumns)}])`);
  }
  return L.join('\n');
}

const outsideText = (x: number) => (Number.isNaN(x) ? 'no value (NaN)' : String(x));
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(4));

/** README.md for fink-science's reviewers: what the module does, who declared it, its data, its metrics, how to wire it. */
export function readmeText(plan: ProcessorPlan, def: ModuleDefinition, bundle: ModelBundle, ctx: FinkScienceContext): string {
  const d = def.declaration;
  const m = bundle.manifest;
  const L: string[] = [];
  L.push(`# ${def.title} (\`${plan.pythonName}\`)`, '');
  L.push(`A science module declared in Sieve, the active-learning workbench, and trained on experts' labels: module`);
  L.push(`\`${plan.module}\` version ${plan.version}, proposed as a fink-science processor for ${plan.survey === 'ztf' ? 'ZTF' : 'Rubin'} alerts.`, '');
  if (d.description) L.push(d.description, '');
  L.push('## What it does', '');
  L.push(`\`${plan.functionName}\` (\`fink_science/${plan.surveyFolder}/${plan.pythonName}/processor.py\`, a \`pandas_udf\`) takes fink-broker's columns`);
  L.push(`${plan.arguments.map((a) => `\`${a}\``).join(', ')} and, for each alert:`, '');
  L.push('1. computes the module\'s features with Fink\'s own code:');
  for (const e of plan.extractors) L.push(`   - \`${e.name}\`: ${e.counterpart.finkCode};`);
  for (const f of plan.fields.filter((x) => x.role === 'feature')) L.push(`   - \`${f.name}\`: fink-broker's \`${f.field.column}\`${f.field.derive ? ' (as Sieve reads it)' : ''};`);
  L.push(`2. keeps the alerts ${plan.extractors.length ? 'its extractors select and ' : ''}that pass the module's cuts${d.cuts ? `, \`${d.cuts}\` (Sieve's cut language; a missing value fails every comparison but \`!=\`)` : ' (none declared)'};`);
  if (plan.kind === 'forest') {
    L.push(`3. scores them with a random forest (scikit-learn pickle \`fink_science/data/models/${plan.modelFile}\`, ${(bundle.model as { nodes?: { roots?: unknown[] } }).nodes?.roots?.length ?? 'its'} trees, classes ${def.classNames.map((c) => `\`${c}\``).join(', ')}; a missing feature goes to the right child at every split, as Sieve trains it);`);
    L.push(`4. writes \`${plan.outputColumns[0]}\`, the probability of \`${def.broker.positive}\`${plan.outputColumns.length > 1 ? `, and each class's probability as ${plan.outputColumns.slice(1).map((c) => `\`${c}\``).join(', ')}` : ''}; ${outsideText(plan.outside)} outside the cuts.`);
  } else {
    L.push(`3. scores them with one AAD forest per band (ONNX in \`fink_science/data/models/${plan.modelFile}\`, run with onnxruntime as Fink's anomaly module runs its forests); a band counts when all its features are finite;`);
    L.push(`4. writes \`${plan.outputColumns[0]}\`, the minimum over the valid bands (lower = more anomalous), NaN without a valid band; ${outsideText(plan.outside)} outside the cuts.`);
  }
  if (d.broker.tag) L.push('', `Sieve tags \`${d.broker.tag}\` at ${plan.kind === 'forest' ? `a probability of ${d.broker.threshold ?? 0.5} or more` : d.broker.threshold === undefined ? 'a threshold the scorer is given' : `a score of ${d.broker.threshold} or less`}: a filter in fink-filters can do the same.`);
  const replaced = replacedFinkColumns(plan);
  if (replaced.length) L.push('', `**Note:** Fink already writes ${replaced.map((c) => `\`${c}\``).join(', ')}; the snippet below replaces it. Rename \`broker.score\` in the declaration to keep both.`);
  L.push('', '## Who declared it', '');
  if (ctx.declaredBy) L.push(`Declared by **${ctx.declaredBy.author}** (revision ${ctx.declaredBy.revision} of the module, ${ctx.declaredBy.createdAt}).`);
  else L.push('Exported from a model bundle alone: the store that knows who declared the module was not given.');
  L.push(`Model version ${plan.version} trained ${m.created}${ctx.status ? `, ${ctx.status} in Sieve's registry` : ''}; bundle sha256 \`${bundle.sha256}\`, weights sha256 \`${m.modelSha256}\`.`, '');
  L.push('## Training data', '');
  L.push(`${m.training.size} labelled alerts (dataset sha256 \`${m.training.datasetSha256}\`), by label:`, '');
  L.push('| label | alerts |', '|---|---|');
  for (const [k, v] of Object.entries(m.training.labelCounts)) L.push(`| ${k} | ${v} |`);
  L.push('', `Features (${plan.featureColumns.length}, in the model's order): ${plan.featureColumns.map((c) => `\`${c}\``).join(', ')}.`, '');
  L.push('## Held-out metrics (Sieve\'s promotion gate)', '');
  const metrics = Object.entries(m.metrics);
  if (metrics.length) {
    L.push('| metric | value |', '|---|---|');
    for (const [k, v] of metrics) L.push(`| ${k} | ${fmt(v)} |`);
  } else L.push('No held-out metric (an anomaly module learns from every label; its forests are re-weighted, not gated).');
  const g = ctx.gate;
  if (g) {
    L.push('', `Gate: ${g.decision} (${g.reason}). Metric ${g.metric}; held-out objects per class: ${Object.entries(g.heldOutObjects).map(([k, v]) => `${k} ${v}`).join(', ')}${g.tooSmall ? ' (too few to decide: provisional)' : ''}.`);
    if (g.challenger) L.push(`This version: ${fmt(g.challenger.value)} [${fmt(g.challenger.low)}, ${fmt(g.challenger.high)}] (${Math.round(g.confidence * 100)}% interval, ${g.resamples} resamples)${g.champion ? `; previous v${g.champion.version}: ${fmt(g.champion.value)}` : ''}.`);
  }
  L.push('', '## Wiring it into fink-broker', '', '```python', scienceSnippet(plan), '```', '');
  L.push('## Dependencies', '');
  L.push(`Only what fink-science already uses: numpy, pandas, ${plan.kind === 'forest' ? 'scikit-learn (the pickle)' : 'onnxruntime'}${plan.extractors.map((e) => e.counterpart.finkCode).join(' ').match(/actsnfink/) ? ', actsnfink' : ''}${plan.extractors.some((e) => /kndetect/.test(e.counterpart.finkCode)) ? ', kndetect' : ''}${plan.extractors.some((e) => /light-curve|RainbowFit|ad_features/.test(e.counterpart.finkCode)) ? ', light-curve' : ''}, fink-utils.`, '');
  // as the bundle carries it (a compiled module may hold the store's canonical copy, keys sorted)
  L.push('## The declaration', '', '```json', JSON.stringify(m.declaration, null, 2), '```', '');
  return L.join('\n');
}
