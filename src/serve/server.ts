/**
 * One API server process from configuration: opens the store, artifacts and registry (openContext), serves
 * NAME@production from the registry, listens, and on close drains in-flight requests and queued predictions before
 * releasing the database.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { openContext, type AppContext } from '../context.js';
import { createLogger, type Logger } from '../logger.js';
import { buildApp, type AppOptions, type AppPlugin } from './app.js';
import type { Keys } from './auth.js';
import { RegistryModelSource } from './registry-source.js';

/** Tuning passed through to buildApp (batch limits, poll interval, prediction log, unknown-field policy). */
export type AppTuning = Omit<AppOptions, 'store' | 'modelSource' | 'config' | 'logger' | 'keys' | 'adminToken' | 'plugins'>;

export interface ServerOptions {
  config: Config;
  logger?: Logger;
  /** Default: the configuration's (MLDEPLOY_API_KEYS(_FILE) and MLDEPLOY_ADMIN_KEYS(_FILE)). */
  keys?: Partial<Keys>;
  /** With no admin keys: the token admin routes take; default a fresh random one (RunningServer.adminToken). */
  adminToken?: string;
  /** Extra routes (the dashboard), built on this process's services and mounted behind the same check (admin routes). */
  plugins?: (context: AppContext) => AppPlugin[];
  app?: AppTuning;
}

export interface RunningServer {
  app: FastifyInstance;
  /** e.g. http://127.0.0.1:8086 */
  url: string;
  /** The token admin routes (the dashboard) take when no admin keys are configured. Never log it. */
  adminToken: string | undefined;
  /** Stops taking requests, finishes in-flight ones, commits queued predictions, closes the database. */
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.logLevel);
  const keys = options.keys ?? { clientKeys: config.clientKeys, adminKeys: config.adminKeys };
  const anyKey = (keys.clientKeys?.length ?? 0) + (keys.adminKeys?.length ?? 0) > 0;
  const context = await openContext(config, logger);
  let app: FastifyInstance;
  try {
    app = await buildApp({
      ...options.app,
      store: context.store,
      modelSource: new RegistryModelSource({ registry: context.registry, artifacts: context.artifacts }),
      config,
      logger,
      keys,
      adminToken: options.adminToken,
      sessionTtlMs: config.sessionTtlHours * 3_600_000,
      trustProxy: config.trustProxy,
      plugins: options.plugins?.(context),
    });
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await context.close();
    throw error;
  }
  if (!anyKey && !LOOPBACK.has(config.host)) {
    logger.warn(`listening on ${config.host} with no API keys: anyone who can reach it can predict and list models (set MLDEPLOY_API_KEYS)`);
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let closing: Promise<void> | undefined;
  return {
    app,
    url: `http://${host}:${port}`,
    adminToken: app.mldeploy.adminToken,
    close() {
      closing ??= app.close().finally(() => context.close());
      return closing;
    },
  };
}
