/**
 * The scale section: a pool of N simulated alerts (half a ZTF night, half a Rubin night, `sieve simulate`)
 * through `ingest`, `features`, `train` of every shipped module and `queue`, each step a `sieve` process
 * (compiled code, as a user runs it) measured by /usr/bin/time: CPU-seconds of the whole process (worker
 * threads included), wall time and peak RSS. For each step the growth exponent between sizes
 * (log(cpu2/cpu1)/log(N2/N1); 1 is linear). Then the stored bytes per alert by kind, and the API over the
 * largest store with 4 concurrent experts (queue and alert-detail latencies, first queue per module, label
 * to re-ranked queue). Goals: 1M alerts through all steps in under 15 minutes, peak RSS under 2 GB.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import path from 'node:path';
import { Store } from '../engine/core/store/store.ts';
import { BUILTIN_DECLARATIONS_DIR, compileModule, moduleOf, parseDeclaration, storeModules } from '../engine/core/modules/index.ts';
import { SIEVE_BIN } from './paths.ts';

const SIEVE = SIEVE_BIN;

export interface StepRun {
  step: string;
  n: number;
  cpuSeconds: number;
  wallSeconds: number;
  peakRssMb: number;
  note?: string;
}

export interface ScaleReport {
  steps: StepRun[];
  storage: Array<{ n: number; kind: string; bytesPerAlert: number }>;
  api: Array<{ what: string; value: string }>;
}

/** One `sieve` command in its own process: CPU (user + system, all threads), wall and peak RSS. */
function timed(step: string, n: number, args: string[]): StepRun & { stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', process.execPath, SIEVE, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = /([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.status !== 0 || !m) throw new Error(`bench scale: sieve ${args.join(' ')}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return { step, n, wallSeconds: Number(m[1]), cpuSeconds: Number(m[2]) + Number(m[3]), peakRssMb: Number(m[4]) / 1024, stdout: r.stdout };
}

/** Expert labels from the simulated truth, as each module's declaration maps classes (or, without a catalogue, the bench's rule). */
function labelFromTruth(module: string, simClass: string, catalogLabel: (c: string) => string | null): string | null {
  if (module === 'anomaly' || module === 'anomaly-rubin') return ['kilonova', 'TDE', 'SLSN', 'microlensing'].includes(simClass) ? 'anomaly' : 'nominal';
  if (module === 'satellite-glints') return simClass === 'bogus' ? 'glint' : 'not glint';
  return catalogLabel(simClass);
}

/**
 * Labels for every module: up to `perModule` alerts of its pool, spread over it, as even over the labels as
 * the pool allows, by the simulated truth. The catalogue is read from the shipped declaration file: a module
 * compiled from the store's canonical JSON has its catalogue keys sorted, so '*' matches first (reported).
 */
function addLabels(db: string, perModule: number): { labels: number; perModule: Record<string, number> } {
  const store = Store.open(db);
  const out: Record<string, number> = {};
  try {
    for (const m of storeModules(store)) {
      const file = path.join(BUILTIN_DECLARATIONS_DIR, `${m.name}.json`);
      const catalog = compileModule(parseDeclaration(readFileSync(file, 'utf8'), file)).catalogLabel;
      const pool = store.poolIds(m.extractor().spec);
      const byLabel = new Map<string, number[]>();
      const step = Math.max(1, Math.floor(pool.alertIds.length / (perModule * 20)));
      for (let i = 0; i < pool.alertIds.length; i += step) {
        const a = store.getAlert(pool.alertIds[i]);
        const label = a.label === undefined ? null : labelFromTruth(m.name, a.label, catalog);
        if (label === null) continue;
        if (!byLabel.has(label)) byLabel.set(label, []);
        byLabel.get(label)!.push(a.id);
      }
      // round robin over the labels: a rare class gets as many as it has
      const lists = [...byLabel.values()];
      let n = 0;
      for (let k = 0; n < perModule && lists.some((l) => l.length > k); k++) {
        for (const l of lists) if (l.length > k && n < perModule) {
          const label = [...byLabel.entries()].find(([, v]) => v === l)![0];
          store.addLabel({ module: m.name, alertId: l[k], label, author: `expert${n % 4}` });
          n++;
        }
      }
      out[m.name] = n;
    }
  } finally {
    store.close();
  }
  return { labels: Object.values(out).reduce((s, x) => s + x, 0), perModule: out };
}

/** Stored bytes per alert by kind: the values (payload), then the pages on disk (SQLite's dbstat). */
function storage(db: string, n: number): Array<{ n: number; kind: string; bytesPerAlert: number }> {
  const store = Store.open(db);
  try {
    const q = (sql: string) => (store.db.prepare(sql).get() as { b: number | null }).b ?? 0;
    const pages = (names: string[]) => q(`SELECT SUM(pgsize) AS b FROM dbstat WHERE name IN (${names.map((x) => `'${x}'`).join(', ')})`);
    const perAlert = ['alerts', 'sqlite_autoindex_alerts_1', 'alerts_object', 'feature_values', 'module_pool', 'rankings'];
    const stampPages = pages(['stamps', 'sqlite_autoindex_stamps_1']);
    const file = statSync(db).size;
    return [
      { kind: 'light curve (values)', b: q('SELECT SUM(LENGTH(light_curve)) AS b FROM alerts') },
      { kind: 'candidate: fields the light curve does not give, broker columns (values)', b: q('SELECT SUM(LENGTH(candidate_json)) AS b FROM alerts') },
      { kind: 'alert ids, key, position, jd, band, magpsf, label (values)', b: q(`SELECT SUM(LENGTH(alert_key) + COALESCE(LENGTH(candid), 0) + LENGTH(object_id) + LENGTH(survey) + 32 + COALESCE(LENGTH(band), 0) + COALESCE(LENGTH(source_label), 0)) AS b FROM alerts`) },
      { kind: 'stamps (values)', b: q('SELECT SUM(LENGTH(bytes)) AS b FROM stamps') },
      { kind: 'features, one row per extractor (values)', b: q('SELECT SUM(LENGTH(vals)) AS b FROM feature_values') },
      { kind: 'module pools: passing alerts, alert-field features (values)', b: q('SELECT SUM(COALESCE(LENGTH(fields), 0)) AS b FROM module_pool') },
      { kind: 'pool rankings of the deployed versions (values)', b: q('SELECT SUM(LENGTH(alert_ids) + LENGTH(scores) + LENGTH(shown)) AS b FROM rankings') },
      { kind: 'per-alert tables and indexes on disk, stamps left out (pages)', b: pages(perAlert) },
      { kind: 'model registry, labels, audit and the rest (pages; not per alert)', b: file - pages(perAlert) - stampPages },
      { kind: 'store file', b: file },
    ].map((r) => ({ n, kind: r.kind, bytesPerAlert: r.b / n }));
  } finally {
    store.close();
  }
}

export function runScaleSteps(sizes: readonly number[], dir: string, log: (line: string) => void = () => {}): ScaleReport & { dbOf: Map<number, string> } {
  mkdirSync(dir, { recursive: true });
  const steps: StepRun[] = [];
  const store: ScaleReport['storage'] = [];
  const dbOf = new Map<number, string>();
  for (const n of sizes) {
    const ztf = path.join(dir, `ztf-${n}.jsonl.gz`);
    const lsst = path.join(dir, `lsst-${n}.jsonl.gz`);
    const db = path.join(dir, `scale-${n}.db`);
    for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    const push = (r: StepRun) => {
      steps.push(r);
      log(`  ${String(n).padStart(8)} ${r.step.padEnd(34)} ${r.cpuSeconds.toFixed(1).padStart(8)} CPU-s ${r.wallSeconds.toFixed(1).padStart(8)} s wall ${r.peakRssMb.toFixed(0).padStart(6)} MB${r.note ? `  ${r.note}` : ''}`);
    };
    if (!existsSync(ztf)) push({ ...timed('simulate (input, not in the goal)', n, ['simulate', '--n', String(n / 2), '--seed', '1', '--out', ztf]), stdout: '' } as StepRun);
    if (!existsSync(lsst)) push({ ...timed('simulate lsst (input, not in the goal)', n, ['simulate', '--survey', 'lsst', '--n', String(n / 2), '--seed', '2', '--out', lsst]) });
    const ingest = timed('ingest', n, ['ingest', ztf, lsst, '--db', db]);
    push({ ...ingest, note: ingest.stdout.trim().split('\n').pop() });
    const features = timed('features', n, ['features', '--db', db]);
    push({ ...features, note: features.stdout.trim().split('\n').pop() });
    const t0 = performance.now();
    const labels = addLabels(db, 200);
    log(`  ${String(n).padStart(8)} labels (setup, not timed)           ${labels.labels} labels from the simulated truth (${Object.entries(labels.perModule).map(([k, v]) => `${k} ${v}`).join(', ')}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const names = Object.keys(labels.perModule);
    let train: StepRun = { step: 'train (every module)', n, cpuSeconds: 0, wallSeconds: 0, peakRssMb: 0 };
    const skipped: string[] = [];
    for (const m of names) {
      try {
        const r = timed(`train ${m}`, n, ['train', m, '--db', db, '--actor', 'bench']);
        train = { ...train, cpuSeconds: train.cpuSeconds + r.cpuSeconds, wallSeconds: train.wallSeconds + r.wallSeconds, peakRssMb: Math.max(train.peakRssMb, r.peakRssMb) };
      } catch (e) {
        skipped.push(`${m}: ${(e as Error).message.split(': ').slice(-1)[0]}`);
      }
    }
    push({ ...train, note: `${names.length - skipped.length} of ${names.length} modules${skipped.length ? `; not trained: ${skipped.join('; ')}` : ''}` });
    let queue: StepRun = { step: 'queue (every module)', n, cpuSeconds: 0, wallSeconds: 0, peakRssMb: 0 };
    for (const m of names) {
      const r = timed(`queue ${m}`, n, ['queue', m, '--db', db, '--expert', 'bench-new']);
      queue = { ...queue, cpuSeconds: queue.cpuSeconds + r.cpuSeconds, wallSeconds: queue.wallSeconds + r.wallSeconds, peakRssMb: Math.max(queue.peakRssMb, r.peakRssMb) };
    }
    push({ ...queue, note: `${names.length} modules, 10 alerts each` });
    const total = steps.filter((s) => s.n === n && !s.step.startsWith('simulate'));
    push({ step: 'total (ingest + features + train + queue)', n, cpuSeconds: total.reduce((s, r) => s + r.cpuSeconds, 0), wallSeconds: total.reduce((s, r) => s + r.wallSeconds, 0), peakRssMb: Math.max(...total.map((r) => r.peakRssMb)) });
    store.push(...storage(db, n));
    dbOf.set(n, db);
  }
  return { steps, storage: store, api: [], dbOf };
}

/** log(cpu2 / cpu1) / log(n2 / n1) of a step between consecutive sizes. */
export function exponents(steps: readonly StepRun[]): Array<{ step: string; from: number; to: number; exponent: number }> {
  const out: Array<{ step: string; from: number; to: number; exponent: number }> = [];
  for (const step of [...new Set(steps.map((s) => s.step))]) {
    const runs = steps.filter((s) => s.step === step).sort((a, b) => a.n - b.n);
    for (let i = 1; i < runs.length; i++) out.push({ step, from: runs[i - 1].n, to: runs[i].n, exponent: Math.log(runs[i].cpuSeconds / runs[i - 1].cpuSeconds) / Math.log(runs[i].n / runs[i - 1].n) });
  }
  return out;
}

function http(port: number, method: string, url: string, token: string | null, body?: unknown): Promise<{ status: number; json: unknown; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request({ host: '127.0.0.1', port, method, path: url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString();
        resolve({ status: res.statusCode ?? 0, json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text, ms: performance.now() - t0 });
      });
    });
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

/** CPU time (user + system, all threads) a process has used so far, from /proc. */
function processCpuMs(pid: number): number {
  // fields after the command name: utime and stime are the 12th and 13th, in clock ticks (100 per second on Linux)
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(0.95 * xs.length))];

/** The API over a store: `sieve serve` in its own process, four experts at once. */
export async function runScaleApi(db: string, n: number, port = 18000 + Math.floor(Math.random() * 1000)): Promise<Array<{ what: string; value: string }>> {
  const tokens: string[] = [];
  for (let e = 0; e < 4; e++) {
    const r = spawnSync(process.execPath, [SIEVE, 'user', 'add', `bench-expert${e}`, '--role', 'expert', '--db', db], { encoding: 'utf8' });
    const m = /token: (\S+)/.exec(r.stdout);
    if (!m) throw new Error(`bench scale: user add: ${r.stderr}`);
    tokens.push(m[1]);
  }
  const modules = (() => {
    const store = Store.open(db);
    try {
      return storeModules(store).filter((m) => store.deployedVersion(m.name) !== null).map((m) => ({ name: m.name, kind: moduleOf(store, m.name).kind, label: m.labels[1].label }));
    } finally {
      store.close();
    }
  })();
  const started = performance.now();
  const server = spawn(process.execPath, [...(process.env.SIEVE_BENCH_SERVE_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.SIEVE_BENCH_SERVE_PROF] : []), SIEVE, 'serve', '--db', db, '--port', String(port), '--retrain-every', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  server.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const out: Array<{ what: string; value: string }> = [];
  try {
    for (;;) {
      if (server.exitCode !== null) throw new Error(`bench scale: serve exited: ${stderr.trim().split('\n').pop()}`);
      const ok = await http(port, 'GET', '/api/health', null).then((r) => r.status === 200, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    out.push({ what: `serve: start to /api/health 200 (${n} alerts)`, value: `${((performance.now() - started) / 1000).toFixed(1)} s` });
    // the first queue request of each module after start (rankings from the store, AAD sessions opened)
    const first: string[] = [];
    for (const m of modules) {
      const r = await http(port, 'GET', `/api/modules/${m.name}/queue?k=10`, tokens[0]);
      if (r.status !== 200) throw new Error(`bench scale: queue ${m.name}: ${r.status} ${JSON.stringify(r.json)}`);
      first.push(`${m.name} ${r.ms.toFixed(0)} ms`);
    }
    out.push({ what: 'first queue request per module (goal < 1 s)', value: first.join(', ') });
    // the AAD sessions of large pools open in the background (queues come from the stored rankings meanwhile):
    // the steady state is measured once they are open
    const warm = performance.now();
    for (;;) {
      const h = await http(port, 'GET', '/api/health', null);
      if (!((h.json as { openingSessions?: string[] }).openingSessions ?? []).length) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    out.push({ what: 'AAD sessions open (one at a time, in a worker thread)', value: `${((performance.now() - started) / 1000).toFixed(1)} s after start (waited ${((performance.now() - warm) / 1000).toFixed(1)} s more)` });
    // four experts at once: a queue, then the detail of its first three alerts, module after module
    const queueMs: number[] = [];
    const detailMs: number[] = [];
    // the server's CPU over the phase (all its threads): what the requests cost, whatever else the machine runs
    const cpu0 = processCpuMs(server.pid!);
    const t0 = performance.now();
    await Promise.all(tokens.map(async (token, e) => {
      for (let round = 0; round < 12; round++) {
        const m = modules[(round + e) % modules.length];
        const q = await http(port, 'GET', `/api/modules/${m.name}/queue?k=10`, token);
        queueMs.push(q.ms);
        for (const entry of ((q.json as { entries: Array<{ alertId: number }> }).entries ?? []).slice(0, 3)) {
          const d = await http(port, 'GET', `/api/alerts/${entry.alertId}`, token);
          if (d.status !== 200) throw new Error(`bench scale: alert ${entry.alertId}: ${d.status}`);
          detailMs.push(d.ms);
        }
      }
    }));
    out.push({ what: `4 experts at once: ${queueMs.length} queue requests, p95 (goal < 100 ms)`, value: `${p95(queueMs).toFixed(0)} ms (median ${[...queueMs].sort((a, b) => a - b)[queueMs.length >> 1].toFixed(0)} ms)` });
    const phaseMs = performance.now() - t0;
    const cpuMs = processCpuMs(server.pid!) - cpu0;
    out.push({ what: `4 experts at once: ${detailMs.length} alert-detail requests (every module's view), p95 (goal < 100 ms)`, value: `${p95(detailMs).toFixed(0)} ms (median ${[...detailMs].sort((a, b) => a - b)[detailMs.length >> 1].toFixed(0)} ms); ${((queueMs.length + detailMs.length) / (phaseMs / 1000)).toFixed(0)} requests/s` });
    out.push({ what: '4 experts at once: server CPU per request (all its threads, user + system)', value: `${(cpuMs / (queueMs.length + detailMs.length)).toFixed(1)} ms (${(cpuMs / phaseMs * 100).toFixed(0)}% of one core over the ${(phaseMs / 1000).toFixed(1)} s)` });
    // label -> the re-ranked queue (anomaly: re-weighted AAD; classifier: the object leaves the queue)
    // three labels per module, one after the other (the machine is shared: the median of the three is reported)
    for (const m of modules.filter((x) => x.kind === 'anomaly').concat(modules.filter((x) => x.kind === 'classifier'))) {
      const runs: Array<{ ms: number; labelMs: number; status: number; gone: boolean }> = [];
      for (let r = 0; r < 3; r++) {
        const q = await http(port, 'GET', `/api/modules/${m.name}/queue?k=10`, tokens[1]);
        const head = (q.json as { entries: Array<{ alertId: number; objectId: string }> }).entries[0];
        if (!head) break;
        const tl = performance.now();
        const l = await http(port, 'POST', '/api/labels', tokens[1], { module: m.name, alertId: head.alertId, label: m.label });
        const after = await http(port, 'GET', `/api/modules/${m.name}/queue?k=10`, tokens[1]);
        const gone = !(after.json as { entries: Array<{ objectId: string }> }).entries.some((x) => x.objectId === head.objectId);
        runs.push({ ms: performance.now() - tl, labelMs: l.ms, status: l.status, gone });
      }
      if (!runs.length) {
        out.push({ what: `${m.name}: label -> re-ranked queue`, value: 'not measured: the queue is empty' });
        continue;
      }
      const median = [...runs].sort((a, b) => a.ms - b.ms)[runs.length >> 1];
      const each = runs.map((x) => `${x.ms.toFixed(0)} (label ${x.labelMs.toFixed(0)}, status ${x.status})`).join(', ');
      out.push({ what: `${m.name}: label -> re-ranked queue (goal < 1 s), median of ${runs.length}`, value: `${median.ms.toFixed(0)} ms; each: ${each} ms; labelled object ${runs.every((x) => x.gone) ? 'gone from' : 'STILL IN'} the queue` });
    }
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    if (hwm) out.push({ what: 'serve: peak RSS', value: `${(Number(hwm[1]) / 1024).toFixed(0)} MB (goal < 2 GB)` });
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  return out;
}

/** runScaleApi over a copy of an existing store (its -wal too), in a temporary folder removed after: the source is never written. */
export async function runScaleApiOnCopy(db: string): Promise<{ n: number; rows: Array<{ what: string; value: string }> }> {
  if (!existsSync(db)) throw new Error(`bench scale: SIEVE_BENCH_SCALE_API: no store at ${db}`);
  const dir = mkdtempSync(path.join(tmpdir(), 'sieve-bench-api-'));
  try {
    const copy = path.join(dir, path.basename(db));
    for (const suffix of ['', '-wal']) if (existsSync(db + suffix)) copyFileSync(db + suffix, copy + suffix);
    const store = Store.open(copy);
    let n: number;
    try {
      n = (store.db.prepare('SELECT COUNT(*) AS n FROM alerts').get() as { n: number }).n;
    } finally {
      store.close();
    }
    return { n, rows: await runScaleApi(copy, n) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
