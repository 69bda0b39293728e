import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS, demoAndBrowser } from './browser.ts';

/** The workbench as a new user met it (issue 10): each check failed on the UI before the fix. */
const env = demoAndBrowser(['--n', '300', '--retrain-every', '0']);

async function signedIn(viewport = { width: 1400, height: 900 }): Promise<Page> {
  const page = await env.browser.newPage({ viewport });
  await page.goto(`${env.demo.url}/#token=${env.demo.adminToken}`);
  await expect.poll(() => page.textContent('[data-testid=whoami]')).toContain('demo-admin');
  return page;
}

const overlap = (a: { x: number; y: number; width: number; height: number }, b: { x: number; y: number; width: number; height: number }) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('the workbench for a new user', () => {
  it('shows three stamps on the first screen of every queue', async () => {
    const page = await signedIn();
    for (const module of ['early-snia', 'kilonova', 'anomaly']) {
      await page.goto(`${env.demo.url}/#/queue/${module}`);
      await page.waitForSelector('[data-testid=alert-view]');
      expect(await page.$$('.nocutout'), module).toHaveLength(0);
      for (const kind of ['science', 'template', 'difference']) {
        await expect.poll(() => page.$eval(`[data-testid=cutout-${kind}]`, (img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
      }
    }
    await page.screenshot({ path: path.join(ARTIFACTS, 'first-screen-stamps.png') });
  });

  it('labels an alert opened by search, with the module\'s keys', async () => {
    const page = await signedIn();
    const [hit] = (await (await fetch(`${env.demo.url}/api/alerts?withCutouts=true&limit=1`)).json()) as Array<{ id: number; objectId: string }>;
    await page.goto(`${env.demo.url}/#/queue/kilonova`);
    await page.fill('[data-testid=search]', hit.objectId);
    await page.press('[data-testid=search]', 'Enter');
    await expect.poll(() => page.getAttribute('[data-testid=alert-view]', 'data-alert-id')).toBe(String(hit.id));
    await page.waitForSelector('[data-testid=label-bar]');
    await page.keyboard.press('2');
    await expect.poll(() => page.textContent('[data-testid=status]')).toContain(`${hit.objectId}: other (kilonova)`);
    const mine = (await (await fetch(`${env.demo.url}/api/labels?module=kilonova`, { headers: { authorization: `Bearer ${env.demo.adminToken}` } })).json()) as Array<{ alertId: number; label: string; queue: string }>;
    expect(mine[0]).toMatchObject({ alertId: hit.id, label: 'other', queue: 'search' });
  });

  it('keeps the label buttons in view on the anomaly queue at 1400x900', async () => {
    const page = await signedIn({ width: 1400, height: 900 });
    await page.goto(`${env.demo.url}/#/queue/anomaly`);
    await page.waitForSelector('[data-testid=features] tr');
    // 50 features: 25 rows of g and r (and the header)
    expect(await page.$$eval('[data-testid=features] tbody tr', (r) => r.length)).toBe(25);
    expect(await page.$$eval('[data-testid=features] tbody td[data-testid^=feature-]:not([data-testid^=feature-unit-])', (c) => c.length)).toBe(50);
    const bar = (await page.$('[data-testid=label-bar]'))!;
    const box = (await bar.boundingBox())!;
    expect(box.y + box.height).toBeLessThanOrEqual(900);
    expect(box.y).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'anomaly-queue-1400x900.png') });
  });

  it('shows units, dashes for ZTF\'s -999 sentinels and what "row" means', async () => {
    const page = await signedIn();
    // a simulated alert: ssdistnr is ZTF's -999 "no solar-system object"
    const [sim] = (await (await fetch(`${env.demo.url}/api/alerts?objectId=SIM1x0`)).json()) as Array<{ id: number }>;
    await page.goto(`${env.demo.url}/#/alert/${sim.id}?module=early-snia`);
    await page.waitForSelector('[data-testid=context-ssdistnr]');
    expect((await page.textContent('[data-testid=context-ssdistnr]'))!.trim()).toBe('—');
    expect(await page.textContent('[data-testid=context-distpsnr1]')).toMatch(/arcsec$/);
    expect(await page.textContent('[data-testid=context-magpsf]')).toMatch(/mag$/);
    // every context field with an explanation carries it as the row's title
    expect(await page.getAttribute('tr:has([data-testid=context-ssdistnr])', 'title')).toMatch(/solar-system object/);
    // the early SN Ia features carry their units (the sigmoid's a in 1/day, b in days, c in FLUXCAL), one per feature of the g/r grid
    await page.goto(`${env.demo.url}/#/queue/early-snia`);
    await page.waitForSelector('[data-testid=feature-a_g]');
    expect(await page.textContent('[data-testid=feature-unit-a]')).toBe('1/day');
    expect(await page.textContent('[data-testid=feature-unit-b]')).toBe('day');
    expect(await page.textContent('[data-testid=feature-unit-c]')).toBe('FLUXCAL');
  });

  it('signs in from a #token= link opened in a tab that already shows the workbench', async () => {
    const page = await env.browser.newPage();
    await page.goto(`${env.demo.url}/#/queue/early-snia`);
    await page.waitForSelector('[data-testid=token-input]');
    await page.evaluate((t) => ((globalThis as unknown as { location: { hash: string } }).location.hash = `#token=${t}`), env.demo.adminToken);
    await expect.poll(() => page.textContent('[data-testid=whoami]').catch(() => null)).toContain('demo-admin');
  });

  it('shows toasts away from the comment box', async () => {
    const page = await signedIn();
    await page.goto(`${env.demo.url}/#/queue/early-snia`);
    await page.waitForSelector('[data-testid=comment]');
    await page.evaluate(async (t) => fetch('/api/models/early-snia/retrain', { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: '{}' }), env.demo.adminToken);
    await page.waitForSelector('[data-testid=toast]', { timeout: 90_000 });
    const toast = (await (await page.$('[data-testid=toast]'))!.boundingBox())!;
    const comment = (await (await page.$('[data-testid=comment]'))!.boundingBox())!;
    expect(overlap(toast, comment)).toBe(false);
    // one short line (main showed ~60 words of bootstrap intervals), clear of the "Last decisions" column's list
    expect((await page.textContent('[data-testid=toast]'))!.length).toBeLessThan(120);
    const decisions = (await (await page.$('.recent h3'))!.boundingBox())!;
    expect(overlap(toast, decisions)).toBe(false);
  }, 120_000);

  it('warns that the held-out set is too small and marks the version provisional; no meaningless anomaly curve', async () => {
    const page = await signedIn();
    await page.goto(`${env.demo.url}/#/models/early-snia`);
    await page.waitForSelector('[data-testid=versions]');
    await expect.poll(async () => (await page.textContent('[data-testid=small-heldout]'))?.replace(/\s+/g, ' ')).toMatch(/too small to decide.*under 30 objects per class/);
    expect(await page.$$('[data-testid=provisional-1]')).toHaveLength(1);
    expect(await page.textContent('[data-testid=gate-1]')).toMatch(/fom [\d.]+ \[[\d.]+, [\d.]+\]/);
    const api = (await (await fetch(`${env.demo.url}/api/models/early-snia/1`)).json()) as { provisional: boolean; gate: { challenger: { low: number; high: number } } };
    expect(api.provisional).toBe(true);
    expect(api.gate.challenger.low).toBeLessThanOrEqual(api.gate.challenger.high);
    await page.goto(`${env.demo.url}/#/models/anomaly`);
    await page.waitForSelector('[data-testid=no-curve]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'models-view-provisional.png'), fullPage: true });
  });

  it('shows every module of the store with its page; a four-class module has a 4 x 4 confusion matrix', async () => {
    const page = await signedIn();
    await page.goto(`${env.demo.url}/#/models/microlensing`);
    await page.waitForSelector('[data-testid=module-page]');
    const buttons = await page.$$eval('[data-testid^=module-]:not([data-testid=module-page])', (b) => b.map((x) => x.getAttribute('data-testid')));
    expect(buttons).toEqual(['module-early-snia', 'module-kilonova', 'module-anomaly', 'module-anomaly-rubin', 'module-early-snia-rubin', 'module-microlensing', 'module-satellite-glints']);
    await page.waitForSelector('[data-testid=confusion]');
    expect(await page.$$eval('[data-testid=confusion] tbody tr', (r) => r.length)).toBe(4);
    expect(await page.$$eval('[data-testid=confusion] thead th', (r) => r.map((x) => x.textContent))).toEqual(['', 'predicted ML', 'predicted VAR', 'predicted CONST', 'predicted SN']);
    expect(await page.textContent('[data-testid=declaration]')).toContain('"name": "microlensing"');
    await page.screenshot({ path: path.join(ARTIFACTS, 'models-view-microlensing.png'), fullPage: true });
  });

  it('serves a module report that opens in a tab (not a download) with no request leaving the page', async () => {
    const res = await fetch(`${env.demo.url}/api/models/early-snia/report.html`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe('inline; filename="early-snia-report.html"');
    const models = await signedIn();
    await models.goto(`${env.demo.url}/#/models/early-snia`);
    await models.waitForSelector('[data-testid=report-link]');
    expect(await models.getAttribute('[data-testid=report-link]', 'download')).toBeNull();
    expect(await models.getAttribute('[data-testid=report-link]', 'target')).toBe('_blank');
    const file = path.join(ARTIFACTS, 'early-snia-report-download.html');
    writeFileSync(file, await res.text());
    const page = await env.browser.newPage({ viewport: { width: 1200, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${file}`);
    await page.waitForSelector('svg');
    expect(await page.$$eval('svg', (s) => s.length)).toBeGreaterThanOrEqual(3);
    expect(requests.filter((u) => u !== `file://${file}`)).toEqual([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'module-report.png'), fullPage: true });
  });

  it('keeps no keypress latencies unless measuring', async () => {
    const page = await signedIn();
    await page.goto(`${env.demo.url}/#/queue/anomaly`);
    await page.waitForSelector('[data-testid=alert-view]');
    const before = await page.getAttribute('[data-testid=alert-view]', 'data-alert-id');
    await page.keyboard.press('s');
    await expect.poll(() => page.getAttribute('[data-testid=alert-view]', 'data-alert-id')).not.toBe(before);
    await new Promise((r) => setTimeout(r, 100));
    expect(await page.evaluate(() => (globalThis as unknown as { __sieveLatencies?: number[] }).__sieveLatencies)).toBeUndefined();
  });
});
