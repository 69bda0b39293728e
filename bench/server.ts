/**
 * Workbench benchmarks: API throughput (GET next alert, GET alert detail, POST label) with concurrent
 * clients on localhost, and keypress-to-next-alert latency measured in Debian's chromium.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../engine/server/index.ts';
import { demoCommand } from '../engine/cli/demo.ts';
import { SHARED_DATA } from './paths.ts';

const SHARED = SHARED_DATA;

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

async function loop(seconds: number, clients: number, once: (client: number) => Promise<number>): Promise<{ requests: number; perSecond: number; p50: number; p95: number; errors: number }> {
  const deadline = performance.now() + seconds * 1000;
  const lat: number[] = [];
  let errors = 0;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    while (performance.now() < deadline) {
      const t = performance.now();
      const status = await once(c);
      lat.push(performance.now() - t);
      if (status >= 400) errors++;
    }
  }));
  return { requests: lat.length, perSecond: lat.length / seconds, p50: percentile(lat, 0.5), p95: percentile(lat, 0.95), errors };
}

export async function runServerBenchmarks(nSim = 3000, seconds = 5, clients = 16): Promise<Array<{ what: string; value: string }>> {
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-bench-ui-')), 'bench.db');
  const log = console.log;
  console.log = () => {};
  try {
    await demoCommand({ db, n: nSim, seed: 1, serve: false, in: [`${SHARED}ztf/alerts.jsonl`] });
  } finally {
    console.log = log;
  }
  const server = await startServer({ dbPath: db, port: 0, workbench: { retrainEvery: 0, persistAnomalyEvery: 0 } });
  const out: Array<{ what: string; value: string }> = [];
  try {
    const tokens = Array.from({ length: clients }, (_, i) => server.store.addUser(`bench${i}`, 'expert').token);
    const h = (c: number) => ({ authorization: `Bearer ${tokens[c]}`, 'content-type': 'application/json' });
    const ids = (server.store.db.prepare('SELECT id FROM alerts ORDER BY id').all() as Array<{ id: number }>).map((r) => r.id);
    const report = (what: string, r: Awaited<ReturnType<typeof loop>>) =>
      out.push({ what, value: `${r.perSecond.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, p95 ${r.p95.toFixed(1)} ms (${r.requests} requests, ${r.errors} errors)` });

    report(`GET next alert (anomaly queue, k=1, leased), ${clients} clients`, await loop(seconds, clients, async (c) => {
      const r = await fetch(`${server.url}/api/modules/anomaly/queue?k=1`, { headers: h(c) });
      await r.arrayBuffer();
      return r.status;
    }));
    let k = 0;
    report(`GET alert detail (light curve, features, fits, scores), ${clients} clients`, await loop(seconds, clients, async () => {
      const r = await fetch(`${server.url}/api/alerts/${ids[k++ % ids.length]}`);
      await r.arrayBuffer();
      return r.status;
    }));
    let j = 0;
    report(`POST label (early-snia 'unsure': no retrain), ${clients} clients`, await loop(seconds, clients, async (c) => {
      const r = await fetch(`${server.url}/api/labels`, { method: 'POST', headers: h(c), body: JSON.stringify({ module: 'early-snia', alertId: ids[j++ % ids.length], label: 'unsure' }) });
      await r.arrayBuffer();
      return r.status;
    }));
    let m = 0;
    report(`POST label (anomaly: AAD re-weight + re-rank of ${ids.length} alerts), ${clients} clients`, await loop(seconds, clients, async (c) => {
      const r = await fetch(`${server.url}/api/labels`, { method: 'POST', headers: h(c), body: JSON.stringify({ module: 'anomaly', alertId: ids[m++ % ids.length], label: m % 7 ? 'nominal' : 'anomaly' }) });
      await r.arrayBuffer();
      return r.status;
    }));

    let executablePath: string | null = null;
    try {
      executablePath = execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
    } catch {
      out.push({ what: 'keypress -> next alert (browser)', value: 'skipped: no chromium (apt-get install -y chromium)' });
    }
    if (executablePath) {
      const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
      try {
        const admin = server.store.addUser('bench-ui', 'expert').token;
        const page = await browser.newPage({ viewport: { width: 1500, height: 1000 } });
        const trace: string[] = [];
        if (process.env.SIEVE_BENCH_TRACE) {
          page.on('request', (r) => { if (r.url().includes('/api/')) trace.push(`> ${r.method()} ${r.url().replace(server.url, '')}`); });
          page.on('response', async (r) => { if (r.url().includes('/queue')) trace.push(`< ${(await r.text().catch(() => '?')).replace(/"reason":"[^"]*",/g, '').slice(0, 600)}`); });
          page.on('console', (m) => trace.push(`console ${m.text()}`));
        }
        for (const module of ['early-snia', 'anomaly']) try {
          await page.goto(`${server.url}/#token=${admin}`);
          await page.goto(`${server.url}/#/queue/${module}`);
          await page.reload();
          await page.waitForSelector('[data-testid=alert-view]');
          await page.evaluate(() => Object.assign(globalThis, { __sieveMeasureLatency: true, __sieveLatencies: [] }));
          const n = 40;
          for (let i = 0; i < n; i++) {
            const before = await page.getAttribute('[data-testid=alert-view]', 'data-alert-id', { timeout: 10_000 }).catch(async () => {
              const status = await page.textContent('[data-testid=status]').catch(() => '?');
              const items = await page.$$eval('[data-testid=queue] li', (li) => li.length).catch(() => -1);
              const direct = await (await fetch(`${server.url}/api/modules/${module}/queue?k=20`, { headers: { authorization: `Bearer ${admin}` } })).json();
              if (trace.length) console.error(trace.join('\n'));
              throw new Error(`${module}: no alert on screen after ${i} labels; status '${status}', ${items} queued; API gives ${JSON.stringify(direct).slice(0, 400)}`);
            });
            await page.keyboard.press(i % 2 ? '2' : '1');
            await page.waitForFunction((b) => (globalThis as unknown as { document: { querySelector(s: string): { getAttribute(n: string): string | null } | null } }).document.querySelector('[data-testid=alert-view]')?.getAttribute('data-alert-id') !== b, before);
            // an expert takes a moment per alert: lets the prefetch run as it would
            await page.waitForTimeout(150);
          }
          const lat = await page.evaluate(() => (globalThis as unknown as { __sieveLatencies: number[] }).__sieveLatencies);
          out.push({ what: `keypress -> next alert painted, ${module}, ${lat.length} labels (chromium)`, value: `p50 ${percentile(lat, 0.5).toFixed(1)} ms, p95 ${percentile(lat, 0.95).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms (goal < 100 ms)` });
        } catch (e) {
          // reported as a row, so that one stuck page does not take the scorer section down with it
          out.push({ what: `keypress -> next alert painted, ${module} (chromium)`, value: `FAILED: ${(e as Error).message.slice(0, 300)}` });
        }
      } finally {
        await browser.close();
      }
    }
  } finally {
    await server.close();
  }
  return out;
}
