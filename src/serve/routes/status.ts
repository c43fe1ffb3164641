/** GET /health (liveness), /ready (readiness), /models and /metrics. */
import { sql } from 'kysely';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ServeContext } from '../app.js';
import { MetricsRegistry, renderSnapshots } from '../metrics.js';
import type { ModelStatus } from '../served-models.js';

/** A database that does not answer a trivial query within this time counts as unreachable. */
const DB_PROBE_TIMEOUT_MS = 1000;

interface Health {
  status: 'ok' | 'degraded';
  ready: boolean;
  /** The answering process (one of several with --workers). */
  pid: number;
  database: { dialect: string; reachable: boolean; error?: string };
  prediction_log: { queued_rows: number; last_error?: { message: string; at: string } };
  models: Array<{ name: string; default: boolean; state: string; version: number | null; reason?: string }>;
}

export function registerStatusRoutes(app: FastifyInstance, context: ServeContext): void {
  const publicRoute = { security: [] as never[] };

  app.get('/health', { schema: { summary: 'Liveness, with database and model status', tags: ['status'], ...publicRoute } }, (request) =>
    health(context, request.log),
  );
  app.get(
    '/ready',
    { schema: { summary: 'Readiness: 200 when the default model is served and the database answers, else 503', tags: ['status'], ...publicRoute } },
    async (request, reply) => {
      const body = await health(context, request.log);
      return reply.code(body.ready ? 200 : 503).send(body);
    },
  );
  app.get('/models', { schema: { summary: 'Served models, their versions and input fields', tags: ['models'] } }, () => ({
    default: context.models.defaultModel,
    models: context.models.statuses().map(describeModel),
  }));
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['status'] } }, async (_request, reply) => {
    const text = context.clusterMetrics
      ? renderSnapshots(await context.clusterMetrics.gather())
      : context.metrics.registry.render();
    return reply.type(MetricsRegistry.contentType).send(text);
  });
}

async function health(context: ServeContext, log: FastifyBaseLogger): Promise<Health> {
  const database = await probeDatabase(context, log);
  const models = context.models.statuses().map((s) => ({
    name: s.name,
    default: s.isDefault,
    state: s.state,
    version: s.served?.version ?? null,
    ...(s.reason ? { reason: s.reason } : {}),
  }));
  const predictionLog = context.predictionLog.health;
  const defaultServed = context.models.statuses().some((s) => s.isDefault && s.state === 'serving');
  const ready = database.reachable && defaultServed;
  return {
    status: ready && predictionLog.ok ? 'ok' : 'degraded',
    ready,
    pid: process.pid,
    database,
    prediction_log: { queued_rows: context.predictionLog.queuedRows, ...(predictionLog.lastError ? { last_error: predictionLog.lastError } : {}) },
    models,
  };
}

/**
 * Whether the database answers a trivial query in time. The probes are public: the driver's error (host, port, user)
 * goes to the server log, the answer only says what kind of failure it was.
 */
async function probeDatabase(context: ServeContext, log: FastifyBaseLogger): Promise<Health['database']> {
  const dialect = context.store.dialect;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Error(`no answer within ${DB_PROBE_TIMEOUT_MS} ms`);
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut), DB_PROBE_TIMEOUT_MS);
    });
    const probe = sql`select 1`.execute(context.store.db);
    probe.catch(() => {});
    await Promise.race([probe, timeout]);
    return { dialect, reachable: true };
  } catch (error) {
    if (error === timedOut) return { dialect, reachable: false, error: timedOut.message };
    log.warn({ err: error }, 'the database health probe failed');
    return { dialect, reachable: false, error: 'the database refused the probe or the connection (see the server log)' };
  } finally {
    clearTimeout(timer);
  }
}

function describeModel(status: ModelStatus) {
  const served = status.served;
  return {
    name: status.name,
    default: status.isDefault,
    state: status.state,
    version: served?.version ?? null,
    ...(status.reason ? { reason: status.reason } : {}),
    ...(status.lastError ? { last_error: status.lastError } : {}),
    ...(served
      ? {
          loaded_at: served.loadedAt,
          threshold: served.model.threshold,
          target: served.model.signature.target,
          features: served.model.signature.features,
          row_id_columns: served.model.signature.rowIdColumns,
          input_schema: served.contract.rowSchema,
        }
      : {}),
  };
}
