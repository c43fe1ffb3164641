/**
 * A queue worker (`mldeploy worker`): takes task attempts from BullMQ and runs them with the same engine as the
 * in-process executor, then advances their run (submitting the tasks that became ready). Any number of workers may
 * run on any number of machines sharing the database and Redis.
 */
import { InvalidInputError } from '../errors.js';
import { Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Store } from '../db/connect.js';
import type { Dag } from './dag.js';
import { PipelineEngine } from './engine.js';
import {
  BullMQExecutor,
  DEFAULT_QUEUE_NAME,
  DEFAULT_QUEUE_PREFIX,
  workerConnection,
  type QueueLocation,
} from './executors/bullmq.js';
import type { TaskAttemptRef } from './executors/executor.js';

export interface StartWorkerOptions extends QueueLocation {
  store: Store;
  dags: readonly Dag[];
  logger: Logger;
  /** Attempts this worker runs at once. Default 1. */
  concurrency?: number;
  /**
   * How long a job's lock lasts without renewal. A task that blocks the event loop longer than this (CPU-bound
   * training) looks stalled and is redelivered, which fails the attempt as lost: yield now and then, or raise this.
   * Default 120 000 ms.
   */
  lockDurationMs?: number;
  /** See PipelineRunnerOptions. */
  logBudgetBytes?: number;
  logFlushMs?: number;
  heartbeatMs?: number;
}

export interface PipelineWorker {
  /** Finishes the running attempts, then disconnects. The store stays open: it is the caller's. */
  close(): Promise<void>;
}

export async function startWorker(options: StartWorkerOptions): Promise<PipelineWorker> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError(`Worker concurrency must be a positive integer, got ${concurrency}`);
  }
  const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
  const logger = options.logger.child({ component: 'pipeline-worker', queue: queueName });
  const executor = new BullMQExecutor(options);
  const engine = new PipelineEngine({ ...options, executor, logger });

  const worker = new Worker<TaskAttemptRef>(
    queueName,
    async (job: Job<TaskAttemptRef>) => {
      const attempt = parseAttempt(job.data);
      // attemptsStarted counts deliveries: above 1, an earlier delivery died or failed mid-way.
      await engine.runAttempt(attempt, { redelivered: job.attemptsStarted > 1 });
    },
    {
      connection: workerConnection(options.redisUrl),
      prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
      concurrency,
      lockDuration: options.lockDurationMs ?? 120_000,
    },
  );
  worker.on('failed', (job, error) => {
    logger.error({ jobId: job?.id, attempt: job?.data, err: error }, 'Queue job failed');
  });
  worker.on('error', (error) => logger.error({ err: error }, 'Queue worker error'));
  try {
    await worker.waitUntilReady();
  } catch (error) {
    await Promise.allSettled([worker.close(), executor.close()]);
    throw error;
  }
  logger.info({ concurrency }, 'Pipeline worker started');

  return {
    async close() {
      await worker.close();
      await executor.close();
      logger.info('Pipeline worker stopped');
    },
  };
}

function parseAttempt(data: unknown): TaskAttemptRef {
  const d = data as Partial<TaskAttemptRef> | null;
  if (
    !d ||
    typeof d.dagRunId !== 'string' ||
    typeof d.dagId !== 'string' ||
    typeof d.taskId !== 'string' ||
    !Number.isSafeInteger(d.tryNumber)
  ) {
    throw new Error(`Malformed task attempt job: ${JSON.stringify(data)}`);
  }
  return { dagRunId: d.dagRunId, dagId: d.dagId, taskId: d.taskId, tryNumber: d.tryNumber! };
}
