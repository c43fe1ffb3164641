/**
 * Hands task attempts to BullMQ: each attempt is one job, with a deterministic id per (run, task, try) so a second
 * submit of the same attempt is a no-op. `mldeploy worker` processes (see ../worker.ts) take the jobs and run them.
 * Retry backoff is a delayed job; task-level retries follow the engine's rules, identical to the in-process executor.
 * BullMQ's own attempts only cover infrastructure failures (a worker that cannot reach the database).
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { attemptKey, type AttemptHandler, type Executor, type SubmitOptions, type TaskAttemptRef } from './executor.js';
import { presence, type PresenceRedis, type WorkerPresence } from './worker-presence.js';

export const DEFAULT_QUEUE_NAME = 'mldeploy-tasks';
export const DEFAULT_QUEUE_PREFIX = 'mldeploy';

export interface QueueLocation {
  /** redis:// or rediss:// URL. */
  redisUrl: string;
  /** Default "mldeploy-tasks". Workers must use the same name and prefix as the runners that feed them. */
  queueName?: string;
  /** Redis key prefix. Default "mldeploy". */
  prefix?: string;
}

const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2000 },
  // Keep finished jobs a while for queue dashboards; the database holds the history.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export class BullMQExecutor implements Executor {
  readonly kind = 'bullmq' as const;
  readonly queue: Queue<TaskAttemptRef>;
  readonly queueName: string;
  readonly prefix: string;

  constructor(location: QueueLocation) {
    this.queueName = location.queueName ?? DEFAULT_QUEUE_NAME;
    this.prefix = location.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.queue = new Queue<TaskAttemptRef>(this.queueName, {
      // No endless retries here: submitting must fail (and the task go back to pending) when Redis is away.
      connection: { url: location.redisUrl },
      prefix: this.prefix,
    });
  }

  /** The Redis client of the queue, for the worker presence records kept beside it. */
  async redis(): Promise<PresenceRedis> {
    // BullMQ's Redis backend hands out its ioredis client; the presence records need only a few plain commands.
    return (await this.queue.getBackend().connection.client) as unknown as PresenceRedis;
  }

  async presence(): Promise<WorkerPresence> {
    return presence(await this.redis(), this.prefix, this.queueName);
  }

  bind(_handler: AttemptHandler): void {
    // Attempts run in worker processes (startWorker), not here.
  }

  async submit(attempt: TaskAttemptRef, options: SubmitOptions = {}): Promise<void> {
    const data: TaskAttemptRef = {
      dagRunId: attempt.dagRunId,
      dagId: attempt.dagId,
      taskId: attempt.taskId,
      tryNumber: attempt.tryNumber,
    };
    await this.queue.add(`${attempt.dagId}/${attempt.taskId}`, data, {
      ...JOB_OPTIONS,
      jobId: attemptKey(attempt),
      delay: Math.max(0, Math.round(options.delayMs ?? 0)),
    });
  }

  async close(): Promise<void> {
    await this.queue.close();
  }
}

/** Workers block on Redis: ioredis must not give up on their commands, it reconnects instead. */
export function workerConnection(redisUrl: string): ConnectionOptions {
  return { url: redisUrl, maxRetriesPerRequest: null };
}
