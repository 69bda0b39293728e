import { existsSync } from 'node:fs';
import path from 'node:path';
import { simulate } from '../../datasets/index.ts';
import { ensureBuiltinModules, storeModules } from '../core/modules/index.ts';
import { nextQueue } from '../core/queue.ts';
import { Store } from '../core/store/store.ts';
import type { ServerApp } from './applications.ts';
import { DEFAULT_SHARED_DATA } from './storeCommands.ts';
import { retrainClassifier, updateAnomalyModule } from '../core/training.ts';
import { computeFeaturesParallel } from '../core/features/pipeline.ts';


/**
 * The real samples the demo adds to its simulated night, relative to --shared: real ZTF alerts with their
 * stamps. (The TNS-labelled tables carry no stamps: an expert's first screens would show none; give them
 * with --in to have them, and `experiment al` uses them by default.)
 */
export const DEMO_SAMPLES = ['ztf/alerts.jsonl', 'lsst/part-2-918301.avro', 'rubin/elasticc_earlysnia.parquet'];

/** The classified archive is simulated from another seed than the night, so that its objects are others. */
const ARCHIVE_SEED_OFFSET = 1000;
const archiveSource = (o: { n: number; seed: number }) => `simulated classified archive (n=${o.n}, seed ${o.seed + ARCHIVE_SEED_OFFSET})`;

/** A version's held-out numbers in one line: the FoM and how many of the positive class it found (two classes), or the accuracy. */
function heldOutLine(m: Record<string, number>, positive: string): string {
  const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(3));
  if (m.tp !== undefined) return `fom ${f(m.fom)}, ${m.tp} of ${m.tp + m.fn} ${positive} found (${m.fp} false), accuracy ${f(m.accuracy)}, auc ${f(m.auc)} on ${m.n} alerts`;
  return m.n ? `accuracy ${f(m.accuracy)}, f1 ${f(m.f1)} on ${m.n} alerts` : 'no held-out alerts yet';
}

/**
 * The main job: a store (embedded SQLite) with a simulated night, the real ZTF sample and the
 * TNS-labelled alerts when ../shared is there (or the given files), features for every module, the first
 * version of each module trained and deployed, the head of each queue, then the API and UI (unless
 * --no-serve) with a fresh admin token printed.
 */
export async function demoCommand(opts: { in?: string[]; shared?: string; n: number; seed: number; db: string; serve: boolean; port?: number; host?: string; retrainEvery?: number }, server?: ServerApp): Promise<void> {
  if (opts.serve && !server) throw new Error('demo: serving needs the server application (engine/main.ts wires it)');
  // the store takes ~20 s to build: find out now, not then, that the port is taken
  if (opts.serve) await server!.assertPortFree(opts.port ?? 8080, opts.host ?? '127.0.0.1');
  const shared = opts.shared ?? DEFAULT_SHARED_DATA;
  const store = Store.create(opts.db);
  try {
    if (store.countAlerts() === 0) {
      // early alerts (caught 0-30 days after the first detection, as the stream delivers them) with stamps,
      // so that the experts' first screens show science / template / difference images
      const sims = [...simulate(opts.n, opts.seed, { stamps: true, earlyAlerts: true })].map((o) => o.alert);
      store.insertAlerts(sims, `simulated night (n=${opts.n}, seed ${opts.seed})`, 'demo');
      // An archive of classified early alerts from earlier nights (another seed): the classifiers' first versions
      // learn from it, as Fink's early SN Ia model learned from TNS-classified archive alerts. A night alone is
      // too small: ~5% of its alerts pass Fink's early SN Ia selection, and a first version trained on a few
      // dozen of them found no SN Ia on its held-out objects.
      store.insertAlerts([...simulate(opts.n, opts.seed + ARCHIVE_SEED_OFFSET, { stamps: true, earlyAlerts: true })].map((o) => o.alert), archiveSource(opts), 'demo');
      // and a Rubin night: the same classes through the LSST mode (ugrizy fluxes, WFD-like cadence)
      const rubinSims = [...simulate(opts.n, opts.seed, { survey: 'lsst', stamps: true, earlyAlerts: true })].map((o) => o.alert).filter((a) => a.lightCurve.detected.some((d) => d === 1));
      store.insertAlerts(rubinSims, `simulated Rubin night (n=${opts.n}, seed ${opts.seed})`, 'demo');
      let files = opts.in ?? [];
      if (!files.length) {
        const samples = DEMO_SAMPLES.map((f) => path.join(shared, ...f.split('/')));
        files = samples.filter((f) => existsSync(f));
        if (files.length < samples.length) console.log(`note: ${samples.filter((f) => !existsSync(f)).join(', ')} not found: the demo goes on without ${files.length ? 'them' : 'real alerts'} (--shared DIR or --in FILES to give them)`);
      }
      if (files.length) await store.importFiles(files, 'demo');
      console.log(`store ${opts.db}: ${store.countAlerts()} alerts (${opts.n} simulated ZTF and ${opts.n} in a classified ZTF archive, ${rubinSims.length} simulated Rubin${files.length ? ` + ${files.map((f) => path.basename(f)).join(', ')}` : ''})`);
    } else console.log(`store ${opts.db}: ${store.countAlerts()} alerts already there`);
    const added = ensureBuiltinModules(store, 'demo');
    if (added.length) console.log(`modules: ${added.join(', ')} (the shipped declarations)`);
    const modules = storeModules(store);
    await computeFeaturesParallel(store, modules);
    // Seed labels so that every classifier has a first version: the known class of simulated and catalogued
    // alerts, as the module's declaration maps catalogue classes to its labels (its `catalog`), recorded as
    // catalogue labels (author demo-seed, kind catalog: not an expert's, hidden from experts until they label).
    const archive = new Set((store.db.prepare('SELECT a.id FROM alerts a JOIN ingests i ON i.id = a.ingest_id WHERE i.source_file = ?').all(archiveSource(opts)) as Array<{ id: number }>).map((r) => r.id));
    for (const def of modules) {
      if (def.kind !== 'classifier' || store.deployedVersion(def.name) !== null) continue;
      // Every eligible archive alert, and half of the night's eligible alerts with a known class (at most 200),
      // seed the first version; the other half of the night stays in the unlabelled pool for the experts' queue.
      const known = nextQueue(store, def.name, { k: Number.MAX_SAFE_INTEGER, expert: 'demo-seed', strategy: 'random', seed: opts.seed })
        .map((e) => ({ e, a: store.getAlert(e.alertId) }))
        .filter(({ a }) => a.label !== undefined && def.catalogLabel(a.label) !== null);
      const fromArchive = known.filter(({ e }) => archive.has(e.alertId));
      const night = known.filter(({ e }) => !archive.has(e.alertId));
      const seeds = [...fromArchive, ...night.slice(0, Math.min(200, Math.ceil(night.length / 2)))];
      for (const { e, a } of seeds) {
        store.addLabel({
          module: def.name, alertId: e.alertId, label: def.catalogLabel(a.label!)!, author: 'demo-seed', authorKind: 'catalog',
          comment: `seeded from the known class (${a.label}${archive.has(e.alertId) ? ', classified archive' : ''})`,
        });
      }
      try {
        const r = await retrainClassifier(store, def.name, { seed: opts.seed, actor: 'demo' });
        console.log(`${def.name}: ${seeds.length} seed labels (${fromArchive.length} from the archive); v${r.version}: ${r.summary ?? r.reason}; held-out: ${heldOutLine(r.metrics, def.classNames[def.positiveClass])}`);
      } catch (e) {
        console.log(`${def.name}: no first version yet (${(e as Error).message})`);
      }
    }
    for (const def of modules) {
      if (def.kind !== 'anomaly' || store.deployedVersion(def.name) !== null) continue;
      const r = updateAnomalyModule(store, def.name, { seed: opts.seed, actor: 'demo' });
      console.log(`${def.name}: v${r.version} deployed (AAD forests, no label yet)`);
    }
    for (const def of modules) {
      const q = nextQueue(store, def.name, { k: 3, expert: 'you' });
      console.log(`queue ${def.name}:`);
      for (const e of q) console.log(`  alert ${e.alertId} ${e.objectId}: ${e.reason}`);
    }
  } finally {
    store.close();
  }
  if (!opts.serve) return;
  const admin = Store.open(opts.db);
  let token: { name: string; token: string };
  try {
    token = { name: 'demo-admin', token: admin.addUser('demo-admin', 'admin', 'demo').token };
  } finally {
    admin.close();
  }
  await server!.serveDemo({ db: opts.db, port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1', retrainEvery: opts.retrainEvery ?? 10, seed: opts.seed }, token);
}
