/** POST /feedback: attaches the true label to a stored prediction, for monitoring live accuracy. */
import type { FastifyInstance } from 'fastify';
import type { ServeContext } from '../app.js';
import { NotFoundError } from '../../errors.js';
import { errorSchema } from '../openapi.js';
import { NO_NUL_PATTERN, strictAjv } from '../row-contract.js';

interface FeedbackBody {
  prediction_id: string;
  label: 0 | 1;
}

export function registerFeedbackRoute(app: FastifyInstance, context: ServeContext): void {
  app.post<{ Body: FeedbackBody }>(
    '/feedback',
    {
      // Strict validation (no coercion, unknown fields rejected, every error listed), like the predict routes.
      validatorCompiler: ({ schema }) => strictAjv.compile(schema),
      schema: {
        summary: 'Record the true label of a prediction',
        tags: ['predict'],
        body: {
          type: 'object',
          properties: {
            prediction_id: { type: 'string', minLength: 1, maxLength: 64, pattern: NO_NUL_PATTERN },
            label: { type: 'integer', enum: [0, 1] },
          },
          required: ['prediction_id', 'label'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              prediction_id: { type: 'string' },
              label: { type: 'integer' },
              label_at: { type: 'string' },
            },
          },
          404: { description: 'No prediction with this id', ...errorSchema },
          422: { description: 'Invalid fields', ...errorSchema },
        },
      },
    },
    async (request) => {
      const { prediction_id: id, label } = request.body;
      const labelAt = new Date().toISOString();
      const result = await context.store.db
        .updateTable('predictions')
        .set({ label, label_at: labelAt })
        .where('id', '=', id)
        .executeTakeFirst();
      // MySQL counts changed rows, not matched ones: re-sending the same label can report 0, so check existence.
      if (Number(result.numUpdatedRows) === 0) {
        const found = await context.store.db.selectFrom('predictions').select('id').where('id', '=', id).executeTakeFirst();
        if (!found) throw new NotFoundError('prediction', id, { code: 'unknown_prediction', message: `No prediction with id "${id}"` });
      }
      return { prediction_id: id, label, label_at: labelAt };
    },
  );
}
