/**
 * The scheduling core shared by the runner and the queue workers: `advance` decides what is ready and hands it to the
 * executor; `runAttempt` runs one attempt and records how it went, then advances the run. Whichever process finishes
 * a task advances the run, and every state change is a conditional update, so any number of processes can cooperate
 * on one run: a task attempt starts at most once, a run finishes once.
 */
import { NotFoundError } from '../errors.js';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Store } from '../db/connect.js';
import type { DagRunsTable } from '../db/schema.js';
import { retryDelayMs, type Dag, type Task } from './dag.js';
import { AttemptLog, DEFAULT_LOG_BUDGET_BYTES } from './attempt-log.js';
import { runTaskBody } from './attempt.js';
import { errorDetail, errorMessage, isPermanent } from './errors.js';
import { RunRepository, type AttemptResult } from './repository.js';
import type { Executor, TaskAttemptRef } from './executors/executor.js';
import { FINISHED_RUN_STATUSES, FINISHED_TASK_STATES, type TaskState } from './types.js';

export interface EngineOptions {
  store: Store;
  dags: readonly Dag[];
  executor: Executor;
  logger: Logger;
  /** Bytes of log kept per attempt. Default 60 000 (fits MySQL TEXT). */
  logBudgetBytes?: number;
  /** How often a running attempt's log is saved for other processes to follow. Default 5 s. */
  logFlushMs?: number;
  /**
   * How often a running attempt writes its heartbeat (task_instances.heartbeat_at), which tells recovery its process
   * is alive. Default 10 s; keep it well under the recovery's `zombieAfterMs`.
   */
  heartbeatMs?: number;
}

export interface RunAttemptOptions {
  /**
   * The queue delivered this attempt before (its worker died or lost its lock): if the attempt is still marked
   * running, it is failed as lost and retried like any failure.
   */
  redelivered?: boolean;
}

export class PipelineEngine {
  readonly repository: RunRepository;
  readonly dags: ReadonlyMap<string, Dag>;
  /** Emits `finished` with the run id when this process finishes a run. */
  readonly events = new EventEmitter();
  private readonly executor: Executor;
  private readonly logger: Logger;
  private readonly logBudgetBytes: number;
  private readonly logFlushMs: number;
  private readonly heartbeatMs: number;

  constructor(options: EngineOptions) {
    const dags = new Map<string, Dag>();
    for (const dag of options.dags) {
      if (dags.has(dag.id)) throw new Error(`Two DAGs have the id "${dag.id}"`);
      dags.set(dag.id, dag);
    }
    this.dags = dags;
    this.repository = new RunRepository(options.store.db);
    this.executor = options.executor;
    this.logger = options.logger;
    this.logBudgetBytes = options.logBudgetBytes ?? DEFAULT_LOG_BUDGET_BYTES;
    this.logFlushMs = positiveMs('logFlushMs', options.logFlushMs ?? 5000);
    this.heartbeatMs = positiveMs('heartbeatMs', options.heartbeatMs ?? 10_000);
    this.events.setMaxListeners(0);
  }

  dag(dagId: string): Dag {
    const dag = this.dags.get(dagId);
    if (!dag) throw new NotFoundError('DAG', dagId, { message: `Unknown DAG "${dagId}" (known: ${[...this.dags.keys()].join(', ') || 'none'})` });
    return dag;
  }

  /**
   * Moves a run forward: starts it, marks tasks below a failure upstream_failed, submits tasks whose upstream all
   * succeeded, and finishes the run when every task is done. Safe to call any number of times, from any process.
   */
  async advance(dagRunId: string): Promise<void> {
    let run = await this.repository.run(dagRunId);
    if (!run || FINISHED_RUN_STATUSES.includes(run.status)) return;
    const dag = this.dags.get(run.dag_id);
    if (!dag) {
      this.logger.error({ dagRunId, dagId: run.dag_id }, 'Cannot advance a run of a DAG this process does not know');
      return;
    }
    if (run.status === 'queued') {
      await this.repository.startRun(dagRunId, now());
      run = (await this.repository.run(dagRunId))!;
      if (run.status !== 'running') return;
    }

    const rows = await this.repository.tasks(dagRunId);
    const states = new Map<string, TaskState>(rows.map((r) => [r.task_id, r.state]));
    for (const row of rows) {
      if (row.state === 'pending' && !dag.taskById.has(row.task_id)) {
        const error = `Task "${row.task_id}" is no longer defined in DAG "${dag.id}"`;
        if (await this.repository.failPendingTask(dagRunId, row.task_id, error, now())) {
          states.set(row.task_id, 'failed');
        }
      }
    }

    const ready: Task[] = [];
    // Topological order lets an upstream_failed mark cascade down in one pass.
    for (const task of dag.tasks) {
      if (states.get(task.id) !== 'pending') continue;
      const upstream = task.upstream.map((id) => states.get(id));
      if (upstream.some((s) => s === 'failed' || s === 'upstream_failed')) {
        if (await this.repository.markUpstreamFailed(dagRunId, task.id, now())) states.set(task.id, 'upstream_failed');
      } else if (upstream.every((s) => s === 'success')) {
        if (await this.repository.claimTask(dagRunId, task.id)) {
          states.set(task.id, 'queued');
          ready.push(task);
        }
      }
    }

    let submitError: Error | undefined;
    for (const task of ready) {
      const tryNumber = rows.find((r) => r.task_id === task.id)!.try_number + 1;
      try {
        await this.executor.submit({ dagRunId, dagId: dag.id, taskId: task.id, tryNumber });
      } catch (error) {
        // Back to pending, so the next advance (or a retry) submits it again.
        await this.repository.unclaimTask(dagRunId, task.id);
        submitError ??= new Error(`Could not submit task "${task.id}" of run ${dagRunId}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
    }
    if (submitError) throw submitError;

    if ([...states.values()].every((s) => FINISHED_TASK_STATES.includes(s))) await this.finish(run, states);
  }

  /**
   * Runs one attempt handed over by an executor. Rejects only when the database fails; task failures are recorded.
   */
  async runAttempt(ref: TaskAttemptRef, options: RunAttemptOptions = {}): Promise<void> {
    const startedAt = now();
    const claim = await this.repository.startAttempt(ref, startedAt);
    if (!claim) return this.reconcile(ref, options.redelivered ?? false);

    const log = new AttemptLog(
      this.logger.child({ dagId: ref.dagId, dagRunId: ref.dagRunId, taskId: ref.taskId, tryNumber: ref.tryNumber }),
      this.logBudgetBytes,
    );
    log.info(`Attempt ${ref.tryNumber} of ${claim.maxTries} started`);
    const progress = this.startProgressTimer(ref, log);
    let result: AttemptResult;
    let task: Task | undefined;
    try {
      task = this.dags.get(ref.dagId)?.taskById.get(ref.taskId);
      const run = await this.repository.run(ref.dagRunId);
      if (!task || !run) throw new Error(`Task "${ref.taskId}" of DAG "${ref.dagId}" is not defined in this process`);
      const outcome = await runTaskBody({
        task,
        dagId: ref.dagId,
        dagRunId: ref.dagRunId,
        tryNumber: ref.tryNumber,
        conf: JSON.parse(run.conf_json) as Record<string, unknown>,
        upstreamOutputs: await this.repository.outputs(ref.dagRunId, [...task.ancestors]),
        log,
      });
      result = outcome.ok
        ? { state: 'success', outputJson: outcome.outputJson }
        : this.failure(ref, claim.maxTries, outcome.error);
    } catch (error) {
      result = this.failure(ref, claim.maxTries, error);
    } finally {
      clearInterval(progress);
    }

    if (result.state === 'success') log.info(`Attempt ${ref.tryNumber} succeeded`);
    else {
      const next = result.state === 'up_for_retry' ? ' (will retry)' : '';
      log.error(`Attempt ${ref.tryNumber} failed${next}: ${result.detail}`);
    }
    const recorded = await this.repository.finishAttempt(ref, result, log.text(), now());
    if (!recorded) {
      this.logger.warn({ ...ref }, 'Attempt finished after it was failed as lost or abandoned; its result is dropped');
      return;
    }
    if (result.state === 'up_for_retry') await this.submitRetry(ref, task, claim.maxTries, 0);
    await this.advance(ref.dagRunId);
  }

  /** The attempt could not be claimed: a duplicate delivery, a stale message, or a redelivery after a crash. */
  private async reconcile(ref: TaskAttemptRef, redelivered: boolean): Promise<void> {
    const row = await this.repository.task(ref.dagRunId, ref.taskId);
    if (!row || row.try_number !== ref.tryNumber) {
      this.logger.debug({ ...ref }, 'Stale task attempt ignored');
      return;
    }
    const task = this.dags.get(ref.dagId)?.taskById.get(ref.taskId);
    if (row.state === 'running') {
      if (!redelivered) return; // a duplicate delivery while the attempt runs elsewhere
      const error = new Error(
        `Attempt ${ref.tryNumber} was lost: the worker running it stopped or lost its queue lock`,
      );
      const result = this.failure(ref, row.max_tries, error);
      const previous = await this.repository.attemptLog(ref.dagRunId, ref.taskId, ref.tryNumber);
      const log = `${previous?.log ? `${previous.log}\n` : ''}${now()} ERROR ${error.message}`;
      if (!(await this.repository.finishAttempt(ref, result, log, now()))) return;
      this.logger.warn({ ...ref }, error.message);
      if (result.state === 'up_for_retry') await this.submitRetry(ref, task, row.max_tries, 0);
    } else if (row.state === 'up_for_retry') {
      // The failure was recorded but maybe not its retry: submit it again (executors drop duplicates).
      const elapsed = Date.now() - Date.parse(row.ended_at ?? now());
      await this.submitRetry(ref, task, row.max_tries, elapsed);
    }
    await this.advance(ref.dagRunId);
  }

  private failure(ref: TaskAttemptRef, maxTries: number, error: unknown): AttemptResult {
    return {
      state: ref.tryNumber < maxTries && !isPermanent(error) ? 'up_for_retry' : 'failed',
      message: errorMessage(error),
      detail: errorDetail(error),
    };
  }

  private async submitRetry(ref: TaskAttemptRef, task: Task | undefined, maxTries: number, elapsedMs: number) {
    // Failures so far in this retry budget: retry(dagRunId) grants a new budget, and the backoff restarts with it.
    const retries = task?.retries ?? 0;
    const failedInBudget = ref.tryNumber - (maxTries - retries - 1);
    const delayMs = task ? Math.max(0, retryDelayMs(task, failedInBudget) - elapsedMs) : 0;
    await this.executor.submit({ ...ref, tryNumber: ref.tryNumber + 1 }, { delayMs });
  }

  private async finish(run: DagRunsTable, states: Map<string, TaskState>): Promise<void> {
    const failed = [...states].filter(([, s]) => s === 'failed').map(([id]) => id);
    let error: string | null = null;
    if (failed.length > 0) {
      const rows = (await this.repository.tasks(run.id)).filter((r) => r.state === 'failed');
      rows.sort((a, b) => (a.ended_at ?? '').localeCompare(b.ended_at ?? ''));
      const first = rows[0];
      error = first ? `Task "${first.task_id}" failed: ${first.error ?? 'unknown error'}` : 'A task failed';
    } else if ([...states.values()].some((s) => s !== 'success')) {
      error = 'Some tasks did not run';
    }
    const status = error === null ? 'success' : 'failed';
    if (await this.repository.finishRun(run.id, status, error, now(), run.started_at)) {
      this.logger.info({ dagRunId: run.id, dagId: run.dag_id, status, error }, `DAG run ${status}`);
      this.events.emit('finished', run.id);
    }
  }

  /**
   * One timer per running attempt (the attempt's start wrote the first heartbeat): it saves the log when it changed,
   * for other processes to follow, and writes the heartbeat. Each write runs every whole number of ticks, rounded
   * down, so it happens at least as often as configured.
   */
  private startProgressTimer(ref: TaskAttemptRef, log: AttemptLog): NodeJS.Timeout {
    const tickMs = Math.min(this.logFlushMs, this.heartbeatMs);
    const flushEvery = Math.floor(this.logFlushMs / tickMs);
    const beatEvery = Math.floor(this.heartbeatMs / tickMs);
    let ticks = 0;
    let saved = log.revision;
    const timer = setInterval(() => {
      ticks++;
      if (ticks % flushEvery === 0 && log.revision !== saved) {
        saved = log.revision;
        this.repository.saveRunningLog(ref, log.text()).catch((error: unknown) => {
          this.logger.warn({ ...ref, err: error }, 'Could not save the running log');
        });
      }
      if (ticks % beatEvery === 0) {
        this.repository.heartbeat(ref, now()).catch((error: unknown) => {
          this.logger.warn({ ...ref, err: error }, 'Could not write the heartbeat of a running attempt');
        });
      }
    }, tickMs);
    timer.unref();
    return timer;
  }
}

function positiveMs(name: string, ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`${name} must be a positive number of milliseconds, got ${ms}`);
  return ms;
}

function now(): string {
  return new Date().toISOString();
}
