/** The model registry as the dashboard shows it: models, versions with their metrics, aliases, and the audit trail. */
import type { Kysely } from 'kysely';
import type { Database, ModelEventsTable } from '../../db/schema.js';
import { count, parseJson } from './common.js';

/** The alias the serving API loads. */
import { PRODUCTION_ALIAS } from '../../tracking/aliases.js';

export { PRODUCTION_ALIAS };

export interface ProductionVersion {
  version: number;
  metrics: Record<string, unknown>;
  /** The test split's ROC AUC recorded at registration, when present. */
  testAuc: number | null;
  createdAt: string;
  promotedAt: string;
}

export interface ModelSummary {
  name: string;
  description: string | null;
  createdAt: string;
  versionCount: number;
  latestVersion: number | null;
  aliases: Record<string, number>;
  production: ProductionVersion | null;
}

export interface ModelVersionView {
  version: number;
  runId: string | null;
  artifactKey: string;
  datasetSnapshotId: string | null;
  metrics: Record<string, unknown>;
  testAuc: number | null;
  createdAt: string;
  /** Aliases pointing at this version now. */
  aliases: string[];
}

export interface ModelEventView {
  id: string;
  version: number;
  alias: string | null;
  action: ModelEventsTable['action'];
  reason: string;
  createdAt: string;
}

export interface ModelDetail {
  name: string;
  description: string | null;
  createdAt: string;
  aliases: Array<{ alias: string; version: number; updatedAt: string }>;
  /** Newest first. */
  versions: ModelVersionView[];
  /** Newest first. */
  events: ModelEventView[];
}

function metricsObject(text: string): Record<string, unknown> {
  const value = parseJson(text);
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** Registration metrics look like { val: {...}, test: {...} }; the test ROC AUC is the headline number. */
export function testAucOf(metrics: Record<string, unknown>): number | null {
  const test = metrics.test as Record<string, unknown> | undefined;
  const value = test && typeof test === 'object' ? (test.roc_auc ?? test.auc) : (metrics.test_roc_auc ?? metrics.roc_auc);
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Numeric metrics flattened to 'split.key' (or 'key' when not nested), for tables. */
export function flattenMetrics(metrics: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(metrics)) {
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) {
        if (typeof v === 'number' && Number.isFinite(v)) out[`${key}.${inner}`] = v;
      }
    }
  }
  return out;
}

export async function listModels(db: Kysely<Database>): Promise<ModelSummary[]> {
  const [models, versionStats, aliases, production] = await Promise.all([
    db.selectFrom('registered_models').selectAll().orderBy('name').execute(),
    db
      .selectFrom('model_versions')
      .select((eb) => ['name', eb.fn.countAll().as('n'), eb.fn.max('version').as('latest')])
      .groupBy('name')
      .execute(),
    db.selectFrom('model_aliases').select(['name', 'alias', 'version']).orderBy('alias').execute(),
    db
      .selectFrom('model_aliases as a')
      .innerJoin('model_versions as v', (join) => join.onRef('v.name', '=', 'a.name').onRef('v.version', '=', 'a.version'))
      .select(['a.name', 'a.version', 'a.updated_at', 'v.metrics_json', 'v.created_at'])
      .where('a.alias', '=', PRODUCTION_ALIAS)
      .execute(),
  ]);
  return models.map((m) => {
    const stats = versionStats.find((s) => s.name === m.name);
    const prod = production.find((p) => p.name === m.name);
    const metrics = prod ? metricsObject(prod.metrics_json) : {};
    return {
      name: m.name,
      description: m.description,
      createdAt: m.created_at,
      versionCount: count(stats?.n),
      latestVersion: stats ? Number(stats.latest) : null,
      aliases: Object.fromEntries(aliases.filter((a) => a.name === m.name).map((a) => [a.alias, Number(a.version)])),
      production: prod
        ? {
            version: Number(prod.version),
            metrics,
            testAuc: testAucOf(metrics),
            createdAt: prod.created_at,
            promotedAt: prod.updated_at,
          }
        : null,
    };
  });
}

export async function getModel(db: Kysely<Database>, name: string, eventLimit: number): Promise<ModelDetail | undefined> {
  const model = await db.selectFrom('registered_models').selectAll().where('name', '=', name).executeTakeFirst();
  if (!model) return undefined;
  const [versions, aliases, events] = await Promise.all([
    db.selectFrom('model_versions').selectAll().where('name', '=', name).orderBy('version', 'desc').execute(),
    db.selectFrom('model_aliases').selectAll().where('name', '=', name).orderBy('alias').execute(),
    db
      .selectFrom('model_events')
      .selectAll()
      .where('name', '=', name)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(eventLimit)
      .execute(),
  ]);
  return {
    name: model.name,
    description: model.description,
    createdAt: model.created_at,
    aliases: aliases.map((a) => ({ alias: a.alias, version: Number(a.version), updatedAt: a.updated_at })),
    versions: versions.map((v) => {
      const metrics = metricsObject(v.metrics_json);
      return {
        version: Number(v.version),
        runId: v.run_id,
        artifactKey: v.artifact_key,
        datasetSnapshotId: v.dataset_snapshot_id,
        metrics,
        testAuc: testAucOf(metrics),
        createdAt: v.created_at,
        aliases: aliases.filter((a) => Number(a.version) === Number(v.version)).map((a) => a.alias),
      };
    }),
    events: events.map((e) => ({
      id: e.id,
      version: Number(e.version),
      alias: e.alias,
      action: e.action,
      reason: e.reason,
      createdAt: e.created_at,
    })),
  };
}
