import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { featureSpecHash } from '../../../features/index.ts';
import type { Store } from '../store/store.ts';
import { compileModule, type ModuleDefinition } from './compile.ts';
import { canonicalDeclaration, parseDeclaration, type ModuleDeclaration } from './declaration.ts';

/** The module declarations shipped with Sieve (early-snia, kilonova, anomaly, satellite-glints, microlensing, and for Rubin early-snia-rubin and anomaly-rubin). */
export const BUILTIN_DECLARATIONS_DIR = fileURLToPath(new URL('./declarations/', import.meta.url));

export class UnknownModuleError extends Error {
  constructor(readonly module: string, known: readonly string[]) {
    super(`unknown module '${module}' (modules of this store: ${known.join(', ') || 'none; add one with sieve module add FILE'})`);
    this.name = 'UnknownModuleError';
  }
}

const compiled = new Map<string, ModuleDefinition>();

/** A declaration's compiled module, once per revision (by its checksum) for the whole process. */
export function moduleFromDeclaration(d: ModuleDeclaration): ModuleDefinition {
  const { sha256 } = canonicalDeclaration(d);
  let m = compiled.get(sha256);
  if (!m) compiled.set(sha256, (m = compileModule(d)));
  return m;
}

/** A declaration from its stored canonical JSON (already validated when it was added). */
function fromStored(json: string, sha256: string): ModuleDefinition {
  let m = compiled.get(sha256);
  if (!m) compiled.set(sha256, (m = compileModule(JSON.parse(json) as ModuleDeclaration)));
  return m;
}

/** The enabled modules of a store, in the order they were added. */
export function storeModules(store: Store): ModuleDefinition[] {
  return store.moduleDeclarations().map((r) => fromStored(r.declarationJson, r.sha256));
}

/** One module of a store (its current revision); UnknownModuleError lists the known ones. */
export function moduleOf(store: Store, name: string): ModuleDefinition {
  const r = store.moduleDeclarations().find((x) => x.name === name);
  if (!r) throw new UnknownModuleError(name, store.moduleDeclarations().map((x) => x.name));
  return fromStored(r.declarationJson, r.sha256);
}

/**
 * Validates a declaration and stores it as the module's next revision (kept with author and time). A
 * revision that changes features or cuts starts a new feature space: earlier versions stay in the registry,
 * marked as another revision, and the scorer refuses them.
 */
export function addModule(store: Store, text: string, source: string, author: string): { module: ModuleDefinition; revision: number; created: boolean; featureSpaceChanged: boolean } {
  const d = parseDeclaration(text, source);
  const module = moduleFromDeclaration(d);
  const { json, sha256 } = canonicalDeclaration(d);
  const r = store.addModuleRevision(d.name, json, sha256, featureSpecHash(module.extractor().spec), author);
  return { module, ...r };
}

/** Adds the shipped declarations a store does not have yet (a store that has one keeps its own revision). */
export function ensureBuiltinModules(store: Store, author = 'system'): string[] {
  const have = new Set(store.moduleDeclarations(true).map((r) => r.name));
  const added: string[] = [];
  for (const f of readdirSync(BUILTIN_DECLARATIONS_DIR).filter((x) => x.endsWith('.json')).sort(builtinOrder)) {
    const file = path.join(BUILTIN_DECLARATIONS_DIR, f);
    const d = parseDeclaration(readFileSync(file, 'utf8'), file);
    if (have.has(d.name)) continue;
    addModule(store, readFileSync(file, 'utf8'), file, author);
    added.push(d.name);
  }
  return added;
}

// the classic three first (the order the workbench shows them in), then the others by name
const FIRST = ['early-snia.json', 'kilonova.json', 'anomaly.json'];
function builtinOrder(a: string, b: string): number {
  const ia = FIRST.indexOf(a);
  const ib = FIRST.indexOf(b);
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
}

/** A shipped declaration by module name (experiments use the shipped modules without a store). */
export function builtinModule(name: string): ModuleDefinition {
  for (const f of readdirSync(BUILTIN_DECLARATIONS_DIR).filter((x) => x.endsWith('.json'))) {
    const file = path.join(BUILTIN_DECLARATIONS_DIR, f);
    const d = parseDeclaration(readFileSync(file, 'utf8'), file);
    if (d.name === name) return moduleFromDeclaration(d);
  }
  throw new Error(`no shipped module '${name}'`);
}

const SURVEY_TITLES: Record<string, string> = { ztf: 'ZTF', lsst: 'Rubin/LSST' };

/**
 * Why a module cannot take a label on an alert (null when it can): a module reads its own survey's alerts
 * only, so a label for an alert of the other survey would never be trained on.
 */
export function surveyMismatch(def: ModuleDefinition, alert: { id: number; survey: string }, modulesOfAlertSurvey: readonly string[] = []): string | null {
  if (alert.survey === def.survey) return null;
  const other = modulesOfAlertSurvey.length ? `; label it in a ${SURVEY_TITLES[alert.survey] ?? alert.survey} module (${modulesOfAlertSurvey.join(', ')})` : '';
  return `alert ${alert.id} is a ${SURVEY_TITLES[alert.survey] ?? alert.survey} alert and module ${def.name} reads ${SURVEY_TITLES[def.survey]} alerts only${other}`;
}
