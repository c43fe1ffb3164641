/**
 * With the database down the API answers 503 quickly and stores nothing (never a 200 for an unstored prediction),
 * reports it on /health and /ready, and recovers by itself when the database is back.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/db/index.js';
import { buildApp } from '../src/serve/app.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { DatabaseProxy, loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const silent = pino({ level: 'silent' });
const source = new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() });

describe.each(backends)('database down on $name', (backend) => {
  let store: TestStore;

  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    await store?.dispose();
  });

  const countOf = async (rowId: string) =>
    (await store.db.selectFrom('predictions').select('id').where('row_id', '=', rowId).execute()).length;

  it.skipIf(!backend.url)('answers 503 and stores nothing once its store is closed', async () => {
    const own = openStore(store.url);
    const app = await buildApp({ store: own, modelSource: source, config: { modelName: 'clients_model' }, logger: silent });
    try {
      await app.ready();
      expect((await app.inject({ method: 'POST', url: '/predict', payload: { ...ORIGINAL_REQUEST, id: 'up' } })).statusCode).toBe(200);
      await own.close();
      const response = await app.inject({ method: 'POST', url: '/predict', payload: { ...ORIGINAL_REQUEST, id: 'down' } });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('1');
      expect(response.json()).toEqual({ error: 'prediction_log_unavailable', message: expect.stringMatching(/could not be stored/) });
      expect(await countOf('up')).toBe(1);
      expect(await countOf('down')).toBe(0);

      const health = await app.inject({ method: 'GET', url: '/health' });
      expect(health.statusCode).toBe(200);
      expect(health.json()).toMatchObject({ status: 'degraded', ready: false, database: { reachable: false } });
      expect(health.json().prediction_log.last_error.message).toBeTruthy();
      // The probes are public: the driver's own error text stays in the server log.
      expect(health.json().database.error).toBe('the database refused the probe or the connection (see the server log)');
      expect(health.json().prediction_log.last_error.message).toBe('the database write failed (see the server log)');
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    } finally {
      await app.close();
    }
  });

  it.skipIf(!backend.url || backend.name === 'sqlite')('recovers by itself when the database comes back', async () => {
    const proxy = await DatabaseProxy.create(store.url);
    const own = openStore(proxy.urlFor(store.url));
    const app = await buildApp({ store: own, modelSource: source, config: { modelName: 'clients_model' }, logger: silent });
    try {
      await app.ready();
      const refused = await app.inject({ method: 'POST', url: '/predict', payload: { ...ORIGINAL_REQUEST, id: 'refused' } });
      expect(refused.statusCode).toBe(503);
      await proxy.set('forward');
      const back = await app.inject({ method: 'POST', url: '/predict', payload: { ...ORIGINAL_REQUEST, id: 'back' } });
      expect(back.statusCode).toBe(200);
      expect(await countOf('refused')).toBe(0);
      expect(await countOf('back')).toBe(1);
      expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await own.close();
      await proxy.close();
    }
  });
});
