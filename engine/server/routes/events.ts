import type { FastifyInstance } from 'fastify';
import { PUBLIC } from '../auth.ts';
import type { Workbench } from '../workbench.ts';

const TAGS = ['events'];

/** A stream whose client stopped reading is closed once this much is waiting for it. */
const MAX_BUFFERED_BYTES = 1 << 20;

/**
 * Server-sent events: labels, retrains, deployments and module revisions, one stream per open page. Streams
 * stay open, so they are counted: at most `perClient` per user (per client address without a token: an
 * EventSource sends none) and `total` in all; one more gets 429 / 503 instead of a held connection.
 */
export async function eventRoutes(app: FastifyInstance, { wb, streams }: { wb: Workbench; streams: { perClient: number; total: number } }): Promise<void> {
  const open = new Map<string, number>();
  let total = 0;
  // comments every 15 s keep proxies from closing the stream
  app.get('/api/events', { ...PUBLIC, schema: { tags: TAGS, summary: 'a text/event-stream of what changes in the store' }, config: { ...PUBLIC.config, rateLimit: false } } as never, (req, reply) => {
    const client = req.user ? `user ${req.user.name}` : `address ${req.ip}`;
    const mine = open.get(client) ?? 0;
    if (mine >= streams.perClient) {
      return reply.code(429).send({ error: 'Too Many Requests', message: `${client} has ${mine} event streams open, the most one client may (close a page)` });
    }
    if (total >= streams.total) return reply.code(503).send({ error: 'Service Unavailable', message: `${total} event streams are open, the most this server keeps; try again later` });
    open.set(client, mine + 1);
    total++;
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-content-type-options': 'nosniff' });
    const send = (text: string) => {
      // a client that does not read would make the server buffer every event for it
      if (reply.raw.writableLength > MAX_BUFFERED_BYTES) reply.raw.destroy();
      else reply.raw.write(text);
    };
    send(': connected\n\n');
    const off = wb.events.subscribe((e) => send(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
    const ping = setInterval(() => send(': ping\n\n'), 15_000);
    req.raw.on('close', () => {
      off();
      clearInterval(ping);
      total--;
      const n = (open.get(client) ?? 1) - 1;
      if (n > 0) open.set(client, n);
      else open.delete(client);
    });
  });
}
