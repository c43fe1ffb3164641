/**
 * Configuration from the environment (flags override it in the CLI). Embedded defaults put everything under
 * MLDEPLOY_HOME (./.mldeploy): a SQLite file and an artifact folder.
 */
import { InvalidInputError } from './errors.js';
import { assertModelName } from './tracking/validate.js';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Config {
  home: string;
  databaseUrl: string;
  artifactsUrl: string;
  /** redis://... for the BullMQ executor; unset means the in-process executor. */
  queueUrl: string | undefined;
  port: number;
  host: string;
  modelName: string;
  logLevel: string;
  /** How long a dashboard session lasts from its login, in hours (MLDEPLOY_SESSION_TTL_HOURS, default 12). */
  sessionTtlHours: number;
  /**
   * Which proxies' X-Forwarded-* headers to believe (MLDEPLOY_TRUST_PROXY): false (default), true (any), a hop count,
   * or comma-separated addresses/CIDRs; Fastify's trustProxy. Behind a TLS-terminating proxy this makes the session
   * cookie `Secure`.
   */
  trustProxy: boolean | number | string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const home = resolve(env.MLDEPLOY_HOME ?? '.mldeploy');
  const port = Number(env.PORT ?? env.MLDEPLOY_PORT ?? 8086);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`Invalid PORT "${env.PORT}"`);
  const modelName = env.MLDEPLOY_MODEL_NAME ?? 'clients_model';
  try {
    assertModelName(modelName);
  } catch (error) {
    throw new InvalidInputError(`MLDEPLOY_MODEL_NAME: ${(error as Error).message}`);
  }
  return {
    home,
    databaseUrl: env.MLDEPLOY_DATABASE_URL ?? `sqlite:${resolve(home, 'mldeploy.db')}`,
    artifactsUrl: env.MLDEPLOY_ARTIFACTS_URL ?? pathToFileURL(resolve(home, 'artifacts')).href,
    queueUrl: env.MLDEPLOY_QUEUE_URL || undefined,
    port,
    host: env.MLDEPLOY_HOST ?? '127.0.0.1',
    modelName,
    logLevel: env.LOG_LEVEL ?? 'info',
    sessionTtlHours: sessionTtlHours(env.MLDEPLOY_SESSION_TTL_HOURS),
    trustProxy: trustProxy(env.MLDEPLOY_TRUST_PROXY),
  };
}

function sessionTtlHours(text: string | undefined): number {
  if (text === undefined || text === '') return 12;
  const hours = Number(text);
  if (!(hours > 0) || !Number.isFinite(hours)) {
    throw new InvalidInputError(`Invalid MLDEPLOY_SESSION_TTL_HOURS "${text}": expected a positive number of hours, e.g. 12 or 0.5`);
  }
  return hours;
}

function trustProxy(text: string | undefined): boolean | number | string {
  const value = text?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  if (/^[0-9A-Fa-f.:/, ]+$/.test(value)) return value;
  throw new InvalidInputError(`Invalid MLDEPLOY_TRUST_PROXY "${text}": expected true, false, a hop count, or comma-separated proxy addresses`);
}
