/**
 * The executor contract, after Airflow's: the runner decides which task attempts are ready and hands them over;
 * the executor runs them, in this process or on workers fed by a queue. Either way the attempt itself runs through
 * the same engine code (`AttemptHandler`), so states, retries and logs behave identically.
 */
import type { WorkerPresence } from './worker-presence.js';

/** One attempt of one task: what an executor carries (it is also the BullMQ job's data). */
export interface TaskAttemptRef {
  dagRunId: string;
  dagId: string;
  taskId: string;
  /** The number this attempt will have (1 for the first). */
  tryNumber: number;
}

export interface SubmitOptions {
  /** Start no earlier than this many milliseconds from now (retry backoff). */
  delayMs?: number;
}

/** Runs one attempt to its end, persisting everything; rejects only when the database itself fails. */
export type AttemptHandler = (attempt: TaskAttemptRef) => Promise<void>;

export interface Executor {
  readonly kind: 'in-process' | 'bullmq';
  /** Called once by the runner with the engine's attempt handler; queue executors ignore it (workers run attempts). */
  bind(handler: AttemptHandler): void;
  /**
   * Starts the attempt eventually. Submitting the same attempt twice must be harmless: the engine runs an attempt
   * only when it can claim it in the database, and executors drop duplicates they can recognise.
   */
  submit(attempt: TaskAttemptRef, options?: SubmitOptions): Promise<void>;
  /** Queue executors: which workers are alive (see worker-presence.ts). In-process executors run attempts themselves. */
  presence?(): Promise<WorkerPresence>;
  /** Stops starting attempts and waits for the running ones (in this process) to finish. */
  close(): Promise<void>;
}

/** A stable key per attempt: the BullMQ job id, and the in-process duplicate guard. */
export function attemptKey(attempt: TaskAttemptRef): string {
  return `${attempt.dagRunId}/${attempt.taskId}/${attempt.tryNumber}`;
}
