import type { FastifyInstance } from 'fastify';
import { EXPORT_FORMATS, exportModelBytes, finkScienceContext, finkScienceFiles } from '../../core/export.ts';
import { FinkScienceRefusal } from '../../core/finkScience/index.ts';
import { StoreError } from '../../core/store/store.ts';
import { ADMIN, EXPERT, PUBLIC } from '../auth.ts';
import { emptyBody, MODULE_NAME, moduleParam, reasonBody, versionParams } from '../schemas.ts';
import { RequestError, type Workbench } from '../workbench.ts';

const TAGS = ['models'];

const notFound = <T>(f: () => T): T => {
  try {
    return f();
  } catch (e) {
    if (e instanceof StoreError) throw new RequestError(404, e.message);
    throw e;
  }
};

/** The model registry: versions with their metrics, comparisons, deployments, retrains and exports. */
export async function modelRoutes(app: FastifyInstance, { wb }: { wb: Workbench }): Promise<void> {
  const modelDetail = (module: string, version: number) => {
    const row = wb.store.getModel(module, version);
    const bundle = wb.store.getBundle(module, version);
    const imp = (bundle.model as { featureImportances?: number[] }).featureImportances;
    return {
      ...row, classNames: bundle.manifest.classNames, training: bundle.manifest.training, featureSpec: bundle.manifest.featureSpec.name,
      featureImportances: imp && imp.length ? bundle.manifest.featureSpec.columns.map((c, j) => ({ name: c, importance: imp[j] })) : null,
      nEstimators: (bundle.model as { params?: { nEstimators?: number } }).params?.nEstimators ?? null,
    };
  };

  app.get('/api/models', {
    ...PUBLIC,
    schema: { tags: TAGS, summary: 'every model version (of one module with ?module=)', querystring: { type: 'object', additionalProperties: false, properties: { module: MODULE_NAME } } },
  }, async (req) => wb.store.listModels((req.query as { module?: string }).module));

  app.get('/api/models/:module', { ...PUBLIC, schema: { tags: TAGS, summary: "a module's versions, deployments and learning curve", params: moduleParam } }, async (req) => {
    const { module } = req.params as { module: string };
    return {
      module, deployedVersion: wb.store.deployedVersion(module), retraining: wb.runningRetrains.includes(module),
      versions: wb.store.listModels(module), deployments: wb.store.deploymentHistory(module), learningCurve: wb.store.learningCurve(module),
    };
  });

  app.get('/api/models/:module/learning-curve', { ...PUBLIC, schema: { tags: TAGS, summary: 'the gate metric of each version with its interval', params: moduleParam } },
    async (req) => wb.store.learningCurve((req.params as { module: string }).module));

  app.get('/api/models/:module/:version', { ...PUBLIC, schema: { tags: TAGS, summary: 'one version: metrics, classes, training summary, feature importances', params: versionParams } }, async (req) => {
    const { module, version } = req.params as { module: string; version: number };
    return notFound(() => modelDetail(module, version));
  });

  app.get('/api/models/:module/diff', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: 'two versions side by side: metrics, labels and importances',
      params: moduleParam,
      querystring: { type: 'object', required: ['a', 'b'], additionalProperties: false, properties: { a: { type: 'integer', minimum: 1 }, b: { type: 'integer', minimum: 1 } } },
    },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const { a, b } = req.query as { a: number; b: number };
    const A = notFound(() => modelDetail(module, a));
    const B = notFound(() => modelDetail(module, b));
    const keys = [...new Set([...Object.keys(A.metrics), ...Object.keys(B.metrics)])];
    const impB = new Map((B.featureImportances ?? []).map((f) => [f.name, f.importance]));
    return {
      module, a: A, b: B,
      metrics: keys.map((k) => ({ name: k, a: A.metrics[k] ?? null, b: B.metrics[k] ?? null, delta: A.metrics[k] !== undefined && B.metrics[k] !== undefined ? B.metrics[k] - A.metrics[k] : null })),
      nLabels: { a: A.nLabels, b: B.nLabels, delta: B.nLabels - A.nLabels },
      sameFeatureSpec: A.featureSpecHash === B.featureSpecHash,
      importances: (A.featureImportances ?? []).map((f) => ({ name: f.name, a: f.importance, b: impB.get(f.name) ?? null })),
    };
  });

  app.post('/api/models/:module/deploy', {
    ...ADMIN,
    schema: {
      tags: TAGS, summary: 'deploy a version (the scorer follows it)',
      params: moduleParam, body: { type: 'object', required: ['version'], additionalProperties: false, properties: { version: { type: 'integer', minimum: 1 }, reason: { type: 'string', maxLength: 2000 } } },
    },
  }, async (req) => {
    const { module } = req.params as { module: string };
    const b = req.body as { version: number; reason?: string };
    wb.deploy(req.user!, module, b.version, b.reason ?? null);
    return { module, deployedVersion: wb.store.deployedVersion(module) };
  });

  app.post('/api/models/:module/rollback', { ...ADMIN, schema: { tags: TAGS, summary: 'back to the previously deployed version', params: moduleParam, body: reasonBody } }, async (req) => {
    const { module } = req.params as { module: string };
    const v = wb.rollback(req.user!, module, (req.body as { reason?: string } | undefined)?.reason ?? null);
    return { module, deployedVersion: v };
  });

  app.post('/api/models/:module/retrain', { ...EXPERT, schema: { tags: TAGS, summary: 'retrain now in a worker; the promotion gate decides on deployment', params: moduleParam, body: emptyBody } }, async (req, reply) => {
    const { module } = req.params as { module: string };
    void wb.retrain(module, req.user!.name);
    return reply.code(202).send({ module, retraining: true });
  });

  app.get('/api/models/:module/:version/export', {
    ...PUBLIC,
    schema: {
      tags: TAGS, summary: 'a version in a broker-facing format (bundle, onnx, onnx-mc, fink-anomaly-zip, sklearn; fink-science: a zip of the module as a fink-science contribution)',
      params: versionParams,
      querystring: { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: [...EXPORT_FORMATS], default: 'bundle' } } },
    },
  }, async (req, reply) => {
    const { module, version } = req.params as { module: string; version: number };
    const { format } = req.query as { format: string };
    const bundle = notFound(() => wb.store.getBundle(module, version));
    let out: ReturnType<typeof exportModelBytes>;
    try {
      out = exportModelBytes(bundle, `${module} v${version}`, format, undefined, format === 'fink-science' ? finkScienceContext(wb.store, bundle) : undefined);
    } catch (e) {
      throw new RequestError(400, (e as Error).message);
    }
    return reply.type(out.contentType).header('content-disposition', `attachment; filename="${out.fileName}"`).send(Buffer.from(out.bytes));
  });

  app.get('/api/models/:module/:version/fink-science', {
    ...PUBLIC,
    schema: { tags: TAGS, summary: "what `export?format=fink-science` holds: the folder, its files, the README for fink-science's reviewers and the fink-broker snippet (422 with the reason when Fink cannot run the module)", params: versionParams },
  }, async (req) => {
    const { module, version } = req.params as { module: string; version: number };
    const bundle = notFound(() => wb.store.getBundle(module, version));
    try {
      const e = finkScienceFiles(bundle, `${module} v${version}`, finkScienceContext(wb.store, bundle));
      return {
        module, version, folder: `fink_science/${e.plan.surveyFolder}/${e.plan.pythonName}`, functionName: e.plan.functionName,
        files: e.files.map((f) => ({ path: f.path, bytes: f.bytes.length })), readme: e.readme, snippet: e.snippet, notes: e.notes,
      };
    } catch (e) {
      if (e instanceof FinkScienceRefusal) throw new RequestError(422, e.message);
      throw e;
    }
  });
}
