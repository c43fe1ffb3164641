/**
 * The pipeline's public face: trigger, retry, watch and inspect DAG runs. Task attempts run through the executor
 * (in this process or on queue workers); all state lives in the database, so any process can read any run.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Store } from '../db/connect.js';
import type { TaskInstancesTable } from '../db/schema.js';
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
}

export interface TriggerOptions {
  /** A run id of your own (letters, digits, `_.-`, at most 64); triggering it again throws DagRunExistsError. */
  runId?: string;
}

export interface WaitOptions {
  /** Give up (and throw) after this long. Default: wait as long as it takes. */
  timeoutMs?: number;
}

export interface RecoverOptions {
  /** A run with no task start or end for this long, and no task inside its timeout, is abandoned. Default 1 hour. */
  olderThanMs?: number;
  /** Extra time past a running task's timeout before it counts as dead regardless of `olderThanMs`. Default 1 min. */
  timeoutGraceMs?: number;
}

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
   * budget (try numbers continue); succeeded tasks keep their outputs and do not run again.
   */
  async retry(dagRunId: string): Promise<void> {
    const run = await this.engine.repository.run(dagRunId);
    if (!run) throw new Error(`Unknown DAG run "${dagRunId}"`);
    if (run.status !== 'failed') {
      throw new Error(`DAG run "${dagRunId}" is ${run.status}: only failed runs can be retried`);
    }
    const reset = await this.engine.repository.resetForRetry(dagRunId, this.engine.dag(run.dag_id));
    if (!reset) throw new Error(`DAG run "${dagRunId}" changed while it was being retried; look again`);
    this.logger.info({ dagRunId, tasks: reset }, 'DAG run retried');
    await this.engine.advance(dagRunId);
  }

  /** Resolves with the run once it has succeeded or failed. */
  async waitFor(dagRunId: string, options: WaitOptions = {}): Promise<DagRunDetail> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      const detail = await this.getRun(dagRunId);
      if (!detail) throw new Error(`Unknown DAG run "${dagRunId}"`);
      if (FINISHED_RUN_STATUSES.includes(detail.status)) return detail;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`DAG run "${dagRunId}" is still ${detail.status} after ${options.timeoutMs} ms`);
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
   * Fails runs that no process is driving any more (a crash leaves them queued or running): their unfinished tasks
   * become failed, so `retry` can resume them. A run counts as abandoned when a running task is past its timeout
   * (plus a grace), or when nothing started or ended in it for `olderThanMs` and no running task is inside its
   * timeout. Returns the ids of the runs it failed.
   */
  async recoverStaleRuns(options: RecoverOptions = {}): Promise<string[]> {
    const olderThanMs = options.olderThanMs ?? 60 * 60_000;
    const graceMs = options.timeoutGraceMs ?? 60_000;
    const nowMs = Date.now();
    const recovered: string[] = [];
    for (const run of await this.engine.repository.activeRuns()) {
      const dag = this.engine.dags.get(run.dag_id);
      const rows = await this.engine.repository.tasks(run.id);
      const stamps = [run.created_at, run.started_at, ...rows.flatMap((r) => [r.started_at, r.ended_at])];
      const lastActivity = Math.max(...stamps.filter((s): s is string => s !== null).map((s) => Date.parse(s)));
      let overdue = false;
      let insideTimeout = false;
      for (const row of rows.filter((r) => r.state === 'running' && r.started_at !== null)) {
        const timeoutMs = dag?.taskById.get(row.task_id)?.timeoutMs;
        if (timeoutMs === undefined) continue;
        const runningFor = nowMs - Date.parse(row.started_at!);
        if (runningFor > timeoutMs + graceMs) overdue = true;
        else if (runningFor <= timeoutMs) insideTimeout = true;
      }
      const idle = nowMs - lastActivity >= olderThanMs && !insideTimeout;
      if (!overdue && !idle) continue;
      const reason = overdue
        ? 'Abandoned: a task ran past its timeout without finishing (the process running it probably died)'
        : `Abandoned: no task started or ended since ${new Date(lastActivity).toISOString()} ` +
          '(the process driving the run probably died)';
      if (await this.engine.repository.abandonRun(run.id, reason, new Date(nowMs).toISOString())) {
        this.logger.warn({ dagRunId: run.id, dagId: run.dag_id }, reason);
        recovered.push(run.id);
      }
    }
    return recovered;
  }

  /** Stops the executor (waiting for attempts running in this process). The store stays open: it is the caller's. */
  async close(): Promise<void> {
    await this.executor.close();
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

function confToJson(conf: Record<string, unknown>): string {
  if (conf === null || typeof conf !== 'object' || Array.isArray(conf)) {
    throw new Error('The run configuration (conf) must be an object');
  }
  try {
    return JSON.stringify(conf);
  } catch (error) {
    throw new Error(`The run configuration (conf) is not JSON-serialisable: ${errorMessage(error)}`);
  }
}
