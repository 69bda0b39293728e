import type { FastifyInstance } from 'fastify';
import { PUBLIC } from '../auth.ts';
import type { Workbench } from '../workbench.ts';

const TAGS = ['health'];

/** `GET /api/health`: 200 once the store is open (what `sieve demo` prints and a load balancer polls). */
export async function healthRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  app.get('/api/health', { ...PUBLIC, schema: { tags: TAGS, summary: 'liveness: alert count, schema version, retrains under way, AAD sessions being opened' } }, async () => ({
    ok: true, alerts: wb.store.countAlerts(), schemaVersion: wb.store.schemaVersion, retraining: wb.runningRetrains, openingSessions: wb.warmingSessions,
  }));
}
