/**
 * What the pipeline reports about runs, tasks and attempts: the shapes the CLI, the API and the UI read.
 * Times are ISO-8601 strings in UTC.
 */
import type { DagRunsTable, TaskAttemptsTable, TaskInstancesTable } from '../db/schema.js';

export type DagRunStatus = DagRunsTable['status'];
export type TaskState = TaskInstancesTable['state'];
export type AttemptState = TaskAttemptsTable['state'];
/** How a run was started; `retry` is not a trigger of its own: a retried run keeps its original trigger. */
export type TriggerKind = Exclude<DagRunsTable['trigger'], 'retry'>;

export const FINISHED_RUN_STATUSES: readonly DagRunStatus[] = ['success', 'failed'];
export const FINISHED_TASK_STATES: readonly TaskState[] = ['success', 'failed', 'upstream_failed'];

export interface DagRunSummary {
  id: string;
  dagId: string;
  status: DagRunStatus;
  trigger: DagRunsTable['trigger'];
  conf: Record<string, unknown>;
  /** For a failed run: the first task failure, as `Task "<id>" failed: <message>`. */
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

export interface TaskAttemptSummary {
  tryNumber: number;
  state: AttemptState;
  /** The error with a trimmed stack trace. */
  error: string | null;
  startedAt: string;
  endedAt: string | null;
}

export interface TaskInstanceDetail {
  taskId: string;
  state: TaskState;
  /** The number of the latest attempt; 0 before the first one starts. */
  tryNumber: number;
  /** The attempt number this task may reach before it fails for good. */
  maxTries: number;
  /** What the task returned (parsed JSON); null until it succeeds. */
  output: unknown;
  /** The latest failure's message. */
  error: string | null;
  startedAt: string | null;
  endedAt: string | null;
  attempts: TaskAttemptSummary[];
}

export interface DagRunDetail extends DagRunSummary {
  /** In the DAG's topological order. */
  tasks: TaskInstanceDetail[];
}

export interface TaskLog {
  dagRunId: string;
  taskId: string;
  tryNumber: number;
  state: AttemptState;
  log: string;
  error: string | null;
}

export interface ListRunsOptions {
  dagId?: string;
  status?: DagRunStatus;
  /** Newest first; default 20, at most 1000. */
  limit?: number;
}
