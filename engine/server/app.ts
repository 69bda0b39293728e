import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type RouteOptions } from 'fastify';
import { StoreError } from '../core/store/store.ts';
import { bearer, installAuth, PUBLIC, type Access } from './auth.ts';
import { alertRoutes } from './routes/alerts.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { labelRoutes } from './routes/labels.ts';
import { modelRoutes } from './routes/models.ts';
import { moduleRoutes } from './routes/modules.ts';
import { queueRoutes } from './routes/queue.ts';
import { reportRoutes } from './routes/reports.ts';
import { userRoutes } from './routes/users.ts';
import { noQuery } from './schemas.ts';
import { schemaErrorMessage, validatorCompiler } from './validation.ts';
import { RequestError, type Workbench } from './workbench.ts';

export interface AppOptions {
  /** Requests per minute per token (or per address without one). */
  rateLimitPerMinute?: number;
  /** Serves the built UI from this folder when given. */
  uiDist?: string | null;
  logger?: boolean;
}

export interface ApiRoute {
  method: string;
  url: string;
  /** The schema parts the route validates (params, querystring, body). */
  validates: string[];
  access: Access;
}

declare module 'fastify' {
  interface FastifyInstance {
    apiRoutes: ApiRoute[];
  }
}

/** One plugin per resource; each declares its routes' schemas and access. */
export const ROUTE_PLUGINS = [healthRoutes, userRoutes, moduleRoutes, queueRoutes, alertRoutes, labelRoutes, modelRoutes, reportRoutes, eventRoutes] as const;
/** The browsable API description (Swagger UI); the document itself is /api/openapi.json. */
export const DOCS_PREFIX = '/api/docs';
const SCHEMA_PARTS = ['params', 'querystring', 'body'];

/**
 * Every API route: refuses unknown query parameters unless it declares some, names its access rule, and is
 * described in the OpenAPI document with the bearer scheme when it needs a token.
 */
function describeRoute(r: RouteOptions, apiRoutes: ApiRoute[]): void {
  if (!r.url.startsWith('/api/') || r.url.startsWith(DOCS_PREFIX)) return;
  const access = r.config?.access;
  if (!access) throw new Error(`${[r.method].flat().join(',')} ${r.url}: an API route must declare its access (PUBLIC, EXPERT or ADMIN)`);
  const schema: Record<string, unknown> = {
    querystring: noQuery,
    ...(access === 'public' ? {} : { security: [{ bearerAuth: [] }] }),
    'x-sieve-access': access,
    ...r.schema,
  };
  r.schema = schema;
  for (const m of [r.method].flat()) {
    if (m !== 'HEAD') apiRoutes.push({ method: m, url: r.url, validates: Object.keys(schema).filter((k) => SCHEMA_PARTS.includes(k)), access });
  }
}

/** The Sieve HTTP API (and the built UI when given) over one workbench. */
export async function buildApp(wb: Workbench, o: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: o.logger ?? false,
    bodyLimit: 1 << 20,
    schemaErrorFormatter: (errors, part) => new Error(schemaErrorMessage(errors as never, part)),
  });
  app.setValidatorCompiler(validatorCompiler);
  const apiRoutes: ApiRoute[] = [];
  app.decorate('apiRoutes', apiRoutes);
  // before swagger's own hook, so that the document sees the access rule and security added here
  app.addHook('onRoute', (r) => describeRoute(r, apiRoutes));

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
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Sieve API',
        version: '1',
        description: 'The workbench\'s HTTP API. Reads are open; labels need an expert token and deployments or accounts an admin token '
          + '(`sieve user add NAME --role expert|admin`), sent as `Authorization: Bearer <token>`. Each operation says who may call it in `x-sieve-access`.',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'a token printed by `sieve user add` (stored hashed)' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: DOCS_PREFIX });
  installAuth(app, wb);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, req, reply) => {
    if (err.validation) return reply.code(400).send({ error: 'Bad Request', message: err.message });
    if (err instanceof RequestError) return reply.code(err.statusCode).send({ error: err.name, message: err.message });
    if (err instanceof StoreError) return reply.code(409).send({ error: 'Conflict', message: err.message });
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.name, message: err.message });
    req.log.error(err);
    console.error(`${req.method} ${req.url}: ${err.stack ?? err.message}`);
    return reply.code(500).send({ error: 'Internal Server Error', message: err.message });
  });
  // a module named in the path or the query must be one of the store's: 404 otherwise, naming the known ones
  app.addHook('preHandler', async (req) => {
    const name = (req.params as { module?: unknown } | undefined)?.module ?? (req.query as { module?: unknown } | undefined)?.module;
    if (typeof name === 'string') wb.module(name);
  });

  for (const plugin of ROUTE_PLUGINS) await app.register(plugin, { wb });
  app.get('/api/openapi.json', { ...PUBLIC, schema: { tags: ['openapi'], summary: 'this API described as OpenAPI 3' } }, async () => app.swagger());

  if (o.uiDist) {
    const { default: fastifyStatic } = await import('@fastify/static');
    await app.register(fastifyStatic, { root: o.uiDist, prefix: '/', index: 'index.html' });
  }
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'Not Found', message: `${req.method} ${req.url}: no such route` }));
  return app;
}
