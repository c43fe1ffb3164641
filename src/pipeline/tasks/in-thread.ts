/**
 * Runs train_model on a worker thread, as Airflow runs a task in a process of its own: the fits are CPU-bound for
 * seconds to minutes, and on the calling thread they would stop its event loop, and with it the attempt's heartbeat,
 * its log flushes and a queue worker's job-lock renewal (a long fit would look like a dead worker). The thread opens
 * its own services from the same configuration, so it needs a store other connections can reach: an in-memory SQLite
 * database keeps the work on the calling thread.
 */
import { Worker } from 'node:worker_threads';
import type { AppContext } from '../../context.js';
import type { TaskLogger } from '../dag.js';
import { compiledWorkerUrl } from '../../ml/worker-url.js';
import type { TrainModelOptions, TrainModelResult } from './train-model.js';

/** What the thread receives. */
export interface TrainThreadInput {
  config: AppContext['config'];
  options: TrainModelOptions;
}

/** What the thread sends back: log lines as they come, then the result or the error. */
export type TrainThreadMessage =
  | { kind: 'log'; level: 'info' | 'warn' | 'error'; message: string; data?: Record<string, unknown> }
  | { kind: 'done'; result: TrainModelResult }
  | { kind: 'failed'; error: SerialisedError };

/** An error as plain data: structured cloning keeps neither a class nor a `permanent` flag. */
export interface SerialisedError {
  name: string;
  message: string;
  stack?: string;
  permanent?: boolean;
  /** The stable code of mldeploy's errors (src/errors.ts). */
  code?: string;
  cause?: string;
}

export function serialiseError(error: unknown): SerialisedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? error.cause.message : error.cause === undefined ? undefined : String(error.cause);
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...((error as { permanent?: unknown }).permanent === true ? { permanent: true } : {}),
    ...(typeof code === 'string' ? { code } : {}),
    ...(cause === undefined ? {} : { cause }),
  };
}

function reviveError(data: SerialisedError): Error {
  const error = new Error(data.message, data.cause === undefined ? undefined : { cause: new Error(data.cause) });
  error.name = data.name;
  if (data.stack) error.stack = data.stack;
  if (data.permanent) Object.assign(error, { permanent: true });
  if (data.code !== undefined) Object.assign(error, { code: data.code });
  return error;
}

/** Whether this context's store can be opened again from its configuration by another thread. */
export function canRunInThread(app: AppContext): boolean {
  return !/^sqlite::memory:$/i.test(app.config.databaseUrl);
}

/**
 * train_model on a worker thread; log lines arrive in `log` as the thread writes them. `signal` (the attempt's
 * timeout) terminates the thread.
 */
export function trainModelInThread(
  app: AppContext,
  options: TrainModelOptions,
  log: TaskLogger,
  signal?: AbortSignal,
): Promise<TrainModelResult> {
  const { url } = compiledWorkerUrl(import.meta.url, './train-model-thread.js');
  const input: TrainThreadInput = { config: app.config, options };
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: input });
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      finish();
    };
    const onAbort = () => {
      settle(() => reject(signal?.reason ?? new Error('train_model was aborted')));
      void worker.terminate();
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (message: TrainThreadMessage) => {
      if (message.kind === 'log') log[message.level](message.message, message.data);
      else if (message.kind === 'done') settle(() => resolve(message.result));
      else settle(() => reject(reviveError(message.error)));
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) =>
      settle(() => reject(new Error(`the train_model thread stopped (exit code ${code}) before it finished`))),
    );
  });
}
