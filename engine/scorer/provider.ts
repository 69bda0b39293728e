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

/** No bundle is this large (a 1,000-tree forest is ~100 MB of JSON); and V8's strings stop at 512 MB. */
const MAX_BUNDLE_BYTES = 400 << 20;

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
      const then = now ? `keeping v${now.version}` : fallback ? 'trying the next usable version' : 'no version in force yet';
      this.log(`scorer: REFUSED ${module} v${candidate.version} from ${origin}: ${(e as Error).message}; ${then}`);
      this.noteRefusal(module, `v${candidate.version} from ${origin} refused (${(e as Error).message})`);
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

  /** Why the versions of a module tried so far were refused: `v3 (where: why)`, for the line that gives up. */
  private readonly reasons = new Map<string, string[]>();

  noteRefusal(module: string, what: string): void {
    const list = this.reasons.get(module) ?? [];
    if (!list.includes(what)) list.push(what);
    this.reasons.set(module, list);
  }

  versions(modules: readonly string[], where: string, unreadable: readonly string[] = []): ModuleVersion[] {
    const out: ModuleVersion[] = [];
    for (const m of modules) {
      const v = this.current.get(m);
      if (!v) {
        const tried = [...(this.reasons.get(m) ?? []), ...unreadable];
        throw new Error(`scorer: no usable deployed version of ${m} in ${where}${tried.length ? `: ${tried.join('; ')}` : ' (none is deployed)'}`);
      }
      out.push(v);
    }
    return out;
  }
}

/** The store's model registry: whatever is deployed (deploy and rollback alike) is what scores. */
export class RegistryProvider implements VersionProvider {
  private readonly store: Store;
  private readonly inForce: InForce;

  constructor(dbPath: string, private readonly modules: readonly string[], private readonly log: Log = (l) => process.stderr.write(`${l}\n`)) {
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
      // a version trained under another revision's features or cuts is refused: the registry's module has moved on
      if (this.offerVersion(m, v, d.featureSpecHash, this.inForce.versionInForce(m) === null)) continue;
      if (this.inForce.versionInForce(m) !== null) continue; // the version in force keeps scoring
      // Nothing in force (start-up) and the deployed bundle is unusable (corrupt in the store, another
      // revision): fall back to the versions deployed before it, most recent first, as a rollback would.
      const earlier = [...new Set(this.store.deploymentHistory(m).map((h) => h.version).reverse())].filter((x) => x !== v);
      for (const x of earlier) {
        if (this.inForce.settled(m, x, d.featureSpecHash)) continue;
        if (this.offerVersion(m, x, d.featureSpecHash, true)) {
          this.log(`scorer: ${m}: deployed v${v} is unusable, scoring with v${x}, the last usable version deployed before it (${this.store.path})`);
          break;
        }
      }
    }
    return this.inForce.versions(this.modules, `registry ${this.store.path}`);
  }

  private offerVersion(m: string, v: number, expectedSpecHash: string, fallback: boolean): boolean {
    const row = this.store.db.prepare('SELECT bundle_json FROM models WHERE module = ? AND version = ?').get(m, v) as { bundle_json: string } | undefined;
    if (!row) {
      this.inForce.noteRefusal(m, `v${v} is not in registry ${this.store.path}`);
      return false;
    }
    return this.inForce.offer({ module: m, version: v, bundleJson: row.bundle_json, expectedSpecHash }, m, `registry ${this.store.path}`, fallback);
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

  constructor(private readonly dir: string, private readonly modules: readonly string[], private readonly log: Log = (l) => process.stderr.write(`${l}\n`)) {
    this.inForce = new InForce(log);
  }

  poll(): ModuleVersion[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((f) => f.endsWith('.json')).sort();
    } catch (e) {
      throw new Error(`scorer: cannot list the bundle folder ${this.dir}: ${(e as Error).message}`);
    }
    for (const name of names) {
      const file = path.join(this.dir, name);
      let stamp: string;
      let text: string;
      try {
        const st = statSync(file);
        stamp = `${st.size}:${st.mtimeMs}`;
        if (this.seen.get(file)?.stamp === stamp) continue;
        if (st.size > MAX_BUNDLE_BYTES) throw new Error(`${st.size} bytes, larger than any bundle (${MAX_BUNDLE_BYTES})`);
        text = readFileSync(file, 'utf8');
      } catch (e) {
        // removed between the listing and the read, unreadable, too large: said once, then left alone
        const why = (e as Error).message;
        if (this.seen.get(file)?.stamp !== `error:${why}`) this.log(`scorer: skipped ${file}: ${why}`);
        this.seen.set(file, { stamp: `error:${why}`, module: null, version: NaN, text: '' });
        continue;
      }
      let module: string | null = null;
      let version = NaN;
      try {
        const m = (JSON.parse(text) as { manifest?: { module?: string; version?: string } }).manifest;
        module = typeof m?.module === 'string' ? m.module : null;
        version = Number(m?.version);
        if (module === null || !Number.isInteger(version)) this.log(`scorer: skipped ${file}: JSON but not a bundle (no manifest with module and version)`);
      } catch (e) {
        // not JSON (a copy in progress, or a corrupt file): said once per state of the file; a finished copy
        // changes its stamp and is read again
        this.log(`scorer: skipped ${file}: not a bundle (not JSON: ${(e as Error).message})`);
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
    const unreadable = [...this.seen.entries()].filter(([, x]) => x.module === null).map(([f]) => `${f} is not a readable bundle`);
    return this.inForce.versions(this.modules, `bundle folder ${this.dir}`, unreadable);
  }

  close(): void {}
}
