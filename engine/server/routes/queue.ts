import type { FastifyInstance } from 'fastify';
import { STRATEGY_NAMES, type StrategyName } from '../../core/strategies.ts';
import { PUBLIC } from '../auth.ts';
import { moduleParam } from '../schemas.ts';
import { RequestError, type Workbench } from '../workbench.ts';

const TAGS = ['queue'];

/** What to label next (with the reason each alert was chosen) and how far the labelling has come. */
export async function queueRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  app.get('/api/modules/:module/queue', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: "the next alerts to label; with a token, leased to that expert and skipping the objects they labelled",
      params: moduleParam,
      querystring: { type: 'object', additionalProperties: false, properties: { k: { type: 'integer', minimum: 1, maximum: 200, default: 10 }, strategy: { type: 'string', enum: [...STRATEGY_NAMES] } } },
    },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const q = req.query as { k: number; strategy?: StrategyName };
    const entries = wb.queue(module, req.user, q.k, q.strategy);
    const def = wb.module(module);
    return { module, strategy: def.kind === 'anomaly' ? 'aad' : q.strategy ?? def.queueStrategy, leaseSeconds: req.user ? wb.options.leaseMs / 1000 : 0, entries };
  });

  app.get('/api/modules/:module/progress', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: 'labels per class and per expert (mine=true: the token holder only, which needs a token)',
      params: moduleParam, querystring: { type: 'object', additionalProperties: false, properties: { mine: { type: 'boolean', default: false } } },
    },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const { mine } = req.query as { mine: boolean };
    if (mine && !req.user) throw new RequestError(401, 'mine=true needs a token');
    return { module, ...wb.store.labelProgress(module, mine ? req.user!.name : undefined) };
  });
}
