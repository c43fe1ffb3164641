/** GET /api/datasets: CSV loads into raw tables and the cleaned, split snapshots made from them. */
import type { FastifyInstance } from 'fastify';
import type { DashboardContext } from '../context.js';
import { pageRequest } from '../queries/common.js';
import { listDatasets } from '../queries/datasets.js';
import { TAG, datasets } from './schemas.js';

export function registerDatasetApi(app: FastifyInstance, ctx: DashboardContext): void {
  app.get<{ Querystring: { dataset?: string; limit?: number } }>(
    '/api/datasets',
    {
      schema: {
        tags: [TAG],
        summary: 'Raw loads and dataset snapshots, newest first',
        querystring: {
          type: 'object',
          properties: {
            dataset: { type: 'string', description: 'only this dataset' },
            limit: { type: 'integer', minimum: 1, description: 'newest loads and snapshots to return (at most 500)' },
          },
        },
        response: { 200: datasets },
      },
    },
    async (request) => {
      const { dataset, limit } = request.query;
      return listDatasets(ctx.db, { dataset: dataset || undefined, limit: pageRequest(limit, 0, 100).limit });
    },
  );
}
