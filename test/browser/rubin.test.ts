import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS, demoAndBrowser } from './browser.ts';

/** A Rubin alert as a Rubin expert meets it in the workbench (issue 12). */
const RUBIN_OBJECT = '170028513894596704';
const env = demoAndBrowser(['--n', '300', '--retrain-every', '0']);

async function signedIn(): Promise<Page> {
  const page = await env.browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${env.demo.url}/#token=${env.demo.adminToken}`);
  await expect.poll(() => page.textContent('[data-testid=whoami]')).toContain('demo-admin');
  return page;
}

describe('a Rubin alert in the workbench', () => {
  it('shows flux in nJy in Rubin colours, forced photometry as open points, the three stamps, Rubin fields and the Fink Rubin portal', async () => {
    const [hit] = (await (await fetch(`${env.demo.url}/api/alerts?objectId=${RUBIN_OBJECT}`)).json()) as Array<{ id: number }>;
    const detail = (await (await fetch(`${env.demo.url}/api/alerts/${hit.id}?modules=anomaly-rubin`, { headers: { authorization: `Bearer ${env.demo.adminToken}` } })).json()) as {
      survey: string; lightCurve: { bands: string[]; detected: number[] }; context: Record<string, unknown>; extra: Record<string, unknown>; links: Array<{ name: string; url: string }>;
      modules: Array<{ module: string; anomaly?: { bands: Array<{ band: string }> } }>;
    };
    expect(detail.survey).toBe('lsst');
    expect(detail.lightCurve.bands).toEqual(['u', 'g', 'r', 'i', 'z', 'y']);
    expect(detail.lightCurve.detected.filter((d) => d === 0).length).toBeGreaterThan(100);
    expect(Object.keys(detail.context)).toEqual(expect.arrayContaining(['reliability', 'snr', 'extendedness', 'psfFlux']));
    expect(detail.extra['diaObject.nDiaSources']).toBe(377);
    expect(detail.links.find((l) => l.name === 'Fink (Rubin)')?.url).toBe(`https://lsst.fink-portal.org/${RUBIN_OBJECT}`);

    const page = await signedIn();
    await page.goto(`${env.demo.url}/#/queue/anomaly-rubin`);
    await page.waitForSelector('[data-testid=alert-view]');
    await page.goto(`${env.demo.url}/#/alert/${hit.id}?module=anomaly-rubin`);
    await page.waitForSelector('[data-testid=context-reliability]');
    expect(await page.textContent('[data-testid=object-id]')).toBe(RUBIN_OBJECT);
    expect(await page.textContent('[data-testid=context-psfFlux]')).toMatch(/nJy$/);
    for (const kind of ['science', 'template', 'difference']) {
      await expect.poll(() => page.$eval(`[data-testid=cutout-${kind}]`, (img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
    }
    // the legend: detections and forced photometry per band, in Rubin's colours
    await page.waitForSelector('[data-testid=lc-legend] .legend-item');
    const legend = await page.$$eval('[data-testid=lc-legend] .legend-item', (rows) => rows.map((r) => r.textContent?.trim() ?? ''));
    expect(legend).toEqual(expect.arrayContaining(['g', 'g forced', 'r', 'r forced', 'i', 'i forced']));
    expect(await page.textContent('.plot-head small')).toMatch(/forced photometry/);
    // the per-band features carry flux units; the AAD score lists each band's forest
    expect(await page.textContent('[data-testid=feature-unit-mean]')).toBe('nJy');
    expect(await page.textContent('[data-testid=anomaly-score]')).toMatch(/g forest/);
    expect(await page.$$eval('[data-testid=links] a', (a) => a.map((x) => x.textContent))).toContain('Fink (Rubin)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'rubin-alert.png'), fullPage: true });
    // the magnitude view: forced photometry only where the flux is positive
    await page.click('.plot-head button:has-text("mag")');
    await expect.poll(() => page.textContent('.plot-head small')).toMatch(/where the flux is positive/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'rubin-alert-mag.png'), fullPage: true });
  }, 120_000);

  it('queues Rubin alerts only in anomaly-rubin; both Rubin modules have a first version, deployed unless degenerate', async () => {
    const auth = { authorization: `Bearer ${env.demo.adminToken}`, 'content-type': 'application/json' };
    const { entries } = (await (await fetch(`${env.demo.url}/api/modules/anomaly-rubin/queue?k=3`, { headers: auth })).json()) as { entries: Array<{ alertId: number; objectId: string }> };
    expect(entries.length).toBe(3);
    for (const e of entries) {
      const a = (await (await fetch(`${env.demo.url}/api/alerts/${e.alertId}`, { headers: auth })).json()) as { survey: string };
      expect(a.survey).toBe('lsst');
    }
    const models = (await (await fetch(`${env.demo.url}/api/models`, { headers: auth })).json()) as Array<{ module: string; status: string; gate: { degenerate?: string | null } | null }>;
    expect(models.filter((m) => m.status === 'deployed').map((m) => m.module)).toContain('anomaly-rubin');
    // early-snia-rubin's first version learns from the 28 seeds of a 300-object night and never predicts SN Ia:
    // kept as a candidate, with the reason
    const snia = models.find((m) => m.module === 'early-snia-rubin')!;
    expect(snia.status).toBe('candidate');
    expect(snia.gate?.degenerate).toMatch(/^never predicts SN Ia/);
  }, 60_000);
});
