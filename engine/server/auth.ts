import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role, User } from '../core/store/store.ts';
import type { Workbench } from './workbench.ts';

/** Who may call a route: anyone, an expert (any valid token) or an admin. Every API route declares one. */
export type Access = 'public' | 'expert' | 'admin';

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export const PUBLIC = { config: { access: 'public' as Access } };
export const EXPERT = { config: { access: 'expert' as Access } };
export const ADMIN = { config: { access: 'admin' as Access } };

export function bearer(req: FastifyRequest): string | null {
  const h = req.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : null;
}

function refusal(access: Access, req: FastifyRequest): { code: 401 | 403; message: string } | null {
  if (access === 'public') return null;
  if (!bearer(req)) return { code: 401, message: 'this needs a token: Authorization: Bearer <token> (sieve user add NAME)' };
  if (!req.user) return { code: 401, message: 'unknown or disabled token' };
  if (access === 'admin' && req.user.role !== 'admin') return { code: 403, message: `${req.user.name} is an expert; this needs an admin` };
  return null;
}

/**
 * Resolves the token and enforces the route's `access` on request, before the body is read: a caller
 * without a valid token gets 401 whatever the body (never a 400, 413 or 415 that describes the API to
 * someone who may not write).
 */
export function installAuth(app: FastifyInstance, wb: Workbench): void {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const token = bearer(req);
    if (token) req.user = wb.store.userByToken(token);
    const access = req.routeOptions.config?.access;
    const no = access ? refusal(access, req) : null;
    if (no) return reply.code(no.code).send({ error: no.code === 401 ? 'Unauthorized' : 'Forbidden', message: no.message });
  });
}

export type { Role };
