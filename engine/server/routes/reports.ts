import type { FastifyInstance } from 'fastify';
import { moduleReportHtml } from '../../adapters/report.ts';
import { PUBLIC } from '../auth.ts';
import { moduleParam } from '../schemas.ts';
import type { Workbench } from '../workbench.ts';

const TAGS = ['reports'];

/** A module's self-contained HTML report (declaration, versions, figures, labels, deployments). */
export async function reportRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  app.get('/api/models/:module/report.html', { ...PUBLIC, schema: { tags: TAGS, summary: "the module's report as one self-contained HTML page", params: moduleParam } }, async (req, reply) => {
    const { module } = req.params as { module: string };
    const html = await moduleReportHtml(wb.store, module);
    return reply.type('text/html; charset=utf-8').header('content-disposition', `inline; filename="${module}-report.html"`).send(html);
  });
}
