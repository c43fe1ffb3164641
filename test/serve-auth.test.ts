/**
 * Access: deny by default. With keys configured every registered route (plugins' included) answers 401 without a key,
 * except the probes and the docs. With no keys the client routes (predict, models, feedback, metrics) are open, and
 * every other route (the dashboard's /ui and /api) needs the admin token, which `/ui?token=` turns into a cookie.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/serve/app.js';
import { AccessControl, ApiKeys, isPublicRoute, routeClass, sessionValue } from '../src/serve/auth.js';
import { loadConfig } from '../src/config.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const KEY = 'k3y-for-tests-0123456789abcdef';
const OTHER_KEY = 'another-key-for-tests-fedcba987';
const sqlite = backends.find((b) => b.name === 'sqlite')!;

/** The API with admin routes as the dashboard adds them: they get no opt-in, yet need a credential. */
async function appWith(store: TestStore, apiKeys: string[]): Promise<FastifyInstance> {
  const app = await buildApp({
    store,
    modelSource: new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() }),
    config: { modelName: 'clients_model' },
    logger: pino({ level: 'silent' }),
    apiKeys,
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
    instance.get('/ui/models', async (request) => ({ page: 'models', query: request.query }));
  });
  await app.ready();
  return app;
}

const concrete = (url: string) => url.replace(/:[^/]+/g, 'clients_model').replace(/\*/g, 'index.html');

/** name=value of a set-cookie header, to send back as a browser would. */
const cookieOf = (setCookie: string | string[] | undefined) => String(setCookie).split(';')[0];

describe('API keys', () => {
  let store: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    store = await freshStore(sqlite);
    app = await appWith(store, [KEY, OTHER_KEY]);
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it('answers 401 without a key on every route except probes and docs', async () => {
    const routes = app.mldeploy.routes;
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.map((r) => r.url)).toEqual(expect.arrayContaining(['/predict', '/feedback', '/metrics', '/api/runs', '/ui']));
    expect(app.mldeploy.adminToken).toBeUndefined();
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

  it('logs a browser in with ?token=KEY on a dashboard page', async () => {
    const login = await app.inject({ method: 'GET', url: `/ui?token=${KEY}` });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/ui');
    const page = await app.inject({ method: 'GET', url: '/ui', headers: { cookie: cookieOf(login.headers['set-cookie']) } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toBe('dashboard');
    const denied = await app.inject({ method: 'GET', url: '/ui' });
    expect(denied.statusCode).toBe(401);
    expect(denied.headers['content-type']).toMatch(/^text\/html/);
    expect(denied.body).toContain('?token=YOUR_API_KEY');
  });

  it('reads keys from MLDEPLOY_API_KEYS and MLDEPLOY_API_KEYS_FILE, and refuses short keys', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mldeploy-keys-')), 'keys');
    writeFileSync(file, `# deploy keys\n${OTHER_KEY}\n\n  third-key-0123456789abcdef  \n`);
    expect(loadConfig({ MLDEPLOY_API_KEYS: ` ${KEY},,${OTHER_KEY}`, MLDEPLOY_API_KEYS_FILE: file }).apiKeys).toEqual([
      KEY,
      OTHER_KEY,
      'third-key-0123456789abcdef',
    ]);
    expect(loadConfig({}).apiKeys).toEqual([]);
    expect(() => loadConfig({ MLDEPLOY_API_KEYS_FILE: `${file}.missing` })).toThrow(/^MLDEPLOY_API_KEYS_FILE: cannot read .*ENOENT/);
    expect(() => new ApiKeys(['short'])).toThrow(/API key #1 is too short/);
    const keys = new ApiKeys([KEY]);
    expect(keys.accepts({ key: KEY })).toBe(true);
    expect(keys.accepts({ key: OTHER_KEY })).toBe(false);
    expect(keys.accepts({ session: sessionValue(KEY) })).toBe(true);
    expect(keys.accepts({ session: KEY })).toBe(false); // a cookie holding the raw key is not a session
    expect(keys.accepts(undefined)).toBe(false);
    expect(new ApiKeys([]).enabled).toBe(false);
  });
});

describe('no API keys: open client routes, admin token for the rest', () => {
  let store: TestStore;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    store = await freshStore(sqlite);
    app = await appWith(store, []);
    token = app.mldeploy.adminToken!;
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it('makes a fresh 24-byte URL-safe admin token per server', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(new AccessControl([], undefined).adminToken).not.toBe(new AccessControl([], undefined).adminToken);
    expect(new AccessControl([KEY], 'ignored-token-0123456789').adminToken).toBeUndefined();
    expect(() => new AccessControl([], 'short')).toThrow(/admin token is too short/);
  });

  it('answers 401 without credentials on every admin route, and serves client and public routes', async () => {
    const seen = { public: new Set<string>(), client: new Set<string>(), admin: new Set<string>() };
    for (const { method, url } of app.mldeploy.routes) {
      const kind = routeClass(url);
      seen[kind].add(url);
      const response = await app.inject({ method: method as 'GET', url: concrete(url) });
      if (kind === 'admin') {
        expect(response.statusCode, `${method} ${url}`).toBe(401);
        const withToken = await app.inject({ method: method as 'GET', url: concrete(url), headers: { authorization: `Bearer ${token}` } });
        expect(withToken.statusCode, `${method} ${url} with the token`).not.toBe(401);
      } else {
        expect(response.statusCode, `${method} ${url}`).not.toBe(401);
      }
    }
    expect(seen.admin).toEqual(new Set(['/api/runs', '/api/models/:name/promote', '/ui', '/ui/models']));
    expect(seen.client).toEqual(new Set(['/predict', '/models', '/models/:name/predict', '/feedback', '/metrics']));
    expect(seen.public).toEqual(new Set(['/health', '/ready', '/openapi.json', ...[...seen.public].filter((u) => u.startsWith('/docs'))]));
    // Routes added later and unknown paths are admin: deny by default.
    expect(routeClass('/models/:name/promote')).toBe('admin');
    expect((await app.inject({ method: 'GET', url: '/no/such/route' })).statusCode).toBe(401);
    const predict = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST });
    expect(predict.statusCode).toBe(200);
  });

  it('answers a browser without credentials with a page that says how to get in, and the API with JSON', async () => {
    const page = await app.inject({ method: 'GET', url: '/ui/models' });
    expect(page.statusCode).toBe(401);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<code>mldeploy up</code> or <code>mldeploy serve</code> printed');
    expect(page.body).toContain('?token=YOUR_API_KEY');
    expect(page.body).not.toContain(token);
    const api = await app.inject({ method: 'GET', url: '/api/runs' });
    expect(api.statusCode).toBe(401);
    expect(api.json()).toEqual({ error: 'unauthorized', message: expect.stringMatching(/admin token/) });
  });

  it('turns ?token= into an HttpOnly SameSite=Strict cookie and redirects to the URL without it', async () => {
    const login = await app.inject({ method: 'GET', url: `/ui/models?page=2&token=${token}&sort=name` });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/ui/models?page=2&sort=name');
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^mldeploy_token=[^;]+; /);
    expect(setCookie).not.toContain(token); // the cookie holds a digest, not the token
    const attributes = setCookie.split(';').slice(1).map((a) => a.trim());
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict']));

    const cookie = cookieOf(setCookie);
    const page = await app.inject({ method: 'GET', url: '/ui/models?page=2&sort=name', headers: { cookie: `theme=dark; ${cookie}` } });
    expect(page.statusCode).toBe(200);
    expect(page.json()).toEqual({ page: 'models', query: { page: '2', sort: 'name' } });
    expect((await app.inject({ method: 'GET', url: '/api/runs', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/runs', headers: { cookie: `${cookie}x` } })).statusCode).toBe(401);
  });

  it('refuses a wrong token with a 401 page and sets no cookie', async () => {
    for (const wrong of [`${token.slice(0, -1)}A`, '', KEY]) {
      const response = await app.inject({ method: 'GET', url: `/ui?token=${encodeURIComponent(wrong)}` });
      expect(response.statusCode, wrong).toBe(401);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(response.body).toContain('not valid');
    }
    // The token is not taken from the query string of the API.
    expect((await app.inject({ method: 'GET', url: `/api/runs?token=${token}` })).statusCode).toBe(401);
  });

  it('keeps the token out of the request log, even at debug', async () => {
    const lines: string[] = [];
    const logged = await buildApp({
      store,
      modelSource: new MemoryModelSource(),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
    });
    try {
      const secret = logged.mldeploy.adminToken!;
      for (const url of [`/ui?token=${secret}`, `/ui?a=1&token=${secret}x`]) await logged.inject({ method: 'GET', url });
      const requests = lines.filter((line) => line.includes('incoming request'));
      expect(requests.map((line) => JSON.parse(line).req.url)).toEqual(['/ui?token=***', '/ui?a=1&token=***']);
      expect(lines.join('')).not.toContain(secret);
    } finally {
      await logged.close();
    }
  });
});
