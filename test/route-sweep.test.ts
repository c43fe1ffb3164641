/**
 * Every registered route (the API's and the dashboard's) against hostile input on every backend: a NUL byte in each
 * path parameter and query value, `//` and `///`, huge and non-numeric offsets and limits, values of the wrong type.
 * The answer is a 4xx with a message or a 2xx, never a 500: bad input is the client's problem, said clearly.
 */
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/serve/app.js';
import { dashboardPlugin } from '../src/ui/index.js';
import { ArtifactNotFoundError } from '../src/errors.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource } from './serve-fixtures.js';

const ADMIN = 'admin-token-for-the-route-sweep-0123';
const auth = { authorization: `Bearer ${ADMIN}` };

/** Query parameters the routes read (unknown ones must be harmless too): numbers, and text. */
const NUMBER_PARAMS = ['limit', 'offset', 'events'];
const TEXT_PARAMS = ['model', 'experiment', 'parent', 'dag', 'dataset', 'metric', 'bucket', 'since', 'until', 'token', 'unknown'];
const NUMBER_VALUES = ['99999999999999999999', '1e308', '-1', '0.5', 'abc'];
const TEXT_VALUES = ['a%00b', '%FF', "'%20OR%201=1", 'x'.repeat(2000)];
const PATH_VALUES = ['%00', 'a%00b', '99999999999999999999', '1e308', '-1', '%FF', "'%20OR%201=1", 'x'.repeat(300)];
const BODIES: unknown[] = [
  { prediction_id: 'x'.repeat(1000), label: 1 },
  { prediction_id: 12, label: 'yes' },
  { id: 'a\u0000b', age: 'old' },
  [],
  'text',
  null,
];

const sweep = backends.filter((b) => b.url);

describe.each(sweep)('route sweep on $name', (backend) => {
  let store: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    store = await freshStore(backend);
    app = await buildApp({
      store,
      modelSource: new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() }),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
      adminToken: ADMIN,
      plugins: [
        {
          plugin: dashboardPlugin,
          options: {
            store,
            readArtifact: async (key: string) => {
              throw new ArtifactNotFoundError(key);
            },
            listArtifacts: async () => [],
          },
        },
      ],
    });
    await app.ready();
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  const routes = () => app.mldeploy.routes.filter((r) => r.method !== 'HEAD' && !r.url.includes('*'));

  async function expectNo500(method: string, url: string, payload?: unknown): Promise<void> {
    const response = await app.inject({
      method: method as 'GET',
      url,
      headers: payload === undefined ? auth : { ...auth, 'content-type': 'application/json' },
      ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
    });
    expect(response.statusCode, `${method} ${url} ${payload === undefined ? '' : JSON.stringify(payload)}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
    if (response.statusCode >= 400) {
      const type = String(response.headers['content-type']);
      if (type.startsWith('application/json')) expect(response.json().message, `${method} ${url}`).toMatch(/\w/);
      else expect(response.body, `${method} ${url}`).toMatch(/\w/);
    }
  }

  it('finds the routes of the API and of the dashboard', () => {
    const urls = routes().map((r) => r.url);
    expect(urls).toEqual(expect.arrayContaining(['/predict', '/feedback', '/api/runs/:id', '/api/predictions', '/ui']));
  });

  it('answers a NUL byte and other hostile values in every path parameter with a 4xx or a 2xx', async () => {
    for (const { method, url } of routes()) {
      if (!url.includes(':')) continue;
      for (const value of PATH_VALUES) {
        const names = url.match(/:\w+/g)!;
        for (const name of names) {
          const concrete = url.replace(/:\w+/g, (p) => (p === name ? value : 'clients_model'));
          await expectNo500(method, concrete, method === 'POST' ? {} : undefined);
        }
      }
    }
  }, 60_000);

  it('answers hostile query values (NUL, huge and non-numeric offsets and limits) with a 4xx or a 2xx', async () => {
    for (const { method, url } of routes()) {
      if (method !== 'GET') continue;
      const path = url.replace(/:\w+/g, 'clients_model');
      for (const name of [...NUMBER_PARAMS, ...TEXT_PARAMS]) await expectNo500(method, `${path}?${name}=%00`);
      for (const value of NUMBER_VALUES) {
        for (const name of NUMBER_PARAMS) await expectNo500(method, `${path}?${name}=${value}`);
      }
      for (const value of TEXT_VALUES) await expectNo500(method, `${path}?${TEXT_PARAMS.map((name) => `${name}=${value}`).join('&')}`);
      await expectNo500(method, `${path}?limit=99999999999999999999&offset=99999999999999999999`);
      await expectNo500(method, `${path}?limit=1&limit=2&offset=1e308`);
    }
  }, 60_000);

  it('answers `//`, `///` and other odd paths with a 4xx', async () => {
    for (const url of ['//', '///', '//ui', '//api/runs', '/ui//', '/%00', '/ui/%00', '//%00?token=x', '/api/runs/%2F..%2F']) {
      await expectNo500('GET', url);
      const anonymous = await app.inject({ method: 'GET', url });
      expect(anonymous.statusCode, url).toBeLessThan(500);
    }
  });

  it('answers bodies of the wrong shape and type on every POST route with a 4xx', async () => {
    for (const { method, url } of routes()) {
      if (method !== 'POST' && method !== 'PUT') continue;
      const path = url.replace(/:\w+/g, 'clients_model');
      for (const body of BODIES) await expectNo500(method, path, body);
    }
  }, 60_000);
});
