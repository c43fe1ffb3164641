/**
 * POST /predict (the default model) and POST /models/:name/predict. One JSON object in, one answer out; an array
 * in, an array out. Each answer is sent only after its prediction row is committed to the predictions table.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ServeContext } from '../app.js';
import { UnavailableError } from '../../errors.js';
import { timeOrderedUuid } from '../ids.js';
import { PredictionLogUnavailable, type PredictionRecord } from '../prediction-log.js';
import { predictionAnswerSchema, errorSchema, multiclassAnswerSchema, regressionAnswerSchema } from '../openapi.js';
import { scoreTaskRows, type TaskAnswer } from '../task-answers.js';

/** One answer, in request order. */
export interface PredictionAnswer {
  prediction_id: string;
  prediction: 0 | 1;
  probability: number;
  threshold: number;
  /** The positive label for prediction 1, else the negative label. */
  label: string;
  row_id: string | null;
  model: { name: string; version: number };
}

export function registerPredictRoutes(app: FastifyInstance, context: ServeContext): void {
  const responses = {
    200: {
      description: 'The prediction (an array of them for an array of rows), stored before it is returned',
      anyOf: [predictionAnswerSchema, multiclassAnswerSchema, regressionAnswerSchema].flatMap((answer) => [
        answer,
        { type: 'array', items: answer },
      ]),
    },
    404: { description: 'No such model', ...errorSchema },
    413: { description: 'Body or batch too large', ...errorSchema },
    422: { description: 'Invalid fields, each named', ...errorSchema },
    503: { description: 'No production model, or the prediction could not be stored', ...errorSchema },
  };
  // The body is validated by the served version's own contract (it changes on a swap), so the route declares no body
  // schema; the OpenAPI document shows the current contract. Answers are serialised with JSON.stringify.
  const common = { serializerCompiler: () => (data: unknown) => JSON.stringify(data) } as const;

  app.post(
    '/predict',
    {
      ...common,
      schema: {
        summary: 'Predict with the default model',
        description: `Scores one row (an object) or a batch (an array of up to ${context.maxBatchRows} rows).`,
        tags: ['predict'],
        response: responses,
      },
    },
    (request) => predict(context, context.models.defaultModel, request),
  );
  app.post<{ Params: { name: string } }>(
    '/models/:name/predict',
    {
      ...common,
      schema: {
        summary: 'Predict with a named model',
        tags: ['predict'],
        params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
        response: responses,
      },
    },
    (request) => predict(context, request.params.name, request),
  );
}

async function predict(
  context: ServeContext,
  name: string,
  request: FastifyRequest,
): Promise<PredictionAnswer | PredictionAnswer[] | TaskAnswer | TaskAnswer[]> {
  const served = context.models.lookup(name);
  const rows = served.contract.parse(request.body, context.maxBatchRows);
  const { model, version } = served;
  if (model.task !== undefined && model.task !== 'binary') {
    const now = Date.now();
    const createdAt = new Date(now).toISOString();
    const { records, answers } = scoreTaskRows(model, rows, (i) => ({
      id: timeOrderedUuid(now),
      request_id: request.id,
      created_at: createdAt,
      model_name: name,
      model_version: version,
      row_id: rows[i].rowId,
      inputs_json: JSON.stringify(rows[i].features),
    }));
    await appendRecords(context, records);
    for (const record of records) context.metrics.predictions.inc({ model: name, version, prediction: record.prediction });
    return Array.isArray(request.body) ? answers : answers[0];
  }
  const { probability, prediction } = model.predictRecords(rows.map((row) => row.features));
  const now = Date.now();
  const createdAt = new Date(now).toISOString();
  const records: PredictionRecord[] = rows.map((row, i) => {
    if (!(probability[i] >= 0 && probability[i] <= 1)) {
      throw new Error(`${name} version ${version} gave probability ${probability[i]} for row ${i}`);
    }
    return {
      id: timeOrderedUuid(now),
      request_id: request.id,
      created_at: createdAt,
      model_name: name,
      model_version: version,
      row_id: row.rowId,
      inputs_json: JSON.stringify(row.features),
      probability: probability[i],
      prediction: prediction[i],
      threshold: model.threshold,
    };
  });
  await appendRecords(context, records);
  const { positiveLabel = '1', negativeLabel } = model.signature.target;
  const answers = records.map((record): PredictionAnswer => {
    context.metrics.predictions.inc({ model: name, version, prediction: record.prediction });
    return {
      prediction_id: record.id,
      prediction: record.prediction === 1 ? 1 : 0,
      probability: record.probability,
      threshold: record.threshold,
      label: record.prediction === 1 ? positiveLabel : (negativeLabel ?? `not ${positiveLabel}`),
      row_id: record.row_id ?? null,
      model: { name, version },
    };
  });
  return Array.isArray(request.body) ? answers : answers[0];
}

/** Commits the rows before anything is answered; a log that cannot take them answers 503. */
async function appendRecords(context: ServeContext, records: PredictionRecord[]): Promise<void> {
  try {
    await context.predictionLog.append(records);
  } catch (error) {
    if (error instanceof PredictionLogUnavailable) throw new UnavailableError(error.message, { code: 'prediction_log_unavailable' });
    throw error;
  }
}
