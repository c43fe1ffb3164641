/**
 * POST /predict (the default model) and POST /models/:name/predict. One JSON object in, one answer out; an array
 * in, an array out. Each answer is sent only after its prediction row is committed to the predictions table.
 *
 * Idempotent on the caller's request id (Idempotency-Key, else x-request-id): rows are stored under (request id, row
 * index), unique in the database, so a retry of a request whose rows are stored (its answer lost to a cut connection,
 * a 503 whose write still committed, a killed server) stores nothing and gets the stored answer, the same prediction
 * ids, probabilities and model version, with `Idempotent-Replayed: true`. The same id with other rows or another
 * model is a 422: an id names one request.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServeContext } from '../app.js';
import { ConflictError, UnavailableError, ValidationError } from '../../errors.js';
import { validationError } from '../errors.js';
import { CLIENT_REQUEST_ID, timeOrderedUuid } from '../ids.js';
import { PredictionLogUnavailable, PredictionRowRejected, type PredictionRecord } from '../prediction-log.js';
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
    422: {
      description:
        'Invalid fields, each named; values the database cannot store; or a request id already used for another request',
      ...errorSchema,
    },
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
    (request, reply) => predict(context, context.models.defaultModel, request, reply),
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
    (request, reply) => predict(context, request.params.name, request, reply),
  );
}

async function predict(
  context: ServeContext,
  name: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<PredictionAnswer | PredictionAnswer[] | TaskAnswer | TaskAnswer[]> {
  const idempotencyKey = request.headers['idempotency-key'];
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !CLIENT_REQUEST_ID.test(idempotencyKey))) {
    throw validationError([{ field: 'Idempotency-Key', message: 'must be 1 to 64 letters, digits or . _ : -' }]);
  }
  const served = context.models.lookup(name);
  const rows = served.contract.parse(request.body, context.maxBatchRows);
  const { model, version } = served;
  if (model.task !== undefined && model.task !== 'binary') {
    const now = Date.now();
    const createdAt = new Date(now).toISOString();
    const { records, answers } = scoreTaskRows(model, rows, (i) => ({
      id: timeOrderedUuid(now),
      request_id: request.id,
      request_row: i,
      created_at: createdAt,
      model_name: name,
      model_version: version,
      row_id: rows[i].rowId,
      inputs_json: JSON.stringify(rows[i].features),
    }));
    if ((await appendRecords(context, records)) === 'duplicate') {
      // Stored once (the unique request id decides); replaying the stored answer is done for binary models only.
      throw new ConflictError(`Request id "${request.id}" was answered already; send a new request id to score again`, {
        code: 'request_id_reused',
      });
    }
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
      request_row: i,
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
  const outcome = await appendRecords(context, records);
  let answered = records;
  if (outcome === 'duplicate') {
    answered = await storedAnswer(context, request, records);
    reply.header('idempotent-replayed', 'true');
  } else {
    for (const record of records) context.metrics.predictions.inc({ model: name, version, prediction: record.prediction });
  }
  const { positiveLabel = '1', negativeLabel } = model.signature.target;
  const answers = answered.map(
    (record): PredictionAnswer => ({
      prediction_id: record.id,
      prediction: record.prediction === 1 ? 1 : 0,
      probability: record.probability,
      threshold: record.threshold,
      label: record.prediction === 1 ? positiveLabel : (negativeLabel ?? `not ${positiveLabel}`),
      row_id: record.row_id ?? null,
      model: { name: record.model_name, version: record.model_version },
    }),
  );
  return Array.isArray(request.body) ? answers : answers[0];
}

/**
 * Commits the rows before anything is answered: a log that cannot take them answers 503, rows the database refuses
 * answer 422 for this request only; 'duplicate' when this request id's rows are stored already (a retry).
 */
async function appendRecords(context: ServeContext, records: PredictionRecord[]) {
  try {
    return await context.predictionLog.append(records);
  } catch (error) {
    if (error instanceof PredictionLogUnavailable) throw new UnavailableError(error.message, { code: 'prediction_log_unavailable' });
    if (error instanceof PredictionRowRejected) {
      throw new ValidationError([{ field: '', message: 'holds values the database cannot store' }], error.message, {
        code: 'unstorable_values',
      });
    }
    throw error;
  }
}

/**
 * The rows an earlier attempt of this request stored, when they are the same request: same model, same rows (inputs
 * as validated, row ids) in the same order. The model version may differ (a swap between the attempts): the stored
 * answer is the one given.
 */
async function storedAnswer(context: ServeContext, request: FastifyRequest, records: PredictionRecord[]): Promise<PredictionRecord[]> {
  const requestId = request.id;
  const stored = await context.store.db
    .selectFrom('predictions')
    .select(['id', 'request_row', 'model_name', 'model_version', 'row_id', 'inputs_json', 'probability', 'prediction', 'threshold', 'created_at'])
    .where('request_id', '=', requestId)
    .where('request_row', 'is not', null)
    .orderBy('request_row')
    .execute()
    .catch((error: unknown) => {
      request.log.error({ err: error }, 'reading the stored answer of a retried request failed');
      throw new UnavailableError('The stored answer of this request id could not be read', { code: 'prediction_log_unavailable' });
    });
  const same =
    stored.length === records.length &&
    stored.every(
      (row, i) =>
        Number(row.request_row) === i &&
        row.model_name === records[i].model_name &&
        row.row_id === (records[i].row_id ?? null) &&
        row.inputs_json === records[i].inputs_json,
    );
  if (!same) {
    const header = request.headers['idempotency-key'] !== undefined ? 'Idempotency-Key' : 'x-request-id';
    throw new ValidationError(
      [{ field: header, message: 'was already used for a different request' }],
      `Request id "${requestId}" (${header}) was already used for a different request; ` +
        'a retry must send the same body to the same model, a new request needs a new id',
      { code: 'request_id_reused' },
    );
  }
  return stored.map((row) => ({
    id: row.id,
    request_id: requestId,
    request_row: Number(row.request_row),
    created_at: row.created_at,
    model_name: row.model_name,
    model_version: Number(row.model_version),
    row_id: row.row_id,
    inputs_json: row.inputs_json,
    probability: Number(row.probability),
    prediction: Number(row.prediction),
    threshold: Number(row.threshold),
  }));
}
