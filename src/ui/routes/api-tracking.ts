/** GET /api/experiments, /api/runs, /api/runs/:id and a metric's history: the tracking store, read-only. */
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors.js';
import type { DashboardContext } from '../context.js';
import { pageRequest } from '../queries/common.js';
import { findExperiment, listExperiments } from '../queries/experiments.js';
import { TOP_LEVEL, getRun, listRuns, metricHistory, runExists } from '../queries/runs.js';
import { TAG, errorResponse, experimentList, metricHistory as metricHistorySchema, pageQuery, runDetail, runList } from './schemas.js';

/** Where a run's own artifacts live, relative to the artifact root. */
export function runArtifactPrefix(runId: string): string {
  return `runs/${runId}/artifacts/`;
}

export function registerTrackingApi(app: FastifyInstance, ctx: DashboardContext): void {
  app.get<{ Querystring: { limit?: number; offset?: number } }>(
    '/api/experiments',
    {
      schema: {
        tags: [TAG],
        summary: 'Experiments with their run count and last run time, newest first',
        querystring: { type: 'object', properties: pageQuery },
        response: { 200: experimentList },
      },
    },
    async (request) => listExperiments(ctx.db, pageRequest(request.query.limit, request.query.offset)),
  );

  app.get<{ Querystring: { experiment?: string; parent?: string; limit?: number; offset?: number } }>(
    '/api/runs',
    {
      schema: {
        tags: [TAG],
        summary: 'Tracked runs, newest first',
        querystring: {
          type: 'object',
          properties: {
            experiment: { type: 'string', description: 'experiment id or name' },
            parent: { type: 'string', description: `children of this run id; "${TOP_LEVEL}" for top-level runs only` },
            ...pageQuery,
          },
        },
        response: { 200: runList, 404: errorResponse },
      },
    },
    async (request) => {
      const { experiment, parent, limit, offset } = request.query;
      let experimentId: string | undefined;
      if (experiment) {
        const found = await findExperiment(ctx.db, experiment);
        if (!found) throw new NotFoundError('experiment', experiment, { message: `experiment "${experiment}" not found (give its id or name)` });
        experimentId = found.id;
      }
      return listRuns(ctx.db, { experimentId, parent: parent || undefined, ...pageRequest(limit, offset) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/runs/:id',
    {
      schema: {
        tags: [TAG],
        summary: 'One run: params, last metric values, tags, child runs, registered versions and artifact keys',
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: runDetail, 404: errorResponse },
      },
    },
    async (request) => {
      const run = await getRun(ctx.db, request.params.id);
      if (!run) throw new NotFoundError('run', request.params.id, { message: `run "${request.params.id}" not found` });
      const artifacts = ctx.options.listArtifacts ? await ctx.options.listArtifacts(runArtifactPrefix(run.id)) : null;
      return { ...run, artifacts };
    },
  );

  app.get<{ Params: { id: string; key: string } }>(
    '/api/runs/:id/metrics/:key',
    {
      schema: {
        tags: [TAG],
        summary: "Every logged step of one of a run's metrics",
        params: {
          type: 'object',
          properties: { id: { type: 'string' }, key: { type: 'string' } },
          required: ['id', 'key'],
        },
        response: { 200: metricHistorySchema, 404: errorResponse },
      },
    },
    async (request) => {
      const { id, key } = request.params;
      const points = await metricHistory(ctx.db, id, key);
      if (points.length === 0) {
        if (await runExists(ctx.db, id)) throw new NotFoundError('metric', key, { message: `run "${id}" has no metric "${key}"` });
        throw new NotFoundError('run', id, { message: `run "${id}" not found` });
      }
      return { runId: id, key, points };
    },
  );
}
