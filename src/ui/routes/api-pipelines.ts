/** GET /api/dag-runs and /api/dag-runs/:id: pipeline runs, their tasks, attempts and logs. */
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors.js';
import type { DashboardContext } from '../context.js';
import { pageRequest } from '../queries/common.js';
import { getDagRun, listDagRuns } from '../queries/dag-runs.js';
import { TAG, dagRunDetail, dagRunList, errorResponse, pageQuery } from './schemas.js';

export function registerPipelineApi(app: FastifyInstance, ctx: DashboardContext): void {
  app.get<{ Querystring: { dag?: string; limit?: number; offset?: number } }>(
    '/api/dag-runs',
    {
      schema: {
        tags: [TAG],
        summary: 'Pipeline (DAG) runs, newest first',
        querystring: {
          type: 'object',
          properties: { dag: { type: 'string', description: 'only runs of this DAG' }, ...pageQuery },
        },
        response: { 200: dagRunList },
      },
    },
    async (request) => {
      const { dag, limit, offset } = request.query;
      return listDagRuns(ctx.db, { dagId: dag || undefined, ...pageRequest(limit, offset) });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/dag-runs/:id',
    {
      schema: {
        tags: [TAG],
        summary: 'One pipeline run with its task instances and every attempt with its log',
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { 200: dagRunDetail, 404: errorResponse },
      },
    },
    async (request) => {
      const run = await getDagRun(ctx.db, request.params.id);
      if (!run) throw new NotFoundError('DAG run', request.params.id, { message: `DAG run "${request.params.id}" not found` });
      return run;
    },
  );
}
