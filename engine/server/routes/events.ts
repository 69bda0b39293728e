import type { FastifyInstance } from 'fastify';
import { PUBLIC } from '../auth.ts';
import type { Workbench } from '../workbench.ts';

const TAGS = ['events'];

/** Server-sent events: labels, retrains, deployments and module revisions, one stream per open page. */
export async function eventRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  // comments every 15 s keep proxies from closing the stream
  app.get('/api/events', { ...PUBLIC, schema: { tags: TAGS, summary: 'a text/event-stream of what changes in the store' }, config: { ...PUBLIC.config, rateLimit: false } } as never, (req, reply) => {
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
}
