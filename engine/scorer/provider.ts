import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Store } from '../core/store/store.ts';
import { loadModuleVersion, type ModuleVersion } from './score.ts';

/** Where a scorer learns which module versions are in force. Polled between batches. */
export interface VersionProvider {
  /** The verified versions in force now (one per module); a refused version leaves the previous one. */
  poll(): ModuleVersion[];
  close(): void;
}

type Log = (line: string) => void;

/** Shared bookkeeping: verify a candidate version, switch to it, or refuse it once with a clear line. */
class InForce {
  private readonly current = new Map<string, ModuleVersion>();
  private readonly refused = new Set<string>();

  constructor(private readonly log: Log) {}

  /** Whether the candidate is in force after the offer (it was already, or it verified now). */
  offer(candidate: ModuleVersion | null, module: string, origin: string, fallback = false): boolean {
    const now = this.current.get(module);
    if (!candidate) return false;
    if (now && now.version === candidate.version && now.bundleJson === candidate.bundleJson && now.expectedSpecHash === candidate.expectedSpecHash) return true;
    const key = `${module}@${candidate.version}:${candidate.bundleJson.length}:${candidate.expectedSpecHash ?? ''}`;
    if (this.refused.has(key)) return false;
    try {
      loadModuleVersion(candidate);
    } catch (e) {
      this.refused.add(key);
      const then = now ? `keeping v${now.version}` : fallback ? 'trying the next lower version' : 'no version in force yet';
      this.log(`scorer: REFUSED ${module} v${candidate.version} from ${origin}: ${(e as Error).message}; ${then}`);
      return false;
    }
    this.current.set(module, candidate);
    this.log(`scorer: ${module} v${candidate.version} in force${now ? ` (was v${now.version})` : ''} from ${origin}`);
    return true;
  }

  versionInForce(module: string): number | null {
    return this.current.get(module)?.version ?? null;
  }

  /** Whether this version is already in force or was refused (then there is nothing to fetch). */
  settled(module: string, version: number, expectedSpecHash?: string): boolean {
    const cur = this.current.get(module);
    if (cur?.version === version && cur.expectedSpecHash === expectedSpecHash) return true;
    for (const k of this.refused) if (k.startsWith(`${module}@${version}:`) && k.endsWith(`:${expectedSpecHash ?? ''}`)) return true;
    return false;
  }

  versions(modules: readonly string[]): ModuleVersion[] {
    const out: ModuleVersion[] = [];
    for (const m of modules) {
      const v = this.current.get(m);
      if (!v) throw new Error(`scorer: no usable deployed version of ${m}`);
      out.push(v);
    }
    return out;
  }
}

/** The store's model registry: whatever is deployed (deploy and rollback alike) is what scores. */
export class RegistryProvider implements VersionProvider {
  private readonly store: Store;
  private readonly inForce: InForce;

  constructor(dbPath: string, private readonly modules: readonly string[], log: Log = (l) => process.stderr.write(`${l}\n`)) {
    this.store = Store.open(dbPath);
    this.inForce = new InForce(log);
  }

  poll(): ModuleVersion[] {
    const declared = new Map(this.store.moduleDeclarations().map((r) => [r.name, r]));
    for (const m of this.modules) {
      const d = declared.get(m);
      if (!d) throw new Error(`scorer: unknown module '${m}' in ${this.store.path} (enabled modules: ${[...declared.keys()].join(', ') || 'none'})`);
      const v = this.store.deployedVersion(m);
      // bundles are megabytes: read one only when the deployed version (or the module's revision) is new here
      if (v === null || this.inForce.settled(m, v, d.featureSpecHash)) continue;
      const row = this.store.db.prepare('SELECT bundle_json FROM models WHERE module = ? AND version = ?').get(m, v) as { bundle_json: string };
      // a version trained under another revision's features or cuts is refused: the registry's module has moved on
      this.inForce.offer({ module: m, version: v, bundleJson: row.bundle_json, expectedSpecHash: d.featureSpecHash }, m, `registry ${this.store.path}`);
    }
    return this.inForce.versions(this.modules);
  }

  close(): void {
    this.store.close();
  }
}

/**
 * A folder of bundle files (`*.json`): for each module the highest version that verifies is in force; a
 * new file landing there switches the scorers at their next batch. Files are re-read only when they change.
 */
export class FolderProvider implements VersionProvider {
  private readonly seen = new Map<string, { stamp: string; module: string | null; version: number; text: string }>();
  private readonly inForce: InForce;

  constructor(private readonly dir: string, private readonly modules: readonly string[], log: Log = (l) => process.stderr.write(`${l}\n`)) {
    this.inForce = new InForce(log);
  }

  poll(): ModuleVersion[] {
    for (const name of readdirSync(this.dir).filter((f) => f.endsWith('.json')).sort()) {
      const file = path.join(this.dir, name);
      const st = statSync(file);
      const stamp = `${st.size}:${st.mtimeMs}`;
      if (this.seen.get(file)?.stamp === stamp) continue;
      const text = readFileSync(file, 'utf8');
      let module: string | null = null;
      let version = NaN;
      try {
        const m = (JSON.parse(text) as { manifest?: { module?: string; version?: string } }).manifest;
        module = m?.module ?? null;
        version = Number(m?.version);
      } catch {
        // not JSON (yet: a copy in progress); its stamp changes when the copy completes
      }
      this.seen.set(file, { stamp, module, version, text });
    }
    for (const m of this.modules) {
      const files = [...this.seen.entries()].filter(([, s]) => s.module === m && Number.isInteger(s.version)).sort((a, b) => b[1].version - a[1].version);
      // Newest first: the highest version that verifies is in force, at start-up as mid-run (a refused
      // newest file falls back to the next one down). A refusal never pushes out the version in force for
      // a lower one; removing the newest file does (a rollback by hand).
      const inForce = this.inForce.versionInForce(m);
      let refusedOne = false;
      for (const [file, s] of files) {
        if (refusedOne && inForce !== null && s.version < inForce) break;
        if (this.inForce.offer({ module: m, version: s.version, bundleJson: s.text }, m, file, inForce === null)) break;
        refusedOne = true;
      }
    }
    return this.inForce.versions(this.modules);
  }

  close(): void {}
}
