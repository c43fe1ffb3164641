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
  };
}
