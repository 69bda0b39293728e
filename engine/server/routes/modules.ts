import type { FastifyInstance } from 'fastify';
import { addModule, DeclarationError, moduleSummary } from '../../core/modules/index.ts';
import { ADMIN, PUBLIC } from '../auth.ts';
import { moduleParam } from '../schemas.ts';
import { RequestError, type Workbench } from '../workbench.ts';

const TAGS = ['modules'];

/** Science modules as declarations: the list, one module's summary, and (admins) a new revision. */
export async function moduleRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  app.get('/api/modules', { ...PUBLIC, schema: { tags: TAGS, summary: 'every module of the store with its declaration, columns, labels and deployed version' } }, async () => {
    const revisions = new Map(wb.store.moduleDeclarations().map((r) => [r.name, r]));
    return wb.modules().map((m) => ({
      name: m.name, title: m.title, survey: m.survey, kind: m.kind, classNames: m.classNames, positiveClass: m.positiveClass, labels: m.labels,
      feature: m.extractor().spec.name, columns: m.extractor().spec.columns, broker: m.broker, queueStrategy: m.queueStrategy,
      revision: revisions.get(m.name)?.revision ?? null, declaration: m.declaration,
      deployedVersion: wb.store.deployedVersion(m.name), retraining: wb.runningRetrains.includes(m.name),
    }));
  });

  app.get('/api/modules/:module', { ...PUBLIC, schema: { tags: TAGS, summary: 'a module: declaration, cut pass rate, labels per class, versions', params: moduleParam } },
    async (req) => moduleSummary(wb.store, (req.params as { module: string }).module));

  app.post('/api/modules', {
    ...ADMIN,
    schema: {
      tags: TAGS, summary: "a declaration (JSON object or YAML/JSON text) stored as the module's next revision",
      body: { type: 'object', required: ['declaration'], additionalProperties: false, properties: { declaration: { type: ['object', 'string'] } } },
    },
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
}
