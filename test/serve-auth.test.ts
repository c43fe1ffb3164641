/**
 * Access: deny by default. Client keys (MLDEPLOY_API_KEYS) open the client routes and the docs; admin keys
 * (MLDEPLOY_ADMIN_KEYS) open everything. With keys configured every registered route (plugins' included) answers 401
 * without one, except the probes. With no keys the client routes and docs are open, and every other route (the
 * dashboard's /ui and /api) needs the admin token. A dashboard login (`/ui?token=`) makes a server-side session in the
 * database: shared by every server on it, expiring, revocable (logout, `mldeploy sessions revoke`), and accepted on the
 * dashboard and docs only, never on a client route.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../src/config.js';
import { openStore, type Store } from '../src/db/index.js';
import { buildApp, type AppOptions } from '../src/serve/app.js';
import { AccessControl, isPublicRoute, routeClass, type Keys } from '../src/serve/auth.js';
import { sessionHash, SessionStore } from '../src/serve/sessions.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const CLIENT_KEY = 'client-key-for-tests-0123456789';
const OTHER_CLIENT_KEY = 'another-client-key-fedcba987';
const ADMIN_KEY = 'admin-key-for-tests-abcdef012345';
const sqlite = backends.find((b) => b.name === 'sqlite')!;

/** The API with admin routes as the dashboard adds them: they get no opt-in, yet need a credential. */
async function appWith(store: Store, keys: Partial<Keys>, extra: Partial<AppOptions> = {}): Promise<FastifyInstance> {
  const app = await buildApp({
    store,
    modelSource: new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() }),
    config: { modelName: 'clients_model' },
    logger: pino({ level: 'silent' }),
    keys,
    ...extra,
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

/** Logs a browser in with `/ui?token=` and returns its session cookie. */
async function login(app: FastifyInstance, token: string): Promise<string> {
  const response = await app.inject({ method: 'GET', url: `/ui?token=${encodeURIComponent(token)}` });
  expect(response.statusCode).toBe(303);
  return cookieOf(response.headers['set-cookie']);
}

describe('client keys and admin keys', () => {
  let store: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    store = await freshStore(sqlite);
    app = await appWith(store, { clientKeys: [CLIENT_KEY, OTHER_CLIENT_KEY], adminKeys: [ADMIN_KEY] });
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it('answers 401 without a key on every route except the probes: the docs need a key too', async () => {
    const routes = app.mldeploy.routes;
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.map((r) => r.url)).toEqual(
      expect.arrayContaining(['/predict', '/feedback', '/metrics', '/api/runs', '/ui', '/openapi.json', '/docs', '/logout']),
    );
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
    expect(new Set(open)).toEqual(new Set(['/health', '/ready']));
    // Unknown paths do not reveal whether they exist.
    expect((await app.inject({ method: 'GET', url: '/no/such/route' })).statusCode).toBe(401);
  });

  it('opens client routes and the docs with a client key, and refuses it on every admin route with a 403', async () => {
    for (const { method, url } of app.mldeploy.routes) {
      const kind = routeClass(url);
      if (kind === 'public') continue;
      const response = await app.inject({ method: method as 'GET', url: concrete(url), headers: { 'x-api-key': CLIENT_KEY } });
      if (kind === 'admin') {
        expect(response.statusCode, `${method} ${url}`).toBe(403);
      } else {
        expect(response.statusCode, `${method} ${url}`).not.toBe(401);
        expect(response.statusCode, `${method} ${url}`).not.toBe(403);
      }
    }
    const forbidden = await app.inject({ method: 'GET', url: '/api/runs', headers: { authorization: `Bearer ${OTHER_CLIENT_KEY}` } });
    expect(forbidden.json()).toEqual({ error: 'forbidden', message: expect.stringMatching(/needs an admin key/) });
    // A client key cannot log a browser in to the dashboard.
    const page = await app.inject({ method: 'GET', url: `/ui?token=${CLIENT_KEY}` });
    expect(page.statusCode).toBe(403);
    expect(page.headers['set-cookie']).toBeUndefined();
    expect(page.body).toContain('the dashboard needs an admin key');
  });

  it('opens every route with an admin key, as a Bearer token or x-api-key, and nothing else', async () => {
    for (const { method, url } of app.mldeploy.routes) {
      const response = await app.inject({ method: method as 'GET', url: concrete(url), headers: { authorization: `Bearer ${ADMIN_KEY}` } });
      expect(response.statusCode, `${method} ${url}`).not.toBe(401);
      expect(response.statusCode, `${method} ${url}`).not.toBe(403);
    }
    const predict = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST, headers: { 'x-api-key': ADMIN_KEY } });
    expect(predict.statusCode).toBe(200);
    for (const headers of [
      { authorization: `Bearer ${ADMIN_KEY}x` },
      { authorization: `Basic ${ADMIN_KEY}` },
      { 'x-api-key': ADMIN_KEY.slice(0, -1) },
      { authorization: 'Bearer ' },
    ]) {
      expect((await app.inject({ method: 'GET', url: '/models', headers })).statusCode).toBe(401);
    }
  });

  it('takes the session cookie on the dashboard and the docs, never on a client route', async () => {
    const cookie = await login(app, ADMIN_KEY);
    expect((await app.inject({ method: 'GET', url: '/ui', headers: { cookie } })).body).toBe('dashboard');
    expect((await app.inject({ method: 'GET', url: '/api/runs', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/openapi.json', headers: { cookie } })).statusCode).toBe(200);
    for (const [method, url] of [
      ['POST', '/predict'],
      ['POST', '/models/clients_model/predict'],
      ['POST', '/feedback'],
      ['GET', '/models'],
      ['GET', '/metrics'],
    ] as const) {
      const response = await app.inject({ method, url, headers: { cookie }, ...(method === 'POST' ? { payload: ORIGINAL_REQUEST } : {}) });
      expect(response.statusCode, `${method} ${url}`).toBe(401);
    }
  });
});

describe('dashboard sessions', () => {
  let store: TestStore;
  let app: FastifyInstance;
  let otherStore: Store;
  let other: FastifyInstance;

  beforeAll(async () => {
    store = await freshStore(sqlite);
    app = await appWith(store, { clientKeys: [CLIENT_KEY], adminKeys: [ADMIN_KEY] });
    // Another server process (or host) on the same database.
    otherStore = openStore(store.url);
    other = await appWith(otherStore, { clientKeys: [CLIENT_KEY], adminKeys: [ADMIN_KEY] });
  });
  afterAll(async () => {
    await app?.close();
    await other?.close();
    await otherStore?.close();
    await store?.dispose();
  });

  it('sets a random HttpOnly, SameSite=Strict, expiring cookie and stores only its hash', async () => {
    const login = await app.inject({ method: 'GET', url: `/ui/models?page=2&token=${ADMIN_KEY}&sort=name` });
    expect(login.statusCode).toBe(303);
    expect(login.headers.location).toBe('/ui/models?page=2&sort=name');
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/^mldeploy_session=[A-Za-z0-9_-]{43}; /);
    expect(setCookie).not.toContain(ADMIN_KEY);
    const attributes = setCookie.split(';').slice(1).map((a) => a.trim());
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict']));
    expect(attributes.some((a) => a.startsWith('Expires='))).toBe(true);
    expect(attributes).not.toContain('Secure'); // plain http, no trusted proxy
    const sessionId = cookieOf(setCookie).split('=')[1];
    const rows = await store.db.selectFrom('sessions').selectAll().execute();
    expect(rows.map((r) => r.id_hash)).toContain(sessionHash(sessionId));
    expect(JSON.stringify(rows)).not.toContain(sessionId);
    const row = rows.find((r) => r.id_hash === sessionHash(sessionId))!;
    expect(Date.parse(row.expires_at) - Date.parse(row.created_at)).toBe(12 * 3600 * 1000);
    expect(row.created_by).toMatch(/^admin key [0-9a-f]{8}$/);
    const page = await app.inject({ method: 'GET', url: '/ui/models?page=2&sort=name', headers: { cookie: `theme=dark; ${cookieOf(setCookie)}` } });
    expect(page.json()).toEqual({ page: 'models', query: { page: '2', sort: 'name' } });
  });

  it('is shared by every server on the database, and logout ends it on all of them', async () => {
    const cookie = await login(app, ADMIN_KEY);
    expect((await other.inject({ method: 'GET', url: '/api/runs', headers: { cookie } })).statusCode).toBe(200);
    // What the dashboard's "Log out" button sends: an empty text/plain form.
    const logout = await other.inject({ method: 'POST', url: '/logout', headers: { cookie, 'content-type': 'text/plain' }, payload: '' });
    expect(logout.statusCode).toBe(303);
    expect(logout.headers.location).toBe('/ui');
    expect(String(logout.headers['set-cookie'])).toMatch(/^mldeploy_session=;.*Expires=Thu, 01 Jan 1970/);
    for (const server of [app, other]) {
      const page = await server.inject({ method: 'GET', url: '/ui', headers: { cookie } });
      expect(page.statusCode).toBe(401);
      expect(page.body).toContain('Your session has ended');
    }
  });

  it('revokes sessions from the store (mldeploy sessions revoke): one by its listed id, or all', async () => {
    const sessions = new SessionStore(store.db);
    const [first, second] = [await login(app, ADMIN_KEY), await login(app, ADMIN_KEY)];
    const listed = await sessions.list();
    const firstHash = sessionHash(first.split('=')[1]);
    const entry = listed.find((s) => firstHash.startsWith(s.id))!;
    expect(entry).toMatchObject({ active: true, revokedAt: null });
    expect(await sessions.revoke({ prefix: entry.id })).toBe(1);
    expect((await app.inject({ method: 'GET', url: '/ui', headers: { cookie: first } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/ui', headers: { cookie: second } })).statusCode).toBe(200);
    await expect(sessions.revoke({ prefix: 'zz' })).rejects.toThrow(/not a session id/);
    await expect(sessions.revoke({ prefix: '00000000' })).rejects.toThrow(/no session 00000000/);
    expect(await sessions.revoke({ all: true })).toBeGreaterThanOrEqual(1);
    expect((await app.inject({ method: 'GET', url: '/ui', headers: { cookie: second } })).statusCode).toBe(401);
    expect(await sessions.list()).toEqual([]);
    expect((await sessions.list({ all: true })).every((s) => !s.active)).toBe(true);
  });

  it('lists and revokes sessions from the command line', async () => {
    const cookie = await login(app, ADMIN_KEY);
    const env = { ...process.env, MLDEPLOY_DATABASE_URL: store.url, MLDEPLOY_HOME: mkdtempSync(join(tmpdir(), 'mldeploy-home-')) };
    const listed = await run(process.execPath, [CLI, 'sessions', 'list', '--json'], { env });
    const sessions = JSON.parse(listed.stdout) as Array<{ id: string; active: boolean }>;
    expect(sessions).toHaveLength(1);
    const table = await run(process.execPath, [CLI, 'sessions', 'list'], { env });
    expect(table.stdout).toContain(sessions[0].id);
    const revoked = await run(process.execPath, [CLI, 'sessions', 'revoke', sessions[0].id], { env });
    expect(revoked.stdout).toBe('revoked 1 session\n');
    expect((await app.inject({ method: 'GET', url: '/ui', headers: { cookie } })).statusCode).toBe(401);
    const bad = await run(process.execPath, [CLI, 'sessions', 'revoke'], { env }).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('give a session id') });
  });

  it('ends a session at its expiry, whatever its activity', async () => {
    const shortLived = await appWith(store, { adminKeys: [ADMIN_KEY] }, { sessionTtlMs: 1500 });
    try {
      const cookie = await login(shortLived, ADMIN_KEY);
      expect((await shortLived.inject({ method: 'GET', url: '/ui', headers: { cookie } })).statusCode).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 1600));
      const expired = await shortLived.inject({ method: 'GET', url: '/ui', headers: { cookie } });
      expect(expired.statusCode).toBe(401);
      expect(expired.body).toContain('Your session has ended');
    } finally {
      await shortLived.close();
    }
  });

  it('marks the cookie Secure over TLS, as told by a trusted proxy only', async () => {
    const forwarded = { 'x-forwarded-proto': 'https' };
    const trusting = await appWith(store, { adminKeys: [ADMIN_KEY] }, { trustProxy: true });
    try {
      const secure = await trusting.inject({ method: 'GET', url: `/ui?token=${ADMIN_KEY}`, headers: forwarded });
      expect(String(secure.headers['set-cookie'])).toMatch(/; Secure/);
      // Without trustProxy the header is anyone's word: not believed.
      const plain = await app.inject({ method: 'GET', url: `/ui?token=${ADMIN_KEY}`, headers: forwarded });
      expect(String(plain.headers['set-cookie'])).not.toMatch(/Secure/);
    } finally {
      await trusting.close();
    }
  });
});

/** The keys the configuration reads from these variables. */
const loadKeys = (env: Record<string, string>): Keys => {
  const { clientKeys, adminKeys } = loadConfig(env);
  return { clientKeys, adminKeys };
};

describe('key settings', () => {
  it('reads client and admin keys from the variables and their _FILE forms', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mldeploy-keys-'));
    writeFileSync(join(dir, 'client'), `# deploy keys\n${OTHER_CLIENT_KEY}\n\n  third-key-0123456789abcdef  \n`);
    writeFileSync(join(dir, 'admin'), `${ADMIN_KEY}\n`);
    expect(
      loadKeys({
        MLDEPLOY_API_KEYS: ` ${CLIENT_KEY},,${OTHER_CLIENT_KEY}`,
        MLDEPLOY_API_KEYS_FILE: join(dir, 'client'),
        MLDEPLOY_ADMIN_KEYS_FILE: join(dir, 'admin'),
      }),
    ).toEqual({ clientKeys: [CLIENT_KEY, OTHER_CLIENT_KEY, 'third-key-0123456789abcdef'], adminKeys: [ADMIN_KEY] });
    expect(loadKeys({})).toEqual({ clientKeys: [], adminKeys: [] });
    // An empty variable is an unset one (what `KEY=` in a compose file gives).
    expect(loadKeys({ MLDEPLOY_API_KEYS: '' })).toEqual({ clientKeys: [], adminKeys: [] });
  });

  it('fails on a setting that holds no key, a short key, or one key in both roles, naming the variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mldeploy-keys-'));
    writeFileSync(join(dir, 'comments'), '# nothing yet\n\n');
    expect(() => loadKeys({ MLDEPLOY_API_KEYS: ', ,' })).toThrow('MLDEPLOY_API_KEYS: is set but holds no key (", ,")');
    expect(() => loadKeys({ MLDEPLOY_ADMIN_KEYS: ' ' })).toThrow(/MLDEPLOY_ADMIN_KEYS: is set but holds no key/);
    expect(() => loadKeys({ MLDEPLOY_ADMIN_KEYS_FILE: join(dir, 'comments') })).toThrow(/MLDEPLOY_ADMIN_KEYS_FILE: .* holds no key/);
    expect(() => loadKeys({ MLDEPLOY_API_KEYS_FILE: join(dir, 'missing') })).toThrow(/^MLDEPLOY_API_KEYS_FILE: cannot read .*ENOENT/);
    expect(() => loadKeys({ MLDEPLOY_API_KEYS: 'short' })).toThrow(/MLDEPLOY_API_KEYS: key #1 is too short/);
    expect(() => new AccessControl({ clientKeys: [ADMIN_KEY], adminKeys: [ADMIN_KEY] })).toThrow(/both as an API \(client\) key and as an admin key/);
  });

  it('stops `mldeploy serve` at start on MLDEPLOY_API_KEYS=", ," instead of opening the client routes', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mldeploy-home-'));
    const env = { ...process.env, MLDEPLOY_HOME: home, MLDEPLOY_API_KEYS: ', ,', MLDEPLOY_DATABASE_URL: `sqlite:${join(home, 'db.sqlite')}` };
    const failed = await run(process.execPath, [CLI, 'serve', '--port', '0', '--workers', '1'], { env, timeout: 60_000 }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    // Exit 2: a setting the user must fix (see the exit codes in the README).
    expect(failed).toMatchObject({ code: 2 });
    expect((failed as { stderr: string }).stderr).toContain('MLDEPLOY_API_KEYS: is set but holds no key');
  });

  it('validates the session lifetime and the trusted proxies', () => {
    expect(loadConfig({}).sessionTtlHours).toBe(12);
    expect(loadConfig({ MLDEPLOY_SESSION_TTL_HOURS: '0.5' }).sessionTtlHours).toBe(0.5);
    expect(() => loadConfig({ MLDEPLOY_SESSION_TTL_HOURS: '-1' })).toThrow(/MLDEPLOY_SESSION_TTL_HOURS/);
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ MLDEPLOY_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ MLDEPLOY_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ MLDEPLOY_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).trustProxy).toBe('10.0.0.0/8, 127.0.0.1');
    expect(() => loadConfig({ MLDEPLOY_TRUST_PROXY: 'yes please' })).toThrow(/MLDEPLOY_TRUST_PROXY/);
  });
});

describe('no keys: open client routes and docs, admin token for the rest', () => {
  let store: TestStore;
  let app: FastifyInstance;
  let token: string;

  beforeAll(async () => {
    store = await freshStore(sqlite);
    app = await appWith(store, {});
    token = app.mldeploy.adminToken!;
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it('makes a fresh 24-byte URL-safe admin token per server; with admin keys there is none', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(new AccessControl({}).adminToken).not.toBe(new AccessControl({}).adminToken);
    expect(new AccessControl({ adminKeys: [ADMIN_KEY] }, 'ignored-token-0123456789').adminToken).toBeUndefined();
    // Client keys alone: the dashboard still takes the admin token the server printed.
    expect(new AccessControl({ clientKeys: [CLIENT_KEY] }).adminToken).toBeDefined();
    expect(() => new AccessControl({}, 'short')).toThrow(/admin token is too short/);
  });

  it('answers 401 without credentials on every admin route, and serves client, docs and public routes', async () => {
    const seen = { public: new Set<string>(), docs: new Set<string>(), client: new Set<string>(), admin: new Set<string>() };
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
    expect(seen.admin).toEqual(new Set(['/api/runs', '/api/models/:name/promote', '/ui', '/ui/models', '/logout']));
    expect(seen.client).toEqual(new Set(['/predict', '/models', '/models/:name/predict', '/feedback', '/metrics']));
    expect(seen.public).toEqual(new Set(['/health', '/ready']));
    expect([...seen.docs].every((u) => u === '/openapi.json' || u === '/docs' || u.startsWith('/docs/'))).toBe(true);
    expect(seen.docs).toContain('/openapi.json');
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
    expect(page.body).toContain('?token=YOUR_ADMIN_KEY');
    expect(page.body).not.toContain(token);
    const api = await app.inject({ method: 'GET', url: '/api/runs' });
    expect(api.statusCode).toBe(401);
    expect(api.json()).toEqual({ error: 'unauthorized', message: expect.stringMatching(/admin token/) });
  });

  it('turns ?token= into a session and redirects to the URL without it', async () => {
    const cookie = await login(app, token);
    expect(cookie).not.toContain(token);
    expect((await app.inject({ method: 'GET', url: '/api/runs', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/runs', headers: { cookie: `${cookie}x` } })).statusCode).toBe(401);
    const rows = await store.db.selectFrom('sessions').select('created_by').execute();
    expect(rows.map((r) => r.created_by)).toContain('admin token');
  });

  it('refuses a wrong token with a 401 page and sets no cookie', async () => {
    for (const wrong of [`${token.slice(0, -1)}A`, '', CLIENT_KEY]) {
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

describe.each(backends)('session store on $name', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it.skipIf(!backend.url)('creates, checks, expires, revokes and prunes sessions', async () => {
    const sessions = new SessionStore(store.db, 60_000);
    const now = new Date('2026-12-01T10:00:00.000Z');
    const { sessionId, expiresAt } = await sessions.create('admin token', now);
    expect(expiresAt.toISOString()).toBe('2026-12-01T10:01:00.000Z');
    expect(await sessions.isActive(sessionId, new Date('2026-12-01T10:00:59.000Z'))).toBe(true);
    expect(await sessions.isActive(sessionId, new Date('2026-12-01T10:01:00.000Z'))).toBe(false);
    expect(await sessions.isActive(`${sessionId.slice(0, -1)}x`, now)).toBe(false);
    expect(await sessions.isActive('a\u0000b', now)).toBe(false);
    await sessions.revokeSession(sessionId, now);
    expect(await sessions.isActive(sessionId, now)).toBe(false);
    expect(await sessions.list({ all: true }, now)).toEqual([expect.objectContaining({ createdBy: 'admin token', active: false })]);
    await sessions.prune(new Date('2026-12-03T10:00:00.000Z'));
    expect(await sessions.list({ all: true }, now)).toEqual([]);
  });
});
