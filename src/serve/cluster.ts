/**
 * `mldeploy serve --workers N`: N server processes share one port through node:cluster (the primary accepts and
 * hands connections out round-robin). The primary restarts a worker that dies, with a growing delay when workers
 * keep dying right after start, and gives up if the very first workers cannot start (a taken port, a bad database
 * URL). SIGTERM or SIGINT drains every worker: no new connections, in-flight requests answered, queued predictions
 * committed. With no API keys configured, the primary makes the admin token and hands it to every worker, so any worker
 * accepts the one token the CLI printed.
 *
 * node:cluster runs the same entry script in each worker, so `serve()` must be called the same way in every process
 * (as the CLI does); the primary part and the worker part are picked here.
 */
import { InvalidInputError } from '../errors.js';
import cluster, { type Worker } from 'node:cluster';
import { dialectOf } from '../db/index.js';
import { createLogger, type Logger } from '../logger.js';
import { newAdminToken } from './auth.js';
import { relayMetrics, WorkerMetricsChannel } from './cluster-metrics.js';
import { startServer, type RunningServer, type ServerOptions } from './server.js';
import { usableCpus } from '../cpus.js';

export interface ServeOptions extends ServerOptions {
  /**
   * Server processes; default one per core, but one with SQLite (a single writer: more processes only queue on its
   * write lock, blocking their event loops). 1 runs the server in this process without a primary.
   */
  workers?: number;
  /** How long a draining process may take before it is stopped anyway; default 15 s. */
  shutdownTimeoutMs?: number;
  /**
   * Called once when the API answers, with its URL and, when no API keys are configured, the admin token (for the
   * dashboard URL the CLI prints; keep it out of logs).
   */
  onListening?: (url: string, adminToken: string | undefined) => void;
}

/** How the primary hands the admin token to its workers (removed from the worker's environment once read). */
const ADMIN_TOKEN_ENV = 'MLDEPLOY_WORKER_ADMIN_TOKEN';

/** A worker that dies sooner than this after starting counts as a crash loop, and its restart is delayed. */
const FAST_CRASH_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

type WorkerMessage = { type: 'listening'; url: string } | { type: 'start_failed'; message: string };

/**
 * Runs the API until SIGTERM/SIGINT. In the primary (or with one worker) it resolves once everything has drained;
 * a worker process exits when drained. Rejects when the server cannot start.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const workers = options.workers ?? (dialectOf(options.config.databaseUrl) === 'sqlite' ? 1 : usableCpus());
  if (!Number.isInteger(workers) || workers < 1) throw new InvalidInputError(`--workers must be a whole number from 1, got ${workers}`);
  const logger = options.logger ?? createLogger(options.config.logLevel);
  if (workers === 1) return runSingle({ ...options, logger });
  if (cluster.isPrimary) {
    const keys = options.keys ?? { clientKeys: options.config.clientKeys, adminKeys: options.config.adminKeys };
    const adminToken = (keys.adminKeys?.length ?? 0) === 0 ? (options.adminToken ?? newAdminToken()) : undefined;
    return runPrimary(workers, { ...options, keys, adminToken, logger });
  }
  const adminToken = process.env[ADMIN_TOKEN_ENV];
  // Processes this worker starts need not know it.
  delete process.env[ADMIN_TOKEN_ENV];
  return runWorker({ ...options, adminToken, logger });
}

async function runSingle(options: ServeOptions & { logger: Logger }): Promise<void> {
  const server = await startServer(options);
  options.logger.info({ url: server.url }, 'mldeploy API listening');
  options.onListening?.(server.url, server.adminToken);
  await untilShutdown(options.logger, { repeatKills: true });
  await drain(server, options);
}

async function runWorker(options: ServeOptions & { logger: Logger }): Promise<void> {
  let server: RunningServer;
  const metrics = new WorkerMetricsChannel();
  try {
    server = await startServer({ ...options, app: { ...options.app, clusterMetrics: metrics } });
    metrics.attach(server.app.mldeploy.metrics.registry);
  } catch (error) {
    send({ type: 'start_failed', message: error instanceof Error ? error.message : String(error) });
    options.logger.error({ err: error }, 'worker could not start');
    process.exit(1);
  }
  send({ type: 'listening', url: server.url });
  // Ctrl-C reaches the workers and the primary (which then sends SIGTERM too): only the first signal counts here.
  await untilShutdown(options.logger, { repeatKills: false });
  await drain(server, options);
  process.exit(0);
}

function send(message: WorkerMessage): void {
  process.send?.(message);
}

async function drain(server: RunningServer, options: ServeOptions & { logger: Logger }): Promise<void> {
  const timeoutMs = options.shutdownTimeoutMs ?? 15_000;
  const timer = setTimeout(() => {
    options.logger.error(`shutdown took more than ${timeoutMs} ms: exiting without finishing`);
    process.exit(1);
  }, timeoutMs);
  timer.unref();
  await server.close();
  clearTimeout(timer);
  options.logger.info('mldeploy API stopped: in-flight requests answered, predictions committed');
}

/**
 * Resolves on the first SIGTERM or SIGINT, or when a worker loses its primary. With `repeatKills`, a second signal
 * gets the default behaviour (immediate exit); without, later signals are ignored and the drain timeout bounds it.
 */
function untilShutdown(logger: Logger, { repeatKills }: { repeatKills: boolean }): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals | 'disconnect') => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      process.off('disconnect', onDisconnect);
      if (!repeatKills) {
        process.on('SIGTERM', () => {});
        process.on('SIGINT', () => {});
      }
      logger.info({ signal }, 'shutting down: draining');
      resolve();
    };
    const onDisconnect = () => onSignal('disconnect');
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (process.connected) process.on('disconnect', onDisconnect);
  });
}

function runPrimary(count: number, options: ServeOptions & { logger: Logger }): Promise<void> {
  const { logger } = options;
  return new Promise<void>((resolve, reject) => {
    let shuttingDown = false;
    let everListened = false;
    let fastCrashes = 0;
    const startedAt = new Map<Worker, number>();

    const fork = () => {
      const worker = cluster.fork(options.adminToken === undefined ? {} : { [ADMIN_TOKEN_ENV]: options.adminToken });
      startedAt.set(worker, Date.now());
      worker.on('message', (message: WorkerMessage) => {
        if (message?.type === 'listening') {
          if (!everListened) {
            logger.info({ url: message.url, workers: count }, 'mldeploy API listening');
            options.onListening?.(message.url, options.adminToken);
          }
          everListened = true;
        } else if (message?.type === 'start_failed' && !everListened && !shuttingDown) {
          // The first workers cannot start: restarting would fail the same way.
          stopAll();
          reject(new Error(`the API server could not start: ${message.message}`));
        }
      });
    };

    const stopAll = () => {
      shuttingDown = true;
      const alive = Object.values(cluster.workers ?? {});
      for (const worker of alive) worker?.process.kill('SIGTERM');
      if (alive.length === 0) resolve();
    };

    cluster.on('exit', (worker, code, signal) => {
      const lived = Date.now() - (startedAt.get(worker) ?? Date.now());
      startedAt.delete(worker);
      if (shuttingDown) {
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          logger.info('all workers stopped');
          resolve();
        }
        return;
      }
      fastCrashes = lived < FAST_CRASH_MS ? fastCrashes + 1 : 0;
      const delay = fastCrashes <= 1 ? 0 : Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** fastCrashes);
      logger.error({ pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died: starting another');
      setTimeout(() => {
        if (!shuttingDown) fork();
      }, delay);
    });

    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info({ signal }, 'shutting down: draining every worker');
      stopAll();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);

    relayMetrics(cluster);
    for (let i = 0; i < count; i++) fork();
  });
}
