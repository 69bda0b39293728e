import type { FastifyInstance } from 'fastify';
import { ADMIN, EXPERT, type Role } from '../auth.ts';
import type { Workbench } from '../workbench.ts';

const TAGS = ['users'];

/** Accounts: who am I, and (admins) the list and new accounts. Tokens are shown once and stored hashed. */
export async function userRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  app.get('/api/me', { ...EXPERT, schema: { tags: TAGS, summary: 'the account of the token' } }, async (req) => req.user);

  app.get('/api/users', { ...ADMIN, schema: { tags: TAGS, summary: 'every account' } }, async () => wb.store.listUsers());

  app.post('/api/users', {
    ...ADMIN,
    schema: {
      tags: TAGS, summary: 'a new account (or a new token for an existing one); the token is in the answer only',
      body: { type: 'object', required: ['name', 'role'], additionalProperties: false, properties: { name: { type: 'string', pattern: '^[A-Za-z0-9_.@-]{1,64}$' }, role: { type: 'string', enum: ['expert', 'admin'] } } },
    },
  }, async (req, reply) => {
    const b = req.body as { name: string; role: Role };
    return reply.code(201).send(wb.store.addUser(b.name, b.role, req.user!.name));
  });
}
