import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { STRATEGY_NAMES } from '../core/strategies.ts';
import { exportModelBytes } from '../core/export.ts';
import { addModule, DeclarationError, moduleSummary } from '../core/modules/index.ts';
import { moduleReportHtml } from '../adapters/report.ts';
import { StoreError, type Role, type User } from '../core/store/store.ts';
import { alertDetail } from './alertDetail.ts';
import { cutoutPng, type Stretch } from '../adapters/image/cutoutPng.ts';
import { RequestError, type Workbench } from './workbench.ts';
import { schemaErrorMessage, validatorCompiler } from './validation.ts';

export interface AppOptions {
  /** Requests per minute per token (or per address without one). */
  rateLimitPerMinute?: number;
  /** Serves the built UI from this folder when given. */
  uiDist?: string | null;
  logger?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
  }
  interface FastifyInstance {
    apiRoutes: Array<{ method: string; url: string; validates: string[] }>;
  }
}

// Module names are data (declarations in the store): the schema checks their form, the handlers that they exist (404).
const MODULE_NAME = { type: 'string', pattern: '^[a-z][a-z0-9-]{1,47}$' } as const;
const moduleParam = { type: 'object', required: ['module'], additionalProperties: false, properties: { module: MODULE_NAME } } as const;
const idParam = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'integer', minimum: 1 } } } as const;
const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
const reasonBody = { type: ['object', 'null'], additionalProperties: false, properties: { reason: { type: 'string', maxLength: 2000 } } } as const;

function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : null;
}

/** The Sieve HTTP API (and the built UI when given) over one workbench. */
export async function buildApp(wb: Workbench, o: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: 1 << 20,
    schemaErrorFormatter: (errors, part) => new Error(schemaErrorMessage(errors as never, part)),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.decorateRequest('user', null);
  // Every API route with its schema parts, so tests can prove each one validates its input.
  const apiRoutes: Array<{ method: string; url: string; validates: string[] }> = [];
  app.decorate('apiRoutes', apiRoutes);
  app.addHook('onRoute', (r) => {
    if (!r.url.startsWith('/api/')) return;
    // A route without query parameters still refuses unknown ones, and a POST without fields refuses a body with some.
    r.schema = { querystring: noQuery, ...r.schema };
    for (const m of [r.method].flat()) if (m !== 'HEAD') apiRoutes.push({ method: m, url: r.url, validates: Object.keys(r.schema ?? {}) });
  });

  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'img-src': ["'self'", 'data:', 'blob:'],
        'style-src': ["'self'", "'unsafe-inline'"],
        'connect-src': ["'self'"],
        // The workbench runs on plain http on a lab machine; upgrading would break its own requests.
        'upgrade-insecure-requests': null,
      },
    },
    // http://localhost is not a secure context, so cross-origin isolation headers would only warn.
    crossOriginOpenerPolicy: false,
    originAgentCluster: false,
  });
  await app.register(rateLimit, {
    max: o.rateLimitPerMinute ?? 6000,
    timeWindow: '1 minute',
    keyGenerator: (req) => bearer(req) ?? req.ip,
  });

  app.addHook('onRequest', async (req) => {
    const token = bearer(req);
    if (token) req.user = wb.store.userByToken(token);
  });
  // a module named in the path or the query must be one of the store's: 404 otherwise, naming the known ones
  app.addHook('preHandler', async (req) => {
    const name = (req.params as { module?: unknown } | undefined)?.module ?? (req.query as { module?: unknown } | undefined)?.module;
    if (typeof name === 'string') wb.module(name);
  });

  const requireRole = (role: Role) => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!bearer(req)) return reply.code(401).send({ error: 'Unauthorized', message: 'this needs a token: Authorization: Bearer <token> (sieve user add NAME)' });
    if (!req.user) return reply.code(401).send({ error: 'Unauthorized', message: 'unknown or disabled token' });
    if (role === 'admin' && req.user.role !== 'admin') return reply.code(403).send({ error: 'Forbidden', message: `${req.user.name} is an expert; this needs an admin` });
  };
  // preValidation runs before the schema check: a request without a valid token gets 401 whatever its body
  // (never a 400 that describes the schema to someone who may not write)
  const expert = { preValidation: requireRole('expert') };
  const admin = { preValidation: requireRole('admin') };

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; validationContext?: string }, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: 'Bad Request', message: err.message });
    if (err instanceof RequestError) return reply.code(err.statusCode).send({ error: err.name, message: err.message });
    if (err instanceof StoreError) return reply.code(409).send({ error: 'Conflict', message: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.name, message: err.message });
    req.log.error(err);
    console.error(`${req.method} ${req.url}: ${err.stack ?? err.message}`);
    return reply.code(500).send({ error: 'Internal Server Error', message: err.message });
  });

  app.get('/api/health', { schema: { querystring: noQuery } }, async () => ({
    ok: true, alerts: wb.store.countAlerts(), schemaVersion: wb.store.schemaVersion, retraining: wb.runningRetrains,
  }));

  app.get('/api/me', { ...expert, schema: { querystring: noQuery } }, async (req) => req.user);

  app.get('/api/modules', { schema: { querystring: noQuery } }, async () => {
    const revisions = new Map(wb.store.moduleDeclarations().map((r) => [r.name, r]));
    return wb.modules().map((m) => ({
      name: m.name, title: m.title, survey: m.survey, kind: m.kind, classNames: m.classNames, positiveClass: m.positiveClass, labels: m.labels,
      feature: m.extractor().spec.name, columns: m.extractor().spec.columns, broker: m.broker, queueStrategy: m.queueStrategy,
      revision: revisions.get(m.name)?.revision ?? null, declaration: m.declaration,
      deployedVersion: wb.store.deployedVersion(m.name), retraining: wb.runningRetrains.includes(m.name),
    }));
  });

  app.get('/api/modules/:module', { schema: { params: moduleParam, querystring: noQuery } }, async (req) => moduleSummary(wb.store, (req.params as { module: string }).module));

  app.post('/api/modules', {
    ...admin,
    schema: { body: { type: 'object', required: ['declaration'], additionalProperties: false, properties: { declaration: { type: ['object', 'string'] } } } },
  }, async (req, reply) => {
    const { declaration } = req.body as { declaration: object | string };
    const text = typeof declaration === 'string' ? declaration : JSON.stringify(declaration, null, 2);
    try {
      const r = addModule(wb.store, text, 'declaration', req.user!.name);
      wb.events.publish('module', r.module.name, { revision: r.revision, created: r.created, featureSpaceChanged: r.featureSpaceChanged });
      return reply.code(r.created ? 201 : 200).send({ name: r.module.name, revision: r.revision, created: r.created, featureSpaceChanged: r.featureSpaceChanged });
    } catch (e) {
      if (e instanceof DeclarationError) throw new RequestError(400, e.message);
      throw e;
    }
  });

  app.get('/api/modules/:module/queue', {
    schema: {
      params: moduleParam,
      querystring: { type: 'object', additionalProperties: false, properties: { k: { type: 'integer', minimum: 1, maximum: 200, default: 10 }, strategy: { type: 'string', enum: [...STRATEGY_NAMES] } } },
    },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const q = req.query as { k: number; strategy?: (typeof STRATEGY_NAMES)[number] };
    const entries = wb.queue(module, req.user, q.k, q.strategy);
    const def = wb.module(module);
    return { module, strategy: def.kind === 'anomaly' ? 'aad' : q.strategy ?? def.queueStrategy, leaseSeconds: req.user ? wb.options.leaseMs / 1000 : 0, entries };
  });

  app.get('/api/modules/:module/progress', {
    schema: { params: moduleParam, querystring: { type: 'object', additionalProperties: false, properties: { mine: { type: 'boolean', default: false } } } },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const { mine } = req.query as { mine: boolean };
    if (mine && !req.user) throw new RequestError(401, 'mine=true needs a token');
    return { module, ...wb.store.labelProgress(module, mine ? req.user!.name : undefined) };
  });

  app.get('/api/alerts', {
    schema: {
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { objectId: { type: 'string', minLength: 1, maxLength: 64 }, withCutouts: { type: 'boolean' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      },
    },
  }, async (req) => {
    const q = req.query as { objectId?: string; withCutouts?: boolean; limit: number };
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.objectId) {
      where.push('object_id = ?');
      args.push(q.objectId);
    }
    if (q.withCutouts !== undefined) where.push(q.withCutouts ? 'cutout_science IS NOT NULL' : 'cutout_science IS NULL');
    const rows = wb.store.db.prepare(`SELECT id, object_id, survey, jd, band, magpsf, cutout_science IS NOT NULL AS stamps FROM alerts
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`).all(...args, q.limit) as Array<Record<string, unknown>>;
    return rows.map((r) => ({ id: r.id, objectId: r.object_id, survey: r.survey, jd: r.jd, band: r.band, magpsf: r.magpsf, hasCutouts: r.stamps === 1 }));
  });

  app.get('/api/alerts/:id', {
    schema: {
      params: idParam,
      querystring: { type: 'object', additionalProperties: false, properties: { modules: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,47}(,[a-z][a-z0-9-]{1,47})*$' } } },
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const { modules } = req.query as { modules?: string };
    try {
      const names = modules ? modules.split(',') : wb.modules().map((m) => m.name);
      for (const n of names) wb.module(n);
      return alertDetail(wb, id, names);
    } catch (e) {
      if (e instanceof StoreError) throw new RequestError(404, e.message);
      throw e;
    }
  });

  app.get('/api/alerts/:id/cutouts/:file', {
    schema: {
      params: { type: 'object', required: ['id', 'file'], additionalProperties: false, properties: { id: { type: 'integer', minimum: 1 }, file: { type: 'string', pattern: '^(science|template|difference)\\.png$' } } },
      querystring: { type: 'object', additionalProperties: false, properties: { stretch: { type: 'string', enum: ['zscale', 'asinh', 'linear'], default: 'zscale' } } },
    },
  }, async (req, reply) => {
    const { id, file } = req.params as { id: number; file: string };
    const { stretch } = req.query as { stretch: Stretch };
    const kind = file.replace('.png', '') as 'science' | 'template' | 'difference';
    const row = wb.store.db.prepare(`SELECT cutout_${kind} AS c FROM alerts WHERE id = ?`).get(id) as { c: Buffer | null } | undefined;
    if (!row) throw new RequestError(404, `no alert with id ${id}`);
    if (!row.c) throw new RequestError(404, `alert ${id} has no ${kind} cutout`);
    const png = cutoutPng(new Uint8Array(row.c), stretch, `alert ${id} ${kind} cutout`);
    return reply.type('image/png').header('cache-control', 'private, max-age=3600').send(png);
  });

  app.get('/api/labels', {
    ...expert,
    schema: { querystring: { type: 'object', required: ['module'], additionalProperties: false, properties: { module: MODULE_NAME, limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 } } } },
  }, async (req) => {
    const { module, limit } = req.query as { module: string; limit: number };
    return wb.store.recentLabels(module, req.user!.name, limit);
  });

  app.post('/api/labels', {
    ...expert,
    schema: {
      body: {
        type: 'object', required: ['module', 'alertId', 'label'], additionalProperties: false,
        properties: {
          module: MODULE_NAME, alertId: { type: 'integer', minimum: 1 }, label: { type: 'string', minLength: 1, maxLength: 64 },
          comment: { type: ['string', 'null'], maxLength: 2000 }, queue: { type: ['string', 'null'], maxLength: 64 },
        },
      },
    },
  }, async (req, reply) => {
    const row = wb.label(req.user!, req.body as { module: string; alertId: number; label: string; comment?: string | null; queue?: string | null });
    return reply.code(201).send(row);
  });

  app.post('/api/labels/:id/undo', { ...expert, schema: { params: idParam, body: { type: ['object', 'null'], additionalProperties: false, properties: {} } } }, async (req) => wb.undo(req.user!, (req.params as { id: number }).id));

  app.patch('/api/labels/:id', {
    ...expert,
    schema: {
      params: idParam,
      body: { type: 'object', required: ['label'], additionalProperties: false, properties: { label: { type: 'string', minLength: 1, maxLength: 64 }, comment: { type: ['string', 'null'], maxLength: 2000 } } },
    },
  }, async (req) => {
    const b = req.body as { label: string; comment?: string | null };
    return wb.change(req.user!, (req.params as { id: number }).id, b.label, b.comment ?? null);
  });

  app.get('/api/models', {
    schema: { querystring: { type: 'object', additionalProperties: false, properties: { module: MODULE_NAME } } },
  }, async (req) => wb.store.listModels((req.query as { module?: string }).module));

  app.get('/api/models/:module', { schema: { params: moduleParam, querystring: noQuery } }, async (req) => {
    const { module } = req.params as { module: string };
    return {
      module, deployedVersion: wb.store.deployedVersion(module), retraining: wb.runningRetrains.includes(module),
      versions: wb.store.listModels(module), deployments: wb.store.deploymentHistory(module), learningCurve: wb.store.learningCurve(module),
    };
  });

  app.get('/api/models/:module/report.html', { schema: { params: moduleParam, querystring: noQuery } }, async (req, reply) => {
    const { module } = req.params as { module: string };
    const html = await moduleReportHtml(wb.store, module);
    return reply.type('text/html; charset=utf-8').header('content-disposition', `attachment; filename="${module}-report.html"`).send(html);
  });

  app.get('/api/models/:module/learning-curve', { schema: { params: moduleParam, querystring: noQuery } }, async (req) => wb.store.learningCurve((req.params as { module: string }).module));

  const versionParams = { type: 'object', required: ['module', 'version'], additionalProperties: false, properties: { module: MODULE_NAME, version: { type: 'integer', minimum: 1 } } } as const;
  const modelDetail = (module: string, version: number) => {
    const row = wb.store.getModel(module, version);
    const bundle = wb.store.getBundle(module, version);
    const imp = (bundle.model as { featureImportances?: number[] }).featureImportances;
    return {
      ...row, classNames: bundle.manifest.classNames, training: bundle.manifest.training, featureSpec: bundle.manifest.featureSpec.name,
      featureImportances: imp && imp.length ? bundle.manifest.featureSpec.columns.map((c, j) => ({ name: c, importance: imp[j] })) : null,
      nEstimators: (bundle.model as { params?: { nEstimators?: number } }).params?.nEstimators ?? null,
    };
  };
  const notFound = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      if (e instanceof StoreError) throw new RequestError(404, e.message);
      throw e;
    }
  };

  app.get('/api/models/:module/:version', { schema: { params: versionParams, querystring: noQuery } }, async (req) => {
    const { module, version } = req.params as { module: string; version: number };
    return notFound(() => modelDetail(module, version));
  });

  app.get('/api/models/:module/diff', {
    schema: {
      params: moduleParam,
      querystring: { type: 'object', required: ['a', 'b'], additionalProperties: false, properties: { a: { type: 'integer', minimum: 1 }, b: { type: 'integer', minimum: 1 } } },
    },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const { a, b } = req.query as { a: number; b: number };
    const A = notFound(() => modelDetail(module, a));
    const B = notFound(() => modelDetail(module, b));
    const keys = [...new Set([...Object.keys(A.metrics), ...Object.keys(B.metrics)])];
    const impB = new Map((B.featureImportances ?? []).map((f) => [f.name, f.importance]));
    return {
      module, a: A, b: B,
      metrics: keys.map((k) => ({ name: k, a: A.metrics[k] ?? null, b: B.metrics[k] ?? null, delta: A.metrics[k] !== undefined && B.metrics[k] !== undefined ? B.metrics[k] - A.metrics[k] : null })),
      nLabels: { a: A.nLabels, b: B.nLabels, delta: B.nLabels - A.nLabels },
      sameFeatureSpec: A.featureSpecHash === B.featureSpecHash,
      importances: (A.featureImportances ?? []).map((f) => ({ name: f.name, a: f.importance, b: impB.get(f.name) ?? null })),
    };
  });

  app.post('/api/models/:module/deploy', {
    ...admin,
    schema: { params: moduleParam, body: { type: 'object', required: ['version'], additionalProperties: false, properties: { version: { type: 'integer', minimum: 1 }, reason: { type: 'string', maxLength: 2000 } } } },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const b = req.body as { version: number; reason?: string };
    wb.deploy(req.user!, module, b.version, b.reason ?? null);
    return { module, deployedVersion: wb.store.deployedVersion(module) };
  });

  app.post('/api/models/:module/rollback', { ...admin, schema: { params: moduleParam, body: reasonBody } }, async (req) => {
    const { module } = req.params as { module: string };
    const v = wb.rollback(req.user!, module, (req.body as { reason?: string } | undefined)?.reason ?? null);
    return { module, deployedVersion: v };
  });

  app.post('/api/models/:module/retrain', { ...expert, schema: { params: moduleParam, body: { type: ['object', 'null'], additionalProperties: false, properties: {} } } }, async (req, reply) => {
    const { module } = req.params as { module: string };
    void wb.retrain(module, req.user!.name);
    return reply.code(202).send({ module, retraining: true });
  });

  app.get('/api/models/:module/:version/export', {
    schema: {
      params: versionParams,
      querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['bundle', 'onnx', 'fink-anomaly-zip', 'sklearn'], default: 'bundle' } } },
    },
  }, async (req, reply) => {
    const { module, version } = req.params as { module: string; version: number };
    const { format } = req.query as { format: string };
    const bundle = notFound(() => wb.store.getBundle(module, version));
    let out: ReturnType<typeof exportModelBytes>;
    try {
      out = exportModelBytes(bundle, `${module} v${version}`, format);
    } catch (e) {
      throw new RequestError(400, (e as Error).message);
    }
    return reply.type(out.contentType).header('content-disposition', `attachment; filename="${out.fileName}"`).send(Buffer.from(out.bytes));
  });

  app.get('/api/users', { ...admin, schema: { querystring: noQuery } }, async () => wb.store.listUsers());
  app.post('/api/users', {
    ...admin,
    schema: { body: { type: 'object', required: ['name', 'role'], additionalProperties: false, properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.@-]{1,64}$' }, role: { type: 'string', enum: ['expert', 'admin'] } } } },
  }, async (req, reply) => {
    const b = req.body as { name: string; role: Role };
    return reply.code(201).send(wb.store.addUser(b.name, b.role, req.user!.name));
  });

  // Server-sent events: one stream per open page; comments every 15 s keep proxies from closing it.
  app.get('/api/events', { schema: { querystring: noQuery }, config: { rateLimit: false } } as never, (req, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-content-type-options': 'nosniff' });
    reply.raw.write(': connected\n\n');
    const off = wb.events.subscribe((e) => reply.raw.write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 15_000);
    req.raw.on('close', () => {
      off();
      clearInterval(ping);
    });
  });

  if (o.uiDist) {
    const { default: fastifyStatic } = await import('@fastify/static');
    await app.register(fastifyStatic, { root: o.uiDist, prefix: '/', index: 'index.html' });
  }
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'Not Found', message: `${req.method} ${req.url}: no such route` }));
  return app;
}

