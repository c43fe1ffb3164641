/**
 * Every read and write of dag_runs, task_instances and task_attempts. State changes are conditional updates
 * (`... WHERE state = <expected>`) that report whether this caller made them: that is what lets several processes
 * advance the same run without running a task twice, on SQLite, PostgreSQL and MySQL alike.
 */
import { InvalidInputError } from '../errors.js';
import type { Kysely } from 'kysely';
import type { Database, DagRunsTable, TaskAttemptsTable, TaskInstancesTable } from '../db/schema.js';
import type { Dag } from './dag.js';
import type { TaskAttemptRef } from './executors/executor.js';
import type {
  DagRunStatus,
  DagRunSummary,
  ListRunsOptions,
  TaskAttemptSummary,
  TaskLog,
  TaskState,
} from './types.js';

export type TaskInstanceRow = TaskInstancesTable;
export type AttemptRow = Omit<TaskAttemptsTable, 'log'>;

/** How an attempt ended, as stored. */
export type AttemptResult =
  | { state: 'success'; outputJson: string | null }
  | { state: 'failed' | 'up_for_retry'; message: string; detail: string };

const ACTIVE_RUN: DagRunStatus[] = ['queued', 'running'];

export class RunRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The run and all its task instances, atomically: a run is never visible without its tasks. */
  async createRun(run: DagRunsTable, tasks: TaskInstancesTable[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('dag_runs').values(run).execute();
      await trx.insertInto('task_instances').values(tasks).execute();
    });
  }

  async run(dagRunId: string): Promise<DagRunsTable | undefined> {
    return this.db.selectFrom('dag_runs').selectAll().where('id', '=', dagRunId).executeTakeFirst();
  }

  async runExists(dagRunId: string): Promise<boolean> {
    const row = await this.db.selectFrom('dag_runs').select('id').where('id', '=', dagRunId).executeTakeFirst();
    return row !== undefined;
  }

  async listRuns(options: ListRunsOptions): Promise<DagRunSummary[]> {
    const limit = options.limit ?? 20;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
      throw new InvalidInputError(`limit must be an integer from 1 to 1000, got ${limit}`);
    }
    let query = this.db.selectFrom('dag_runs').selectAll();
    if (options.dagId !== undefined) query = query.where('dag_id', '=', options.dagId);
    if (options.status !== undefined) query = query.where('status', '=', options.status);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRunSummary);
  }

  async activeRuns(): Promise<DagRunsTable[]> {
    return this.db.selectFrom('dag_runs').selectAll().where('status', 'in', ACTIVE_RUN).execute();
  }

  async tasks(dagRunId: string): Promise<TaskInstanceRow[]> {
    const rows = await this.db.selectFrom('task_instances').selectAll().where('dag_run_id', '=', dagRunId).execute();
    return rows.map(normaliseTask);
  }

  async task(dagRunId: string, taskId: string): Promise<TaskInstanceRow | undefined> {
    const row = await this.db
      .selectFrom('task_instances')
      .selectAll()
      .where('dag_run_id', '=', dagRunId)
      .where('task_id', '=', taskId)
      .executeTakeFirst();
    return row && normaliseTask(row);
  }

  /** Attempts without their logs (those can be large), oldest first. */
  async attempts(dagRunId: string): Promise<Map<string, TaskAttemptSummary[]>> {
    const rows = await this.db
      .selectFrom('task_attempts')
      .select(['task_id', 'try_number', 'state', 'error', 'started_at', 'ended_at'])
      .where('dag_run_id', '=', dagRunId)
      .orderBy('try_number')
      .execute();
    const byTask = new Map<string, TaskAttemptSummary[]>();
    for (const row of rows) {
      const list = byTask.get(row.task_id) ?? [];
      list.push({
        tryNumber: Number(row.try_number),
        state: row.state,
        error: row.error,
        startedAt: row.started_at,
        endedAt: row.ended_at,
      });
      byTask.set(row.task_id, list);
    }
    return byTask;
  }

  /** The log of one attempt; the latest attempt when `tryNumber` is omitted. */
  async attemptLog(dagRunId: string, taskId: string, tryNumber?: number): Promise<TaskLog | undefined> {
    let query = this.db
      .selectFrom('task_attempts')
      .selectAll()
      .where('dag_run_id', '=', dagRunId)
      .where('task_id', '=', taskId);
    query =
      tryNumber === undefined
        ? query.orderBy('try_number', 'desc').limit(1)
        : query.where('try_number', '=', tryNumber);
    const row = await query.executeTakeFirst();
    if (!row) return undefined;
    return {
      dagRunId,
      taskId,
      tryNumber: Number(row.try_number),
      state: row.state,
      log: row.log,
      error: row.error,
    };
  }

  /** Outputs (JSON text) of the named tasks that succeeded in this run. */
  async outputs(dagRunId: string, taskIds: string[]): Promise<Map<string, string | null>> {
    if (taskIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('task_instances')
      .select(['task_id', 'output_json'])
      .where('dag_run_id', '=', dagRunId)
      .where('task_id', 'in', taskIds)
      .where('state', '=', 'success')
      .execute();
    return new Map(rows.map((r) => [r.task_id, r.output_json]));
  }

  /** queued -> running. */
  async startRun(dagRunId: string, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('dag_runs')
      .set({ status: 'running', started_at: now })
      .where('id', '=', dagRunId)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /**
   * running -> success | failed. `startedAt` guards against a stale caller finishing a run that was retried since
   * it looked (a retry gives the run a new start time).
   */
  async finishRun(
    dagRunId: string,
    status: 'success' | 'failed',
    error: string | null,
    now: string,
    startedAt: string | null,
  ): Promise<boolean> {
    let query = this.db
      .updateTable('dag_runs')
      .set({ status, error, ended_at: now })
      .where('id', '=', dagRunId)
      .where('status', '=', 'running');
    query = startedAt === null ? query.where('started_at', 'is', null) : query.where('started_at', '=', startedAt);
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  /** pending -> queued: the one caller that wins hands the task to the executor. */
  async claimTask(dagRunId: string, taskId: string): Promise<boolean> {
    return this.moveTask(dagRunId, taskId, 'pending', { state: 'queued' });
  }

  /** queued -> pending, when the executor refused the task. */
  async unclaimTask(dagRunId: string, taskId: string): Promise<boolean> {
    return this.moveTask(dagRunId, taskId, 'queued', { state: 'pending' });
  }

  async markUpstreamFailed(dagRunId: string, taskId: string, now: string): Promise<boolean> {
    return this.moveTask(dagRunId, taskId, 'pending', { state: 'upstream_failed', ended_at: now });
  }

  /** pending -> failed without an attempt (e.g. the task is no longer defined). */
  async failPendingTask(dagRunId: string, taskId: string, error: string, now: string): Promise<boolean> {
    return this.moveTask(dagRunId, taskId, 'pending', { state: 'failed', error, ended_at: now });
  }

  /**
   * queued | up_for_retry (at try n-1) -> running (at try n), and the attempt row. Returns the task's max_tries, or
   * undefined when another process claimed this attempt or it is stale.
   */
  async startAttempt(ref: TaskAttemptRef, now: string): Promise<{ maxTries: number } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const result = await trx
        .updateTable('task_instances')
        .set({
          state: 'running',
          try_number: ref.tryNumber,
          started_at: now,
          ended_at: null,
          error: null,
          heartbeat_at: now,
        })
        .where('dag_run_id', '=', ref.dagRunId)
        .where('task_id', '=', ref.taskId)
        .where('try_number', '=', ref.tryNumber - 1)
        .where('state', 'in', ['queued', 'up_for_retry'])
        .executeTakeFirst();
      if (result.numUpdatedRows === 0n) return undefined;
      await trx
        .insertInto('task_attempts')
        .values({
          dag_run_id: ref.dagRunId,
          task_id: ref.taskId,
          try_number: ref.tryNumber,
          state: 'running',
          log: '',
          error: null,
          started_at: now,
          ended_at: null,
        })
        .execute();
      const row = await trx
        .selectFrom('task_instances')
        .select('max_tries')
        .where('dag_run_id', '=', ref.dagRunId)
        .where('task_id', '=', ref.taskId)
        .executeTakeFirstOrThrow();
      return { maxTries: Number(row.max_tries) };
    });
  }

  /** Tells recovery that the process running attempt n is alive; nothing once the attempt is no longer running. */
  async heartbeat(ref: TaskAttemptRef, now: string): Promise<void> {
    await this.db
      .updateTable('task_instances')
      .set({ heartbeat_at: now })
      .where('dag_run_id', '=', ref.dagRunId)
      .where('task_id', '=', ref.taskId)
      .where('try_number', '=', ref.tryNumber)
      .where('state', '=', 'running')
      .execute();
  }

  /** Saves the log of a running attempt so other processes can follow it. */
  async saveRunningLog(ref: TaskAttemptRef, log: string): Promise<void> {
    await this.attemptQuery(ref).set({ log }).where('state', '=', 'running').execute();
  }

  /**
   * Records how attempt n ended, if the task is still running at try n (a recovery may have failed it meanwhile;
   * then the late result is dropped and false returned). `log` undefined keeps the stored log.
   */
  async finishAttempt(
    ref: TaskAttemptRef,
    result: AttemptResult,
    log: string | undefined,
    now: string,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const failed = result.state !== 'success';
      const updated = await trx
        .updateTable('task_instances')
        .set({
          state: result.state,
          output_json: failed ? null : result.outputJson,
          error: failed ? result.message : null,
          ended_at: now,
        })
        .where('dag_run_id', '=', ref.dagRunId)
        .where('task_id', '=', ref.taskId)
        .where('try_number', '=', ref.tryNumber)
        .where('state', '=', 'running')
        .executeTakeFirst();
      if (updated.numUpdatedRows === 0n) return false;
      await trx
        .updateTable('task_attempts')
        .set({
          state: failed ? 'failed' : 'success',
          error: failed ? result.detail : null,
          ended_at: now,
          ...(log === undefined ? {} : { log }),
        })
        .where('dag_run_id', '=', ref.dagRunId)
        .where('task_id', '=', ref.taskId)
        .where('try_number', '=', ref.tryNumber)
        .execute();
      return true;
    });
  }

  /**
   * failed -> queued for a retry of the run: failed and upstream_failed tasks go back to pending with a fresh retry
   * budget on top of the tries already made; succeeded tasks keep their outputs. Returns the reset task ids, or
   * undefined when the run was not failed (any more).
   */
  async resetForRetry(dagRunId: string, dag: Dag): Promise<string[] | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const reopened = await trx
        .updateTable('dag_runs')
        .set({ status: 'queued', error: null, started_at: null, ended_at: null })
        .where('id', '=', dagRunId)
        .where('status', '=', 'failed')
        .executeTakeFirst();
      if (reopened.numUpdatedRows === 0n) return undefined;
      const rows = await trx
        .selectFrom('task_instances')
        .select(['task_id', 'try_number'])
        .where('dag_run_id', '=', dagRunId)
        .where('state', 'in', ['failed', 'upstream_failed'])
        .execute();
      for (const row of rows) {
        const retries = dag.taskById.get(row.task_id)?.retries ?? 0;
        await trx
          .updateTable('task_instances')
          .set({
            state: 'pending',
            max_tries: Number(row.try_number) + retries + 1,
            error: null,
            started_at: null,
            ended_at: null,
          })
          .where('dag_run_id', '=', dagRunId)
          .where('task_id', '=', row.task_id)
          .execute();
      }
      return rows.map((r) => r.task_id);
    });
  }

  /**
   * Fails a run nobody is driving any more: its queued, running and waiting-to-retry tasks (and running attempts)
   * become failed with `reason`, so `retry` can resume it. Only if the run is still active. The tracking runs its
   * tasks opened (training runs, search trials) end FAILED at `now` too, as MLflow ends the runs of a dead process:
   * nothing is left RUNNING for ever.
   */
  async abandonRun(dagRunId: string, reason: string, now: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const failed = await trx
        .updateTable('dag_runs')
        .set({ status: 'failed', error: reason, ended_at: now })
        .where('id', '=', dagRunId)
        .where('status', 'in', ACTIVE_RUN)
        .executeTakeFirst();
      if (failed.numUpdatedRows === 0n) return false;
      await trx
        .updateTable('task_instances')
        .set({ state: 'failed', error: reason, ended_at: now })
        .where('dag_run_id', '=', dagRunId)
        .where('state', 'in', ['queued', 'running', 'up_for_retry'])
        .execute();
      await trx
        .updateTable('task_attempts')
        .set({ state: 'failed', error: reason, ended_at: now })
        .where('dag_run_id', '=', dagRunId)
        .where('state', '=', 'running')
        .execute();
      await trx
        .updateTable('runs')
        .set({ status: 'FAILED', end_time: now })
        .where('dag_run_id', '=', dagRunId)
        .where('status', '=', 'RUNNING')
        .execute();
      return true;
    });
  }

  /**
   * Ends FAILED the tracking runs still RUNNING although their DAG run has finished (left by a process that died
   * before recovery ended them with the DAG run). Returns how many it ended.
   */
  async endOrphanedTrackingRuns(now: string): Promise<number> {
    const result = await this.db
      .updateTable('runs')
      .set({ status: 'FAILED', end_time: now })
      .where('status', '=', 'RUNNING')
      .where('dag_run_id', 'in', (qb) => qb.selectFrom('dag_runs').select('id').where('status', 'in', ['success', 'failed']))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  private async moveTask(
    dagRunId: string,
    taskId: string,
    from: TaskState,
    set: Partial<TaskInstancesTable> & { state: TaskState },
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('task_instances')
      .set(set)
      .where('dag_run_id', '=', dagRunId)
      .where('task_id', '=', taskId)
      .where('state', '=', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  private attemptQuery(ref: TaskAttemptRef) {
    return this.db
      .updateTable('task_attempts')
      .where('dag_run_id', '=', ref.dagRunId)
      .where('task_id', '=', ref.taskId)
      .where('try_number', '=', ref.tryNumber);
  }
}

export function toRunSummary(row: DagRunsTable): DagRunSummary {
  return {
    id: row.id,
    dagId: row.dag_id,
    status: row.status,
    trigger: row.trigger,
    conf: JSON.parse(row.conf_json) as Record<string, unknown>,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
}

/** bigint columns arrive as numbers or strings depending on the driver. */
function normaliseTask(row: TaskInstancesTable): TaskInstanceRow {
  return { ...row, try_number: Number(row.try_number), max_tries: Number(row.max_tries) };
}
