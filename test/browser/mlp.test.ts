import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Store, addModule, ensureBuiltinModules, nextQueue, retrainClassifier } from '../../engine/index.ts';
import { REPO_ROOT, sharedPath } from '../shared.ts';
import { ARTIFACTS, freePort, launchChromium } from './browser.ts';

const MODULE = 'early-snia-mlp';

/** A store with the example network module trained on the TNS-labelled alerts, served by `sieve serve`. */
const env = {} as { url: string; token: string; child: ChildProcess; browser: Browser };
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-ui-mlp-')), 'mlp.db');
  const store = Store.create(db);
  ensureBuiltinModules(store);
  await store.importFiles(['nov2019', '202001', '202002', '202003'].map((m) => sharedPath('tns', `fink_cross_tns_${m}.parquet`)));
  addModule(store, readFileSync(path.join(REPO_ROOT, 'examples', 'early-snia-mlp.json'), 'utf8'), 'early-snia-mlp.json', 'test');
  const eligible = nextQueue(store, MODULE, { k: 10_000, expert: 'oracle' });
  for (const e of eligible.slice(0, Math.round((eligible.length * 2) / 3))) {
    store.addLabel({ module: MODULE, alertId: e.alertId, label: store.getAlert(e.alertId).label!.startsWith('SN Ia') ? 'SN Ia' : 'other SN', author: 'oracle' });
  }
  expect((await retrainClassifier(store, MODULE, { seed: 1 })).promoted).toBe(true);
  env.token = store.addUser('ui-admin', 'admin').token;
  store.close();
  const port = await freePort();
  env.url = `http://localhost:${port}`;
  env.child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'serve', '--db', db, '--port', String(port), '--retrain-every', '0'], { cwd: REPO_ROOT, stdio: 'ignore' });
  const deadline = Date.now() + 150_000;
  for (;;) {
    try {
      if ((await fetch(`${env.url}/api/health`)).status === 200) break;
    } catch {
      if (Date.now() > deadline) throw new Error('sieve serve did not answer /api/health in time');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  env.browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await env.browser?.close();
  env.child?.kill('SIGTERM');
});

describe('a network module in the workbench', () => {
  it('says why an alert was asked (BALD, mean ± spread over the dropout passes) and shows each class\'s mean ± spread', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${env.url}/#token=${env.token}`);
    await expect.poll(() => page.textContent('[data-testid=whoami]')).toContain('ui-admin');
    await page.goto(`${env.url}/#/queue/${MODULE}`);
    await page.waitForSelector('[data-testid=mc-dropout]');
    const reason = (await page.textContent('[data-testid=reason]'))!;
    const m = /^why: bald (0\.\d{4}); p\(SN Ia\) = ([01]\.\d{3}) ± (0\.\d{3}) over 30 dropout passes$/.exec(reason.trim());
    expect(m, reason).not.toBeNull();
    // the model panel: the same passes as the queue's, so the same mean and spread; BALD as in the reason
    expect((await page.textContent('[data-testid="mc-SN Ia"]'))!.trim()).toBe(`${m![2]} ± ${m![3]}`);
    const panel = (await page.textContent('[data-testid=mc-dropout]'))!;
    expect(panel).toMatch(/mean ± spread over 30 Monte-Carlo dropout passes; BALD 0\.\d+ nats, predictive entropy 0\.\d+/);
    expect(Number(/BALD (0\.\d+)/.exec(panel)![1])).toBeCloseTo(Number(m![1]), 3);
    expect(await page.$$eval('[data-testid=probabilities] tr', (rows) => rows.map((r) => r.children[0].textContent))).toEqual(['other', 'SN Ia']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'mlp-alert.png'), fullPage: true });
    // the models view offers the network's exports: bundle, ONNX and its Monte-Carlo ONNX, no pickle
    await page.goto(`${env.url}/#/models/${MODULE}`);
    await page.waitForSelector('a[href$="format=onnx-mc"]');
    expect(await page.$$eval('a[href*="/export?format="]', (a) => a.map((x) => x.textContent))).toEqual(['bundle', 'onnx', 'onnx-mc']);
  }, 180_000);
});
