/** GET /api/predictions and /api/predictions/stats: what the served models predicted, and how that moves over time. */
import type { FastifyInstance } from 'fastify';
import { InvalidInputError } from '../../errors.js';
import type { DashboardContext } from '../context.js';
import { pageRequest } from '../queries/common.js';
import { predictionStats, type StatsBucket } from '../queries/prediction-stats.js';
import { listPredictions } from '../queries/predictions.js';
import { TAG, errorResponse, pageQuery, predictionList, predictionStats as statsSchema } from './schemas.js';

/** An ISO date or time from the query string, normalised; anything else is a 400 naming the parameter. */
export function isoParam(name: string, value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new InvalidInputError(`query parameter ${name} must be an ISO date or time, got "${value}"`);
  }
  return new Date(ms).toISOString();
}

export function registerPredictionApi(app: FastifyInstance, ctx: DashboardContext): void {
  app.get<{ Querystring: { model?: string; limit?: number; offset?: number } }>(
    '/api/predictions',
    {
      schema: {
        tags: [TAG],
        summary: 'Served predictions, newest first, with inputs, probability, prediction and feedback label',
        querystring: {
          type: 'object',
          properties: { model: { type: 'string', description: 'registered model name' }, ...pageQuery },
        },
        response: { 200: predictionList },
      },
    },
    async (request) => {
      const { model, limit, offset } = request.query;
      return listPredictions(ctx.db, { model: model || undefined, ...pageRequest(limit, offset) });
    },
  );

  app.get<{ Querystring: { model?: string; bucket?: StatsBucket; since?: string; until?: string } }>(
    '/api/predictions/stats',
    {
      schema: {
        tags: [TAG],
        summary: 'Prediction count, positive rate, mean probability and label agreement per day or hour',
        querystring: {
          type: 'object',
          properties: {
            model: { type: 'string' },
            bucket: { type: 'string', enum: ['day', 'hour'], default: 'day' },
            since: { type: 'string', description: 'ISO time, inclusive (default: 30 days, or 48 hours for hour buckets)' },
            until: { type: 'string', description: 'ISO time, exclusive (default: none)' },
          },
        },
        response: { 200: statsSchema, 400: errorResponse },
      },
    },
    async (request) => {
      const { model, bucket, since, until } = request.query;
      return predictionStats(ctx.db, {
        model: model || undefined,
        bucket: bucket ?? 'day',
        since: isoParam('since', since),
        until: isoParam('until', until),
      });
    },
  );
}
