/**
 * /predict is idempotent on the caller's request id (Idempotency-Key, else x-request-id): a retry gets the stored
 * answer and stores nothing, whether it comes later, concurrently in one process, or concurrently through another
 * server on the same database (another process or host: the database's unique index decides). The same id with
 * another body is refused.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { openStore, type Store } from '../src/db/index.js';
import { buildApp } from '../src/serve/app.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const silent = pino({ level: 'silent' });

describe.each(backends)('idempotent /predict on $name', (backend) => {
  let store: TestStore;
  let otherStore: Store;
  let app: FastifyInstance;
  let other: FastifyInstance;
  const source = new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() });

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    // A second server with its own connection pool: what another process or host does.
    otherStore = openStore(store.url);
    const options = { modelSource: source, config: { modelName: 'clients_model' }, logger: silent, pollIntervalMs: 50 };
    app = await buildApp({ store, ...options });
    other = await buildApp({ store: otherStore, ...options });
    await Promise.all([app.ready(), other.ready()]);
  });
  afterAll(async () => {
    await app?.close();
    await other?.close();
    await otherStore?.close();
    await store?.dispose();
  });

  const predict = (server: FastifyInstance, payload: unknown, headers: Record<string, string>) =>
    server.inject({ method: 'POST', url: '/predict', payload: payload as object, headers });
  const rowsOf = (requestId: string) =>
    store.db.selectFrom('predictions').select(['id', 'probability', 'model_version']).where('request_id', '=', requestId).execute();

  it.skipIf(!backend.url)('answers a retry with the stored answer and stores no second row', async () => {
    const id = randomUUID();
    const first = await predict(app, ORIGINAL_REQUEST, { 'x-request-id': id });
    expect(first.statusCode).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // The model changes between the attempts: the retry still gets what was answered and stored the first time.
    source.set('clients_model', { version: 2, model: loanModel(1) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const retry = await predict(app, ORIGINAL_REQUEST, { 'x-request-id': id });
    source.set('clients_model', { version: 1, model: loanModel() });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(retry.statusCode).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());
    expect(first.json().model.version).toBe(1);
    const rows = await rowsOf(id);
    expect(rows).toHaveLength(1);
    expect(rows[0].id).toBe(first.json().prediction_id);
    expect(Number(rows[0].probability)).toBe(first.json().probability);
  });

  it.skipIf(!backend.url)('keys on Idempotency-Key too, batches included', async () => {
    const key = `batch-${randomUUID()}`;
    const batch = [ORIGINAL_REQUEST, { ...ORIGINAL_REQUEST, id: 1, credit_score: 700 }, { ...ORIGINAL_REQUEST, id: 2 }];
    const first = await predict(app, batch, { 'idempotency-key': key, 'x-request-id': 'tracing-id-1' });
    const retry = await predict(other, batch, { 'idempotency-key': key, 'x-request-id': 'tracing-id-2' });
    expect(first.statusCode).toBe(200);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());
    expect(first.json()).toHaveLength(3);
    expect(await rowsOf(key)).toHaveLength(3);
  });

  it.skipIf(!backend.url)('refuses the same id with another body or for another model, storing nothing', async () => {
    const id = randomUUID();
    expect((await predict(app, ORIGINAL_REQUEST, { 'idempotency-key': id })).statusCode).toBe(200);
    for (const body of [{ ...ORIGINAL_REQUEST, credit_score: 800 }, { ...ORIGINAL_REQUEST, id: 'other' }, [ORIGINAL_REQUEST, ORIGINAL_REQUEST]]) {
      const reused = await predict(app, body, { 'idempotency-key': id });
      expect(reused.statusCode).toBe(422);
      expect(reused.json()).toMatchObject({ error: 'request_id_reused', message: expect.stringContaining(id) });
    }
    expect(await rowsOf(id)).toHaveLength(1);
  });

  it.skipIf(!backend.url)('stores one row for concurrent duplicates in one server and across two servers', async () => {
    const id = randomUUID();
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) => predict(i % 2 ? other : app, ORIGINAL_REQUEST, { 'x-request-id': id })),
    );
    expect(attempts.map((a) => a.statusCode)).toEqual(attempts.map(() => 200));
    const answers = attempts.map((a) => a.json());
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(attempts.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    expect(await rowsOf(id)).toHaveLength(1);
  });

  it.skipIf(!backend.url)('refuses an Idempotency-Key it cannot store, naming the header', async () => {
    const response = await predict(app, ORIGINAL_REQUEST, { 'idempotency-key': 'x'.repeat(65) });
    expect(response.statusCode).toBe(422);
    expect(response.json().details).toEqual([{ field: 'Idempotency-Key', message: 'must be 1 to 64 letters, digits or . _ : -' }]);
  });
});
