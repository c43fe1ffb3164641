/** Picks the executor from the queue URL: none for in-process, redis:// or rediss:// for BullMQ workers. */
import { InvalidInputError } from '../../errors.js';
import { redactUrl } from '../../db/connect.js';
import { BullMQExecutor } from './bullmq.js';
import type { Executor } from './executor.js';
import { InProcessExecutor } from './in-process.js';

export interface CreateExecutorOptions {
  /** In-process executor: attempts running at once. Default 4. */
  concurrency?: number;
  /** BullMQ executor: queue name and Redis key prefix (see QueueLocation). */
  queueName?: string;
  prefix?: string;
}

export function createExecutor(queueUrl?: string, options: CreateExecutorOptions = {}): Executor {
  if (!queueUrl) return new InProcessExecutor({ concurrency: options.concurrency });
  if (/^rediss?:\/\//i.test(queueUrl)) {
    return new BullMQExecutor({ redisUrl: queueUrl, queueName: options.queueName, prefix: options.prefix });
  }
  throw new InvalidInputError(
    `Unsupported queue URL "${redactUrl(queueUrl)}": ` +
      'use redis://host:port (BullMQ workers) or leave it unset (in-process)',
  );
}

export { attemptKey, type AttemptHandler, type Executor, type SubmitOptions, type TaskAttemptRef } from './executor.js';
export { InProcessExecutor, type InProcessExecutorOptions } from './in-process.js';
export { BullMQExecutor, DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_PREFIX, type QueueLocation } from './bullmq.js';
