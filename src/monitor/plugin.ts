/**
 * GET /monitoring/{name}: the monitoring report as JSON (what `mldeploy monitor NAME --json` prints). A Fastify
 * plugin mounted beside the dashboard; the route is not on the client list, so it takes the admin credential.
 */
import type { FastifyInstance } from 'fastify';
import { InvalidInputError, NotFoundError } from '../tracking/index.js';
import { MAX_WINDOW, MonitoringInputError, computeMonitoringReport, type MonitorStores } from './report.js';

interface MonitoringQuery {
  window?: number;
  from?: string;
  to?: string;
  version?: number;
  drift_share?: number;
}

const errorBody = {
  type: 'object',
  properties: { error: { type: 'string' }, message: { type: 'string' } },
  required: ['error', 'message'],
} as const;

export async function monitoringPlugin(app: FastifyInstance, stores: MonitorStores): Promise<void> {
  app.get<{ Params: { name: string }; Querystring: MonitoringQuery }>(
    '/monitoring/:name',
    {
      schema: {
        summary: 'Drift and live quality of a served model',
        description:
          'Compares the newest predictions of the production version (or `version`) with its training data: drift per ' +
          'feature and of the predicted probability (Evidently\'s default tests), dataset drift, realised quality from ' +
          '/feedback labels and quality estimated without labels (CBPE). Says "no live data yet" before any traffic.',
        tags: ['monitoring'],
        params: { type: 'object', properties: { name: { type: 'string', maxLength: 255 } }, required: ['name'] },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            window: { type: 'integer', minimum: 1, maximum: MAX_WINDOW, description: 'the newest N predictions (default 5000)' },
            from: { type: 'string', maxLength: 64, description: 'start of a time range instead (ISO-8601)' },
            to: { type: 'string', maxLength: 64, description: 'end of the time range (ISO-8601)' },
            version: { type: 'integer', minimum: 1, description: 'the version to watch (default: production)' },
            drift_share: { type: 'number', exclusiveMinimum: 0, maximum: 1, description: 'dataset drift share (default 0.5)' },
          },
        },
        response: {
          200: { description: 'The monitoring report', type: 'object', additionalProperties: true },
          400: { description: 'A bad option, named', ...errorBody },
          404: { description: 'No such model, version or production alias', ...errorBody },
        },
      },
    },
    async (request, reply) => {
      const { window, from, to, version, drift_share: driftShare } = request.query;
      try {
        return await computeMonitoringReport(stores, request.params.name, { window, from, to, version, driftShare });
      } catch (error) {
        if (error instanceof NotFoundError) return reply.code(404).send({ error: 'not_found', message: error.message });
        if (error instanceof MonitoringInputError || error instanceof InvalidInputError) {
          return reply.code(400).send({ error: 'bad_request', message: error.message });
        }
        throw error;
      }
    },
  );
}
