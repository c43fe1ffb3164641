/**
 * The one configuration object of a mldeploy process, read once from the environment and the command line's flags
 * (flags win) and validated: a bad value fails at start with the name of the variable or flag that holds it. Nothing
 * else reads process.env for settings, and nothing writes settings back into it. Every variable is listed in
 * CONFIG_VARIABLES, which the README's configuration table documents (a test keeps the two in step). Embedded defaults
 * put everything under MLDEPLOY_HOME (./.mldeploy): a SQLite file and an artifact folder.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from './errors.js';
import { assertModelName } from './tracking/validate.js';

/** How the S3 artifact store is reached (unset fields: the AWS SDK's defaults). */
export interface S3Settings {
  /** e.g. http://127.0.0.1:9000 for MinIO; unset means AWS. */
  endpoint?: string;
  region: string;
  /** Path-style URLs (http://host/bucket/key), needed by MinIO and most self-hosted servers. */
  forcePathStyle: boolean;
  /** Unset: the SDK's default chain (environment, shared config, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export interface Config {
  home: string;
  databaseUrl: string;
  artifactsUrl: string;
  /** redis://... for the BullMQ executor; unset means the in-process executor. */
  queueUrl: string | undefined;
  /** Redis key prefix of the queue: deployments sharing one Redis keep apart by it. */
  queuePrefix: string;
  /** How long a worker's job lock lasts without renewal: a worker silent that long (killed) has its task retried. */
  workerLockMs: number;
  port: number;
  host: string;
  modelName: string;
  logLevel: LogLevel;
  s3: S3Settings;
  /** Client keys (MLDEPLOY_API_KEYS, MLDEPLOY_API_KEYS_FILE): open the client routes and the docs. */
  clientKeys: string[];
  /** Admin keys (MLDEPLOY_ADMIN_KEYS, MLDEPLOY_ADMIN_KEYS_FILE): open every route. No key at all leaves the client routes open. */
  adminKeys: string[];
  /** How long a dashboard session lasts from its login, in hours (MLDEPLOY_SESSION_TTL_HOURS, default 12). */
  sessionTtlHours: number;
  /**
   * Which proxies' X-Forwarded-* headers to believe (MLDEPLOY_TRUST_PROXY): false (default), true (any), a hop count,
   * or comma-separated addresses/CIDRs; Fastify's trustProxy. Behind a TLS-terminating proxy this makes the session
   * cookie `Secure`.
   */
  trustProxy: boolean | number | string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A setting that cannot be used: names the variable (or flag) and says what was expected. */
export class ConfigError extends InvalidInputError {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable}: ${problem}`, { code: 'invalid_config' });
  }
}

/** A documented variable: what the README's configuration table lists. */
export interface ConfigVariable {
  name: string;
  /** The command-line flag that overrides it, if any. */
  flag?: string;
  description: string;
}

export const CONFIG_VARIABLES: readonly ConfigVariable[] = [
  { name: 'MLDEPLOY_HOME', flag: '--home', description: 'state folder of the embedded defaults' },
  { name: 'MLDEPLOY_DATABASE_URL', flag: '--database-url', description: 'sqlite:, postgres:// or mysql:// URL' },
  { name: 'MLDEPLOY_ARTIFACTS_URL', flag: '--artifacts-url', description: 'file: folder or s3://bucket/prefix' },
  { name: 'MLDEPLOY_QUEUE_URL', flag: '--queue-url', description: 'redis:// URL of the task queue' },
  { name: 'MLDEPLOY_QUEUE_PREFIX', description: 'Redis key prefix of the task queue' },
  { name: 'MLDEPLOY_WORKER_LOCK_MS', description: 'job lock of a queue worker, ms' },
  { name: 'PORT', flag: '--port', description: 'API port' },
  { name: 'MLDEPLOY_PORT', description: 'API port when PORT is unset' },
  { name: 'MLDEPLOY_HOST', flag: '--host', description: 'API bind address' },
  { name: 'MLDEPLOY_MODEL_NAME', description: 'registered model name' },
  { name: 'LOG_LEVEL', description: 'pino log level' },
  { name: 'AWS_ENDPOINT_URL_S3', description: 'S3 endpoint (MinIO)' },
  { name: 'MLDEPLOY_S3_ENDPOINT', description: 'S3 endpoint when AWS_ENDPOINT_URL_S3 is unset' },
  { name: 'AWS_REGION', description: 'S3 region' },
  { name: 'AWS_DEFAULT_REGION', description: 'S3 region when AWS_REGION is unset' },
  { name: 'AWS_ACCESS_KEY_ID', description: 'S3 access key' },
  { name: 'AWS_SECRET_ACCESS_KEY', description: 'S3 secret key' },
  { name: 'AWS_SESSION_TOKEN', description: 'S3 session token' },
  { name: 'MLDEPLOY_S3_FORCE_PATH_STYLE', description: 'path-style S3 URLs (MinIO)' },
  { name: 'MLDEPLOY_API_KEYS', description: 'client API keys, comma-separated' },
  { name: 'MLDEPLOY_API_KEYS_FILE', description: 'file of client API keys, one per line' },
  { name: 'MLDEPLOY_ADMIN_KEYS', description: 'admin keys, comma-separated' },
  { name: 'MLDEPLOY_ADMIN_KEYS_FILE', description: 'file of admin keys, one per line' },
  { name: 'MLDEPLOY_SESSION_TTL_HOURS', description: 'dashboard session lifetime, hours' },
  { name: 'MLDEPLOY_TRUST_PROXY', description: 'proxies whose X-Forwarded-* headers are believed' },
];

/** Settings given on the command line; each wins over its variable. */
export interface ConfigFlags {
  home?: string;
  databaseUrl?: string;
  artifactsUrl?: string;
  queueUrl?: string;
  port?: string;
  host?: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/** The value and where it came from (the flag when given, else the variable), for error messages. */
function pick(env: Env, variable: string, flagValue: string | undefined): { value: string | undefined; source: string } {
  if (flagValue !== undefined) {
    return { value: flagValue, source: CONFIG_VARIABLES.find((v) => v.name === variable)?.flag ?? variable };
  }
  const value = env[variable];
  return { value: value === '' ? undefined : value, source: variable };
}

function url(env: Env, variable: string, flagValue: string | undefined, schemes: RegExp, expected: string): string | undefined {
  const { value, source } = pick(env, variable, flagValue);
  if (value === undefined) return undefined;
  if (!schemes.test(value)) throw new ConfigError(source, `expected ${expected}, got "${redact(value)}"`);
  return value;
}

/** Credentials in a URL never reach an error message. */
function redact(value: string): string {
  return value.replace(/\/\/[^/@]*@/, '//***@');
}

function boolean(env: Env, variable: string): boolean {
  const value = env[variable];
  if (value === undefined || value === '') return false;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(variable, `expected true or false, got "${value}"`);
}

/** Shorter keys are refused: they could be guessed. */
export const MIN_KEY_LENGTH = 16;

/**
 * Keys from a variable (comma separated) and its _FILE form (one per line, # comments), deduplicated. A variable that
 * is set but holds no key (", ,", a file of comments) is an error, never a silently open server; an empty one is unset.
 */
function keys(env: Env, variable: string): string[] {
  const found: string[] = [];
  const inline = env[variable];
  if (inline !== undefined && inline !== '') {
    const given = inline.split(',').map((k) => k.trim()).filter((k) => k !== '');
    if (given.length === 0) throw new ConfigError(variable, `is set but holds no key ("${inline}"): give comma-separated keys, or unset it`);
    found.push(...given);
  }
  const fileVariable = `${variable}_FILE`;
  const file = env[fileVariable];
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(fileVariable, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const given = text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    if (given.length === 0) throw new ConfigError(fileVariable, `${file} holds no key (one per line, # for comments)`);
    found.push(...given);
  }
  found.forEach((key, i) => {
    if (key.length < MIN_KEY_LENGTH) throw new ConfigError(variable, `key #${i + 1} is too short: use at least ${MIN_KEY_LENGTH} random characters`);
  });
  return [...new Set(found)];
}

function sessionTtlHours(env: Env): number {
  const text = env.MLDEPLOY_SESSION_TTL_HOURS;
  if (text === undefined || text === '') return 12;
  const hours = Number(text);
  if (!(hours > 0) || !Number.isFinite(hours)) {
    throw new ConfigError('MLDEPLOY_SESSION_TTL_HOURS', `expected a positive number of hours, e.g. 12 or 0.5, got "${text}"`);
  }
  return hours;
}

function trustProxy(env: Env): boolean | number | string {
  const value = env.MLDEPLOY_TRUST_PROXY?.trim() ?? '';
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  if (/^[0-9A-Fa-f.:/, ]+$/.test(value)) return value;
  throw new ConfigError('MLDEPLOY_TRUST_PROXY', `expected true, false, a hop count, or comma-separated proxy addresses, got "${value}"`);
}

export function loadConfig(env: Env = process.env, flags: ConfigFlags = {}): Config {
  const home = resolve(pick(env, 'MLDEPLOY_HOME', flags.home).value ?? '.mldeploy');

  const portSetting = flags.port !== undefined || env.PORT ? pick(env, 'PORT', flags.port) : pick(env, 'MLDEPLOY_PORT', undefined);
  const port = Number(portSetting.value ?? 8086);
  if (portSetting.value?.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(portSetting.source, `expected a port number from 0 to 65535, got "${portSetting.value}"`);
  }

  const logLevel = (env.LOG_LEVEL || 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `expected one of ${LOG_LEVELS.join(', ')}, got "${env.LOG_LEVEL}"`);
  }

  const modelName = env.MLDEPLOY_MODEL_NAME || 'clients_model';
  try {
    assertModelName(modelName);
  } catch (error) {
    throw new ConfigError('MLDEPLOY_MODEL_NAME', (error as Error).message);
  }

  const queuePrefix = env.MLDEPLOY_QUEUE_PREFIX || 'mldeploy';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(queuePrefix)) {
    throw new ConfigError('MLDEPLOY_QUEUE_PREFIX', `expected letters, digits, "_", "." or "-" (at most 64), got "${queuePrefix}"`);
  }

  const workerLockMs = Number(env.MLDEPLOY_WORKER_LOCK_MS || 30_000);
  if (!Number.isInteger(workerLockMs) || workerLockMs < 1000) {
    throw new ConfigError('MLDEPLOY_WORKER_LOCK_MS', `expected a whole number of milliseconds from 1000, got "${env.MLDEPLOY_WORKER_LOCK_MS}"`);
  }

  const endpointVariable = env.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : 'MLDEPLOY_S3_ENDPOINT';
  const endpoint = url(env, endpointVariable, undefined, /^https?:\/\/[^\s]+$/i, 'an http:// or https:// URL');
  const accessKeyId = env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const missing = accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY';
    throw new ConfigError(missing, 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: set both or neither');
  }

  return {
    home,
    databaseUrl:
      url(env, 'MLDEPLOY_DATABASE_URL', flags.databaseUrl, /^(sqlite:|postgres(ql)?:\/\/|mysql:\/\/|mariadb:\/\/)/i, 'sqlite:<file>, postgres://... or mysql://...') ??
      `sqlite:${resolve(home, 'mldeploy.db')}`,
    artifactsUrl:
      url(env, 'MLDEPLOY_ARTIFACTS_URL', flags.artifactsUrl, /^(file:|s3:\/\/)/i, 'file:<folder> or s3://bucket/prefix') ??
      pathToFileURL(resolve(home, 'artifacts')).href,
    queueUrl: url(env, 'MLDEPLOY_QUEUE_URL', flags.queueUrl, /^rediss?:\/\//i, 'redis://host:port or rediss://host:port'),
    queuePrefix,
    workerLockMs,
    port,
    host: pick(env, 'MLDEPLOY_HOST', flags.host).value ?? '127.0.0.1',
    modelName,
    logLevel: logLevel as LogLevel,
    s3: {
      ...(endpoint === undefined ? {} : { endpoint }),
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      forcePathStyle: boolean(env, 'MLDEPLOY_S3_FORCE_PATH_STYLE'),
      ...(accessKeyId && secretAccessKey
        ? { credentials: { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) } }
        : {}),
    },
    clientKeys: keys(env, 'MLDEPLOY_API_KEYS'),
    adminKeys: keys(env, 'MLDEPLOY_ADMIN_KEYS'),
    sessionTtlHours: sessionTtlHours(env),
    trustProxy: trustProxy(env),
  };
}
