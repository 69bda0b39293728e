import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS, demoAndBrowser } from './browser.ts';

// 1,000 simulated alerts: early-snia (the first queue) scores only alerts with a sigmoid fit in both bands,
// as Fink does; 400 leave 6 unlabelled ones after the demo's seed labels, 1,000 leave 20
const env = demoAndBrowser(['--n', '1000', '--retrain-every', '10']);

const alertId = (page: Page) => page.getAttribute('[data-testid=alert-view]', 'data-alert-id');

describe('the workbench in a browser', () => {
  it('labels 10 alerts by keyboard, undoes one, retrains automatically, deploys as admin; an expert cannot deploy', async () => {
    const page = await env.browser.newPage({ viewport: { width: 1500, height: 1000 } });
    // keypress latencies are kept only when a measurement asks for them
    await page.addInitScript(() => Object.assign(globalThis, { __sieveMeasureLatency: true }));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${env.demo.url}/#token=${env.demo.adminToken}`);
    await expect.poll(() => page.textContent('[data-testid=whoami]')).toContain('demo-admin (admin)');
    await page.waitForSelector('[data-testid=alert-view]');
    await page.waitForSelector('[data-testid=lightcurve] canvas');
    const firstQueue = await page.$$eval('[data-testid=queue] li', (li) => li.map((l) => l.getAttribute('data-alert-id')));
    await page.screenshot({ path: path.join(ARTIFACTS, 'alert-view.png') });

    const labelled: string[] = [];
    for (let i = 0; i < 10; i++) {
      const before = await alertId(page);
      labelled.push(before!);
      await page.keyboard.press(i % 3 === 0 ? '1' : '2');
      await expect.poll(() => alertId(page)).not.toBe(before);
    }
    // the queue moved: the labelled alerts left it
    const queueNow = await page.$$eval('[data-testid=queue] li', (li) => li.map((l) => l.getAttribute('data-alert-id')));
    expect(queueNow.filter((id) => labelled.includes(id!))).toEqual([]);
    expect(queueNow[0]).not.toBe(firstQueue[0]);
    await expect.poll(() => page.$$eval('[data-testid=recent] li', (li) => li.length)).toBe(10);
    await expect.poll(() => page.textContent('[data-testid=progress-total]')).toBe('10');

    // undo the last one: it comes back on screen and leaves the decisions list
    await page.keyboard.press('Backspace');
    await expect.poll(() => alertId(page)).toBe(labelled[9]);
    await expect.poll(() => page.$$eval('[data-testid=recent] li', (li) => li.length)).toBe(9);
    await expect.poll(() => page.textContent('[data-testid=progress-total]')).toBe('9');

    // an alert with its three stamps, opened by its objectId: rendered server-side from the FITS cutouts
    const [stamped] = (await (await fetch(`${env.demo.url}/api/alerts?withCutouts=true&limit=1`)).json()) as Array<{ id: number; objectId: string }>;
    await page.fill('[data-testid=search]', stamped.objectId);
    await page.press('[data-testid=search]', 'Enter');
    // opened in the page's module: a ZTF object from early-snia's queue stays in early-snia
    await expect.poll(() => page.url()).toMatch(/#\/alert\/\d+\?module=early-snia$/);
    for (const kind of ['science', 'template', 'difference']) {
      await expect.poll(() => page.$eval(`[data-testid=cutout-${kind}]`, (img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThanOrEqual(31 * 4);
    }
    await page.waitForSelector('[data-testid=lightcurve] canvas');
    await page.screenshot({ path: path.join(ARTIFACTS, 'alert-view-stamps.png') });
    await page.click('[data-testid=nav-queue]');
    await page.waitForSelector('[data-testid=queue]');

    // help overlay
    await page.keyboard.press('?');
    await page.waitForSelector('[data-testid=help]');
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid=help]', { state: 'detached' });

    const latencies = await page.evaluate(() => (globalThis as unknown as { __sieveLatencies: number[] }).__sieveLatencies);
    expect(latencies.length).toBe(10);
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(`keypress -> next alert painted: p50 ${sorted[4].toFixed(1)} ms, max ${sorted[9].toFixed(1)} ms`);

    // the 10th label started a retrain in a worker: version 2 shows up in the models view
    await page.click('[data-testid=nav-models]');
    await page.waitForSelector('[data-testid=versions]');
    await expect.poll(() => page.$$('[data-testid=versions] tr[data-version="2"]').then((r) => r.length), { timeout: 90_000, interval: 500 }).toBe(1);
    if ((await page.getAttribute('tr[data-version="2"]', 'data-status')) === 'deployed') {
      // promoted automatically: step back so that the admin deploys it by hand
      await page.click('[data-testid=rollback]');
      await expect.poll(() => page.getAttribute('tr[data-version="2"]', 'data-status')).not.toBe('deployed');
    }
    await page.click('[data-testid=deploy-2]');
    await expect.poll(() => page.getAttribute('tr[data-version="2"]', 'data-status')).toBe('deployed');
    await page.waitForSelector('[data-testid=confusion]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'models-view.png'), fullPage: true });
    // proposed to Fink: the README for Fink's reviewers previewed, the fink-science folder a zip to download
    await page.click('[data-testid=propose-2]');
    await page.waitForSelector('[data-testid=proposal-readme]');
    expect(await page.textContent('[data-testid=proposal-readme]')).toMatch(/## What it does[\s\S]*## Who declared it[\s\S]*## Held-out metrics/);
    expect(await page.getAttribute('[data-testid=proposal-zip]', 'href')).toBe('/api/models/early-snia/2/export?format=fink-science');
    expect(await page.textContent('[data-testid=proposal-snippet]')).toContain('early_snia_score');
    const deployments = await page.textContent('[data-testid=deployments]');
    expect(deployments).toContain('deploy v2 by demo-admin');
    expect(errors).toEqual([]);

    // an expert sees no deploy button and the API refuses them
    const created = await fetch(`${env.demo.url}/api/users`, { method: 'POST', headers: { authorization: `Bearer ${env.demo.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'vera', role: 'expert' }) });
    const { token } = (await created.json()) as { token: string };
    const expertPage = await env.browser.newPage();
    await expertPage.goto(`${env.demo.url}/#token=${token}`);
    await expect.poll(() => expertPage.textContent('[data-testid=whoami]')).toContain('vera (expert)');
    await expertPage.click('[data-testid=nav-models]');
    await expertPage.waitForSelector('[data-testid=versions] tr[data-version="1"]');
    expect(await expertPage.$$('[data-testid^=deploy-]')).toHaveLength(0);
    expect(await expertPage.$$('[data-testid=rollback]')).toHaveLength(0);
    const refused = await expertPage.evaluate(async (t) => (await fetch('/api/models/early-snia/deploy', {
      method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: JSON.stringify({ version: 1 }),
    })).status, token);
    expect(refused).toBe(403);
    const still = await (await fetch(`${env.demo.url}/api/models/early-snia`)).json() as { deployedVersion: number };
    expect(still.deployedVersion).toBe(2);
  }, 240_000);

  it('keeps the queue filled when labels reach a slow server after the next queue request', async () => {
    const created = await fetch(`${env.demo.url}/api/users`, { method: 'POST', headers: { authorization: `Bearer ${env.demo.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'swift', role: 'expert' }) });
    const { token } = (await created.json()) as { token: string };
    const page = await env.browser.newPage();
    // labels take 3 s to arrive, so queue refills are answered while many labels are still in flight
    await page.route('**/api/labels', async (route) => {
      if (route.request().method() === 'POST') await new Promise((r) => setTimeout(r, 3000));
      await route.continue();
    });
    await page.goto(`${env.demo.url}/#token=${token}`);
    await expect.poll(() => page.textContent('[data-testid=whoami]')).toContain('swift');
    await page.goto(`${env.demo.url}/#/queue/anomaly`);
    await page.waitForSelector('[data-testid=alert-view]');
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const before = (await page.getAttribute('[data-testid=alert-view]', 'data-alert-id', { timeout: 15_000 }))!;
      seen.add(before);
      await page.keyboard.press(i % 2 ? '2' : '1');
      await expect.poll(() => alertId(page), { timeout: 15_000 }).not.toBe(before);
    }
    expect(seen.size).toBe(30);
    await expect.poll(async () => ((await (await fetch(`${env.demo.url}/api/modules/anomaly/progress`)).json()) as { perLabel: Record<string, number> }).perLabel.anomaly ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(15);
  }, 120_000);
});
