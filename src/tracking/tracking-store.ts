/**
 * Experiment tracking over the database (MLflow's tracking store): experiments, runs, params, metrics, tags, and the
 * run artifacts kept in an ArtifactRepository under `runs/<runId>/artifacts/`. Each write call is one transaction.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, RunsTable, Store } from '../db/index.js';
import type { ArtifactRepository } from './artifacts/repository.js';
import { assertArtifactKey, assertArtifactPrefix } from './artifacts/keys.js';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js';
import { newId, nowIso } from './ids.js';
import { chunk, isWriteConflict, upsert } from './sql.js';
import type {
  Experiment,
  ExperimentSummary,
  ListRunsOptions,
  MetricPoint,
  ParamValue,
  RunDetail,
  RunInfo,
  RunStatus,
  RunSummary,
  StartRunOptions,
} from './types.js';
import { assertDataKey, assertDisplayName } from './validate.js';

/** Where a run's artifact lives in the repository. */
export function runArtifactKey(runId: string, path: string): string {
  return assertArtifactKey(`runs/${runId}/artifacts/${assertArtifactKey(path)}`);
}

type RunRow = Selectable<RunsTable> & { experiment_name: string };

export class TrackingStore {
  constructor(
    private readonly store: Store,
    readonly artifacts: ArtifactRepository,
  ) {}

  private get db(): Kysely<Database> {
    return this.store.db;
  }

  async getExperiment(name: string): Promise<Experiment | undefined> {
    const row = await this.db.selectFrom('experiments').selectAll().where('name', '=', name).executeTakeFirst();
    return row && { id: row.id, name: row.name, createdAt: row.created_at };
  }

  /** Safe when several processes create the same experiment at once: the loser reads the winner's row. */
  async getOrCreateExperiment(name: string): Promise<Experiment> {
    assertDisplayName(name, 'experiment name');
    const existing = await this.getExperiment(name);
    if (existing) return existing;
    const experiment = { id: newId(), name, createdAt: nowIso() };
    try {
      await this.db
        .insertInto('experiments')
        .values({ id: experiment.id, name, created_at: experiment.createdAt })
        .execute();
      return experiment;
    } catch (error) {
      const winner = isWriteConflict(error) ? await this.getExperiment(name) : undefined;
      if (winner) return winner;
      throw error;
    }
  }

  /** Experiments by name, with how many runs each has and when the newest started. */
  async listExperiments(): Promise<ExperimentSummary[]> {
    const rows = await this.db
      .selectFrom('experiments')
      .leftJoin('runs', 'runs.experiment_id', 'experiments.id')
      .select((eb) => [
        'experiments.id',
        'experiments.name',
        'experiments.created_at',
        eb.fn.count<number>('runs.id').as('run_count'),
        eb.fn.max('runs.start_time').as('last_run_time'),
      ])
      .groupBy(['experiments.id', 'experiments.name', 'experiments.created_at'])
      .orderBy('experiments.name')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      name: row.name,
      createdAt: row.created_at,
      runCount: Number(row.run_count),
      lastRunTime: row.last_run_time ?? null,
    }));
  }

  async startRun(options: StartRunOptions): Promise<RunInfo> {
    assertDisplayName(options.name, 'run name');
    const tags = Object.entries(options.tags ?? {}).map(([key, value]) => [assertDataKey(key, 'tag'), tagValue(key, value)]);
    const experiment = await this.getOrCreateExperiment(options.experiment);
    const row: RunRow = {
      id: newId(),
      experiment_id: experiment.id,
      experiment_name: experiment.name,
      parent_run_id: options.parentRunId ?? null,
      name: options.name,
      status: 'RUNNING',
      dataset_snapshot_id: options.datasetSnapshotId ?? null,
      dag_run_id: options.dagRunId ?? null,
      start_time: nowIso(),
      end_time: null,
    };
    await this.db.transaction().execute(async (trx) => {
      if (row.parent_run_id) await requireRun(trx, row.parent_run_id, 'parent run');
      const { experiment_name: _, ...runsRow } = row;
      await trx.insertInto('runs').values(runsRow).execute();
      for (const batch of chunk(tags)) {
        await trx
          .insertInto('run_tags')
          .values(batch.map(([key, value]) => ({ run_id: row.id, key, value })))
          .execute();
      }
    });
    return toRunInfo(row);
  }

  /**
   * Params are immutable, as in MLflow: logging a key again with the same value is a no-op, with another value a
   * ConflictError. Numbers and booleans are stored as their string form.
   */
  async logParams(runId: string, params: Record<string, ParamValue>): Promise<void> {
    const entries = Object.entries(params).map(([key, value]) => [assertDataKey(key, 'param'), paramValue(key, value)]);
    if (entries.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await requireRun(trx, runId);
      const logged = new Map<string, string>();
      for (const batch of chunk(entries)) {
        const rows = await trx
          .selectFrom('run_params')
          .select(['key', 'value'])
          .where('run_id', '=', runId)
          .where('key', 'in', batch.map(([key]) => key))
          .execute();
        for (const row of rows) logged.set(row.key, row.value);
      }
      const fresh = entries.filter(([key, value]) => {
        const before = logged.get(key);
        if (before !== undefined && before !== value) {
          throw new ConflictError(
            `param "${key}" of run ${runId} is already ${JSON.stringify(before)}; params cannot change (tried ${JSON.stringify(value)})`,
          );
        }
        return before === undefined;
      });
      for (const batch of chunk(fresh)) {
        await trx
          .insertInto('run_params')
          .values(batch.map(([key, value]) => ({ run_id: runId, key, value })))
          .execute();
      }
    });
  }

  /**
   * Logs metric values at one step (logging a key again at the same step replaces it). Values must be finite:
   * MySQL cannot store NaN or Infinity and SQLite turns NaN into NULL, so they are refused on every backend with
   * the key named, instead of behaving differently per database.
   */
  async logMetrics(runId: string, metrics: Record<string, number>, step = 0): Promise<void> {
    if (!Number.isSafeInteger(step)) throw new InvalidInputError(`invalid metric step ${step}: use a whole number`);
    const entries = Object.entries(metrics).map(([key, value]) => {
      assertDataKey(key, 'metric');
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new InvalidInputError(`metric "${key}" is ${String(value)}: metric values must be finite numbers`);
      }
      return [key, value] as const;
    });
    if (entries.length === 0) return;
    const timestamp = nowIso();
    await this.db.transaction().execute(async (trx) => {
      await requireRun(trx, runId);
      for (const batch of chunk(entries)) {
        const insert = trx
          .insertInto('run_metrics')
          .values(batch.map(([key, value]) => ({ run_id: runId, key, value, step, timestamp })));
        await upsert(this.store.dialect, insert, ['run_id', 'key', 'step'], ['value', 'timestamp']).execute();
      }
    });
  }

  /** Sets tags, replacing existing values. */
  async setTags(runId: string, tags: Record<string, string>): Promise<void> {
    const entries = Object.entries(tags).map(([key, value]) => [assertDataKey(key, 'tag'), tagValue(key, value)]);
    if (entries.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      await requireRun(trx, runId);
      for (const batch of chunk(entries)) {
        const insert = trx
          .insertInto('run_tags')
          .values(batch.map(([key, value]) => ({ run_id: runId, key, value })));
        await upsert(this.store.dialect, insert, ['run_id', 'key'], ['value']).execute();
      }
    });
  }

  /** Marks the run finished or failed and stamps its end time. */
  async endRun(runId: string, status: Exclude<RunStatus, 'RUNNING'>): Promise<RunInfo> {
    if (status !== 'FINISHED' && status !== 'FAILED') {
      throw new InvalidInputError(`invalid run status ${JSON.stringify(status)}: use FINISHED or FAILED`);
    }
    return this.db.transaction().execute(async (trx) => {
      const row = await requireRun(trx, runId);
      const endTime = nowIso();
      await trx.updateTable('runs').set({ status, end_time: endTime }).where('id', '=', runId).execute();
      return toRunInfo({ ...row, status, end_time: endTime });
    });
  }

  /** Stores a file of the run and returns its artifact key (`runs/<runId>/artifacts/<path>`). */
  async logArtifact(runId: string, path: string, body: Buffer | string, contentType?: string): Promise<string> {
    const key = runArtifactKey(runId, path);
    await requireRun(this.db, runId);
    await this.artifacts.put(key, body, contentType);
    return key;
  }

  /** Throws ArtifactNotFoundError when the run has no such artifact. */
  async readArtifact(runId: string, path: string): Promise<Buffer> {
    return this.artifacts.get(runArtifactKey(runId, path));
  }

  /** Artifact paths of the run (relative to its artifact folder), optionally under a path prefix. */
  async listArtifacts(runId: string, prefix = ''): Promise<string[]> {
    assertArtifactPrefix(prefix);
    const root = `runs/${runId}/artifacts/`;
    assertArtifactPrefix(root);
    const keys = await this.artifacts.list(root + prefix);
    return keys.map((key) => key.slice(root.length));
  }

  /** The run with its data and child runs; throws NotFoundError for an unknown id. */
  async getRun(runId: string, options: { metricHistory?: boolean } = {}): Promise<RunDetail> {
    const row = await requireRun(this.db, runId);
    const [summary] = await this.withData([row], options.metricHistory ?? false);
    const children = await this.db
      .selectFrom('runs')
      .select('id')
      .where('parent_run_id', '=', runId)
      .orderBy('start_time')
      .orderBy('id')
      .execute();
    return { ...summary, childRunIds: children.map((child) => child.id) };
  }

  /** Runs newest first, with params, latest metrics and tags. */
  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const limit = options.limit ?? 100;
    const offset = options.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidInputError(`invalid limit ${limit}: use a whole number from 1 to 1000`);
    }
    if (!Number.isInteger(offset) || offset < 0) throw new InvalidInputError(`invalid offset ${offset}: use a whole number from 0`);
    let query = runsQuery(this.db);
    if (options.experiment !== undefined) query = query.where('experiments.name', '=', options.experiment);
    if (options.parentRunId === null) query = query.where('runs.parent_run_id', 'is', null);
    else if (options.parentRunId !== undefined) query = query.where('runs.parent_run_id', '=', options.parentRunId);
    if (options.dagRunId !== undefined) query = query.where('runs.dag_run_id', '=', options.dagRunId);
    if (options.status !== undefined) query = query.where('runs.status', '=', options.status);
    const rows = await query.orderBy('runs.start_time', 'desc').orderBy('runs.id', 'desc').limit(limit).offset(offset).execute();
    return this.withData(rows, false);
  }

  /** Adds params, metrics and tags to run rows with one query per table. */
  private async withData(rows: RunRow[], history: boolean): Promise<Array<RunSummary & Pick<RunDetail, 'metricHistory'>>> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const [params, tags, metrics] = await Promise.all([
      this.db.selectFrom('run_params').select(['run_id', 'key', 'value']).where('run_id', 'in', ids).execute(),
      this.db.selectFrom('run_tags').select(['run_id', 'key', 'value']).where('run_id', 'in', ids).execute(),
      this.db
        .selectFrom('run_metrics')
        .select(['run_id', 'key', 'value', 'step', 'timestamp'])
        .where('run_id', 'in', ids)
        .orderBy('step')
        .execute(),
    ]);
    const data = new Map(
      ids.map((id) => [
        id,
        {
          params: {} as Record<string, string>,
          tags: {} as Record<string, string>,
          metrics: {} as Record<string, number>,
          history: {} as Record<string, MetricPoint[]>,
        },
      ]),
    );
    for (const p of params) data.get(p.run_id)!.params[p.key] = p.value;
    for (const t of tags) data.get(t.run_id)!.tags[t.key] = t.value;
    for (const m of metrics) {
      const entry = data.get(m.run_id)!;
      // Rows come by ascending step, so the last one seen is the latest.
      entry.metrics[m.key] = Number(m.value);
      (entry.history[m.key] ??= []).push({ step: Number(m.step), value: Number(m.value), timestamp: m.timestamp });
    }
    return rows.map((row) => {
      const { params: p, tags: t, metrics: m, history: h } = data.get(row.id)!;
      const summary: RunSummary & Pick<RunDetail, 'metricHistory'> = { ...toRunInfo(row), params: p, metrics: m, tags: t };
      if (history) summary.metricHistory = h;
      return summary;
    });
  }
}

function runsQuery(db: Kysely<Database>) {
  return db
    .selectFrom('runs')
    .innerJoin('experiments', 'experiments.id', 'runs.experiment_id')
    .selectAll('runs')
    .select('experiments.name as experiment_name');
}

async function requireRun(db: Kysely<Database>, runId: string, what = 'run'): Promise<RunRow> {
  const row = typeof runId === 'string' ? await runsQuery(db).where('runs.id', '=', runId).executeTakeFirst() : undefined;
  if (!row) throw new NotFoundError(what, String(runId));
  return row;
}

function toRunInfo(row: RunRow): RunInfo {
  return {
    id: row.id,
    experimentId: row.experiment_id,
    experimentName: row.experiment_name,
    name: row.name,
    status: row.status,
    parentRunId: row.parent_run_id,
    datasetSnapshotId: row.dataset_snapshot_id,
    dagRunId: row.dag_run_id,
    startTime: row.start_time,
    endTime: row.end_time,
  };
}

function paramValue(key: string, value: ParamValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new InvalidInputError(`param "${key}" is a ${typeof value}: use a string, number or boolean`);
}

function tagValue(key: string, value: string): string {
  if (typeof value !== 'string') throw new InvalidInputError(`tag "${key}" is a ${typeof value}: tag values are strings`);
  return value;
}
