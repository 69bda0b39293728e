import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuiltinModules, Store } from '../../engine/index.ts';
import { buildApp, DEFAULT_WORKBENCH_OPTIONS, Workbench } from '../../engine/server/index.ts';

let store: Store;
let wb: Workbench;
let app: FastifyInstance;
let doc: { openapi: string; paths: Record<string, Record<string, { tags?: string[]; security?: unknown[]; 'x-sieve-access'?: string; summary?: string }>>; components: { securitySchemes: Record<string, unknown> } };

/** fastify's `/api/models/:module/:version` is OpenAPI's `/api/models/{module}/{version}`. */
const openapiPath = (url: string) => url.replace(/:(\w+)/g, '{$1}');
const concrete = (url: string) => url.replace(':module', 'early-snia').replace(':version', '1').replace(':id', '1').replace(':file', 'science.png');

beforeAll(async () => {
  store = Store.create(path.join(mkdtempSync(path.join(tmpdir(), 'sieve-openapi-')), 's.db'));
  ensureBuiltinModules(store, 'test');
  wb = new Workbench(store, { ...DEFAULT_WORKBENCH_OPTIONS, retrainEvery: 0 });
  app = await buildApp(wb);
  const res = await app.inject({ url: '/api/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});

afterAll(async () => {
  await app.close();
  await wb.close();
  store.close();
});

describe('the OpenAPI description', () => {
  it('describes every API route with its access rule, and nothing else', () => {
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(app.apiRoutes.length).toBeGreaterThanOrEqual(25);
    for (const r of app.apiRoutes) {
      const op = doc.paths[openapiPath(r.url)]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.url}`).toBeDefined();
      expect(op['x-sieve-access'], `${r.method} ${r.url}`).toBe(r.access);
      expect(op.security !== undefined, `${r.method} ${r.url}: bearer scheme iff a token is needed`).toBe(r.access !== 'public');
      expect(op.summary, `${r.method} ${r.url}: a summary`).toBeTruthy();
      expect(op.tags?.length, `${r.method} ${r.url}: a resource tag`).toBe(1);
    }
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    expect(documented).toEqual(app.apiRoutes.map((r) => `${r.method} ${openapiPath(r.url)}`).sort());
  });

  it('enforces what it describes: without a token every expert or admin route is 401, with an expert token every admin route is 403', async () => {
    const expert = store.addUser('ann', 'expert').token;
    const guarded = app.apiRoutes.filter((r) => r.access !== 'public');
    expect(guarded.filter((r) => r.access === 'admin').length).toBeGreaterThanOrEqual(4);
    for (const r of guarded) {
      const anon = await app.inject({ method: r.method as 'GET', url: concrete(r.url) });
      expect(anon.statusCode, `${r.method} ${r.url}`).toBe(401);
      if (r.access !== 'admin') continue;
      const asExpert = await app.inject({ method: r.method as 'GET', url: concrete(r.url), headers: { authorization: `Bearer ${expert}` } });
      expect(asExpert.statusCode, `${r.method} ${r.url}`).toBe(403);
    }
  });

  it('is browsable at /api/docs/ (Swagger UI)', async () => {
    const res = await app.inject({ url: '/api/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toContain('swagger-ui');
  });
});
