/**
 * API keys: deny by default. Every registered route (including plugins' routes) answers 401 without a key when keys
 * are configured, except the probes and the docs.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/serve/app.js';
import { ApiKeys, isPublicRoute, loadApiKeys } from '../src/serve/auth.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const KEY = 'k3y-for-tests-0123456789abcdef';
const OTHER_KEY = 'another-key-for-tests-fedcba987';
const sqlite = backends.find((b) => b.name === 'sqlite')!;

describe('API keys', () => {
  let store: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    store = await freshStore(sqlite);
    app = await buildApp({
      store,
      modelSource: new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() }),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
      apiKeys: [KEY, OTHER_KEY],
      // An admin plugin, as the dashboard adds: its routes get no opt-in, yet need a key.
      plugins: [
        {
          plugin: async (instance) => {
            instance.get('/api/runs', async () => ({ runs: [] }));
            instance.post('/api/models/:name/promote', async () => ({ ok: true }));
          },
        },
      ],
    });
    // A plugin registered on the returned app before it starts is guarded the same way.
    await app.register(async (instance) => {
      instance.get('/ui', async () => 'dashboard');
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  const concrete = (url: string) => url.replace(/:[^/]+/g, 'clients_model').replace(/\*/g, 'index.html');

  it('answers 401 without a key on every route except probes and docs', async () => {
    const routes = app.mldeploy.routes;
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.map((r) => r.url)).toEqual(expect.arrayContaining(['/predict', '/feedback', '/metrics', '/api/runs', '/ui']));
    const open: string[] = [];
    for (const { method, url } of routes) {
      const response = await app.inject({ method: method as 'GET', url: concrete(url) });
      if (isPublicRoute(url)) {
        expect(response.statusCode, `${method} ${url}`).not.toBe(401);
        open.push(url);
      } else {
        expect(response.statusCode, `${method} ${url}`).toBe(401);
        expect(response.headers['www-authenticate']).toBe('Bearer');
      }
    }
    expect(new Set(open)).toEqual(new Set(['/health', '/ready', '/openapi.json', ...open.filter((u) => u.startsWith('/docs'))]));
    // Unknown paths do not reveal whether they exist.
    expect((await app.inject({ method: 'GET', url: '/no/such/route' })).statusCode).toBe(401);
  });

  it('accepts a configured key as a Bearer token or x-api-key, and nothing else', async () => {
    const bearer = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST, headers: { authorization: `Bearer ${KEY}` } });
    expect(bearer.statusCode).toBe(200);
    const header = await app.inject({ method: 'GET', url: '/api/runs', headers: { 'x-api-key': OTHER_KEY } });
    expect(header.statusCode).toBe(200);
    for (const headers of [
      { authorization: `Bearer ${KEY}x` },
      { authorization: `Basic ${KEY}` },
      { 'x-api-key': KEY.slice(0, -1) },
      { authorization: 'Bearer ' },
    ]) {
      expect((await app.inject({ method: 'GET', url: '/models', headers })).statusCode).toBe(401);
    }
  });

  it('reads keys from MLDEPLOY_API_KEYS and MLDEPLOY_API_KEYS_FILE, and refuses short keys', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mldeploy-keys-')), 'keys');
    writeFileSync(file, `# deploy keys\n${OTHER_KEY}\n\n  third-key-0123456789abcdef  \n`);
    expect(loadApiKeys({ MLDEPLOY_API_KEYS: ` ${KEY},,${OTHER_KEY}`, MLDEPLOY_API_KEYS_FILE: file })).toEqual([
      KEY,
      OTHER_KEY,
      'third-key-0123456789abcdef',
    ]);
    expect(loadApiKeys({})).toEqual([]);
    expect(() => new ApiKeys(['short'])).toThrow(/API key #1 is too short/);
    const keys = new ApiKeys([KEY]);
    expect(keys.accepts(KEY)).toBe(true);
    expect(keys.accepts(undefined)).toBe(false);
    expect(new ApiKeys([]).enabled).toBe(false);
  });
});
