/** GET /api/models and /api/models/:name: the registry with versions, aliases and the promotion audit trail. */
import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors.js';
import type { DashboardContext } from '../context.js';
import { pageRequest } from '../queries/common.js';
import { getModel, listModels } from '../queries/models.js';
import { TAG, errorResponse, modelDetail, modelList } from './schemas.js';

export function registerModelApi(app: FastifyInstance, ctx: DashboardContext): void {
  app.get(
    '/api/models',
    {
      schema: {
        tags: [TAG],
        summary: 'Registered models with their production version and its test ROC AUC',
        response: { 200: modelList },
      },
    },
    async () => ({ items: await listModels(ctx.db) }),
  );

  app.get<{ Params: { name: string }; Querystring: { events?: number } }>(
    '/api/models/:name',
    {
      schema: {
        tags: [TAG],
        summary: 'One model: versions with metrics, aliases, and events (promotions, refusals, forced promotions, rollbacks)',
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        querystring: {
          type: 'object',
          properties: { events: { type: 'integer', minimum: 1, description: 'newest events to return (at most 500)' } },
        },
        response: { 200: modelDetail, 404: errorResponse },
      },
    },
    async (request) => {
      const model = await getModel(ctx.db, request.params.name, pageRequest(request.query.events, 0, 200).limit);
      if (!model) throw new NotFoundError('model', request.params.name, { message: `model "${request.params.name}" is not registered` });
      return model;
    },
  );
}
