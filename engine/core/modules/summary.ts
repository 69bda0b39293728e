import { featureSpecHash } from '../../../features/index.ts';
import type { Store } from '../store/store.ts';
import { moduleOf } from './registry.ts';
import { truthPatterns } from './truth.ts';
import { computeFeatures } from '../features/pipeline.ts';

/**
 * What an expert wants to know of a module: its declaration and revisions, how many stored alerts pass its
 * cuts, its labels per label and per class, and its versions (with whether each belongs to the current
 * revision's feature space).
 */
export function moduleSummary(store: Store, name: string) {
  const def = moduleOf(store, name);
  const ex = def.extractor();
  computeFeatures(store, ex);
  const hash = featureSpecHash(ex.spec);
  // a module reads its own survey's alerts only: the others are no part of its pass rate
  const counts = store.poolCounts(ex.spec, def.survey);
  const cut = { n: counts.alerts, pass: counts.passing };
  const perLabel = store.labelProgress(name).perLabel;
  const perClass: Record<string, number> = Object.fromEntries(def.classNames.map((c) => [c, 0]));
  let notTrained = 0;
  for (const l of store.trainingLabels(name).values()) {
    const c = def.labelToClass(l);
    if (c === null) notTrained++;
    else perClass[def.classNames[c]]++;
  }
  const revisions = store.moduleRevisions(name);
  return {
    name: def.name, title: def.title, survey: def.survey, kind: def.kind, declaration: def.declaration, truth: truthPatterns(def),
    revision: revisions.at(-1)?.revision ?? null, revisions, featureSpecHash: hash, columns: ex.spec.columns,
    cuts: { expression: def.declaration.cuts ?? null, survey: def.survey, alerts: cut.n, passing: cut.pass, passRate: cut.n ? cut.pass / cut.n : null },
    labels: { perLabel, objectsPerClass: perClass, objectsNotTrainedOn: notTrained },
    deployedVersion: store.deployedVersion(name),
    versions: store.listModels(name).map((m) => ({ version: m.version, status: m.status, currentRevision: m.featureSpecHash === hash, provisional: m.provisional })),
  };
}
