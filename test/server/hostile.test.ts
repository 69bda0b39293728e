import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalDeclaration, Store, type ModuleDeclaration } from '../../engine/index.ts';
import { buildApp, DEFAULT_WORKBENCH_OPTIONS, Workbench } from '../../engine/server/index.ts';
import { REPO_ROOT } from '../shared.ts';
import { apiFixture, type ApiFixture } from './fixture.ts';

let f: ApiFixture;
const auth = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(async () => {
  f = await apiFixture('hostile');
}, 300_000);

afterAll(() => f.close());

describe('rate limits by client address (issue 23, point 5)', () => {
  it('answers 429 to an address guessing tokens after 60 tries in a minute, whatever the tokens; a valid token and other addresses still work', async () => {
    const guessing = await buildApp(f.wb);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const r = await guessing.inject({ url: '/api/me', headers: auth(`sv_${randomBytes(16).toString('hex')}`), remoteAddress: '10.9.8.7' });
        codes.push(r.statusCode);
      }
      expect(codes.slice(0, 60).every((c) => c === 401)).toBe(true);
      expect(codes.slice(60).every((c) => c === 429)).toBe(true);
      const last = await guessing.inject({ method: 'POST', url: '/api/labels', headers: auth('sv_guess'), payload: {}, remoteAddress: '10.9.8.7' });
      expect(last.statusCode).toBe(429);
      expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
      expect(last.json().message).toMatch(/^more than 60 requests without a valid token from 10\.9\.8\.7 in a minute: wait \d+ s$/);
      // unauthenticated writes count too
      for (let i = 0; i < 61; i++) await guessing.inject({ method: 'POST', url: '/api/labels', payload: {}, remoteAddress: '10.9.8.6' });
      expect((await guessing.inject({ method: 'POST', url: '/api/labels', payload: {}, remoteAddress: '10.9.8.6' })).statusCode).toBe(429);
      // the expert behind the same address, and another address, are not locked out
      expect((await guessing.inject({ url: '/api/me', headers: auth(f.expert), remoteAddress: '10.9.8.7' })).statusCode).toBe(200);
      expect((await guessing.inject({ url: '/api/me', headers: auth('sv_other'), remoteAddress: '10.9.8.5' })).statusCode).toBe(401);
    } finally {
      await guessing.close();
    }
  });

  it('keys the general limit on the user, or on the address without a valid token (not on each token presented)', async () => {
    const small = await buildApp(f.wb, { rateLimitPerMinute: 5 });
    try {
      const anon = [];
      for (let i = 0; i < 6; i++) anon.push((await small.inject({ url: '/api/health', remoteAddress: '10.1.1.1' })).statusCode);
      expect(anon).toEqual([200, 200, 200, 200, 200, 429]);
      // the same user from two addresses shares one allowance
      const mine = [];
      for (let i = 0; i < 6; i++) mine.push((await small.inject({ url: '/api/me', headers: auth(f.expert), remoteAddress: `10.2.2.${i}` })).statusCode);
      expect(mine).toEqual([200, 200, 200, 200, 200, 429]);
    } finally {
      await small.close();
    }
  });

  it('answers 401 before any 400, 413 or 415 to a write without a valid token', async () => {
    const fresh = await buildApp(f.wb);
    try {
      for (const headers of [{}, auth('sv_forged')]) {
        const malformed = await fresh.inject({ method: 'POST', url: '/api/labels', headers: { ...headers, 'content-type': 'application/json' }, payload: '{"module": ', remoteAddress: '10.3.3.3' });
        expect(malformed.statusCode).toBe(401);
        const form = await fresh.inject({ method: 'POST', url: '/api/labels', headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'module=early-snia', remoteAddress: '10.3.3.3' });
        expect(form.statusCode).toBe(401);
        const big = await fresh.inject({ method: 'POST', url: '/api/modules', headers: { ...headers, 'content-type': 'application/json' }, payload: `{"declaration": "${'x'.repeat(2 << 20)}"}`, remoteAddress: '10.3.3.3' });
        expect(big.statusCode).toBe(401);
      }
      // with a valid token the body is read and judged
      expect((await fresh.inject({ method: 'POST', url: '/api/labels', headers: { ...auth(f.expert), 'content-type': 'application/json' }, payload: '{"module": ' })).statusCode).toBe(400);
      expect((await fresh.inject({ method: 'POST', url: '/api/labels', headers: { ...auth(f.expert), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' })).statusCode).toBe(415);
    } finally {
      await fresh.close();
    }
  });
});

describe('open event streams are capped per client and in all (issue 23, point 5)', () => {
  it('refuses a stream past the per-client cap (429) and past the total (503), and frees a slot when a stream closes', async () => {
    const capped = await buildApp(f.wb, { eventStreamsPerClient: 3, eventStreamsTotal: 5 });
    await capped.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(capped.server.address() as { port: number }).port}/api/events`;
    const open: AbortController[] = [];
    const connect = async (headers: Record<string, string> = {}) => {
      const c = new AbortController();
      const r = await fetch(url, { headers, signal: c.signal });
      if (r.status === 200) {
        open.push(c);
        await r.body!.getReader().read(); // ": connected"
      } else await r.text();
      return r.status;
    };
    try {
      // anonymous streams count against the address (an EventSource sends no token)
      expect([await connect(), await connect(), await connect(), await connect()]).toEqual([200, 200, 200, 429]);
      // a signed-in user is a client of their own; the server's total is 5
      expect([await connect(auth(f.expert)), await connect(auth(f.expert)), await connect(auth(f.admin))]).toEqual([200, 200, 503]);
      open.shift()!.abort();
      await expect.poll(async () => connect(auth(f.admin)), { timeout: 5000 }).toBe(200);
    } finally {
      for (const c of open) c.abort();
      await capped.close();
    }
  });
});

describe('module uploads within limits (issue 23, point 4)', () => {
  it('refuses a ~1 MB upload with 50,000 anchors at once (413) while the server keeps answering, and a 40 KB one by its size (400)', async () => {
    // under the server's general 1 MiB body limit: only the module route's own limit refuses it unparsed
    const anchors = `name: x\nlist:\n${Array.from({ length: 50_000 }, (_, i) => `  - &a${i} ${i}\n`).join('')}`;
    expect(JSON.stringify({ declaration: anchors }).length).toBeLessThan(1 << 20);
    const t = Date.now();
    const r = await f.app.inject({ method: 'POST', url: '/api/modules', headers: auth(f.admin), payload: { declaration: anchors } });
    expect(r.statusCode).toBe(413);
    expect(Date.now() - t).toBeLessThan(5000);
    expect((await f.app.inject({ url: '/api/health' })).statusCode).toBe(200);
    const mid = await f.app.inject({ method: 'POST', url: '/api/modules', headers: auth(f.admin), payload: { declaration: `name: x\ntitle: ${'t'.repeat(40_000)}\n` } });
    expect(mid.statusCode).toBe(400);
    expect(mid.json().message).toBe('declaration: 40016 characters, more than the 32768 a declaration may have');
  });

  it("refuses 'drb in rb' (400 with line and column), and the alert page answers 200 for every module when a stored one cannot run its cut or load its model", async () => {
    const example = JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', 'fast-transient.json'), 'utf8')) as ModuleDeclaration;
    const refused = await f.app.inject({ method: 'POST', url: '/api/modules', headers: auth(f.admin), payload: { declaration: { ...example, name: 'in-rb', cuts: 'drb in rb' } } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/^declaration:\d+:\d+: cuts: 'in' needs a list on its right/);
    // as an older Sieve stored it, unchecked
    const d = { ...example, name: 'old-in-rb', cuts: 'drb in rb' };
    const { json, sha256 } = canonicalDeclaration(d);
    f.store.addModuleRevision('old-in-rb', json, sha256, 'x'.repeat(64), 'old-sieve');
    // and a deployed bundle that no longer loads
    const kn = f.store.deployedVersion('kilonova')!;
    const copy = Store.create(f.db);
    copy.db.prepare("UPDATE models SET bundle_json = 'garbage' WHERE module = 'kilonova' AND version = ?").run(kn);
    copy.close();
    const fresh = new Workbench(f.store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0 });
    const app2 = await buildApp(fresh);
    try {
      const res = await app2.inject({ url: '/api/alerts/1' });
      expect(res.statusCode).toBe(200);
      const views = res.json().modules as Array<{ module: string; cutError?: string; error?: string; passesCuts: boolean | null; features: unknown[] }>;
      const byName = new Map(views.map((v) => [v.module, v]));
      expect(byName.get('old-in-rb')).toMatchObject({ passesCuts: false, cutError: expect.stringMatching(/^cuts: 'in' needs a list on its right/) });
      expect(byName.get('kilonova')).toMatchObject({ error: expect.stringMatching(/kilonova v\d+: not JSON/) });
      expect(byName.get('early-snia')!.features.length).toBeGreaterThan(0);
      expect(byName.get('early-snia')!.error).toBeUndefined();
    } finally {
      await app2.close();
      await fresh.close();
    }
  });
});
