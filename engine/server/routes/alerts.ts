import type { FastifyInstance } from 'fastify';
import { cutoutPng, type Stretch } from '../../adapters/image/cutoutPng.ts';
import { StoreError } from '../../core/store/store.ts';
import { alertDetail } from '../alertDetail.ts';
import { PUBLIC } from '../auth.ts';
import { idParam } from '../schemas.ts';
import { RequestError, type Workbench } from '../workbench.ts';

const TAGS = ['alerts'];

/** Stored alerts: a search, one alert as the alert view shows it (per module), and its stamps as PNG. */
export async function alertRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  app.get('/api/alerts', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: 'stored alerts, by object and whether they carry stamps',
      querystring: {
        type: 'object', additionalProperties: false,
        properties: { objectId: { type: 'string', minLength: 1, maxLength: 64 }, withCutouts: { type: 'boolean' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      },
    },
  }, async (req) => {
    const q = req.query as { objectId?: string; withCutouts?: boolean; limit: number };
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.objectId) {
      where.push('object_id = ?');
      args.push(q.objectId);
    }
    if (q.withCutouts !== undefined) where.push(q.withCutouts ? 'stamp_science IS NOT NULL' : 'stamp_science IS NULL');
    const rows = wb.store.db.prepare(`SELECT id, object_id, survey, jd, band, magpsf, stamp_science IS NOT NULL AS stamps FROM alerts
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`).all(...args, q.limit) as Array<Record<string, unknown>>;
    return rows.map((r) => ({ id: r.id, objectId: r.object_id, survey: r.survey, jd: r.jd, band: r.band, magpsf: r.magpsf, hasCutouts: r.stamps === 1 }));
  });

  app.get('/api/search', {
    ...PUBLIC,
    schema: {
      tags: TAGS,
      summary: "alerts by the survey's ids, matched exactly as text: objectId / diaObjectId, candid / alertId, SNID, diaSourceId, ssObjectId; Sieve's own alert id only as '#123' or 'id:123'",
      querystring: {
        type: 'object', required: ['q'], additionalProperties: false,
        properties: { q: { type: 'string', minLength: 1, maxLength: 64 }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      },
    },
  }, async (req) => {
    const { q, limit } = req.query as { q: string; limit: number };
    return { query: q.trim(), hits: wb.store.searchAlerts(q, limit) };
  });

  app.get('/api/alerts/:id', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: "an alert: light curve, context, features, fitted curves and each module's scores and labels",
      params: idParam,
      querystring: { type: 'object', additionalProperties: false, properties: { modules: { type: 'string', pattern: '^[a-z][a-z0-9-]{1,47}(,[a-z][a-z0-9-]{1,47})*$' } } },
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const { modules } = req.query as { modules?: string };
    try {
      const names = modules ? modules.split(',') : wb.modules().map((m) => m.name);
      for (const n of names) wb.module(n);
      return alertDetail(wb, id, names, req.user);
    } catch (e) {
      if (e instanceof StoreError) throw new RequestError(404, e.message);
      throw e;
    }
  });

  app.get('/api/alerts/:id/cutouts/:file', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: 'a stamp (science, template or difference) as PNG with the chosen stretch',
      params: { type: 'object', required: ['id', 'file'], additionalProperties: false, properties: { id: { type: 'integer', minimum: 1 }, file: { type: 'string', pattern: '^(science|template|difference)\\.png$' } } },
      querystring: { type: 'object', additionalProperties: false, properties: { stretch: { type: 'string', enum: ['zscale', 'asinh', 'linear'], default: 'zscale' } } },
    },
  }, async (req, reply) => {
    const { id, file } = req.params as { id: number; file: string };
    const { stretch } = req.query as { stretch: Stretch };
    const kind = file.replace('.png', '') as 'science' | 'template' | 'difference';
    const bytes = wb.store.stamp(id, kind);
    if (!bytes) {
      if (!wb.store.db.prepare('SELECT 1 FROM alerts WHERE id = ?').get(id)) throw new RequestError(404, `no alert with id ${id}`);
      throw new RequestError(404, `alert ${id} has no ${kind} cutout`);
    }
    const png = cutoutPng(new Uint8Array(bytes), stretch, `alert ${id} ${kind} cutout`);
    return reply.type('image/png').header('cache-control', 'private, max-age=3600').send(png);
  });
}
