/**
 * Following NAME@production: swaps under concurrent traffic fail no request and each answer is made (and stored)
 * by exactly one version; a version that cannot score is never swapped in; with no production model the API says why.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/serve/app.js';
import type { ServableModel } from '../src/serve/types.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const silent = pino({ level: 'silent' });
const { id: _id, ...FEATURES } = ORIGINAL_REQUEST;

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(backends)('hot swap on $name', (backend) => {
  let store: TestStore;
  let app: FastifyInstance;
  const source = new MemoryModelSource();
  const versions = new Map<number, ServableModel>([1, 2, 3].map((v) => [v, loanModel(2 * v)]));

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    source.set('clients_model', { version: 1, model: versions.get(1)! });
    app = await buildApp({ store, modelSource: source, config: { modelName: 'clients_model' }, logger: silent, pollIntervalMs: 15 });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it.skipIf(!backend.url)('swaps versions under concurrent requests without a failure, one version per answer', async () => {
    const answers: Array<{ status: number; body: any }> = [];
    const seen = new Set<number>();
    let stop = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        const row = { ...ORIGINAL_REQUEST, id: `${c}-${i}`, credit_score: 300 + ((c * 37 + i * 11) % 500) };
        const response = await app.inject({ method: 'POST', url: '/predict', payload: i % 5 === 0 ? [row, row] : row });
        const body = response.json();
        answers.push({ status: response.statusCode, body });
        for (const answer of [body].flat()) if (answer?.model) seen.add(answer.model.version);
      }
    };
    const clients = Array.from({ length: 8 }, (_, c) => client(c));
    await until(() => answers.length > 20, 'traffic flows');
    for (const version of [2, 3]) {
      source.set('clients_model', { version, model: versions.get(version)! });
      await until(() => seen.has(version), `version ${version} is served`);
      await until(() => answers.length > 20 * version, 'more traffic');
    }
    stop = true;
    await Promise.all(clients);

    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect([...seen].sort()).toEqual([1, 2, 3]);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('mldeploy_model_swaps_total{model="clients_model"} 2\n');
    expect(metrics.match(/^mldeploy_served_model_info\{.*$/gm)).toEqual(['mldeploy_served_model_info{model="clients_model",version="3"} 1']);
    const flat = answers.flatMap((a) => [a.body].flat());
    const stored = new Map(
      (await store.db.selectFrom('predictions').select(['id', 'model_version', 'probability', 'row_id']).execute()).map((r) => [r.id, r]),
    );
    expect(stored.size).toBe(flat.length);
    for (const answer of flat) {
      const row = stored.get(answer.prediction_id)!;
      expect(Number(row.model_version)).toBe(answer.model.version);
      const creditScore = 300 + (((Number(answer.row_id.split('-')[0]) * 37 + Number(answer.row_id.split('-')[1]) * 11) % 500));
      const expected = versions.get(answer.model.version)!.predictRecords([{ ...FEATURES, credit_score: creditScore }]).probability[0];
      expect(answer.probability).toBeCloseTo(expected, 12);
      expect(row.probability).toBeCloseTo(expected, 12);
    }
  });

  it.skipIf(!backend.url)('keeps serving the current version when a new one cannot score', async () => {
    const current = (await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST })).json().model.version;
    const broken: ServableModel = {
      ...loanModel(),
      predictRecords: () => {
        throw new Error('coefficients missing');
      },
    };
    source.set('clients_model', { version: 9, model: broken });
    await until(async () => {
      const models = (await app.inject({ method: 'GET', url: '/models' })).json();
      return /version 9 was not loaded: coefficients missing/.test(models.models[0].last_error ?? '');
    }, 'the broken version is reported');
    const response = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST });
    expect(response.statusCode).toBe(200);
    expect(response.json().model.version).toBe(current);
  });

  it.skipIf(!backend.url)('answers 503 with the reason when there is no production model, and recovers when one appears', async () => {
    const reason = 'No production model for clients_model: version 4 was not promoted: test ROC AUC 0.49 is below 0.6';
    source.set('clients_model', { unavailable: reason });
    await until(async () => (await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST })).statusCode === 503, 'the model is withdrawn');
    const refused = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST });
    expect(refused.json()).toEqual({ error: 'model_unavailable', message: reason });
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.json().models[0]).toMatchObject({ state: 'unavailable', reason });

    source.set('clients_model', { version: 5, model: loanModel() });
    await until(async () => (await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST })).statusCode === 200, 'version 5 is served');
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
  });
});

describe('model source failures', () => {
  it('keeps the served version while the source cannot be read, and starts unavailable with the reason', async () => {
    const store = await freshStore(backends[0]);
    let failing = false;
    let failures = 0;
    const source = new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() });
    const resolve = source.resolve.bind(source);
    source.resolve = async (name) => {
      if (failing) {
        failures++;
        throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      }
      return resolve(name);
    };
    const app = await buildApp({ store, modelSource: source, config: { modelName: 'clients_model' }, logger: silent, pollIntervalMs: 10 });
    try {
      await app.ready();
      failing = true;
      await until(() => failures > 3, 'several polls failed');
      const response = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST });
      expect(response.statusCode).toBe(200);
      const models = (await app.inject({ method: 'GET', url: '/models' })).json();
      expect(models.models[0].last_error).toBe('connect ECONNREFUSED 127.0.0.1:5432');
    } finally {
      await app.close();
    }

    const coldApp = await buildApp({ store, modelSource: source, config: { modelName: 'clients_model' }, logger: silent });
    try {
      await coldApp.ready();
      const response = await coldApp.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST });
      expect(response.statusCode).toBe(503);
      expect(response.json().message).toBe('No production model loaded for clients_model yet: connect ECONNREFUSED 127.0.0.1:5432');
    } finally {
      await coldApp.close();
      await store.dispose();
    }
  });
});
