import type { FastifyInstance } from 'fastify';
import { agreementPerExpert } from '../../core/modules/index.ts';
import { EXPERT, PUBLIC } from '../auth.ts';
import { emptyBody, idParam, MODULE_NAME } from '../schemas.ts';
import type { Workbench } from '../workbench.ts';

const TAGS = ['labels'];

/** An expert's labels: their recent ones, a new one, an undo and a change (each kept with its history). */
export async function labelRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  app.get('/api/labels', {
    ...EXPERT,
    schema: {
      tags: TAGS, summary: "the token holder's latest labels in a module",
      querystring: { type: 'object', required: ['module'], additionalProperties: false, properties: { module: MODULE_NAME, limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 } } },
    },
  }, async (req) => {
    const { module, limit } = req.query as { module: string; limit: number };
    // the expert's own labels: their truth is no secret any more
    return wb.store.recentLabels(module, req.user!.name, limit).map((r) => wb.withTruth(r));
  });

  app.post('/api/labels', {
    ...EXPERT,
    schema: {
      tags: TAGS, summary: "a label for an alert's object in a module (may start a retrain)",
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
    // an anomaly module's re-ranking is done when the label is answered (other requests are answered meanwhile)
    await wb.reweighted(row.module);
    return reply.code(201).send(wb.withTruth(row));
  });

  app.get('/api/labels/agreement', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: "per expert, how their labels in a module agree with the objects' catalogue classes (blind labelling: each shown only after the label)",
      querystring: { type: 'object', required: ['module'], additionalProperties: false, properties: { module: MODULE_NAME } },
    },
  }, async (req) => agreementPerExpert(wb.store, wb.module((req.query as { module: string }).module)));

  app.post('/api/labels/:id/undo', { ...EXPERT, schema: { tags: TAGS, summary: 'withdraw one of your labels', params: idParam, body: emptyBody } },
    async (req) => {
      const row = wb.undo(req.user!, (req.params as { id: number }).id);
      await wb.reweighted(row.module);
      return row;
    });

  app.patch('/api/labels/:id', {
    ...EXPERT,
    schema: {
      tags: TAGS, summary: 'change one of your labels (the old one stays in the history)',
      params: idParam,
      body: { type: 'object', required: ['label'], additionalProperties: false, properties: { label: { type: 'string', minLength: 1, maxLength: 64 }, comment: { type: ['string', 'null'], maxLength: 2000 } } },
    },
  }, async (req) => {
    const b = req.body as { label: string; comment?: string | null };
    const row = wb.change(req.user!, (req.params as { id: number }).id, b.label, b.comment ?? null);
    await wb.reweighted(row.module);
    return row;
  });
}
