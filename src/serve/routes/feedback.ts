/**
 * POST /feedback: attaches the truth to a stored prediction, for monitoring live quality: 0/1 or the label as written
 * ("Approved") for a binary model, the class label for a multi-class one, the true number for a regression one.
 */
import type { FastifyInstance } from 'fastify';
import type { ServeContext } from '../app.js';
import { NotFoundError } from '../../errors.js';
import { validationError } from '../errors.js';
import { errorSchema } from '../openapi.js';
import { NO_NUL_PATTERN, strictAjv } from '../row-contract.js';
import { feedbackLabel } from '../task-answers.js';

interface FeedbackBody {
  prediction_id: string;
  label: number | string;
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
            label: {
              type: ['number', 'string'],
              maxLength: 256,
              description: 'Binary: 0, 1 or the label as written; multi-class: the class label; regression: the true value',
            },
          },
          required: ['prediction_id', 'label'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              prediction_id: { type: 'string' },
              label: { type: ['number', 'string'] },
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
      const prediction = await context.store.db
        .selectFrom('predictions')
        .select(['model_name', 'model_version', 'value', 'probabilities_json'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!prediction) throw new NotFoundError('prediction', id, { code: 'unknown_prediction', message: `No prediction with id "${id}"` });
      const stored = feedbackLabel(prediction, servedTarget(context, prediction.model_name, Number(prediction.model_version)), label);
      if ('problem' in stored) throw validationError([{ field: 'label', message: stored.problem }]);
      await context.store.db
        .updateTable('predictions')
        .set({ ...stored, label_at: labelAt })
        .where('id', '=', id)
        .execute();
      return { prediction_id: id, label, label_at: labelAt };
    },
  );
}

/** The target of the version that made the prediction, when it is the one served now (its labels name the classes). */
function servedTarget(context: ServeContext, name: string, version: number) {
  try {
    const served = context.models.lookup(name);
    return served.version === version ? served.model.signature.target : undefined;
  } catch {
    return undefined;
  }
}
