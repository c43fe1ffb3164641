/** GET /health (liveness), /ready (readiness), /models and /metrics. */
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
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

  app.get('/health', { schema: { summary: 'Liveness, with database and model status', tags: ['status'], ...publicRoute } }, () =>
    health(context),
  );
  app.get(
    '/ready',
    { schema: { summary: 'Readiness: 200 when the default model is served and the database answers, else 503', tags: ['status'], ...publicRoute } },
    async (_request, reply) => {
      const body = await health(context);
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

async function health(context: ServeContext): Promise<Health> {
  const database = await probeDatabase(context);
  const models = context.models.statuses().map((s) => ({
    name: s.name,
    default: s.isDefault,
    state: s.state,
    version: s.served?.version ?? null,
    ...(s.reason ? { reason: s.reason } : {}),
  }));
  const log = context.predictionLog.health;
  const defaultServed = context.models.statuses().some((s) => s.isDefault && s.state === 'serving');
  const ready = database.reachable && defaultServed;
  return {
    status: ready && log.ok ? 'ok' : 'degraded',
    ready,
    pid: process.pid,
    database,
    prediction_log: { queued_rows: context.predictionLog.queuedRows, ...(log.lastError ? { last_error: log.lastError } : {}) },
    models,
  };
}

async function probeDatabase(context: ServeContext): Promise<Health['database']> {
  const dialect = context.store.dialect;
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${DB_PROBE_TIMEOUT_MS} ms`)), DB_PROBE_TIMEOUT_MS);
    });
    const probe = sql`select 1`.execute(context.store.db);
    probe.catch(() => {});
    await Promise.race([probe, timeout]);
    return { dialect, reachable: true };
  } catch (error) {
    return { dialect, reachable: false, error: error instanceof Error ? error.message : String(error) };
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
