/**
 * The prediction API end to end on every database backend: the original's request, validation (422 naming each
 * field), size limits (413), batches, storage of every prediction before the answer, feedback, metrics, docs.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../src/logger.js';
import { buildApp } from '../src/serve/app.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const silent = pino({ level: 'silent' });
const { id: _rowId, ...ORIGINAL_FEATURES } = ORIGINAL_REQUEST;

describe.each(backends)('prediction API on $name', (backend) => {
  let store: TestStore;
  let app: FastifyInstance;
  const model = loanModel();

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    const source = new MemoryModelSource().set('clients_model', { version: 1, model });
    app = await buildApp({
      store,
      modelSource: source,
      config: { modelName: 'clients_model' },
      logger: silent,
      maxBatchRows: 100,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  const predict = (payload: unknown, url = '/predict') =>
    app.inject({ method: 'POST', url, payload: payload as object });
  const storedCount = async () =>
    Number((await store.db.selectFrom('predictions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it.skipIf(!backend.url)("answers the original's request and has stored the prediction before answering", async () => {
    const response = await predict(ORIGINAL_REQUEST);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    const expected = model.predictRecords([ORIGINAL_FEATURES]);
    expect(body.probability).toBeCloseTo(expected.probability[0], 12);
    expect(body.prediction).toBe(expected.prediction[0]);
    expect(body.threshold).toBe(0.5);
    expect(body.label).toBe(expected.prediction[0] === 1 ? '1' : '0');
    expect(body.model).toEqual({ name: 'clients_model', version: 1 });
    expect(body.row_id).toBe('0');

    const row = await store.db.selectFrom('predictions').selectAll().where('id', '=', body.prediction_id).executeTakeFirstOrThrow();
    expect(row.request_id).toBe(response.headers['x-request-id']);
    expect(row.model_name).toBe('clients_model');
    expect(Number(row.model_version)).toBe(1);
    expect(row.row_id).toBe('0');
    expect(JSON.parse(row.inputs_json)).toEqual(ORIGINAL_FEATURES);
    expect(row.probability).toBeCloseTo(body.probability, 12);
    expect(Number(row.prediction)).toBe(body.prediction);
    expect(row.threshold).toBe(0.5);
    expect(row.label).toBeNull();
  });

  it.skipIf(!backend.url)('serves /predict/ and /models/:name/predict with the same model', async () => {
    const a = (await predict(ORIGINAL_REQUEST, '/predict/')).json();
    const b = (await predict(ORIGINAL_REQUEST, '/models/clients_model/predict')).json();
    expect(a.probability).toBe(b.probability);
    expect(b.model).toEqual({ name: 'clients_model', version: 1 });
    const unknown = await predict(ORIGINAL_REQUEST, '/models/other_model/predict');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('unknown_model');
  });

  it.skipIf(!backend.url)('answers 422 naming every bad field, and stores nothing', async () => {
    const before = await storedCount();
    const { credit_score: _missing, ...withoutCreditScore } = ORIGINAL_REQUEST;
    const response = await predict({ ...withoutCreditScore, age: '35', colour: 'blue' });
    expect(response.statusCode).toBe(422);
    const body = response.json();
    expect(body.error).toBe('validation');
    const byField = Object.fromEntries(body.details.map((d: { field: string; message: string }) => [d.field, d.message]));
    expect(Object.keys(byField).sort()).toEqual(['age', 'colour', 'credit_score']);
    expect(byField.age).toBe('must be a number');
    expect(byField.credit_score).toBe('is required');
    expect(byField.colour).toMatch(/not an input/);

    const boolean = await predict({ ...ORIGINAL_REQUEST, had_past_default: 2 });
    expect(boolean.json().details).toEqual([{ field: 'had_past_default', message: 'must be true, false, 0 or 1' }]);
    const nullAge = await predict({ ...ORIGINAL_REQUEST, age: null });
    expect(nullAge.json().details).toEqual([{ field: 'age', message: 'must be a number' }]);
    const notObject = await predict([1]);
    expect(notObject.json().details).toEqual([{ field: '', message: 'a row must be a JSON object of field: value', row: 0 }]);
    expect(await storedCount()).toBe(before);
  });

  it.skipIf(!backend.url)('accepts null for a nullable field and other spellings of field names', async () => {
    const withNull = await predict({ ...ORIGINAL_REQUEST, annual_income: null });
    expect(withNull.statusCode).toBe(200);
    const spelled = await predict({
      ID: 7,
      Age: 35,
      Annual_Income: 107770,
      'Credit Score': 331,
      LOAN_AMOUNT: 31580,
      loanDurationYears: 28,
      number_of_open_accounts: 13,
      had_past_default: false,
    });
    expect(spelled.statusCode).toBe(200);
    expect(spelled.json().probability).toBe((await predict(ORIGINAL_REQUEST)).json().probability);
    expect(spelled.json().row_id).toBe('7');
    const twice = await predict({ ...ORIGINAL_REQUEST, AGE: 36 });
    expect(twice.statusCode).toBe(422);
    expect(twice.json().details[0].field).toBe('AGE');
  });

  it.skipIf(!backend.url)('scores a batch in order, stores every row, and refuses oversized batches and bodies', async () => {
    const rows = [0, 1, 2].map((i) => ({ ...ORIGINAL_REQUEST, id: 100 + i, credit_score: 300 + 200 * i }));
    const response = await predict(rows);
    expect(response.statusCode).toBe(200);
    const answers = response.json();
    expect(answers).toHaveLength(3);
    const expected = model.predictRecords(rows.map(({ id: _id, ...features }) => features));
    answers.forEach((answer: { probability: number; row_id: string }, i: number) => {
      expect(answer.probability).toBeCloseTo(expected.probability[i], 12);
      expect(answer.row_id).toBe(String(100 + i));
    });
    const stored = await store.db
      .selectFrom('predictions')
      .select(['id', 'row_id', 'request_id'])
      .where('request_id', '=', String(response.headers['x-request-id']))
      .execute();
    expect(stored.map((r) => r.row_id).sort()).toEqual(['100', '101', '102']);

    const badRow = await predict([ORIGINAL_REQUEST, { ...ORIGINAL_REQUEST, loan_amount: 'a lot' }]);
    expect(badRow.statusCode).toBe(422);
    expect(badRow.json().details).toEqual([{ field: 'loan_amount', message: 'must be a number', row: 1 }]);

    const tooMany = await predict(Array.from({ length: 101 }, () => ORIGINAL_REQUEST));
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json().error).toBe('too_many_rows');

    const tenMegabytes = JSON.stringify({ ...ORIGINAL_REQUEST, padding: 'x'.repeat(10 * 1024 * 1024) });
    const huge = await app.inject({
      method: 'POST',
      url: '/predict',
      payload: tenMegabytes,
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().error).toBe('payload_too_large');
  });

  it.skipIf(!backend.url)('records feedback on a stored prediction', async () => {
    const { prediction_id } = (await predict(ORIGINAL_REQUEST)).json();
    const response = await app.inject({ method: 'POST', url: '/feedback', payload: { prediction_id, label: 1 } });
    expect(response.statusCode).toBe(200);
    const row = await store.db.selectFrom('predictions').select(['label', 'label_at']).where('id', '=', prediction_id).executeTakeFirstOrThrow();
    expect(Number(row.label)).toBe(1);
    expect(row.label_at).toBe(response.json().label_at);
    // The same label again is not an error (MySQL reports no changed row).
    const again = await app.inject({ method: 'POST', url: '/feedback', payload: { prediction_id, label: 1 } });
    expect(again.statusCode).toBe(200);

    const unknown = await app.inject({ method: 'POST', url: '/feedback', payload: { prediction_id: 'nope', label: 0 } });
    expect(unknown.statusCode).toBe(404);
    const invalid = await app.inject({ method: 'POST', url: '/feedback', payload: { prediction_id, label: 2, extra: 1 } });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.json().details.map((d: { field: string }) => d.field).sort()).toEqual(['extra']);
    const notALabel = await app.inject({ method: 'POST', url: '/feedback', payload: { prediction_id, label: 2 } });
    expect(notALabel.statusCode).toBe(422);
    expect(notALabel.json().details).toEqual([{ field: 'label', message: 'label must be 0, 1, "1" or "0", got 2' }]);
    // The label as written in the data is taken too.
    const written = await app.inject({ method: 'POST', url: '/feedback', payload: { prediction_id, label: '0' } });
    expect(written.statusCode).toBe(200);
    const relabelled = await store.db.selectFrom('predictions').select('label').where('id', '=', prediction_id).executeTakeFirstOrThrow();
    expect(Number(relabelled.label)).toBe(0);
  });

  it.skipIf(!backend.url)('exposes Prometheus metrics that agree with what was stored', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    const stored = await storedCount();
    const predicted =
      (value('mldeploy_predictions_total{model="clients_model",version="1",prediction="0"}') ?? 0) +
      (value('mldeploy_predictions_total{model="clients_model",version="1",prediction="1"}') ?? 0);
    expect(predicted).toBe(stored);
    expect(value('mldeploy_prediction_log_rows_total')).toBe(stored);
    expect(value('mldeploy_served_model_info{model="clients_model",version="1"}')).toBe(1);
    expect(value('mldeploy_prediction_log_queued_rows')).toBe(0);
    expect(value('mldeploy_http_requests_total{method="POST",route="/predict",status="422"}')).toBeGreaterThanOrEqual(4);
    const count = value('mldeploy_http_request_duration_seconds_count{method="POST",route="/predict"}')!;
    expect(value('mldeploy_http_request_duration_seconds_bucket{method="POST",route="/predict",le="+Inf"}')).toBe(count);
    expect(text).toMatch(/^# TYPE mldeploy_http_request_duration_seconds histogram$/m);
  });

  it.skipIf(!backend.url)('documents the real input fields of the served model', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const row = spec.components.schemas.clients_model_v1_row;
    expect(Object.keys(row.properties).sort()).toEqual([...Object.keys(ORIGINAL_REQUEST)].sort());
    expect(row.required).not.toContain('id');
    expect(row.properties.annual_income.type).toEqual(['number', 'null']);
    const body = spec.paths['/predict'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(body)).toContain('#/components/schemas/clients_model_v1_row');
    const ui = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(ui.json().components.schemas.clients_model_v1_row.properties.credit_score.type).toBe('number');
    expect((await app.inject({ method: 'GET', url: '/docs' })).statusCode).toBeLessThan(400);

    const models = (await app.inject({ method: 'GET', url: '/models' })).json();
    expect(models.default).toBe('clients_model');
    expect(models.models[0]).toMatchObject({ name: 'clients_model', state: 'serving', version: 1 });
    expect(models.models[0].features.map((f: { name: string }) => f.name)).toContain('loan_duration_years');

    const health = (await app.inject({ method: 'GET', url: '/health' })).json();
    expect(health).toMatchObject({ status: 'ok', ready: true, database: { reachable: true } });
  });
});

describe('request logs', () => {
  it('log answered requests at debug, and 4xx answers at info, with their request id and no API key', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger('debug', { write: (line: string) => lines.push(JSON.parse(line)) });
    const store = await freshStore(backends[0]!);
    const app = await buildApp({
      store,
      modelSource: new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() }),
      config: { modelName: 'clients_model' },
      logger,
    });
    try {
      await app.ready();
      const ok = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST, headers: { 'x-api-key': 'k-secret' } });
      expect(ok.statusCode).toBe(200);
      const okLines = lines.filter((l) => l.reqId === ok.headers['x-request-id']);
      expect(okLines.map((l) => [l.msg, l.level])).toEqual([['incoming request', 20], ['request completed', 20]]);

      const bad = await app.inject({ method: 'POST', url: '/predict', payload: { ...ORIGINAL_REQUEST, age: 'x' }, headers: { 'x-api-key': 'k-secret' } });
      expect(bad.statusCode).toBe(422);
      const logged = lines.filter((l) => l.reqId === bad.headers['x-request-id']);
      const completed = logged.find((l) => l.msg === 'request completed');
      expect(completed).toMatchObject({ level: 30, res: { statusCode: 422 } });
      expect(JSON.stringify(lines)).not.toContain('k-secret');
    } finally {
      await app.close();
      await store.dispose();
    }
  });
});
