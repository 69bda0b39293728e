import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ARTIFACTS, demoAndBrowser } from './browser.ts';

/**
 * Issue 22 in a browser: labels reach the module the page shows, ids and times keep their digits, units come
 * from the extractor, the truth stays hidden until the label, and a degenerate model is never promoted.
 */
const env = demoAndBrowser(['--n', '300', '--retrain-every', '0']);
/** A real Rubin alert's diaObjectId beyond 2^53; as a float64 it would be 170028485706776670. */
const RUBIN_OBJECT = '170028485706776685';
/** An ELAsTiCC early SN Ia: SNID = diaObjectId 1702305, GENTYPE 10, PEAKMJD 60285.943. */
const ELASTICC_SNID = '1702305';

const auth = () => ({ authorization: `Bearer ${env.demo.adminToken}`, 'content-type': 'application/json' });
const api = async <T>(url: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
  const res = await fetch(`${env.demo.url}${url}`, { method: init.method ?? 'GET', headers: auth(), body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

async function signedIn(): Promise<Page> {
  const page = await env.browser.newPage({ viewport: { width: 1500, height: 1000 } });
  await page.goto(`${env.demo.url}/#token=${env.demo.adminToken}`);
  await expect.poll(() => page.textContent('[data-testid=whoami]')).toContain('demo-admin');
  return page;
}

async function searchFor(page: Page, q: string) {
  await page.fill('[data-testid=search]', q);
  await page.press('[data-testid=search]', 'Enter');
}

describe('the workbench a scientist trusts (issue 22)', () => {
  it('point 1: every page names its module; the module buttons switch it on an alert page and the label lands in the module shown', async () => {
    const page = await signedIn();
    // after the token link, the address names a module
    await expect.poll(() => page.url()).toMatch(/#\/queue\/early-snia$/);
    await page.waitForSelector('[data-testid=alert-view]');
    // a Rubin object searched from a ZTF module's page: two Rubin modules, so the page asks which
    await searchFor(page, RUBIN_OBJECT);
    await page.waitForSelector('[data-testid=choose-module]');
    expect(page.url()).toMatch(/#\/alert\/\d+$/);
    expect(await page.$$('[data-testid=label-bar]')).toHaveLength(0);
    expect(await page.isDisabled('[data-testid=module-early-snia]')).toBe(true);
    await page.click('[data-testid=choose-early-snia-rubin]');
    await expect.poll(() => page.textContent('[data-testid=label-target]')).toContain('early-snia-rubin');
    expect(page.url()).toMatch(/#\/alert\/\d+\?module=early-snia-rubin$/);
    // the module button switches the page's module (main kept labelling into the first one)
    await page.click('[data-testid=module-anomaly-rubin]');
    await expect.poll(() => page.textContent('[data-testid=label-target]')).toContain('anomaly-rubin');
    expect(page.url()).toMatch(/#\/alert\/\d+\?module=anomaly-rubin$/);
    await page.waitForSelector('[data-testid=anomaly-score]');
    await page.keyboard.press('2');
    // (the first anomaly label opens the module's live AAD session: seconds)
    await expect.poll(() => page.textContent('[data-testid=status]'), { timeout: 60_000 }).toContain(`${RUBIN_OBJECT}: nominal (anomaly-rubin)`);
    const inRubin = await api<Array<{ objectId: string; label: string }>>('/api/labels?module=anomaly-rubin');
    expect(inRubin.map((l) => [l.objectId, l.label])).toContainEqual([RUBIN_OBJECT, 'nominal']);
    const inEarly = await api<Array<{ objectId: string }>>('/api/labels?module=early-snia-rubin');
    expect(inEarly.map((l) => l.objectId)).not.toContain(RUBIN_OBJECT);
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-module-switch.png') });
    // the API refuses a label for a module of the other survey
    const id = Number(/#\/alert\/(\d+)/.exec(page.url())![1]);
    const res = await fetch(`${env.demo.url}/api/labels`, { method: 'POST', headers: auth(), body: JSON.stringify({ module: 'early-snia', alertId: id, label: 'SN Ia' }) });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { message: string }).message).toMatch(/is a Rubin\/LSST alert and module early-snia reads ZTF alerts only/);
  }, 120_000);

  it('point 2: finds a 64-bit id by its exact digits, an ELAsTiCC SNID, and Sieve\'s own alert ids only with #', async () => {
    const page = await signedIn();
    await page.goto(`${env.demo.url}/#/queue/anomaly-rubin`);
    await page.waitForSelector('[data-testid=alert-view]');
    await searchFor(page, RUBIN_OBJECT);
    // on a Rubin module's page a Rubin object opens in that module
    await expect.poll(() => page.url()).toMatch(/#\/alert\/\d+\?module=anomaly-rubin$/);
    await expect.poll(() => page.textContent('[data-testid=object-id]')).toBe(RUBIN_OBJECT);
    const id = Number(/#\/alert\/(\d+)/.exec(page.url())![1]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-big-id-search.png') });
    // the float64 rounding of that id is another id, found nowhere (main rounded every all-digit search)
    await searchFor(page, '170028485706776670');
    await expect.poll(() => page.textContent('[data-testid=error]')).toMatch(/no alert with objectId, diaObjectId, candid, alertId or SNID 170028485706776670/);
    await searchFor(page, ELASTICC_SNID);
    await expect.poll(() => page.textContent('[data-testid=object-id]')).toBe(ELASTICC_SNID);
    await searchFor(page, `#${id}`);
    await expect.poll(() => page.textContent('[data-testid=object-id]')).toBe(RUBIN_OBJECT);
    // the alertId, exactly
    const candid = await page.textContent('[data-testid=candid]');
    expect(candid).toMatch(/^\d{18}$/);
    await searchFor(page, candid!);
    await expect.poll(() => page.url()).toMatch(new RegExp(`#/alert/${id}\\?module=anomaly-rubin$`));
  }, 120_000);

  it('point 3: times to 1e-4 day, ids exact, features in the units their extractor declares', async () => {
    const page = await signedIn();
    const [rubin] = (await api<{ hits: Array<{ id: number }> }>(`/api/search?q=${RUBIN_OBJECT}`)).hits;
    await page.goto(`${env.demo.url}/#/alert/${rubin.id}?module=anomaly-rubin`);
    await page.waitForSelector('[data-testid=context-brokerIngestMjd]');
    expect(await page.textContent('[data-testid=alert-mjd]')).toMatch(/^\d{5}\.\d{4}$/);
    // main showed brokerIngestMjd 6.11e+4
    expect((await page.textContent('[data-testid=context-brokerIngestMjd]'))!.replace(/\s+/g, ' ')).toMatch(/^611\d\d\.\d{4} MJD$/);
    expect(await page.textContent('[data-testid=context-diaSourceId]')).toMatch(/^\d{18}$/);
    // anomaly-rubin's 156 features as 26 features x 6 bands in wavelength order, one unit per feature
    expect(await page.$$eval('[data-testid=features] thead th', (th) => th.map((x) => x.textContent))).toEqual(['', 'u', 'g', 'r', 'i', 'z', 'y', 'unit']);
    expect(await page.$$eval('[data-testid=features] tbody tr', (tr) => tr.length)).toBe(26);
    expect(await page.textContent('[data-testid=feature-unit-mean]')).toBe('nJy');
    expect(await page.textContent('[data-testid=feature-unit-linear_trend]')).toBe('nJy/day');
    // the legend: one entry per band and kind, bands u g r i z y, detections filled and forced photometry open
    const legend = await page.$$eval('[data-testid=lc-legend] .legend-item', (b) => b.map((x) => x.textContent!.trim()));
    const bandsInOrder = [...new Set(legend.map((l) => l.split(' ')[0]))];
    expect(bandsInOrder).toEqual(['u', 'g', 'r', 'i', 'z', 'y'].filter((b) => bandsInOrder.includes(b)));
    expect(await page.$eval('[data-testid=legend-g] circle', (c) => c.getAttribute('fill'))).not.toBe('#fff');
    expect(await page.$eval('[data-testid=legend-g-forced] circle', (c) => c.getAttribute('fill'))).toBe('#fff');
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-units-rubin.png'), fullPage: true });
    // a user module with the rainbow extractor: Rainbow's units, not the module's (main showed amplitude in mag, Tmin without K)
    await api('/api/modules', {
      method: 'POST', body: {
        declaration: {
          name: 'my-rainbow', survey: 'lsst', features: ['rainbow', { alert: ['snr'] }],
          labels: [{ label: 'fast', key: '1', class: 'fast' }, { label: 'slow', key: '2', class: 'slow' }],
          model: { type: 'random-forest', trees: 10 }, broker: { score: 'p_fast', positive: 'fast' },
        },
      },
    });
    const [elasticc] = (await api<{ hits: Array<{ id: number }> }>(`/api/search?q=${ELASTICC_SNID}`)).hits;
    await page.goto(`${env.demo.url}/#/alert/${elasticc.id}?module=my-rainbow`);
    await page.waitForSelector('[data-testid=feature-Tmin]');
    const text = async (f: string) => (await page.textContent(`[data-testid=feature-${f}]`))!.replace(/\s+/g, ' ');
    expect(await text('Tmin')).toMatch(/ K$/);
    expect(await text('lc_max')).toMatch(/ nJy$/);
    expect(await text('amplitude')).toMatch(/ lc_max$/);
    expect(await text('rise_time')).toMatch(/ day$/);
    // main showed reference_time 6.13e+4
    expect(await text('reference_time')).toMatch(/^6\d{4}\.\d{4} MJD$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-units-rainbow.png'), fullPage: true });
  }, 120_000);

  it('point 4: the simulation truth is hidden until the label is recorded, then shown with the agreement', async () => {
    const page = await signedIn();
    const [elasticc] = (await api<{ hits: Array<{ id: number }> }>(`/api/search?q=${ELASTICC_SNID}`)).hits;
    await page.goto(`${env.demo.url}/#/alert/${elasticc.id}?module=early-snia-rubin`);
    await page.waitForSelector('[data-testid=truth-hidden]');
    expect(await page.textContent('[data-testid=truth-hidden]')).toMatch(/GENTYPE.*ZCMB.*PEAKMJD/);
    expect(await page.$$('[data-testid=context-GENTYPE]')).toHaveLength(0);
    expect(await page.$$('[data-testid=context-PEAKMJD]')).toHaveLength(0);
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-truth-hidden.png') });
    await page.keyboard.press('1');
    await page.waitForSelector('[data-testid=truth]');
    expect(await page.textContent('[data-testid=truth-GENTYPE]')).toBe('10');
    expect((await page.textContent('[data-testid=truth-PEAKMJD]'))!.replace(/\s+/g, ' ')).toBe('60285.9430 MJD');
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-truth-shown.png') });

    // a simulated alert of early-snia's queue: its class stays hidden; after the label it is shown with the verdict,
    // and the queue's last decisions and the expert's agreement count carry it
    const { entries } = await api<{ entries: Array<{ alertId: number; objectId: string }> }>('/api/modules/early-snia/queue?k=30');
    const sim = entries.find((e) => e.objectId.startsWith('SIM'))!;
    await page.goto(`${env.demo.url}/#/alert/${sim.alertId}?module=early-snia`);
    await page.waitForSelector('[data-testid=truth-hidden]');
    expect(await page.textContent('[data-testid=truth-hidden]')).toContain('catalogue class');
    expect(await page.$$('[data-testid=labels-given]')).toHaveLength(0);
    await page.keyboard.press('1');
    await page.waitForSelector('[data-testid=truth-catalogue-class]');
    const truth = (await api<{ truth: { values: Record<string, string> } }>(`/api/alerts/${sim.alertId}?modules=early-snia`)).truth.values['catalogue class'];
    expect(await page.textContent('[data-testid=verdict-early-snia]')).toMatch(truth === 'SN Ia' ? /the same$/ : /they differ$|the same class$/);
    await page.goto(`${env.demo.url}/#/queue/early-snia`);
    await page.waitForSelector('[data-testid=recent-truth]');
    expect(await page.textContent('[data-testid=recent-truth]')).toContain(truth);
    await expect.poll(() => page.textContent('[data-testid=agreement]')).toMatch(/vs catalogue: [01] of 1 same class/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-agreement.png') });
  }, 120_000);

  it('point 5: a degenerate candidate is not promoted, and the models view, the API and the report say why', async () => {
    const page = await signedIn();
    // one constant feature (every simulated alert has ssdistnr -999): a forest that can only say the prior, never 'rare'
    await api('/api/modules', {
      method: 'POST', body: {
        declaration: {
          name: 'constant', survey: 'ztf', features: [{ alert: ['ssdistnr'] }], cuts: 'ssdistnr < -900',
          labels: [{ label: 'rare', key: '1', class: 'rare' }, { label: 'common', key: '2', class: 'common' }],
          model: { type: 'random-forest', trees: 20, classWeight: 'none' }, broker: { score: 'p_rare', positive: 'rare' },
        },
      },
    });
    const { entries } = await api<{ entries: Array<{ alertId: number }> }>('/api/modules/constant/queue?k=60');
    for (const [i, e] of entries.entries()) await api('/api/labels', { method: 'POST', body: { module: 'constant', alertId: e.alertId, label: i % 6 === 0 ? 'rare' : 'common' } });
    await page.goto(`${env.demo.url}/#/models/constant`);
    await page.waitForSelector('[data-testid=module-page]');
    await page.click('text=retrain now');
    await page.waitForSelector('[data-testid=toast]:has-text("kept: never predicts rare")', { timeout: 90_000 });
    await page.waitForSelector('[data-testid=gate-summary-1]');
    expect(await page.textContent('[data-testid=gate-summary-1]')).toMatch(/^kept: never predicts rare \(0 of \d+ alerts at p >= 0.5, cross-validated\)$/);
    expect(await page.getAttribute('tr[data-version="1"]', 'data-status')).toBe('candidate');
    const models = await api<{ deployedVersion: number | null; versions: Array<{ gate: { degenerate: string; estimate: string } }> }>('/api/models/constant');
    expect(models.deployedVersion).toBeNull();
    expect(models.versions[0].gate).toMatchObject({ estimate: 'cross-validated', degenerate: expect.stringMatching(/^never predicts rare/) });
    const report = await (await fetch(`${env.demo.url}/api/models/constant/report.html`)).text();
    expect(report).toContain('kept: never predicts rare');
    // the toast is one short line, away from the "Last decisions" column and the label bar
    const toast = (await (await page.$('[data-testid=toast]'))!.textContent())!;
    expect(toast.length).toBeLessThan(120);
    await page.screenshot({ path: path.join(ARTIFACTS, 'trust-degenerate.png'), fullPage: true });
  }, 150_000);

  // after the tests above (it shows the modules they added): the screenshots of docs/figures/walkthrough/
  it('walks through every view for docs/figures (test/artifacts/walkthrough/)', async () => {
    const dir = path.join(ARTIFACTS, 'walkthrough');
    mkdirSync(dir, { recursive: true });
    // tall enough that an alert page fits, with its label bar at the bottom where an expert sees it
    const page = await env.browser.newPage({ viewport: { width: 1500, height: 1500 } });
    await page.goto(`${env.demo.url}/#token=${env.demo.adminToken}`);
    await expect.poll(() => page.textContent('[data-testid=whoami]')).toContain('demo-admin');
    const shot = async (name: string, full = false) => {
      await page.waitForTimeout(400);
      await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: full });
    };
    const hit = async (q: string) => (await api<{ hits: Array<{ id: number }> }>(`/api/search?q=${q}`)).hits[0].id;
    // the queue of a ZTF module on a simulated night
    await page.goto(`${env.demo.url}/#/queue/early-snia`);
    await page.waitForSelector('[data-testid=lightcurve] canvas');
    await shot('queue-simulated-ztf');
    // a real ZTF alert with its stamps, in the anomaly module (Fink's forest wiring explained)
    const [real] = await api<Array<{ id: number; objectId: string }>>('/api/alerts?objectId=ZTF18aaqfhlj&withCutouts=true');
    await page.goto(`${env.demo.url}/#/alert/${real.id}?module=anomaly`);
    await page.waitForSelector('[data-testid=anomaly-wiring]');
    await page.waitForSelector('[data-testid=lightcurve] canvas');
    await shot('alert-ztf-real');
    // a real Rubin alert: flux in nJy, forced photometry, 26 x 6 features
    await page.goto(`${env.demo.url}/#/alert/${await hit(RUBIN_OBJECT)}?module=anomaly-rubin`);
    await page.waitForSelector('[data-testid=features] thead');
    await shot('alert-rubin-real');
    await (await page.$('.features-pane'))!.screenshot({ path: path.join(dir, 'alert-rubin-real-features.png') });
    // an ELAsTiCC alert: its simulation truth hidden until the label, then shown beside it
    await page.goto(`${env.demo.url}/#/alert/${await hit('100448794')}?module=early-snia-rubin`);
    await page.waitForSelector('[data-testid=truth-hidden]');
    await page.waitForSelector('[data-testid=lightcurve] canvas');
    await shot('alert-elasticc-truth-hidden');
    await page.keyboard.press('2');
    await page.waitForSelector('[data-testid=truth]');
    await shot('alert-elasticc-truth-shown');
    // a search that asks which module of the alert's survey
    await page.goto(`${env.demo.url}/#/queue/early-snia`);
    await page.waitForSelector('[data-testid=alert-view]');
    await searchFor(page, RUBIN_OBJECT);
    await page.waitForSelector('[data-testid=choose-module]');
    await shot('search-asks-module');
    // a user-declared module (my-rainbow, added above): an alert in it, and its models view
    await page.goto(`${env.demo.url}/#/alert/${await hit(ELASTICC_SNID)}?module=my-rainbow`);
    await page.waitForSelector('[data-testid=feature-Tmin]');
    await shot('alert-user-module');
    // models and module page of a shipped module, and of the degenerate user module
    await page.goto(`${env.demo.url}/#/models/early-snia`);
    await page.waitForSelector('[data-testid=module-page]');
    await shot('models-early-snia', true);
    await page.goto(`${env.demo.url}/#/models/constant`);
    await page.waitForSelector('[data-testid=gate-summary-1]');
    await shot('models-user-module-degenerate', true);
    // the report opens in the browser
    await page.goto(`${env.demo.url}/api/models/early-snia/report.html`);
    await page.waitForSelector('svg');
    await shot('report-early-snia', true);
  }, 180_000);
});
