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
 * Requests refused for want of a valid token (an unknown token, or none where one is needed), per client
 * address in fixed one-minute windows. Counting per presented token (what the
 * general rate limit keys on for a valid one) would give every guessed token a fresh allowance; counting per
 * address makes guessing as slow as this limit. The map is bounded: a flood from many addresses forgets the
 * oldest windows first.
 */
export class FailedAuthLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(readonly perMinute: number, private readonly maxAddresses = 100_000) {}

  /** Records a failure from `address`; returns the seconds to wait when it is over the limit, else 0. */
  fail(address: string, now = Date.now()): number {
    let w = this.windows.get(address);
    if (!w || now - w.start >= 60_000) {
      this.windows.delete(address);
      if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
      w = { start: now, count: 0 };
      this.windows.set(address, w);
    }
    w.count++;
    return w.count > this.perMinute ? Math.ceil((w.start + 60_000 - now) / 1000) : 0;
  }
}

/**
 * Resolves the token, before anything else looks at the request: the rate limit keys on the user it names
 * (or, without a valid one, on the client address).
 */
export function installUserResolution(app: FastifyInstance, wb: Workbench): void {
  app.decorateRequest('user', null);
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const token = bearer(req);
    if (token) req.user = wb.store.userByToken(token);
  });
}

/**
 * Enforces the route's `access` on request, before the body is read: a caller without a valid token gets 401
 * whatever the body (never a 400, 413 or 415 that describes the API to someone who may not write). A token
 * that names no user counts against its address (`failed`): past the limit, 429 until the minute is over.
 */
export function installAuth(app: FastifyInstance, failed: FailedAuthLimiter): void {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const access = req.routeOptions.config?.access;
    const no = access ? refusal(access, req) : null;
    // an unknown token anywhere, or no token where one is needed: answered before the general rate limit
    // (a route hook), so counted here, per address
    if ((bearer(req) && !req.user) || no?.code === 401) {
      const wait = failed.fail(req.ip);
      if (wait > 0) {
        return reply.code(429).header('retry-after', String(wait)).send({
          error: 'Too Many Requests', message: `more than ${failed.perMinute} requests without a valid token from ${req.ip} in a minute: wait ${wait} s`,
        });
      }
    }
    if (no) return reply.code(no.code).send({ error: no.code === 401 ? 'Unauthorized' : 'Forbidden', message: no.message });
  });
}

export type { Role };
