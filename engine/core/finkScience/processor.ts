import { readFileSync } from 'node:fs';
import type { ModelBundle } from '../../../models/index.ts';
import { expressionNames } from '../modules/expression.ts';
import type { ModuleDeclaration } from '../modules/declaration.ts';
import type { ModuleDefinition } from '../modules/compile.ts';
import { namedExtractor } from '../modules/parts.ts';
import { bandInputs } from '../training.ts';
import { finkCounterpart, FINK_SCIENCE_MODULE_FOLDERS, type FinkCounterpart } from './counterparts.ts';
import { cutsToPython, type CutName } from './cuts.ts';
import { finkField, type FinkField } from './fields.ts';
import { FinkScienceRefusal } from './refusal.ts';

/** What the generated processor is: names, the columns it takes and writes, its model file and its parts. */
export interface ProcessorPlan {
  module: string;
  version: number;
  survey: 'ztf' | 'lsst';
  /** fink-science's folder for the survey (`ztf` or `rubin`). */
  surveyFolder: 'ztf' | 'rubin';
  /** The module's Python name: its folder under fink_science/<survey>/ and the prefix of its function. */
  pythonName: string;
  /** The pandas_udf fink-broker calls. */
  functionName: string;
  /** fink-broker's columns, in the order the function takes them. */
  arguments: string[];
  /** The model's inputs, in order (Sieve's feature columns). */
  featureColumns: string[];
  /** The columns it writes: the score, then with more than two classes one per class. */
  outputColumns: string[];
  kind: 'forest' | 'aad';
  /** Under fink_science/data/models/. */
  modelFile: string;
  extractors: Array<{ name: string; counterpart: FinkCounterpart }>;
  fields: Array<{ name: string; field: FinkField; role: 'feature' | 'cut' }>;
  /** The score written for alerts outside the cuts (NaN: no value). */
  outside: number;
  /** The module's cuts as one numpy expression over `v` (names -> values of the batch). */
  cutsPython: string;
  /** AAD models: the forests in the zip, in the model's band order, and the feature columns (indices) each reads. */
  forests: { files: string[]; columns: number[][] } | null;
}

const TEMPLATES = new URL('./python/', import.meta.url);

/** A fragment of python/: its imports and its body (split at the `# ----` line). */
function fragment(file: string): { imports: string[]; body: string } {
  const text = readFileSync(new URL(file, TEMPLATES), 'utf8');
  const at = text.indexOf('# ----\n');
  if (at < 0) throw new Error(`python/${file}: no '# ----' line between imports and body`);
  return { imports: text.slice(0, at).split('\n').filter((l) => l.trim()), body: text.slice(at + '# ----\n'.length).replace(/^\n+/, '') };
}

const py = (s: string) => JSON.stringify(s);
const pyList = (xs: readonly string[], indent = 4) => {
  const one = `[${xs.map(py).join(', ')}]`;
  if (one.length < 100) return one;
  return `[\n${xs.map((x) => `${' '.repeat(indent)}${py(x)},`).join('\n')}\n]`;
};

/** A module name as a Python identifier that names no existing fink-science module of the survey. */
export function pythonModuleName(module: string, survey: 'ztf' | 'lsst'): string {
  let name = module.replace(/-/g, '_');
  if (/^\d/.test(name)) name = `sieve_${name}`;
  if (FINK_SCIENCE_MODULE_FOLDERS[survey].includes(name)) name = `${name}_sieve`;
  return name;
}

/** The processor's plan for a module version: refused (FinkScienceRefusal) when Fink cannot run it. */
export function planProcessor(bundle: ModelBundle, def: ModuleDefinition): ProcessorPlan {
  const d: ModuleDeclaration = def.declaration;
  const kind = bundle.manifest.modelType === 'random-forest' ? 'forest' : bundle.manifest.modelType === 'aad-two-band' || bundle.manifest.modelType === 'aad-bands' ? 'aad' : null;
  if (kind === null) throw new FinkScienceRefusal(`a ${bundle.manifest.modelType} model has no loader in Fink's processors (random forests and per-band AAD forests have)`);
  const extractors: ProcessorPlan['extractors'] = [];
  const fields: ProcessorPlan['fields'] = [];
  const featureColumns: string[] = [];
  for (const f of d.features) {
    if (typeof f === 'string') {
      const spec = namedExtractor(f).spec;
      const c = finkCounterpart(spec.name);
      if ('refused' in c) throw new FinkScienceRefusal(c.refused);
      extractors.push({ name: f, counterpart: c });
      featureColumns.push(...spec.columns);
    } else {
      for (const name of f.alert) {
        fields.push({ name, field: finkField(d.survey, name), role: 'feature' });
        featureColumns.push(name);
      }
    }
  }
  if (d.cuts) {
    for (const name of expressionNames(d.cuts)) {
      if (!featureColumns.includes(name) && !fields.some((x) => x.name === name)) fields.push({ name, field: finkField(d.survey, name), role: 'cut' });
    }
  }
  const args: string[] = [];
  for (const e of extractors) for (const c of e.counterpart.columns) if (!args.includes(c)) args.push(c);
  for (const f of fields) if (!args.includes(f.field.column)) args.push(f.field.column);
  const pythonName = pythonModuleName(d.name, d.survey);
  const classes = def.classNames;
  const outputColumns = kind === 'forest' && classes.length > 2 ? [def.broker.scoreColumn, ...classes.map((c) => `${def.broker.scoreColumn}_${c}`)] : [def.broker.scoreColumn];
  const resolve = (name: string): CutName => {
    const f = fields.find((x) => x.name === name);
    return { kind: featureColumns.includes(name) || !f ? 'num' : f.field.kind, python: `v[${py(name)}]` };
  };
  const cutsPython = d.cuts ? cutsToPython(d.cuts, resolve) : 'np.bool_(True)';
  const version = Number(bundle.manifest.version);
  let forests: ProcessorPlan['forests'] = null;
  if (kind === 'aad') {
    const { bands, files } = forestFiles(bundle, anomalyZipName(d.name, version));
    forests = { files, columns: forestColumns(def, bands) };
  }
  return {
    module: d.name, version, survey: d.survey, surveyFolder: d.survey === 'ztf' ? 'ztf' : 'rubin',
    pythonName, functionName: `${pythonName}_score`, arguments: args, featureColumns, outputColumns, kind,
    modelFile: `${pythonName}/${d.name}_v${version}.${kind === 'forest' ? 'pkl' : 'zip'}`,
    extractors, fields, outside: outsideValue(def), cutsPython, forests,
  };
}

/**
 * The score outside the module's cuts: the declaration's `broker.outside` where it has one (null: no value),
 * else what Fink's modules write, 0 for a classifier and no value (NaN) for an anomaly score.
 */
export function outsideValue(def: ModuleDefinition): number {
  const declared = (def.declaration.broker as { outside?: number | null }).outside;
  if (declared === null) return NaN;
  return declared ?? (def.kind === 'anomaly' ? NaN : 0);
}

const pyFloat = (x: number) => (Number.isNaN(x) ? 'np.nan' : Number.isInteger(x) ? `${x}.0` : JSON.stringify(x));

/** Python parameter names for fink-broker's columns: the last part of a nested name, made unique. */
function parameterNames(columns: readonly string[]): string[] {
  const out: string[] = [];
  for (const c of columns) {
    let name = c.split('.').pop()!.replace(/[^A-Za-z0-9_]/g, '_');
    if (/^\d/.test(name)) name = `_${name}`;
    while (out.includes(name)) name = `${name}_`;
    out.push(name);
  }
  return out;
}

/** The Python expression of a field's values over the batch (`c` holds fink-broker's columns by name). */
function fieldValues(f: FinkField): string {
  const col = `c[${py(f.column)}]`;
  if (f.derive) return `${f.derive}(${col})`;
  return f.kind === 'text' ? `np.asarray(${col}, dtype=object)` : `_num(${col})`;
}

/**
 * Each band forest's input columns (indices into the feature vector), in the model's band order, found by
 * running the engine's own band wiring on a row of column indices (so Fink's ZTF wiring, where forest_g reads
 * the r-band features, is the engine's and nobody else's).
 */
export function forestColumns(def: ModuleDefinition, bands: readonly string[]): number[][] {
  const d = def.extractor().spec.columns.length;
  const index = Float64Array.from({ length: d }, (_, j) => j);
  return bandInputs(def, index, 1, bands).map((x) => Array.from(x));
}

/** The anomaly zip's forest files, in the model's band order (as exportModelBytes writes them). */
export function forestFiles(bundle: ModelBundle, zipName: string): { bands: string[]; files: string[] } {
  const bands = bundle.manifest.modelType === 'aad-two-band' ? ['g', 'r'] : [...(bundle.model as { bands: string[] }).bands];
  return { bands, files: bands.map((b) => `forest_${b}_AAD_${zipName}.onnx`) };
}

export function anomalyZipName(module: string, version: number): string {
  return `${module}_v${version}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** processor.py: the module as a fink-science processor (a pandas_udf), with its doctest. */
export function processorSource(plan: ProcessorPlan, def: ModuleDefinition, bundle: ModelBundle, header: string): string {
  const parts = [...new Set([...plan.extractors.map((e) => e.counterpart.template), 'cuts.py', ...(plan.fields.some((f) => f.field.derive) ? ['fields.py'] : []), plan.kind === 'forest' ? 'forest.py' : 'aad.py'])].map(fragment);
  const imports = [...new Set(parts.flatMap((p) => p.imports))];
  const stdlib = imports.filter((l) => /^import (os|pickle|zipfile)$/.test(l));
  const others = imports.filter((l) => !stdlib.includes(l));
  const struct = plan.outputColumns.length > 1;
  const params = parameterNames(plan.arguments);
  const d = def.declaration;
  const cutFields = plan.fields.filter((f) => f.role === 'cut');

  const lines: string[] = [];
  lines.push(header, '');
  lines.push(`"""${def.title}: a science module declared in Sieve (${plan.module} v${plan.version}), as a fink-science processor.`);
  if (d.description) lines.push('', ...wrap(d.description, 100));
  lines.push('', 'See README.md beside this file for the declaration, the training data and the held-out metrics.', '"""');
  lines.push(...[...new Set(['import os', ...stdlib])], '', 'import numpy as np', 'import pandas as pd', '');
  lines.push('from pyspark.sql.functions import pandas_udf');
  lines.push(`from pyspark.sql.types import DoubleType${struct ? ', StructField, StructType' : ''}`, '');
  lines.push('from fink_science import __file__', 'from fink_science.tester import spark_unit_tests', '');
  lines.push(...others, '');
  lines.push(`# Sieve's module and version this processor was generated from`);
  lines.push(`MODULE = ${py(plan.module)}`, `MODULE_VERSION = ${plan.version}`, '');
  lines.push(`# fink-broker's columns, in the order ${plan.functionName} takes them`, `ARGUMENTS = ${pyList(plan.arguments)}`, '');
  lines.push(`# the model's inputs, in order`, `FEATURE_COLUMNS = ${pyList(plan.featureColumns)}`, '');
  lines.push(`# the columns written: the score${struct ? ', then the probability of each class' : ''}`, `SCORE_COLUMN = ${py(def.broker.scoreColumn)}`, `OUTPUT_COLUMNS = ${pyList(plan.outputColumns)}`, '');
  if (plan.kind === 'forest') {
    lines.push(`# the forest's classes (classes_ 0..K-1), and the one whose probability is the score`, `CLASSES = ${pyList(def.classNames)}`, `POSITIVE = ${def.positiveClass}`, '');
    lines.push(`MODEL_FILE = ${py(plan.modelFile)}`, '');
  } else {
    const { files, columns } = plan.forests!;
    lines.push(`# one AAD forest per band (lower score = more anomalous), and the feature columns each reads`);
    lines.push(`MODEL_FILE = ${py(plan.modelFile)}`, `FOREST_FILES = ${pyList(files)}`);
    lines.push(`FOREST_COLUMNS = [\n${columns.map((c, b) => `    [${c.join(', ')}],  # ${files[b]}: ${plan.featureColumns[c[0]]} ...`).join('\n')}\n]`, '');
  }
  lines.push(`# the score of an alert outside the module's cuts`, `OUTSIDE = ${pyFloat(plan.outside)}`, '', '');
  for (const p of parts) lines.push(p.body.trimEnd(), '', '');

  // the module's features
  lines.push('def _columns(features, names):', '    missing = [name for name in names if name not in features.columns]', '    if missing:');
  lines.push(`        raise KeyError("Fink's feature code gives no column {}".format(missing))`, '    return features[names].to_numpy(dtype=np.float64)', '', '');
  lines.push('def extract_features(c):', `    """The module's features (FEATURE_COLUMNS) and the alerts its extractors select, for a batch.`, '');
  lines.push("    `c` maps fink-broker's column names (ARGUMENTS) to the batch's pandas Series.", '    """');
  lines.push(`    n = len(c[${py(plan.arguments[0])}])`, '    selected = np.ones(n, dtype=bool)', '    parts = []');
  let at = 0;
  for (const f of d.features) {
    if (typeof f === 'string') {
      const e = plan.extractors.find((x) => x.name === f)!;
      const k = namedExtractor(f).spec.columns.length;
      lines.push(`    # ${f}: ${e.counterpart.finkCode}`);
      lines.push(`    features, ok = ${e.counterpart.fn}(c)`, '    selected &= ok');
      lines.push(`    parts.append(_columns(features, FEATURE_COLUMNS[${at}:${at + k}]))`);
      at += k;
    } else {
      for (const name of f.alert) {
        const x = plan.fields.find((y) => y.name === name)!;
        lines.push(`    parts.append(np.asarray(${fieldValues(x.field)}, dtype=np.float64).reshape(n, 1))  # ${name}`);
        at++;
      }
    }
  }
  lines.push('    return np.column_stack(parts).astype(np.float64), selected', '', '');

  lines.push('def passes_cuts(v):', `    """The module's cuts${d.cuts ? `, in Sieve's cut language:` : ': none.'}`);
  if (d.cuts) {
    lines.push('', ...wrap(d.cuts, 96).map((l) => `        ${l}`), '');
    lines.push('    `v` maps each name the cuts read to its values over the batch. A missing value (NaN, None) makes');
    lines.push('    every comparison false (`!=` true when only one side is missing), as in Sieve.');
  }
  lines.push('    """', `    return ${plan.cutsPython}`, '', '');

  // the pandas_udf
  const returnType = struct ? `StructType([StructField(name, DoubleType(), True) for name in OUTPUT_COLUMNS])` : 'DoubleType()';
  lines.push(`@pandas_udf(${returnType})`);
  lines.push(`def ${plan.functionName}(${params.join(', ')}):`);
  lines.push(...docstring(plan, def, params));
  lines.push(`    c = dict(zip(ARGUMENTS, [${params.join(', ')}]))`);
  lines.push('    features, selected = extract_features(c)');
  lines.push('    v = {name: features[:, j] for j, name in enumerate(FEATURE_COLUMNS)}');
  for (const f of cutFields) lines.push(`    v[${py(f.name)}] = ${fieldValues(f.field)}`);
  lines.push('    passes = selected & np.broadcast_to(passes_cuts(v), selected.shape)');
  if (plan.kind === 'forest') {
    lines.push('    proba = np.zeros((len(passes), len(CLASSES)))');
    lines.push('    if passes.any():', '        proba[passes] = forest_proba(load_forest(MODEL_FILE), features[passes])');
    if (struct) {
      lines.push('    out = pd.DataFrame({SCORE_COLUMN: np.where(passes, proba[:, POSITIVE], OUTSIDE)})');
      lines.push('    for k, name in enumerate(CLASSES):', '        out["{}_{}".format(SCORE_COLUMN, name)] = np.where(passes, proba[:, k], OUTSIDE)', '    return out[OUTPUT_COLUMNS]');
    } else lines.push('    return pd.Series(np.where(passes, proba[:, POSITIVE], OUTSIDE))');
  } else {
    lines.push('    # inside the cuts: NaN when no band has all its features');
    lines.push('    score = np.full(len(passes), OUTSIDE)');
    lines.push('    if passes.any():', '        score[passes] = band_scores(load_band_forests(MODEL_FILE, FOREST_FILES), features[passes], FOREST_COLUMNS)');
    lines.push('    return pd.Series(score)');
  }
  lines.push('', '');
  lines.push('if __name__ == "__main__":', '    """ Execute the test suite """', '', '    globs = globals()', '    path = os.path.dirname(__file__)', '');
  if (plan.survey === 'ztf') lines.push('    ztf_alert_sample = "file://{}/data/alerts/datatest".format(path)', '    globs["ztf_alert_sample"] = ztf_alert_sample');
  else lines.push('    # from fink-alerts-schemas (see CI configuration)', '    rubin_alert_sample = "file://{}/datasim/rubin_test_data_10_0.parquet".format(path)', '    globs["rubin_alert_sample"] = rubin_alert_sample');
  lines.push('', '    # Run the test suite', '    spark_unit_tests(globs)', '');
  return lines.join('\n');
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out;
}

/** The concatenated history + current columns the processor reads (fink-broker builds them with concat_col). */
export function historyColumns(plan: ProcessorPlan): string[] {
  return [...new Set(plan.extractors.flatMap((e) => e.counterpart.columns.filter((c) => /^c[a-zA-Z]+$/.test(c) && c !== 'cdsxmatch')))];
}

/** The pandas_udf's docstring in fink-science's style, with a doctest on Fink's test alerts. */
function docstring(plan: ProcessorPlan, def: ModuleDefinition, params: readonly string[]): string[] {
  const struct = plan.outputColumns.length > 1;
  const L: string[] = [];
  const what = plan.kind === 'forest'
    ? `Return the probability that an alert is ${def.broker.positive} (random forest of Sieve's module ${plan.module} v${plan.version})`
    : `Return the anomaly score of an alert (AAD forests of Sieve's module ${plan.module} v${plan.version}; lower is more anomalous)`;
  L.push(`    """${what}.`, '');
  L.push(`    The module's features are computed by Fink's own code, its cuts applied, and its model loaded from`);
  L.push(`    fink_science/data/models/${plan.modelFile}. Alerts outside the cuts get OUTSIDE (${pyFloat(plan.outside)})${plan.kind === 'aad' ? '; NaN when no band has all its features' : ''}.`, '');
  L.push('    Parameters', '    ----------');
  plan.arguments.forEach((a, i) => L.push(`    ${params[i]}: Spark DataFrame Column`, `        fink-broker's \`${a}\``));
  L.push('', '    Returns', '    -------');
  if (struct) L.push('    out: pd.DataFrame', `        ${plan.outputColumns.join(', ')} (the score, then each class's probability)`);
  else L.push(`    out: pd.Series of float`, `        ${plan.outputColumns[0]}`);
  L.push('', '    Examples', '    --------', '    >>> from fink_utils.spark.utils import concat_col', '    >>> from pyspark.sql import functions as F', '');
  L.push(`    >>> df = spark.read.load(${plan.survey === 'ztf' ? 'ztf_alert_sample' : 'rubin_alert_sample'})`, '');
  const concat = historyColumns(plan).map((a) => a.slice(1));
  const top = plan.arguments.filter((a) => !a.includes('.') && !historyColumns(plan).includes(a) && a !== 'objectId');
  const topText = top.filter((a) => plan.fields.some((f) => f.field.column === a && f.field.kind === 'text') || a === 'cdsxmatch');
  if (top.length) {
    L.push("    # Fink's added columns this module reads, where the sample lacks them (no cross-match is run here)");
    for (const a of top) {
      const value = a === 'cdsxmatch' ? 'F.lit("Unknown")' : `F.lit(None).cast("${topText.includes(a) ? 'string' : 'double'}")`;
      L.push(`    >>> if ${py(a)} not in df.columns:`, `    ...     df = df.withColumn(${py(a)}, ${value})`);
    }
    L.push('');
  }
  if (concat.length) {
    L.push('    # Append temp columns with historical + current measurements');
    L.push(`    >>> for colname in ${pyList(concat)}:`);
    L.push(plan.survey === 'ztf' ? "    ...     df = concat_col(df, colname, prefix='c')" : "    ...     df = concat_col(df, colname, prefix='c', current='diaSource', history='prvDiaSources')");
    L.push('');
  }
  L.push('    >>> args = [F.col(name) for name in ARGUMENTS]');
  if (struct) {
    L.push(`    >>> df = df.withColumn("${plan.pythonName}_module", ${plan.functionName}(*args))`);
    L.push(`    >>> df = df.select(["objectId"] + [df["${plan.pythonName}_module"][k].alias(k) for k in OUTPUT_COLUMNS])`);
  } else L.push(`    >>> df = df.withColumn(SCORE_COLUMN, ${plan.functionName}(*args))`);
  L.push('    >>> pdf = df.select(OUTPUT_COLUMNS).toPandas()', '');
  if (plan.kind === 'forest') {
    L.push(`    # every alert gets probabilities (OUTSIDE outside the module's cuts)`);
    L.push('    >>> bool((((pdf >= 0) & (pdf <= 1)) | (pdf == OUTSIDE) | (pdf.isna() & np.isnan(OUTSIDE))).all().all())', '    True');
  } else {
    L.push("    # a score for the alerts inside the cuts with a valid band, NaN for the others");
    L.push('    >>> bool(np.isfinite(pdf[SCORE_COLUMN].dropna()).all())', '    True');
  }
  L.push('    """');
  return L;
}
