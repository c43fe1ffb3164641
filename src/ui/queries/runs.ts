/** Tracked runs: lists, one run in full (params, metrics, tags, children, model versions), metric histories. */
import type { Kysely } from 'kysely';
import type { Database, RunsTable } from '../../db/schema.js';
import { count, durationMs, type PageRequest, type Paged } from './common.js';

export interface RunSummary {
  id: string;
  experimentId: string;
  parentRunId: string | null;
  name: string;
  status: RunsTable['status'];
  datasetSnapshotId: string | null;
  dagRunId: string | null;
  startTime: string;
  endTime: string | null;
  durationMs: number | null;
}

/** The last logged value of one metric (highest step), and how many steps it has. */
export interface MetricSummary {
  key: string;
  value: number;
  step: number;
  timestamp: string;
  steps: number;
}

export interface RunDetail extends RunSummary {
  experimentName: string;
  params: Record<string, string>;
  metrics: MetricSummary[];
  tags: Record<string, string>;
  children: RunSummary[];
  /** Model versions registered from this run. */
  modelVersions: Array<{ name: string; version: number }>;
}

export interface MetricPoint {
  step: number;
  value: number;
  timestamp: string;
}

/** One metric's final value in each of an experiment's runs. */
export interface MetricAcrossRuns {
  runId: string;
  runName: string;
  parentRunId: string | null;
  startTime: string;
  value: number;
}

/** `parent` narrows to the children of one run; the string 'none' narrows to top-level runs. */
export interface RunFilter extends PageRequest {
  experimentId?: string;
  parent?: string;
}

export const TOP_LEVEL = 'none';

export function runSummary(row: RunsTable): RunSummary {
  return {
    id: row.id,
    experimentId: row.experiment_id,
    parentRunId: row.parent_run_id,
    name: row.name,
    status: row.status,
    datasetSnapshotId: row.dataset_snapshot_id,
    dagRunId: row.dag_run_id,
    startTime: row.start_time,
    endTime: row.end_time,
    durationMs: durationMs(row.start_time, row.end_time),
  };
}

/** Newest first. */
export async function listRuns(db: Kysely<Database>, filter: RunFilter): Promise<Paged<RunSummary>> {
  let query = db.selectFrom('runs');
  if (filter.experimentId) query = query.where('experiment_id', '=', filter.experimentId);
  if (filter.parent === TOP_LEVEL) query = query.where('parent_run_id', 'is', null);
  else if (filter.parent) query = query.where('parent_run_id', '=', filter.parent);
  const [rows, total] = await Promise.all([
    query
      .selectAll()
      .orderBy('start_time', 'desc')
      .orderBy('id')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { total: count(total.n), limit: filter.limit, offset: filter.offset, items: rows.map(runSummary) };
}

/** Reduces (key, step) rows to the last value per key, in key order. */
export function latestPerKey(rows: Array<{ key: string; value: number; step: number; timestamp: string }>): MetricSummary[] {
  const byKey = new Map<string, MetricSummary>();
  for (const row of rows) {
    const step = Number(row.step);
    const seen = byKey.get(row.key);
    if (!seen) byKey.set(row.key, { key: row.key, value: Number(row.value), step, timestamp: row.timestamp, steps: 1 });
    else {
      seen.steps += 1;
      if (step > seen.step) Object.assign(seen, { value: Number(row.value), step, timestamp: row.timestamp });
    }
  }
  return [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export async function getRun(db: Kysely<Database>, id: string): Promise<RunDetail | undefined> {
  const run = await db
    .selectFrom('runs')
    .innerJoin('experiments', 'experiments.id', 'runs.experiment_id')
    .selectAll('runs')
    .select('experiments.name as experiment_name')
    .where('runs.id', '=', id)
    .executeTakeFirst();
  if (!run) return undefined;
  const [params, metrics, tags, children, versions] = await Promise.all([
    db.selectFrom('run_params').select(['key', 'value']).where('run_id', '=', id).orderBy('key').execute(),
    db.selectFrom('run_metrics').select(['key', 'value', 'step', 'timestamp']).where('run_id', '=', id).execute(),
    db.selectFrom('run_tags').select(['key', 'value']).where('run_id', '=', id).orderBy('key').execute(),
    db.selectFrom('runs').selectAll().where('parent_run_id', '=', id).orderBy('start_time').orderBy('id').execute(),
    db
      .selectFrom('model_versions')
      .select(['name', 'version'])
      .where('run_id', '=', id)
      .orderBy('name')
      .orderBy('version')
      .execute(),
  ]);
  return {
    ...runSummary(run),
    experimentName: run.experiment_name,
    params: Object.fromEntries(params.map((p) => [p.key, p.value])),
    metrics: latestPerKey(metrics),
    tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
    children: children.map(runSummary),
    modelVersions: versions.map((v) => ({ name: v.name, version: Number(v.version) })),
  };
}

/** Every logged step of one metric of a run, by step. */
export async function metricHistory(db: Kysely<Database>, runId: string, key: string): Promise<MetricPoint[]> {
  const rows = await db
    .selectFrom('run_metrics')
    .select(['step', 'value', 'timestamp'])
    .where('run_id', '=', runId)
    .where('key', '=', key)
    .orderBy('step')
    .execute();
  return rows.map((r) => ({ step: Number(r.step), value: Number(r.value), timestamp: r.timestamp }));
}

/** The metric keys logged anywhere in an experiment, for choosing what to chart. */
export async function metricKeysOfExperiment(db: Kysely<Database>, experimentId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('run_metrics')
    .innerJoin('runs', 'runs.id', 'run_metrics.run_id')
    .select('run_metrics.key')
    .distinct()
    .where('runs.experiment_id', '=', experimentId)
    .orderBy('run_metrics.key')
    .execute();
  return rows.map((r) => r.key);
}

/** One metric's final value in each of the experiment's latest `limit` runs that logged it, oldest first. */
export async function metricAcrossRuns(
  db: Kysely<Database>,
  experimentId: string,
  key: string,
  limit: number,
): Promise<MetricAcrossRuns[]> {
  // Two steps because MySQL cannot LIMIT inside an IN subquery.
  const runs = await db
    .selectFrom('runs')
    .select(['id', 'name', 'parent_run_id', 'start_time'])
    .where('experiment_id', '=', experimentId)
    .where((eb) => eb.exists(eb.selectFrom('run_metrics').select('run_id').whereRef('run_metrics.run_id', '=', 'runs.id').where('run_metrics.key', '=', key)))
    .orderBy('start_time', 'desc')
    .orderBy('id')
    .limit(limit)
    .execute();
  if (runs.length === 0) return [];
  const values = await db
    .selectFrom('run_metrics')
    .select(['run_id', 'key', 'value', 'step', 'timestamp'])
    .where('key', '=', key)
    .where('run_id', 'in', runs.map((r) => r.id))
    .execute();
  const last = new Map<string, { step: number; value: number }>();
  for (const v of values) {
    const seen = last.get(v.run_id);
    if (!seen || Number(v.step) > seen.step) last.set(v.run_id, { step: Number(v.step), value: Number(v.value) });
  }
  return runs.reverse().map((r) => ({
    runId: r.id,
    runName: r.name,
    parentRunId: r.parent_run_id,
    startTime: r.start_time,
    value: last.get(r.id)!.value,
  }));
}


export async function runExists(db: Kysely<Database>, id: string): Promise<boolean> {
  return (await db.selectFrom('runs').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}
