/**
 * The prediction API (Fastify 5): predict, feedback, models, health, metrics, OpenAPI docs, API-key auth. Other
 * parts of mldeploy add routes as Fastify plugins (`plugins` option, or `app.register` before `ready`); the auth
 * hook is installed first on the root instance, so their routes are admin routes (see auth.ts) unless listed.
 */
import type { IncomingMessage } from 'node:http';
import fastifyCookie from '@fastify/cookie';
import { fastify, LogController, type FastifyInstance, type FastifyPluginAsync, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Store } from '../db/index.js';
import { createLogger, type Logger } from '../logger.js';
import { AccessControl, presentedKey, roleOpens, routeClass, sessionCookieName, type Keys } from './auth.js';
import type { MetricsGatherer } from './cluster-metrics.js';
import { InvalidInputError, UnavailableError } from '../errors.js';
import { errorAnswer } from './errors.js';
import { CLIENT_REQUEST_ID, timeOrderedUuid } from './ids.js';
import { registerDocs, registerDocsUi } from './openapi.js';
import { PredictionLog, type PredictionLogOptions } from './prediction-log.js';
import { registerFeedbackRoute } from './routes/feedback.js';
import { registerPredictRoutes } from './routes/predict.js';
import { registerStatusRoutes } from './routes/status.js';
import { DEFAULT_SESSION_TTL_MS, SessionStore } from './sessions.js';
import { createServeMetrics, type ServeMetrics } from './serve-metrics.js';
import { ServedModels } from './served-models.js';
import { startSqliteCheckpointer, type SqliteCheckpointer } from './sqlite-checkpointer.js';
import type { UnknownFieldPolicy } from './row-contract.js';
import type { ModelSource } from './types.js';

/** A plugin mounted on the app, e.g. the dashboard under /ui and /api. */
export interface AppPlugin {
  plugin: FastifyPluginAsync<any>;
  options?: Record<string, unknown> & { prefix?: string };
}

export interface AppOptions {
  /** The database predictions are logged to (and the health check probes). The caller owns and closes it. */
  store: Pick<Store, 'db' | 'dialect'>;
  /** Where served models come from: RegistryModelSource in production. */
  modelSource: ModelSource;
  /** `modelName` is the model POST /predict serves. */
  config: { modelName: string };
  logger?: Logger;
  /**
   * Client keys (open client and docs routes) and admin keys (open everything); none (default) leaves the client and
   * docs routes open. The configuration reads them from MLDEPLOY_API_KEYS(_FILE) and
   * MLDEPLOY_ADMIN_KEYS(_FILE).
   */
  keys?: Partial<Keys>;
  /** With no admin keys: the credential admin routes take; default a fresh random one (see `app.mldeploy.adminToken`). */
  adminToken?: string;
  /** How long a dashboard session lasts from its login (absolute expiry); default 12 hours. */
  sessionTtlMs?: number;
  /**
   * Fastify's trustProxy: whether (or which) proxies' X-Forwarded-* headers are believed, so that a request that
   * reached a TLS-terminating proxy over https gets a `Secure` session cookie. Default false.
   */
  trustProxy?: boolean | number | string;
  /** How often NAME@production is polled for a new version; default 500 ms. */
  pollIntervalMs?: number;
  /** Most rows in one predict request (413 above); default 1000. */
  maxBatchRows?: number;
  /** Largest request body in bytes (413 above); default 1 MiB. */
  bodyLimit?: number;
  /** Fields a model does not know: 422 ('reject', default) or dropped ('ignore'). */
  unknownFields?: UnknownFieldPolicy;
  /** Group-commit tuning: commitTimeoutMs (bounded wait before 503), maxBatchRows, maxQueuedRows, maxConcurrentWrites
   * (default 1 on SQLite, 4 on PostgreSQL and MySQL). */
  predictionLog?: Omit<PredictionLogOptions, 'logger' | 'onWrite'>;
  /** One log line per request (Fastify's request logging); default true. */
  logRequests?: boolean;
  /**
   * SQLite only: checkpoint the WAL from a worker thread every this many ms instead of inside a commit on the event
   * loop (see sqlite-checkpointer.ts); default 200, false to leave SQLite's automatic checkpoints on.
   */
  sqliteCheckpointIntervalMs?: number | false;
  plugins?: AppPlugin[];
  /** With several server processes: gathers every process's metrics for /metrics (set by serve()). */
  clusterMetrics?: MetricsGatherer;
}

/** What the app shares with plugins, as `app.mldeploy`. */
export interface ServeContext {
  store: Pick<Store, 'db' | 'dialect'>;
  models: ServedModels;
  predictionLog: PredictionLog;
  metrics: ServeMetrics;
  maxBatchRows: number;
  /** Keys are configured: client and docs routes need one. */
  authEnabled: boolean;
  /** With no admin keys configured: the token admin routes (the dashboard) take. Never log it. */
  adminToken: string | undefined;
  /** Dashboard sessions (server-side, in the database). */
  sessions: SessionStore;
  /** Every route registered on the app (plugins' included), e.g. for an index page or an audit. */
  routes: Array<{ method: string; url: string }>;
  clusterMetrics?: MetricsGatherer;
}

declare module 'fastify' {
  interface FastifyInstance {
    mldeploy: ServeContext;
  }
}

/**
 * The request's id: the caller's Idempotency-Key, else its x-request-id, when sane (it is stored with predictions, and
 * a retry with the same id gets the stored answer), else a fresh time-ordered UUID. An x-request-id that is not sane
 * is replaced (proxies set them in many shapes); an Idempotency-Key that is not is refused by the predict routes.
 */
function requestId(req: IncomingMessage): string {
  for (const header of ['idempotency-key', 'x-request-id']) {
    const given = req.headers[header];
    if (typeof given === 'string' && CLIENT_REQUEST_ID.test(given)) return given;
  }
  return timeOrderedUuid();
}

/**
 * Request logs: a line per answered request is too much at thousands of requests per second, so successful requests
 * log at debug (LOG_LEVEL=debug shows them) and only 4xx/5xx answers and errors at info and above.
 */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: loggedRequest(request) }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error || reply.statusCode >= 400) super.requestCompleted(error, request, reply);
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/**
 * The fields Fastify's request serializer reads, with a dashboard login's `?token=` masked: logs travel further than
 * the server (aggregators), a credential must not.
 */
function loggedRequest(request: FastifyRequest) {
  const url = request.url.replace(/([?&]token=)[^&#]*/g, '$1***');
  return { method: request.method, url, headers: request.headers, host: request.host, ip: request.ip, socket: request.socket };
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const logger = options.logger ?? createLogger();
  const maxBatchRows = options.maxBatchRows ?? 1000;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const access = new AccessControl(options.keys ?? {}, options.adminToken);
  const sessions = new SessionStore(options.store.db, options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS);
  const metrics = createServeMetrics();

  const app = fastify({
    loggerInstance: logger,
    logController: new RequestLog({ disableRequestLogging: options.logRequests === false }),
    genReqId: requestId,
    bodyLimit,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    trustProxy: trustedProxies(options.trustProxy ?? false),
  }) as unknown as FastifyInstance;

  const predictionLog = new PredictionLog(options.store.db, {
    maxConcurrentWrites: options.store.dialect === 'sqlite' ? 1 : 4,
    ...options.predictionLog,
    logger,
    onWrite: ({ rows, seconds, ok }) => {
      metrics.logWrites.inc({ outcome: ok ? 'ok' : 'error' });
      if (ok) metrics.logWrittenRows.inc(undefined, rows);
      metrics.logWriteDuration.observe(undefined, seconds);
    },
  });
  const models = new ServedModels({
    source: options.modelSource,
    defaultModel: options.config.modelName,
    pollIntervalMs: options.pollIntervalMs,
    contract: { unknownFields: options.unknownFields },
    logger,
    onChange: (name, previous, next) => {
      if (previous) {
        metrics.modelInfo.remove({ model: name, version: previous.version });
        metrics.modelSwaps.inc({ model: name });
      }
      if (next) metrics.modelInfo.set({ model: name, version: next.version }, 1);
    },
  });
  metrics.registry.onCollect(() => metrics.logQueuedRows.set(undefined, predictionLog.queuedRows));

  const context: ServeContext = {
    store: options.store,
    models,
    predictionLog,
    metrics,
    maxBatchRows,
    authEnabled: access.keysConfigured,
    adminToken: access.adminToken,
    sessions,
    routes: [],
    clusterMetrics: options.clusterMetrics,
  };
  app.decorate('mldeploy', context);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) context.routes.push({ method, url: route.url });
  });

  // Parses cookies for the session check below; registered first so its hook runs before it.
  await app.register(fastifyCookie);
  // Deny by default: this hook is on the root before any route or plugin, so it guards every route but the allow-list.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const kind = routeClass(request.routeOptions.url);
    if (access.isOpen(kind)) return;
    // Not `new URL`: a path such as `//` or `//host` would be read as an authority (or throw), not as a path.
    const [path, queryString = ''] = splitUrl(request.url);
    const page = path === '/ui' || path.startsWith('/ui/');
    const cookieName = sessionCookieName(request.socket.localPort);
    const query = new URLSearchParams(queryString);
    const token = page && request.method === 'GET' ? query.get('token') : null;
    const keys = access.keysConfigured;
    if (token !== null) {
      const holder = access.identify(token);
      if (holder?.role !== 'admin') return unauthorized(reply, { page, keys, problem: holder ? 'client key' : 'wrong token' });
      // Logged in: the session cookie carries it from now on, and the token leaves the address bar and history.
      const session = await sessions.create(holder.label).catch((error: unknown) => {
        request.log.error({ err: error }, 'a dashboard session could not be stored');
        throw new UnavailableError('The session could not be stored: the database is not available', { code: 'sessions_unavailable' });
      });
      reply.setCookie(cookieName, session.sessionId, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        expires: session.expiresAt,
      });
      query.delete('token');
      const rest = query.toString();
      return reply.redirect(rest ? `${path}?${rest}` : path, 303);
    }
    const key = presentedKey(request.headers);
    if (key !== undefined) {
      const holder = access.identify(key);
      if (holder && roleOpens(holder.role, kind)) return;
      return unauthorized(reply, { page, keys, problem: holder ? 'client key' : 'wrong key' });
    }
    // The session cookie opens the dashboard and reads the docs; never a client route (a cookie is sent by the
    // browser on its own, so a client route that took one could be called by any page the user visits).
    const cookieReads = kind === 'admin' || (kind === 'docs' && (request.method === 'GET' || request.method === 'HEAD'));
    const sessionId = cookieReads ? request.cookies[cookieName] : undefined;
    if (sessionId !== undefined) {
      const active = await sessions.isActive(sessionId).catch((error: unknown) => {
        request.log.error({ err: error }, 'dashboard sessions could not be read');
        throw new UnavailableError('Sessions cannot be checked: the database is not available', { code: 'sessions_unavailable' });
      });
      if (active) return;
    }
    return unauthorized(reply, { page, keys, problem: sessionId !== undefined ? 'session ended' : 'none' });
  });
  // Logout: ends the session of this browser in every process (the cookie is revoked in the database) and clears it.
  app.post('/logout', { schema: { summary: 'End the dashboard session of this browser', tags: ['dashboard'] } }, async (request, reply) => {
    const cookieName = sessionCookieName(request.socket.localPort);
    const sessionId = request.cookies[cookieName];
    if (sessionId !== undefined) await sessions.revokeSession(sessionId);
    reply.clearCookie(cookieName, { path: '/' });
    return reply.redirect('/ui', 303);
  });
  // No id, name or filter holds a NUL character, and PostgreSQL refuses text with one: a 400 naming the parameter
  // before any handler or query sees it, for every route (plugins' included).
  app.addHook('preValidation', async (request) => {
    rejectNul(request.params, 'path parameter');
    rejectNul(request.query, 'query parameter');
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: request.method, route, status: reply.statusCode });
    metrics.httpDuration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; validation?: unknown[] }, request, reply) => {
    const answer = errorAnswer(error, { bodyLimit });
    // A 503 says why in its body and is counted in the metrics; a line per request would flood the log.
    if (answer.status === 500) request.log.error({ err: error }, 'request failed');
    if (answer.status === 503) reply.header('retry-after', '1');
    return reply.code(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: `No route ${request.method} ${request.url.split('?')[0]}` });
  });

  await registerDocs(app, { authEnabled: access.keysConfigured });
  registerPredictRoutes(app, context);
  registerFeedbackRoute(app, context);
  registerStatusRoutes(app, context);
  await registerDocsUi(app, models);
  for (const { plugin, options: pluginOptions } of options.plugins ?? []) await app.register(plugin, pluginOptions ?? {});

  let checkpointer: SqliteCheckpointer | undefined;
  app.addHook('onReady', async () => {
    await models.refresh();
    models.start();
    await sessions.prune().catch((error: unknown) => logger.warn({ err: error }, 'old dashboard sessions were not pruned'));
    const interval = options.sqliteCheckpointIntervalMs ?? 200;
    if (options.store.dialect === 'sqlite' && interval !== false) {
      checkpointer = await startSqliteCheckpointer(options.store.db, { intervalMs: interval, logger }).catch((error) => {
        logger.warn({ err: error }, 'SQLite checkpoints stay in the commits: the checkpoint thread did not start');
        return undefined;
      });
    }
  });
  // Runs after the server stopped taking requests and in-flight ones finished: drain what is still queued.
  app.addHook('onClose', async () => {
    await models.stop();
    await predictionLog.close();
    await checkpointer?.stop();
  });
  if (!access.keysConfigured) logger.debug('no keys configured: client routes are open, admin routes take the admin token');
  return app;
}

type Refusal = 'none' | 'wrong token' | 'wrong key' | 'client key' | 'session ended';

/**
 * 401 (no valid credential) or 403 (a client key on an admin route): JSON for the API, an HTML page for a dashboard
 * page that says how to get in.
 */
function unauthorized(reply: FastifyReply, { page, keys, problem }: { page: boolean; keys: boolean; problem: Refusal }) {
  const forbidden = problem === 'client key';
  reply.code(forbidden ? 403 : 401);
  if (!forbidden) reply.header('www-authenticate', 'Bearer');
  if (!page) {
    if (forbidden) {
      return reply.send({ error: 'forbidden', message: 'This API key opens the client routes only; this route needs an admin key' });
    }
    const needed = keys ? 'A valid API key' : 'A valid API key or the admin token';
    return reply.send({ error: 'unauthorized', message: `${needed} is required (Authorization: Bearer <key> or x-api-key)` });
  }
  const why = {
    none: 'The dashboard needs a token.',
    'wrong token': 'The token in the address is not valid (the server makes a new one each time it starts).',
    'wrong key': 'The key presented is not valid.',
    'client key': 'This key opens the prediction API only: the dashboard needs an admin key or the admin token.',
    'session ended': 'Your session has ended (it expired, or you logged out, or it was revoked): log in again.',
  }[problem];
  return reply.headers(LOGIN_PAGE_HEADERS).send(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mldeploy: ${forbidden ? 'admin key needed' : 'token needed'}</title></head>` +
      `<body style="font-family:sans-serif;max-width:40em;margin:3em auto"><h1>${forbidden ? 'Admin key needed' : 'Token needed'}</h1><p>${why}</p>` +
      '<p>Open the dashboard URL that <code>mldeploy up</code> or <code>mldeploy serve</code> printed when it started, ' +
      'or add <code>?token=YOUR_ADMIN_KEY</code> to this address.</p></body></html>',
  );
}

const LOGIN_PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/** Fastify's trustProxy: a hop count as the function its typings take (trust the nearest `hops` proxies). */
function trustedProxies(setting: boolean | number | string): boolean | string | ((address: string, hop: number) => boolean) {
  return typeof setting === 'number' ? (_address: string, hop: number) => hop < setting : setting;
}

/** A request target as its path and its query string (without the `?`). */
function splitUrl(url: string): [string, string?] {
  const at = url.indexOf('?');
  return at < 0 ? [url] : [url.slice(0, at), url.slice(at + 1)];
}

function rejectNul(values: unknown, where: string): void {
  if (values === null || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values)) {
    for (const item of [value].flat()) {
      if (typeof item === 'string' && item.includes('\u0000')) {
        throw new InvalidInputError(`${where} ${name} must not contain the NUL character (U+0000)`, { code: 'bad_request' });
      }
    }
  }
}
