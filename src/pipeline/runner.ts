/**
 * The pipeline's public face: trigger, retry, watch and inspect DAG runs. Task attempts run through the executor
 * (in this process or on queue workers); all state lives in the database, so any process can read any run.
 */
import { ConflictError, InvalidInputError, NotFoundError, TimeoutError } from '../errors.js';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../db/connect.js';
import type { DagRunsTable, TaskInstancesTable } from '../db/schema.js';
import { assertId, type Dag } from './dag.js';
import { PipelineEngine } from './engine.js';
import { DagRunExistsError, errorMessage } from './errors.js';
import type { Executor } from './executors/executor.js';
import { toRunSummary, type TaskInstanceRow } from './repository.js';
import {
  FINISHED_RUN_STATUSES,
  type DagRunDetail,
  type DagRunSummary,
  type ListRunsOptions,
  type TaskInstanceDetail,
  type TaskLog,
  type TriggerKind,
} from './types.js';

export interface PipelineRunnerOptions {
  store: Store;
  dags: readonly Dag[];
  executor: Executor;
  logger: Logger;
  /** How often `waitFor` checks the database (runs may finish in other processes). Default 500 ms. */
  pollMs?: number;
  /** Bytes of log kept per attempt. Default 60 000. */
  logBudgetBytes?: number;
  /** How often a running attempt's log is saved for other processes to follow. Default 5 s. */
  logFlushMs?: number;
  /** How often a running attempt writes its heartbeat. Default 10 s; keep it well under `zombieAfterMs`. */
  heartbeatMs?: number;
}

export interface TriggerOptions {
  /** A run id of your own (letters, digits, `_.-`, at most 64); triggering it again throws DagRunExistsError. */
  runId?: string;
}

export interface WaitOptions {
  /** Give up (and throw) after this long. Default: wait as long as it takes. */
  timeoutMs?: number;
}

/** When recovery counts a run as abandoned; see `recoverStaleRuns`. */
export interface RecoverOptions {
  /**
   * A running task whose heartbeat is older than this lost its process. Default 5 min: CPU-bound training may block
   * the event loop (and so the heartbeat) for a while.
   */
  zombieAfterMs?: number;
  /** A run with no task running and no task start or end for this long is abandoned. Default 1 hour. */
  olderThanMs?: number;
  /** Extra time past a running task's timeout before it counts as dead whatever its heartbeat. Default 1 min. */
  timeoutGraceMs?: number;
}

/** What recovery makes of an active run: abandoned (and why, as stored on the failed run), or alive (and why). */
type Liveness = { abandoned: true; reason: string } | { abandoned: false; evidence: string };

export class PipelineRunner {
  private readonly engine: PipelineEngine;
  private readonly executor: Executor;
  private readonly logger: Logger;
  private readonly pollMs: number;

  constructor(options: PipelineRunnerOptions) {
    this.engine = new PipelineEngine(options);
    this.executor = options.executor;
    this.logger = options.logger;
    this.pollMs = options.pollMs ?? 500;
    this.executor.bind((attempt) =>
      this.engine.runAttempt(attempt).catch((error: unknown) => {
        this.logger.error({ ...attempt, err: error }, 'Task attempt or its follow-up failed (database or queue down?)');
      }),
    );
  }

  get dags(): readonly Dag[] {
    return [...this.engine.dags.values()];
  }

  /** Creates a run (queued, every task pending, in one transaction) and submits its first tasks. */
  async trigger(
    dagId: string,
    conf: Record<string, unknown> = {},
    trigger: TriggerKind = 'manual',
    options: TriggerOptions = {},
  ): Promise<string> {
    const dag = this.engine.dag(dagId);
    const confJson = confToJson(conf);
    dag.checkConf(conf);
    if (options.runId !== undefined) assertId('DAG run id', options.runId, 64);
    const id = options.runId ?? randomUUID();
    const createdAt = new Date().toISOString();
    const tasks: TaskInstancesTable[] = dag.tasks.map((task) => ({
      dag_run_id: id,
      task_id: task.id,
      state: 'pending',
      try_number: 0,
      max_tries: task.retries + 1,
      output_json: null,
      error: null,
      started_at: null,
      ended_at: null,
      heartbeat_at: null,
    }));
    try {
      await this.engine.repository.createRun(
        {
          id,
          dag_id: dag.id,
          status: 'queued',
          trigger,
          conf_json: confJson,
          error: null,
          created_at: createdAt,
          started_at: null,
          ended_at: null,
        },
        tasks,
      );
    } catch (error) {
      // The primary key is the guard; which error a driver raises for it differs, the row's presence does not.
      if (options.runId !== undefined && (await this.engine.repository.runExists(id))) throw new DagRunExistsError(id);
      throw error;
    }
    this.logger.info({ dagRunId: id, dagId, trigger }, 'DAG run triggered');
    await this.engine.advance(id);
    return id;
  }

  /**
   * Resumes a failed run from its failed tasks: they and the tasks below them go back to pending with a fresh retry
   * budget (try numbers continue); succeeded tasks keep their outputs and do not run again. A run still marked
   * queued or running is recovered first when abandoned (see `recoverStaleRuns`, which `options` tune) and refused
   * while alive.
   */
  async retry(dagRunId: string, options: RecoverOptions = {}): Promise<void> {
    const run = await this.engine.repository.run(dagRunId);
    if (!run) throw new NotFoundError('DAG run', dagRunId, { message: `Unknown DAG run "${dagRunId}"` });
    if (run.status === 'success') {
      throw new ConflictError(`DAG run "${dagRunId}" is success: only failed runs can be retried`);
    }
    if (run.status !== 'failed') {
      const liveness = await this.assess(run, options, Date.now());
      if (!liveness.abandoned) {
        throw new ConflictError(
          `DAG run "${dagRunId}" is ${run.status} and may be alive: ${liveness.evidence}. ` +
            'Wait for it to finish or, if the process running it is gone, retry after that',
        );
      }
      await this.abandon(run, liveness.reason);
    }
    const reset = await this.engine.repository.resetForRetry(dagRunId, this.engine.dag(run.dag_id));
    if (!reset) throw new ConflictError(`DAG run "${dagRunId}" changed while it was being retried; look again`);
    this.logger.info({ dagRunId, tasks: reset }, 'DAG run retried');
    await this.engine.advance(dagRunId);
  }

  /** Resolves with the run once it has succeeded or failed. */
  async waitFor(dagRunId: string, options: WaitOptions = {}): Promise<DagRunDetail> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const detail = await this.getRun(dagRunId);
      if (!detail) throw new NotFoundError('DAG run', dagRunId, { message: `Unknown DAG run "${dagRunId}"` });
      if (FINISHED_RUN_STATUSES.includes(detail.status)) return detail;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`DAG run "${dagRunId}" is still ${detail.status} after ${options.timeoutMs} ms`);
      await this.untilFinishedOr(dagRunId, Math.min(this.pollMs, left));
    }
  }

  /** The run, its task instances (in DAG order) and their attempts; undefined when there is no such run. */
  async getRun(dagRunId: string): Promise<DagRunDetail | undefined> {
    const run = await this.engine.repository.run(dagRunId);
    if (!run) return undefined;
    const [rows, attempts] = await Promise.all([
      this.engine.repository.tasks(dagRunId),
      this.engine.repository.attempts(dagRunId),
    ]);
    const order = new Map(this.engine.dags.get(run.dag_id)?.tasks.map((t, i) => [t.id, i]) ?? []);
    const rank = (row: TaskInstanceRow) => order.get(row.task_id) ?? order.size;
    rows.sort((a, b) => rank(a) - rank(b) || a.task_id.localeCompare(b.task_id));
    return {
      ...toRunSummary(run),
      tasks: rows.map((row): TaskInstanceDetail => ({
        taskId: row.task_id,
        state: row.state,
        tryNumber: row.try_number,
        maxTries: row.max_tries,
        output: row.output_json === null ? null : JSON.parse(row.output_json),
        error: row.error,
        startedAt: row.started_at,
        endedAt: row.ended_at,
        attempts: attempts.get(row.task_id) ?? [],
      })),
    };
  }

  /** Runs, newest first. */
  async listRuns(options: ListRunsOptions = {}): Promise<DagRunSummary[]> {
    return this.engine.repository.listRuns(options);
  }

  /** The captured log of one attempt (the latest when `tryNumber` is omitted); undefined if it never ran. */
  async taskLog(dagRunId: string, taskId: string, tryNumber?: number): Promise<TaskLog | undefined> {
    return this.engine.repository.attemptLog(dagRunId, taskId, tryNumber);
  }

  /**
   * Fails runs that no process is driving any more (a crash, kill or reboot leaves them queued or running): their
   * unfinished tasks and running attempts become failed, so `retry` can resume them. An active run is abandoned when
   * 1. a running task is past its timeout plus `timeoutGraceMs` (its process would have failed it by then), or
   * 2. a running task's heartbeat is older than `zombieAfterMs` (the process running it stopped beating), or
   * 3. no task of it is running with a heartbeat and nothing in it started or ended for `olderThanMs` (its queued
   *    or waiting tasks were lost with the process or queue that held them).
   * A run with a running task whose heartbeat is fresh is alive, however long ago anything else happened in it.
   * The tracking runs of a failed run end FAILED with it, and tracking runs still RUNNING under a finished DAG run
   * (a process died before this recovery existed) end FAILED too.
   * Returns the ids of the runs it failed. `mldeploy up` and `mldeploy scheduler` call it every minute.
   */
  async recoverStaleRuns(options: RecoverOptions = {}): Promise<string[]> {
    const recovered: string[] = [];
    for (const run of await this.engine.repository.activeRuns()) {
      const liveness = await this.assess(run, options, Date.now());
      if (liveness.abandoned && (await this.abandon(run, liveness.reason))) recovered.push(run.id);
    }
    const orphans = await this.engine.repository.endOrphanedTrackingRuns(new Date().toISOString());
    if (orphans > 0) this.logger.warn({ trackingRuns: orphans }, 'Ended tracking runs left RUNNING by finished DAG runs');
    return recovered;
  }

  /**
   * Fails a run that this process drives because the process is stopping (SIGINT, SIGTERM): its unfinished tasks
   * and running attempts fail with "Interrupted by <signal>", so `retry` can resume it at once rather than after
   * recovery notices. With a queue executor the attempts run on workers, which go on: nothing is failed. Returns
   * whether the run was failed (false also when it had finished).
   */
  async interrupt(dagRunId: string, signal: NodeJS.Signals): Promise<boolean> {
    if (this.executor.kind !== 'in-process') return false;
    const run = await this.engine.repository.run(dagRunId);
    if (!run) return false;
    return this.abandon(run, `Interrupted by ${signal}: the process running it stopped before it finished`);
  }

  /** Stops the executor (waiting for attempts running in this process). The store stays open: it is the caller's. */
  async close(): Promise<void> {
    await this.executor.close();
  }

  private async assess(run: DagRunsTable, options: RecoverOptions, nowMs: number): Promise<Liveness> {
    const zombieAfterMs = options.zombieAfterMs ?? 5 * 60_000;
    const olderThanMs = options.olderThanMs ?? 60 * 60_000;
    const graceMs = options.timeoutGraceMs ?? 60_000;
    const dag = this.engine.dags.get(run.dag_id);
    const rows = await this.engine.repository.tasks(run.id);
    const running = rows.filter((r) => r.state === 'running');
    for (const row of running) {
      const timeoutMs = dag?.taskById.get(row.task_id)?.timeoutMs;
      if (timeoutMs === undefined || row.started_at === null) continue;
      if (nowMs - Date.parse(row.started_at) > timeoutMs + graceMs) {
        return {
          abandoned: true,
          reason: `Abandoned: task "${row.task_id}" ran past its ${timeoutMs} ms timeout (process gone?)`,
        };
      }
    }

    // ISO-8601 UTC strings of one format sort by time.
    const stalest = running
      .filter((r) => r.heartbeat_at !== null)
      .sort((a, b) => a.heartbeat_at!.localeCompare(b.heartbeat_at!))[0];
    if (stalest) {
      const lastBeat = stalest.heartbeat_at!;
      const silentMs = nowMs - Date.parse(lastBeat);
      if (silentMs > zombieAfterMs) {
        return {
          abandoned: true,
          reason: `Abandoned: task "${stalest.task_id}" sent no heartbeat since ${lastBeat} (process gone?)`,
        };
      }
      return {
        abandoned: false,
        evidence:
          `task "${stalest.task_id}" sent a heartbeat ${seconds(silentMs)} s ago; ` +
          `it counts as abandoned after ${seconds(zombieAfterMs)} s without one`,
      };
    }

    const stamps = [run.created_at, run.started_at, ...rows.flatMap((r) => [r.started_at, r.ended_at])];
    const lastActivity = Math.max(...stamps.filter((s): s is string => s !== null).map((s) => Date.parse(s)));
    if (nowMs - lastActivity >= olderThanMs) {
      return {
        abandoned: true,
        reason:
          `Abandoned: no task started or ended since ${new Date(lastActivity).toISOString()} ` +
          '(the process driving the run probably died)',
      };
    }
    return {
      abandoned: false,
      evidence:
        `a task started or ended ${seconds(nowMs - lastActivity)} s ago and no running task sends heartbeats; ` +
        `it counts as abandoned after ${seconds(olderThanMs)} s without activity`,
    };
  }

  private async abandon(run: DagRunsTable, reason: string): Promise<boolean> {
    if (!(await this.engine.repository.abandonRun(run.id, reason, new Date().toISOString()))) return false;
    this.logger.warn({ dagRunId: run.id, dagId: run.dag_id }, reason);
    return true;
  }

  private untilFinishedOr(dagRunId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const onFinished = (id: string) => {
        if (id === dagRunId) done();
      };
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.engine.events.off('finished', onFinished);
        resolve();
      };
      this.engine.events.on('finished', onFinished);
    });
  }
}

function seconds(ms: number): number {
  return Math.round(ms / 1000);
}

function confToJson(conf: Record<string, unknown>): string {
  if (conf === null || typeof conf !== 'object' || Array.isArray(conf)) {
    throw new InvalidInputError('The run configuration (conf) must be an object');
  }
  try {
    return JSON.stringify(conf);
  } catch (error) {
    throw new InvalidInputError(`The run configuration (conf) is not JSON-serialisable: ${errorMessage(error)}`);
  }
}
