/** The server-rendered pages under /ui: each handler runs its queries and hands the data to a page in src/ui/pages. */
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';
import { datasetsPage } from '../pages/datasets.js';
import { errorPage } from '../pages/errors.js';
import { defaultMetric, experimentPage, experimentsPage, runPage } from '../pages/experiments.js';
import { modelPage, modelsPage } from '../pages/models.js';
import { overviewPage } from '../pages/overview.js';
import { dagRunPage, pipelinesPage } from '../pages/pipelines.js';
import { predictionsPage } from '../pages/predictions.js';
import { pageRequest } from '../queries/common.js';
import { getDagRun, listDagIds, listDagRuns } from '../queries/dag-runs.js';
import { listDatasets } from '../queries/datasets.js';
import { findExperiment, listExperiments } from '../queries/experiments.js';
import { getModel, listModels } from '../queries/models.js';
import { predictionStats } from '../queries/prediction-stats.js';
import { listPredictionModels, listPredictions } from '../queries/predictions.js';
import { getRun, listRuns, metricAcrossRuns, metricHistory, metricKeysOfExperiment } from '../queries/runs.js';
import { loadRoc } from '../roc.js';
import { runArtifactPrefix } from './api-tracking.js';
import { sendPage } from './http.js';
import {
  MAX_WINDOW,
  computeMonitoringReport,
  computeMonitoringTimeline,
  featureDistributions,
  type MonitorStores,
} from '../../monitor/index.js';
import { ArtifactNotFoundError, ModelRegistry, NotFoundError } from '../../tracking/index.js';
import { monitoringPage } from '../pages/monitoring.js';

type Q = Record<string, string | undefined>;

/** Page query strings are typed by people: a bad number falls back to the default instead of an error page. */
function int(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

function text(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Metrics charted by step on a run page, at most. */
const MAX_HISTORY_CHARTS = 6;
/** Runs in an experiment's metric chart, at most. */
const MAX_CHART_RUNS = 200;
const HIDDEN = { hide: true, tags: ['dashboard'] };
/** Predictions per point of the monitoring page's drift and quality over time. */
const TIMELINE_CHUNK_ROWS = 1000;

/** Monitoring reads through the same stores as the CLI: the registry on the dashboard's database, its artifacts. */
function monitorStores(ctx: DashboardContext): MonitorStores {
  const read = ctx.options.readArtifact;
  return {
    store: ctx.options.store,
    registry: new ModelRegistry(ctx.options.store),
    artifacts: {
      get: (key: string) => (read ? read(key) : Promise.reject(new ArtifactNotFoundError(key))),
    },
  };
}

export function registerPages(app: FastifyInstance, ctx: DashboardContext): void {
  const { db, base } = ctx;

  app.get('/ui', { schema: HIDDEN }, async (_request, reply) => {
    const now = new Date();
    const [models, dagRuns, traffic, lastDay] = await Promise.all([
      listModels(db),
      listDagRuns(db, { limit: 8, offset: 0 }),
      predictionStats(db, { bucket: 'day', since: new Date(now.getTime() - 13 * 86_400_000).toISOString().slice(0, 10), now }),
      predictionStats(db, { bucket: 'hour', since: new Date(now.getTime() - 86_400_000).toISOString(), now }),
    ]);
    return sendPage(reply, overviewPage(base, { models, dagRuns: dagRuns.items, traffic, lastDay }));
  });

  app.get<{ Querystring: Q }>('/ui/pipelines', { schema: HIDDEN }, async (request, reply) => {
    const dag = text(request.query.dag);
    const [runs, dagIds] = await Promise.all([
      listDagRuns(db, { dagId: dag, ...pageRequest(int(request.query.limit), int(request.query.offset)) }),
      listDagIds(db),
    ]);
    return sendPage(reply, pipelinesPage(base, runs, dagIds, dag));
  });

  app.get<{ Params: { id: string } }>('/ui/pipelines/:id', { schema: HIDDEN }, async (request, reply) => {
    const run = await getDagRun(db, request.params.id);
    if (!run) return sendPage(reply, errorPage(base, 'pipelines', 'Pipeline run not found', `There is no DAG run "${request.params.id}".`), 404);
    return sendPage(reply, dagRunPage(base, run, ctx.options.dagShape?.(run.dagId)));
  });

  app.get<{ Querystring: Q }>('/ui/experiments', { schema: HIDDEN }, async (request, reply) => {
    const experiments = await listExperiments(db, pageRequest(int(request.query.limit), int(request.query.offset)));
    return sendPage(reply, experimentsPage(base, experiments));
  });

  app.get<{ Params: { id: string }; Querystring: Q }>('/ui/experiments/:id', { schema: HIDDEN }, async (request, reply) => {
    const experiment = await findExperiment(db, request.params.id);
    if (!experiment) {
      return sendPage(reply, errorPage(base, 'experiments', 'Experiment not found', `There is no experiment with id or name "${request.params.id}".`), 404);
    }
    const metricKeys = await metricKeysOfExperiment(db, experiment.id);
    const wanted = text(request.query.metric);
    const metric = wanted && metricKeys.includes(wanted) ? wanted : defaultMetric(metricKeys);
    const [runs, values] = await Promise.all([
      listRuns(db, { experimentId: experiment.id, ...pageRequest(int(request.query.limit), int(request.query.offset)) }),
      metric ? metricAcrossRuns(db, experiment.id, metric, MAX_CHART_RUNS) : Promise.resolve([]),
    ]);
    return sendPage(reply, experimentPage(base, { experiment, runs, metricKeys, metric, values }));
  });

  app.get<{ Params: { id: string } }>('/ui/runs/:id', { schema: HIDDEN }, async (request, reply) => {
    const run = await getRun(db, request.params.id);
    if (!run) return sendPage(reply, errorPage(base, 'experiments', 'Run not found', `There is no run "${request.params.id}".`), 404);
    const stepped = run.metrics.filter((m) => m.steps > 1).slice(0, MAX_HISTORY_CHARTS);
    const [roc, artifacts, histories] = await Promise.all([
      loadRoc(ctx.options.readArtifact, run.id),
      ctx.options.listArtifacts ? ctx.options.listArtifacts(runArtifactPrefix(run.id)) : Promise.resolve(null),
      Promise.all(stepped.map(async (m) => ({ key: m.key, points: await metricHistory(db, run.id, m.key) }))),
    ]);
    if (roc.kind === 'problem') request.log.warn({ runId: run.id, reason: roc.reason }, 'ROC artifact unusable');
    const loggedAuc = run.metrics.find((m) => m.key === 'test_roc_auc')?.value;
    return sendPage(reply, runPage(base, { run, artifacts, roc, histories, loggedAuc }));
  });

  app.get('/ui/models', { schema: HIDDEN }, async (_request, reply) => sendPage(reply, modelsPage(base, await listModels(db))));

  app.get<{ Params: { name: string } }>('/ui/models/:name', { schema: HIDDEN }, async (request, reply) => {
    const model = await getModel(db, request.params.name, 200);
    if (!model) return sendPage(reply, errorPage(base, 'models', 'Model not found', `No model named "${request.params.name}" is registered.`), 404);
    return sendPage(reply, modelPage(base, model));
  });

  app.get<{ Params: { name: string }; Querystring: Q }>('/ui/models/:name/monitoring', { schema: HIDDEN }, async (request, reply) => {
    const { name } = request.params;
    const stores = monitorStores(ctx);
    const window = int(request.query.window);
    const options = { window: window && window >= 1 && window <= MAX_WINDOW ? window : undefined };
    try {
      const report = await computeMonitoringReport(stores, name, options);
      const [distributions, timeline] = report.status === 'ok'
        ? await Promise.all([featureDistributions(stores, name, options), computeMonitoringTimeline(stores, name, { chunks: 12, chunkRows: TIMELINE_CHUNK_ROWS })])
        : [[], []];
      return sendPage(reply, monitoringPage(base, { report, distributions, timeline }));
    } catch (error) {
      if (error instanceof NotFoundError) return sendPage(reply, errorPage(base, 'models', 'Nothing to monitor', error.message), 404);
      throw error;
    }
  });

  app.get<{ Querystring: Q }>('/ui/predictions', { schema: HIDDEN }, async (request, reply) => {
    const model = text(request.query.model);
    const bucket = request.query.bucket === 'hour' ? 'hour' : 'day';
    const [models, stats, predictions] = await Promise.all([
      listPredictionModels(db),
      predictionStats(db, { model, bucket }),
      listPredictions(db, { model, ...pageRequest(int(request.query.limit), int(request.query.offset)) }),
    ]);
    return sendPage(reply, predictionsPage(base, { models, model, stats, predictions }));
  });

  app.get<{ Querystring: Q }>('/ui/datasets', { schema: HIDDEN }, async (request, reply) => {
    const data = await listDatasets(db, { dataset: text(request.query.dataset), limit: pageRequest(int(request.query.limit), 0, 100).limit });
    return sendPage(reply, datasetsPage(base, data));
  });
}
