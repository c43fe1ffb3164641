/** The workflow engine: DAGs, the runner, executors (in-process, BullMQ), queue workers and cron schedules. */
export {
  defineDag,
  retryDelayMs,
  DEFAULT_RETRIES,
  DEFAULT_RETRY_DELAY_MS,
  DEFAULT_MAX_RETRY_DELAY_MS,
  type Dag,
  type DagDef,
  type Task,
  type TaskDef,
  type TaskContext,
  type TaskLogger,
} from './dag.js';
export {
  PipelineRunner,
  type PipelineRunnerOptions,
  type TriggerOptions,
  type WaitOptions,
  type RecoverOptions,
} from './runner.js';
export { startWorker, type StartWorkerOptions, type PipelineWorker } from './worker.js';
export {
  createExecutor,
  InProcessExecutor,
  BullMQExecutor,
  DEFAULT_QUEUE_NAME,
  DEFAULT_QUEUE_PREFIX,
  type CreateExecutorOptions,
  type Executor,
  type InProcessExecutorOptions,
  type QueueLocation,
  type SubmitOptions,
  type TaskAttemptRef,
} from './executors/index.js';
export {
  setSchedule,
  removeSchedule,
  listSchedules,
  startScheduler,
  parseCron,
  scheduledRunId,
  type ScheduleInfo,
  type ScheduleOptions,
  type Scheduler,
  type SchedulerOptions,
  type ScheduledFire,
} from './scheduler.js';
export { DagRunExistsError, TaskTimeoutError } from './errors.js';
export type {
  DagRunDetail,
  DagRunStatus,
  DagRunSummary,
  ListRunsOptions,
  TaskAttemptSummary,
  TaskInstanceDetail,
  TaskLog,
  TaskState,
  TriggerKind,
} from './types.js';
