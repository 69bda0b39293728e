import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Random } from '../../datasets/index.ts';
import { Store } from '../../engine/index.ts';
import { Workbench, buildApp, DEFAULT_WORKBENCH_OPTIONS } from '../../engine/server/index.ts';
import { demoStore } from './fixture.ts';

const CLIENTS = 50;
const SECONDS = 10;

let store: Store;
let wb: Workbench;
let app: Awaited<ReturnType<typeof buildApp>>;
let base: string;

beforeAll(async () => {
  // a night big enough that 50 experts do not empty the early SN Ia pool in 10 s
  store = Store.create(await demoStore(1500));
  // retraining stays on (every 10 labels, in worker threads) so the load meets real retrains
  wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 10, nEstimators: 30 });
  app = await buildApp(wb);
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await app.close();
  await wb.close();
  store.close();
});

describe('50 experts labelling at once', () => {
  it(`loses no label and answers no 5xx over ${SECONDS} s`, async () => {
    const tokens = Array.from({ length: CLIENTS }, (_, i) => store.addUser(`load${i}`, 'expert').token);
    const deadline = Date.now() + SECONDS * 1000;
    const statuses = new Map<number, number>();
    const accepted = new Map<string, Array<{ id: number; alertId: number; label: string }>>();
    const failures: string[] = [];
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);

    async function client(i: number): Promise<void> {
      const rng = new Random(7, i);
      const module = i % 2 ? 'anomaly' : 'early-snia';
      const labels = module === 'anomaly' ? ['anomaly', 'nominal', 'unsure'] : ['SN Ia', 'other SN', 'not SN', 'unsure'];
      const headers = { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' };
      const mine: Array<{ id: number; alertId: number; label: string }> = [];
      accepted.set(`load${i}`, mine);
      while (Date.now() < deadline) {
        const q = await fetch(`${base}/api/modules/${module}/queue?k=3`, { headers: { authorization: headers.authorization } });
        count(q.status);
        if (q.status !== 200) {
          failures.push(`queue ${q.status}: ${await q.text()}`);
          continue;
        }
        const { entries } = (await q.json()) as { entries: Array<{ alertId: number }> };
        if (!entries.length) {
          await new Promise((r) => setTimeout(r, 250)); // an empty queue: ask again later, as the UI does
          continue;
        }
        for (const e of entries) {
          if (Date.now() >= deadline) break;
          const label = labels[Math.floor(rng.next() * labels.length)];
          const r = await fetch(`${base}/api/labels`, { method: 'POST', headers, body: JSON.stringify({ module, alertId: e.alertId, label }) });
          count(r.status);
          if (r.status === 201) mine.push({ id: ((await r.json()) as { id: number }).id, alertId: e.alertId, label });
          else failures.push(`label ${r.status}: ${await r.text()}`);
        }
      }
    }

    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));
    await wb.close(); // let retrains started by the load finish before checking the store
    const total = [...accepted.values()].reduce((s, a) => s + a.length, 0);
    console.log(`${CLIENTS} clients, ${SECONDS} s: ${total} labels accepted; statuses ${JSON.stringify(Object.fromEntries(statuses))}; retrained early-snia to v${store.listModels('early-snia').at(-1)?.version}`);
    expect(failures).toEqual([]);
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    expect(total).toBeGreaterThan(CLIENTS);
    for (const [author, rows] of accepted) {
      const stored = store.db.prepare('SELECT id, alert_id, label FROM labels WHERE author = ? ORDER BY id').all(author) as Array<{ id: number; alert_id: number; label: string }>;
      expect(stored.map((r) => ({ id: r.id, alertId: r.alert_id, label: r.label }))).toEqual(rows);
    }
    // no object was labelled by two experts for the same module while leased: each expert saw disjoint alerts
    const dup = store.db.prepare(`SELECT module, object_id, COUNT(DISTINCT author) AS n FROM labels WHERE author LIKE 'load%' AND label != 'unsure'
      GROUP BY module, object_id HAVING n > 1`).all();
    expect(dup).toEqual([]);
  });
});
