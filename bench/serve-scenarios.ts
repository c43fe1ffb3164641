/**
 * Issue 4's acceptance scenarios for serving, run against the built command line (`mldeploy serve`) as a user runs
 * it, under load from 16 keep-alive connections that each send one request after another. Each request carries its
 * own x-request-id (stored with its row) and a row id, so every answer is matched to its stored row.
 *
 *   swap       load for --seconds (60) with a promotion at 1/3 and a rollback at 2/3. Passes with no non-2xx answer,
 *              every answer made by a version that was live (see VERSION_RULE), its stored row carrying the same
 *              version and probability, and exactly one row per 200 (plus at most one per request cut off at the end).
 *   db-outage  The database stopped for --seconds (10) under load, then started again: PostgreSQL (pg_ctl stop -m fast)
 *              or, with --engine mysql, MariaDB (SIGTERM to mariadbd). It runs its own throwaway server (initdb or
 *              mariadb-install-db on a free port, as user postgres or mysql when run as root), never a shared
 *              server. Passes with every 200 stored, only 200/503 answers, no row for a request that got no 200
 *              unless its write was in flight when the database stopped, the server process up throughout, 200s
 *              again within RECOVERY_LIMIT_MS of the restart and none but 200s after that.
 *   sigterm    SIGTERM to `mldeploy serve --workers 2` after --seconds (5) of load. Passes when the process exits 0
 *              after draining and every request that got a 200 has its row.
 *   sigkill    SIGKILL to `mldeploy serve --workers 2` and its workers after --seconds (5) of load, then a new server on
 *              the same port; clients retry unanswered requests with the same request id. Passes when every request
 *              gets its 200 in the end, every 200 has its row, no request has two rows, and the retries of requests
 *              the killed server had stored get the stored answer.
 *
 * In db-outage and sigkill the clients retry a 503 or a lost connection with the same x-request-id, as a careful
 * client does; after the load, a sample of answered requests is sent again and must get the very same answer
 * (prediction id, probability, version) without a second row: /predict is idempotent on the request id.
 *
 *   node build/bench/serve-scenarios.js [swap|db-outage|sigterm|sigkill|all] [--seconds N] [--database-url URL]
 *                                      [--engine postgres|mysql]
 *
 * --database-url is the server swap, sigterm and sigkill make a scratch database on (dropped afterwards); default a temporary
 * SQLite file. The functions are exported for test/serve-scenarios.test.ts, which runs shortened forms.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request, type ClientRequest } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { repoPath } from './paths.js';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { dialectOf, migrateToLatest, openStore, type Store } from '../src/db/index.js';
import { parseModelFile } from '../src/ml/model-format.js';
import type { TabularModel } from '../src/ml/tabular-model.js';
import { FileArtifactRepository } from '../src/tracking/artifacts/index.js';
import { ModelRegistry } from '../src/tracking/registry.js';
import { fitSyntheticLoanModel } from './loan-model.js';
import { freePort } from './ports.js';
import { ORIGINAL_REQUEST } from './original.js';

const run = promisify(execFile);
const CLI = repoPath('dist/cli/main.js');
const MODEL = 'clients_model';
const CONNECTIONS = 16;
/** The server's poll interval for NAME@production (served-models.ts). */
const POLL_INTERVAL_MS = 500;
/** How long after an alias move an answer may still come from the version before: a poll plus a loaded machine. */
const SWAP_LAG_LIMIT_MS = POLL_INTERVAL_MS + 2000;
const VERSION_RULE =
  `an answer's version is one the production alias pointed at some time between ${SWAP_LAG_LIMIT_MS} ms before its ` +
  'request was sent and when it was answered (a move counts from the start of its transaction to its commit); and, ' +
  'with one server process, once an answer came from the new version no request sent later gets an older one';
/** The database restart must give 200s again within this time. */
const RECOVERY_LIMIT_MS = 5000;
const REQUEST_TIMEOUT_MS = 10_000;

export interface ScenarioReport {
  scenario: string;
  passed: boolean;
  /** Each check that failed, with the numbers. */
  failures: string[];
  /** The human summary. */
  lines: string[];
  /** HTTP status -> count over the whole run; 'connection error (CODE)' for no HTTP answer (cut-offs apart). */
  statuses: Record<string, number>;
  answered200: number;
  rowsStored: number;
  /** Rows whose request did not get a 200 (cut off by the load's end, or a write that committed as it gave up). */
  rowsWithout200: number;
  cutOff: number;
}

export interface SwapReport extends ScenarioReport {
  /** Per phase (by send time): version -> answers. */
  phases: Array<{ name: string; versions: Record<number, number> }>;
  /** Per alias move: the last request that still got the version before, sent this long after the move committed. */
  lagsMs: number[];
}

export interface OutageReport extends ScenarioReport, IdempotencyReport {
  answered503DuringOutage: number;
  /** From the database accepting connections again to the first 200 of a request sent after that. */
  recoveryMs: number | undefined;
  non2xxAfterRecovery: number;
  serverExitCode: number | null;
}

/** Retries with the same request id, and answered requests sent again after the load. */
export interface IdempotencyReport {
  /** Requests sent more than once because an attempt got a 503 or no answer. */
  retried: number;
  /** Retries answered from the stored row (Idempotent-Replayed: true): the first attempt was stored, not answered. */
  replayedRetries: number;
  /** Answered requests sent again after the load, and how many got a different answer or a second row. */
  resent: number;
  resentMismatches: number;
}

export interface SigkillReport extends ScenarioReport, IdempotencyReport {
  /** From the SIGKILL to the first 200 from the new server. */
  downtimeMs: number | undefined;
  /** Requests (not cut off at the end) that never got a 200. */
  unanswered: number;
}

export interface SigtermReport extends ScenarioReport {
  exitCode: number | null;
  drainMs: number;
  answered200AfterSignal: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Models and databases

/** One model per variant: they score differently, so an answer shows which version made it. */
function trainVariant(variant: number): TabularModel {
  return fitSyntheticLoanModel({ rows: 1500, seed: 100 + variant, variant, C: variant === 0 ? 0.05 : 5 });
}

/** The published versions, as the server reads them back, to recompute what each version answers. */
type Published = Map<number, TabularModel>;

/** Registers one version per variant and points production at version 1. */
async function publishVersions(store: Store, artifactsDir: string, count: number): Promise<Published> {
  const artifacts = new FileArtifactRepository(artifactsDir);
  const registry = new ModelRegistry(store);
  const published: Published = new Map();
  for (let variant = 0; variant < count; variant++) {
    const text = JSON.stringify(trainVariant(variant).toJSON());
    const key = `scenarios/v${variant + 1}/model.json`;
    await artifacts.put(key, text);
    const { version } = await registry.registerVersion({ name: MODEL, artifactKey: key, metrics: {} });
    published.set(version, parseModelFile(text));
  }
  await registry.setAlias(MODEL, 'production', 1, { action: 'force_promote', reason: 'scenario start' });
  return published;
}

function features(creditScore: number): Record<string, unknown> {
  const { id: _id, ...rest } = ORIGINAL_REQUEST;
  return { ...rest, credit_score: creditScore };
}

/** What `version` answers for a request with this credit score (cached: the scores repeat). */
function expectedProbability(published: Published, cache: Map<string, number>, version: number, creditScore: number): number | undefined {
  const key = `${version}:${creditScore}`;
  let p = cache.get(key);
  if (p === undefined) {
    const model = published.get(version);
    if (!model) return undefined;
    p = model.predictRecords([features(creditScore)]).probability[0];
    cache.set(key, p);
  }
  return p;
}

interface Scratch {
  url: string;
  dialect: 'sqlite' | 'postgres' | 'mysql';
  store: Store;
  dispose(): Promise<void>;
}

/** A fresh, migrated database: a temporary SQLite file, or a new database on the given PostgreSQL/MySQL server. */
async function scratchDatabase(serverUrl: string | undefined, dir: string): Promise<Scratch> {
  const name = `mldeploy_scenario_${randomBytes(4).toString('hex')}`;
  let url: string;
  let drop: () => Promise<void> = async () => {};
  const dialect = serverUrl ? dialectOf(serverUrl) : 'sqlite';
  if (!serverUrl || dialect === 'sqlite') {
    url = serverUrl ?? `sqlite:${join(dir, 'scenario.db')}`;
  } else if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    drop = async () => {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
    url = withDatabase(serverUrl, name);
  } else {
    const admin = await mysql.createConnection(serverUrl);
    await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
    await admin.end();
    drop = async () => {
      const c = await mysql.createConnection(serverUrl);
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      await c.end();
    };
    url = withDatabase(serverUrl, name);
  }
  const store = openStore(url);
  await migrateToLatest(store.db);
  return {
    url,
    dialect,
    store,
    async dispose() {
      await store.close();
      await drop();
    },
  };
}

function withDatabase(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.href;
}

interface StoredRow {
  id: string;
  request_id: string;
  model_version: number;
  probability: number;
}

async function storedRows(store: Store): Promise<StoredRow[]> {
  const rows = await store.db.selectFrom('predictions').select(['id', 'request_id', 'model_version', 'probability']).execute();
  return rows.map((r) => ({ id: r.id, request_id: r.request_id, model_version: Number(r.model_version), probability: Number(r.probability) }));
}

/** The engines db-outage can stop: PostgreSQL or MariaDB. */
export type OutageEngine = 'postgres' | 'mysql';

/** A database server of the scenario's own, which it may stop and start again. */
interface PrivateServer {
  readonly engine: OutageEngine;
  readonly port: number;
  readonly url: string;
  /** What stop() does, for the report. */
  readonly stopMethod: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

/** Database servers refuse to run as root: when we are root, the folder goes to the server's own user. */
async function giveToServiceUser(dir: string, user: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const uid = (await run('id', ['-u', user])).stdout.trim();
  const gid = (await run('id', ['-g', user])).stdout.trim();
  chownSync(dir, Number(uid), Number(gid));
}

/**
 * A PostgreSQL cluster of its own in a temporary folder, on a free port, with its socket in that folder: it can be
 * stopped and started without touching any other server. initdb refuses to run as root, so as root it runs as the
 * postgres user.
 */
export class PrivatePostgres implements PrivateServer {
  readonly engine = 'postgres';
  readonly stopMethod = 'pg_ctl stop -m fast';

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** The folder with initdb and pg_ctl (the newest /usr/lib/postgresql/N/bin), or undefined. */
  static binDir(): string | undefined {
    const root = '/usr/lib/postgresql';
    if (!existsSync(root)) return undefined;
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    return versions.length ? join(root, versions[0], 'bin') : undefined;
  }

  static async create(): Promise<PrivatePostgres> {
    const bin = PrivatePostgres.binDir();
    if (!bin) throw new Error('db-outage needs PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/N/bin');
    const dir = mkdtempSync(join(tmpdir(), 'mldeploy-pg-'));
    await giveToServiceUser(dir, 'postgres');
    const cluster = new PrivatePostgres(bin, dir, await freePort());
    try {
      await cluster.pg('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
      await cluster.start();
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1`;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', join(this.dir, 'server.log'), '-o', options, '-w', 'start']);
  }

  /** Fast shutdown: sessions are cut, nothing committed is lost. */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pg(tool: string, args: string[]): Promise<void> {
    const path = join(this.bin, tool);
    const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    try {
      await run(file, argv, { cwd: this.dir });
    } catch (error) {
      const e = error as Error & { stderr?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
    }
  }
}

/**
 * A MariaDB server of its own: a data folder made by mariadb-install-db in a temporary folder, mariadbd on
 * a free port of 127.0.0.1 with its socket in that folder, root without a password. It can be stopped (SIGTERM, the
 * server's normal shutdown: sessions are killed, nothing committed is lost) and started again on the same data and
 * port without touching any other server. As root, mariadbd runs as the mysql user.
 */
export class PrivateMariadb implements PrivateServer {
  readonly engine = 'mysql';
  readonly stopMethod = 'SIGTERM to mariadbd';
  private process: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    private readonly binaries: { installDb: string; server: string },
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** mariadb-install-db and mariadbd (mysql_install_db and mysqld before MariaDB 10.5) on PATH or in /usr/sbin. */
  static binaries(): { installDb: string; server: string } | undefined {
    const folders = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
    const find = (names: string[]) => {
      for (const name of names) for (const folder of folders) if (existsSync(join(folder, name))) return join(folder, name);
      return undefined;
    };
    const installDb = find(['mariadb-install-db', 'mysql_install_db']);
    const server = find(['mariadbd', 'mysqld']);
    return installDb && server ? { installDb, server } : undefined;
  }

  static async create(): Promise<PrivateMariadb> {
    const binaries = PrivateMariadb.binaries();
    if (!binaries) throw new Error('db-outage --engine mysql needs MariaDB server binaries (mariadb-install-db, mariadbd) on PATH or in /usr/sbin');
    const dir = mkdtempSync(join(tmpdir(), 'mldeploy-mariadb-'));
    const server = new PrivateMariadb(binaries, dir, await freePort());
    try {
      await giveToServiceUser(dir, 'mysql');
      await run(binaries.installDb, [
        '--no-defaults',
        `--datadir=${server.dataDir}`,
        ...server.userOption,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        '--skip-name-resolve',
      ], { cwd: dir }).catch((error: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`mariadb-install-db failed: ${(error.stderr || error.stdout || error.message).trim()}`);
      });
      await server.start();
      const admin = await mysql.createConnection(server.rootUrl);
      await admin.query('CREATE DATABASE mldeploy CHARACTER SET utf8mb4');
      await admin.end();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `${this.rootUrl}mldeploy`;
  }

  private get rootUrl(): string {
    return `mysql://root@127.0.0.1:${this.port}/`;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  private get userOption(): string[] {
    return process.getuid?.() === 0 ? ['--user=mysql'] : [];
  }

  /** Starts mariadbd and waits until it answers a query (60 s at most). */
  async start(): Promise<void> {
    const child = spawn(
      this.binaries.server,
      [
        '--no-defaults',
        `--datadir=${this.dataDir}`,
        `--port=${this.port}`,
        `--socket=${join(this.dir, 'sock')}`,
        `--pid-file=${join(this.dir, 'mariadbd.pid')}`,
        `--log-error=${join(this.dir, 'server.log')}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=32M',
        ...this.userOption,
      ],
      { cwd: this.dir, stdio: 'ignore' },
    );
    this.process = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`mariadbd exited with ${child.exitCode ?? child.signalCode} on start:\n${this.logTail()}`);
      }
      const connection = await mysql.createConnection({ uri: this.rootUrl, connectTimeout: 1000 }).catch(() => undefined);
      if (connection) {
        const answered = await connection.query('SELECT 1').then(() => true, () => false);
        await connection.end().catch(() => {});
        if (answered) return;
      }
      if (Date.now() > deadline) throw new Error(`mariadbd did not accept connections within 60 s:\n${this.logTail()}`);
      await sleep(100);
    }
  }

  /** SIGTERM, then waits for the process to exit. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error('mariadbd is not running');
    child.kill('SIGTERM');
    await this.exited;
    this.process = undefined;
  }

  async destroy(): Promise<void> {
    const child = this.process;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private logTail(): string {
    const file = join(this.dir, 'server.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-15).join('\n') : '(no server log)';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The server (the built CLI) and the load

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** `mldeploy serve` in its own process, on a scratch home, with no API keys. */
class CliServer {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;

  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
  }

  /** `port`: default a free one; `ownGroup`: the server and its workers in a process group of their own (killGroup). */
  static async start(options: {
    databaseUrl: string;
    home: string;
    artifactsDir: string;
    workers: number;
    port?: number;
    ownGroup?: boolean;
  }): Promise<CliServer> {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    if (!options.databaseUrl.startsWith('sqlite:') && !options.databaseUrl.includes('://')) {
      throw new Error(`not a database URL: ${options.databaseUrl}`);
    }
    const port = options.port ?? (await freePort());
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith('MLDEPLOY_') && key !== 'PORT' && key !== 'LOG_LEVEL') env[key] = value;
    }
    const child = spawn(process.execPath, [CLI, 'serve', '--workers', String(options.workers), '--port', String(port)], {
      env: {
        ...env,
        MLDEPLOY_HOME: options.home,
        MLDEPLOY_DATABASE_URL: options.databaseUrl,
        MLDEPLOY_ARTIFACTS_URL: pathToFileURL(options.artifactsDir).href,
        MLDEPLOY_MODEL_NAME: MODEL,
        MLDEPLOY_HOST: '127.0.0.1',
        // Request log lines would cost the server more than the requests themselves.
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.ownGroup ?? false,
    });
    const server = new CliServer(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 60_000;
    const pids = new Set<number>();
    // Ready when every worker has answered /health (a new connection each time, so the primary hands them round).
    while (pids.size < options.workers) {
      if (child.exitCode !== null) throw new Error(`mldeploy serve exited with code ${child.exitCode} before it was ready:\n${server.output}`);
      if (Date.now() > deadline) throw new Error(`mldeploy serve was not ready within 60 s:\n${server.output}`);
      const health = await fetch(`${server.url}/ready`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(2000) }).then(
        async (r) => (r.ok ? ((await r.json()) as { pid: number }) : undefined),
        () => undefined,
      );
      if (health) pids.add(health.pid);
      else await sleep(100);
    }
    return server;
  }

  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL to the server and its workers at once (started with ownGroup), as a crash or the OOM killer does. */
  async killGroup(): Promise<void> {
    process.kill(-this.child.pid!, 'SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then the exit (SIGKILL after 30 s, reported as such). */
  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }
}

interface PredictionAnswer {
  prediction_id: string;
  prediction: number;
  probability: number;
  model: { name: string; version: number };
}

/** One request and what became of it; times are performance.now() in this process. */
interface Exchange {
  requestId: string;
  creditScore: number;
  sentMs: number;
  answeredMs: number;
  /** HTTP status; 0 when no HTTP answer came (connection refused or reset, timeout, cut off). */
  status: number;
  /** Why no HTTP answer came, e.g. ECONNREFUSED. */
  error?: string;
  /** The load ended while it was in flight. */
  cutOff: boolean;
  answer?: PredictionAnswer;
  /** 1 for the first attempt of a request, 2... for its retries (same request id and body). */
  attempt: number;
  /** Answered from the stored row of an earlier attempt (Idempotent-Replayed: true). */
  replayed: boolean;
}

/** `connections` clients, each with its own keep-alive socket, sending one request after another until stopped. */
class Load {
  readonly exchanges: Exchange[] = [];
  private stopped = false;
  private readonly inFlight = new Set<ClientRequest>();
  private readonly loops: Promise<void>[];
  private readonly agents: Agent[] = [];
  private sequence = 0;

  /** With `retry`, a request that got a 503 or no answer is sent again with the same request id until it gets one. */
  constructor(
    private readonly url: URL,
    private readonly tag: string,
    private readonly options: { connections?: number; retry?: boolean } = {},
  ) {
    this.loops = Array.from({ length: options.connections ?? CONNECTIONS }, () => this.loop());
  }

  /** Stops sending; requests still in flight are cut off (their connection closed), like a load tool's end. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const req of this.inFlight) req.destroy(new Error('cut off at the end of the load'));
    await Promise.all(this.loops);
    for (const agent of this.agents) agent.destroy();
  }

  private async loop(): Promise<void> {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    this.agents.push(agent);
    let again: Exchange | undefined;
    while (!this.stopped) {
      const exchange = await this.send(agent, again);
      again = this.options.retry && (exchange.status === 503 || exchange.status === 0) ? exchange : undefined;
      // A refused connection fails at once: do not spin on it.
      if (exchange.status === 0 && !this.stopped) await sleep(20);
    }
  }

  private send(agent: Agent, retryOf?: Exchange): Promise<Exchange> {
    let requestId: string;
    let creditScore: number;
    if (retryOf) {
      ({ requestId, creditScore } = retryOf);
    } else {
      const seq = this.sequence++;
      requestId = `${this.tag}-${seq}`;
      creditScore = 300 + ((seq * 7) % 550);
    }
    const exchange: Exchange = {
      requestId,
      creditScore,
      sentMs: performance.now(),
      answeredMs: 0,
      status: 0,
      cutOff: false,
      attempt: (retryOf?.attempt ?? 0) + 1,
      replayed: false,
    };
    this.exchanges.push(exchange);
    return postPrediction(this.url, agent, exchange, this.inFlight, () => this.stopped);
  }
}

/** The body of a load request: the original's request with the request's row id and credit score. */
function requestBody(exchange: Pick<Exchange, 'requestId' | 'creditScore'>): string {
  return JSON.stringify({ ...ORIGINAL_REQUEST, id: exchange.requestId, credit_score: exchange.creditScore });
}

/** Sends one exchange's request (with its x-request-id) and fills in what came back. */
function postPrediction(
  url: URL,
  agent: Agent,
  exchange: Exchange,
  inFlight: Set<ClientRequest>,
  stopped: () => boolean,
): Promise<Exchange> {
  const body = requestBody(exchange);
  return new Promise((resolve) => {
    const finish = (status: number, error?: Error, text?: string, replayed = false) => {
      if (exchange.answeredMs) return;
      exchange.answeredMs = performance.now();
      exchange.status = status;
      exchange.replayed = replayed;
      if (error) {
        exchange.error = (error as NodeJS.ErrnoException).code ?? error.message;
        exchange.cutOff = stopped();
      }
      if (status === 200 && text) exchange.answer = JSON.parse(text) as PredictionAnswer;
      inFlight.delete(req);
      resolve(exchange);
    };
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/predict',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': exchange.requestId },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          finish(res.statusCode ?? 0, undefined, Buffer.concat(chunks).toString('utf8'), res.headers['idempotent-replayed'] === 'true'),
        );
        res.on('error', (error) => finish(0, error));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (error) => finish(0, error));
    inFlight.add(req);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Checks shared by the scenarios

function statusCounts(exchanges: Exchange[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of exchanges) {
    if (e.cutOff) continue;
    const key = e.status === 0 ? `connection error (${e.error})` : String(e.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function describeCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length ? entries.map(([k, n]) => `${k} x ${n.toLocaleString('en-US')}`).join(', ') : 'none';
}

function non2xx(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([status]) => status !== '200'));
}

/**
 * Every 200 has its row (matched on prediction_id) made by the same request with the answer's version and probability.
 * Rows of requests that got no 200 are counted: those cut off at the end of the load, and the others (a 503 or a lost
 * connection whose write the database still committed).
 */
function matchRows(exchanges: Exchange[], rows: StoredRow[]): { failures: string[]; ofCutOff: number; ofNon200: number } {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const answeredIds = new Set<string>();
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const e of exchanges) {
    if (e.status !== 200 || !e.answer) continue;
    answeredIds.add(e.answer.prediction_id);
    const row = byId.get(e.answer.prediction_id);
    if (!row) missing.push(e.requestId);
    else if (row.request_id !== e.requestId || row.model_version !== e.answer.model.version || row.probability !== e.answer.probability) {
      mismatched.push(
        `${e.requestId}: answered v${e.answer.model.version} p=${e.answer.probability}, stored ${row.request_id} v${row.model_version} p=${row.probability}`,
      );
    }
  }
  const failures: string[] = [];
  const perRequest = new Map<string, number>();
  for (const r of rows) perRequest.set(r.request_id, (perRequest.get(r.request_id) ?? 0) + 1);
  const repeated = [...perRequest].filter(([, count]) => count > 1);
  if (repeated.length) failures.push(`${repeated.length} one-row requests have several stored rows (e.g. ${repeated[0][0]} x ${repeated[0][1]})`);
  if (missing.length) failures.push(`${missing.length} answers with a 200 have no stored row (e.g. ${missing.slice(0, 3).join(', ')})`);
  if (mismatched.length) failures.push(`${mismatched.length} stored rows differ from their answer (e.g. ${mismatched.slice(0, 3).join('; ')})`);
  const cutOff = new Set(exchanges.filter((e) => e.cutOff).map((e) => e.requestId));
  const without200 = rows.filter((r) => !answeredIds.has(r.id));
  const ofCutOff = without200.filter((r) => cutOff.has(r.request_id)).length;
  return { failures, ofCutOff, ofNon200: without200.length - ofCutOff };
}

/**
 * Idempotency on the request id: counts the retries (and those answered from an earlier attempt's stored row), then
 * sends up to `sample` answered requests again, spread over the run, with the same id and body: each must get the
 * very same answer. (No request may have two rows: matchRows checks that on the stored rows.)
 */
async function checkIdempotency(
  url: string,
  exchanges: Exchange[],
  sample = 200,
): Promise<{ report: IdempotencyReport; failures: string[]; line: string }> {
  const retriedIds = new Set(exchanges.filter((e) => e.attempt > 1).map((e) => e.requestId));
  const replayedRetries = exchanges.filter((e) => e.attempt > 1 && e.replayed && e.status === 200).length;
  const answered = exchanges.filter((e) => e.status === 200 && e.answer);
  const step = Math.max(1, Math.floor(answered.length / sample));
  const chosen = answered.filter((_, i) => i % step === 0).slice(0, sample);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const mismatches: string[] = [];
  try {
    const target = new URL(url);
    for (let i = 0; i < chosen.length; i += 4) {
      await Promise.all(
        chosen.slice(i, i + 4).map(async (first) => {
          const again: Exchange = { ...first, answer: undefined, status: 0, answeredMs: 0, attempt: first.attempt + 1, replayed: false };
          await postPrediction(target, agent, again, new Set(), () => false);
          const a = first.answer!;
          const b = again.answer;
          if (
            again.status !== 200 ||
            !again.replayed ||
            b?.prediction_id !== a.prediction_id ||
            b.probability !== a.probability ||
            b.model.version !== a.model.version
          ) {
            mismatches.push(`${first.requestId}: first ${JSON.stringify(a)}, sent again ${again.status} ${JSON.stringify(b)}`);
          }
        }),
      );
    }
  } finally {
    agent.destroy();
  }
  const failures = mismatches.length
    ? [`${mismatches.length} of ${chosen.length} answered requests sent again got another answer (e.g. ${mismatches[0]})`]
    : [];
  const report = { retried: retriedIds.size, replayedRetries, resent: chosen.length, resentMismatches: mismatches.length };
  const line =
    `  idempotency: ${report.retried} requests retried with the same x-request-id, ${replayedRetries} retries answered from ` +
    `the row an earlier attempt stored; ${chosen.length} answered requests sent again: ${mismatches.length} got another answer`;
  return { report, failures, line };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function withVerdict<T extends ScenarioReport>(report: T): T {
  report.passed = report.failures.length === 0;
  return report;
}

/** Times an action on the load's clock: [start, end] in performance.now() ms. */
async function timed(action: () => Promise<unknown>): Promise<{ start: number; end: number }> {
  const start = performance.now();
  await action();
  return { start, end: performance.now() };
}

// ---------------------------------------------------------------------------------------------------------------
// Scenario A: promotion and rollback under load

export async function runSwapScenario(options: { seconds: number; databaseUrl?: string }): Promise<SwapReport> {
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-scenario-swap-'));
  const scratch = await scratchDatabase(options.databaseUrl, dir);
  let server: CliServer | undefined;
  try {
    const published = await publishVersions(scratch.store, join(dir, 'artifacts'), 2);
    server = await CliServer.start({ databaseUrl: scratch.url, home: dir, artifactsDir: join(dir, 'artifacts'), workers: 1 });
    const registry = new ModelRegistry(scratch.store);
    const load = new Load(new URL(server.url), 'swap');
    const t0 = performance.now();
    const durationMs = options.seconds * 1000;
    await sleep(t0 + durationMs / 3 - performance.now());
    const promotion = await timed(() => registry.setAlias(MODEL, 'production', 2, { action: 'promote', reason: 'scenario: promotion under load' }));
    await sleep(t0 + (2 * durationMs) / 3 - performance.now());
    const rollback = await timed(() => registry.rollback(MODEL, 'production', 'scenario: rollback under load'));
    await sleep(t0 + durationMs - performance.now());
    await load.stop();
    // Requests cut off at the end may still be finishing on the server.
    await sleep(1000);
    const exit = await server.stop();
    const rows = await storedRows(scratch.store);

    const exchanges = load.exchanges;
    const failures: string[] = [];
    const statuses = statusCounts(exchanges);
    const errors = non2xx(statuses);
    if (Object.keys(errors).length) failures.push(`non-2xx answers or connection errors: ${describeCounts(errors)}`);

    // The alias timeline: each version from the start of the move to it until the commit of the move away from it.
    const timeline = [
      { version: 1, from: -Infinity, to: promotion.end },
      { version: 2, from: promotion.start, to: rollback.end },
      { version: 1, from: rollback.start, to: Infinity },
    ];
    const moves = [
      { name: 'promotion to v2', ...promotion, from: 1, to: 2, until: rollback.start },
      { name: 'rollback to v1', ...rollback, from: 2, to: 1, until: Infinity },
    ];
    const cache = new Map<string, number>();
    const outOfWindow: string[] = [];
    const wrongScore: string[] = [];
    const ok = exchanges.filter((e) => e.status === 200 && e.answer);
    for (const e of ok) {
      const version = e.answer!.model.version;
      const allowed = timeline.filter((s) => s.from <= e.answeredMs && s.to >= e.sentMs - SWAP_LAG_LIMIT_MS).map((s) => s.version);
      if (!allowed.includes(version)) {
        outOfWindow.push(`${e.requestId} sent at ${seconds(e.sentMs - t0)} answered v${version}, live: v${[...new Set(allowed)].join('/v')}`);
      }
      if (expectedProbability(published, cache, version, e.creditScore) !== e.answer!.probability) {
        wrongScore.push(`${e.requestId}: p=${e.answer!.probability} is not what v${version} gives`);
      }
    }
    if (outOfWindow.length) failures.push(`${outOfWindow.length} answers from a version that was not live (e.g. ${outOfWindow.slice(0, 3).join('; ')})`);
    if (wrongScore.length) failures.push(`${wrongScore.length} answers not made by the version they name (e.g. ${wrongScore.slice(0, 3).join('; ')})`);

    const phases: SwapReport['phases'] = [];
    const lagsMs: number[] = [];
    const count = (list: Exchange[]) => {
      const versions: Record<number, number> = {};
      for (const e of list) versions[e.answer!.model.version] = (versions[e.answer!.model.version] ?? 0) + 1;
      return versions;
    };
    phases.push({ name: `v1 before the promotion (0-${seconds(promotion.start - t0)})`, versions: count(ok.filter((e) => e.sentMs < promotion.start)) });
    for (const move of moves) {
      const inPhase = ok.filter((e) => e.sentMs >= move.start && e.sentMs < move.until);
      phases.push({ name: `${move.name} at ${seconds(move.start - t0)}`, versions: count(inPhase) });
      const fresh = inPhase.filter((e) => e.answer!.model.version === move.to);
      if (fresh.length === 0) {
        failures.push(`the ${move.name} was never served`);
        continue;
      }
      const stale = inPhase.filter((e) => e.answer!.model.version !== move.to);
      lagsMs.push(stale.length ? Math.max(...stale.map((e) => e.sentMs)) - move.end : 0);
      const firstFresh = Math.min(...fresh.map((e) => e.answeredMs));
      const flipBack = stale.filter((e) => e.sentMs > firstFresh);
      if (flipBack.length) {
        failures.push(
          `${flipBack.length} requests sent after v${move.to} had answered (${seconds(firstFresh - t0)}) got v${flipBack[0].answer!.model.version} (${move.name})`,
        );
      }
    }

    const cutOff = exchanges.filter((e) => e.cutOff);
    const matched = matchRows(exchanges, rows);
    failures.push(...matched.failures);
    if (matched.ofNon200) failures.push(`${matched.ofNon200} stored rows belong to no 200 and no cut-off request`);
    if (exit.code !== 0) failures.push(`mldeploy serve exited with ${exit.code ?? exit.signal} on SIGTERM:\n${server.log}`);

    const n = (x: number) => x.toLocaleString('en-US');
    const lines = [
      `swap on ${scratch.dialect}: ${options.seconds} s, ${CONNECTIONS} connections, mldeploy serve --workers 1 (load average ${loadavg()[0].toFixed(1)})`,
      `  answered: ${n(ok.length)} x 200 (${n(Math.round(ok.length / options.seconds))}/s); non-2xx: ${describeCounts(errors)}; cut off at the end: ${cutOff.length}`,
      `  rows stored: ${n(rows.length)} = ${n(ok.length)} (one per 200, matched on prediction_id) + ${matched.ofCutOff} of the ${cutOff.length} cut-off requests + ${matched.ofNon200} others`,
      ...phases.map((p) => `  ${p.name}: ${Object.entries(p.versions).map(([v, c]) => `v${v} x ${n(c)}`).join(', ')}`),
      `  swap lag (last old-version request sent after the move committed): ${lagsMs.map((l) => `${Math.round(l)} ms`).join(', ')} (allowed ${SWAP_LAG_LIMIT_MS} ms)`,
      `  rule: ${VERSION_RULE}`,
    ];
    return withVerdict({
      scenario: `swap (${scratch.dialect})`,
      passed: false,
      failures,
      lines,
      statuses,
      answered200: ok.length,
      rowsStored: rows.length,
      rowsWithout200: matched.ofCutOff + matched.ofNon200,
      cutOff: cutOff.length,
      phases,
      lagsMs,
    });
  } finally {
    if (server?.running) await server.stop();
    await scratch.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scenario B: the database stopped under load

export async function runDbOutageScenario(options: {
  seconds: number;
  warmupSeconds?: number;
  afterSeconds?: number;
  /** The private server to stop: PostgreSQL (default) or MariaDB. */
  engine?: OutageEngine;
}): Promise<OutageReport> {
  const engine = options.engine ?? 'postgres';
  const warmupMs = (options.warmupSeconds ?? 5) * 1000;
  const afterMs = (options.afterSeconds ?? 5) * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-scenario-outage-'));
  const cluster: PrivateServer = engine === 'mysql' ? await PrivateMariadb.create() : await PrivatePostgres.create();
  let store: Store | undefined;
  let server: CliServer | undefined;
  try {
    store = openStore(cluster.url);
    await migrateToLatest(store.db);
    const published = await publishVersions(store, join(dir, 'artifacts'), 1);
    server = await CliServer.start({ databaseUrl: cluster.url, home: dir, artifactsDir: join(dir, 'artifacts'), workers: 1 });
    const load = new Load(new URL(server.url), 'outage', { retry: true });
    await sleep(warmupMs);
    const stopped = await timed(() => cluster.stop());
    await sleep(options.seconds * 1000);
    const restarted = await timed(() => cluster.start());
    const recoveredBy = restarted.end + RECOVERY_LIMIT_MS;
    const firstRecovered = () => load.exchanges.find((e) => e.status === 200 && e.sentMs >= restarted.end);
    while (!firstRecovered() && performance.now() < recoveredBy) await sleep(50);
    await sleep(afterMs);
    const serverUpThroughout = server.running;
    await load.stop();
    await sleep(1000);
    const idempotency = await checkIdempotency(server.url, load.exchanges);
    const exit = await server.stop();
    const rows = await storedRows(store);

    const exchanges = load.exchanges;
    const failures: string[] = [...idempotency.failures];
    const statuses = statusCounts(exchanges);
    const unexpected = Object.fromEntries(Object.entries(statuses).filter(([s]) => s !== '200' && s !== '503'));
    if (Object.keys(unexpected).length) failures.push(`answers other than 200 and 503: ${describeCounts(unexpected)}`);
    if (!serverUpThroughout) failures.push(`mldeploy serve exited during the scenario:\n${server.log}`);
    if (exit.code !== 0) failures.push(`mldeploy serve exited with ${exit.code ?? exit.signal} on SIGTERM:\n${server.log}`);
    const matched = matchRows(exchanges, rows);
    failures.push(...matched.failures);
    // A write in flight when the database went down can commit without its acknowledgement reaching the server
    // (MariaDB commits the running INSERTs on SIGTERM, then closes the connection): its request gets a 503 but its
    // row is stored. Any other request answered without a 200 must have left no row.
    const answeredIds = new Set(exchanges.flatMap((e) => (e.status === 200 && e.answer ? [e.answer.prediction_id] : [])));
    const byRequest = new Map(exchanges.map((e) => [e.requestId, e]));
    const strayRows = rows.filter((r) => {
      if (answeredIds.has(r.id)) return false;
      const e = byRequest.get(r.request_id);
      return !e || (!e.cutOff && e.sentMs > stopped.end);
    });
    if (strayRows.length) {
      failures.push(`${strayRows.length} rows stored for requests sent after the database went down that got no 200 (e.g. ${strayRows[0].request_id})`);
    }
    const cache = new Map<string, number>();
    const wrongScore = exchanges.filter((e) => e.answer && expectedProbability(published, cache, 1, e.creditScore) !== e.answer.probability);
    if (wrongScore.length) failures.push(`${wrongScore.length} answers are not what version 1 gives`);

    // A request in flight when the stop began may get a 503: it counts as during the outage.
    const before = exchanges.filter((e) => e.answeredMs < stopped.start);
    const during = exchanges.filter((e) => e.answeredMs >= stopped.start && e.sentMs < restarted.end);
    const after = exchanges.filter((e) => e.sentMs >= restarted.end);
    const during503 = during.filter((e) => e.status === 503);
    if (during503.length === 0) failures.push('no 503 while the database was stopped: the outage did not reach the API');
    const beforeErrors = non2xx(statusCounts(before));
    if (Object.keys(beforeErrors).length) failures.push(`non-2xx before the database stopped: ${describeCounts(beforeErrors)}`);
    const recovered = firstRecovered();
    const recoveryMs = recovered ? recovered.answeredMs - restarted.end : undefined;
    if (recoveryMs === undefined || recoveryMs > RECOVERY_LIMIT_MS) {
      failures.push(`no 200 within ${RECOVERY_LIMIT_MS} ms of the database restart`);
    }
    const afterRecovery = recovered ? exchanges.filter((e) => e.sentMs > recovered.answeredMs && !e.cutOff) : [];
    const afterRecoveryErrors = non2xx(statusCounts(afterRecovery));
    const non2xxAfterRecovery = Object.values(afterRecoveryErrors).reduce((a, b) => a + b, 0);
    if (non2xxAfterRecovery) failures.push(`non-2xx after recovery: ${describeCounts(afterRecoveryErrors)}`);
    const slowest503 = during503.length ? Math.max(...during503.map((e) => e.answeredMs - e.sentMs)) : 0;

    const n = (x: number) => x.toLocaleString('en-US');
    const lines = [
      `db-outage on a private ${engine === 'mysql' ? 'MariaDB server' : 'PostgreSQL cluster'} (port ${cluster.port}): ${options.seconds} s stopped under ${CONNECTIONS} connections, mldeploy serve --workers 1 (load average ${loadavg()[0].toFixed(1)})`,
      `  answered before the stop (${seconds(warmupMs)} of load): ${describeCounts(statusCounts(before))}`,
      `  in flight at the stop or sent until the restart (${cluster.stopMethod} took ${Math.round(stopped.end - stopped.start)} ms, the start until it answered ${Math.round(restarted.end - restarted.start)} ms): ${describeCounts(statusCounts(during))}; slowest 503 ${Math.round(slowest503)} ms`,
      `  sent after the restart: ${describeCounts(statusCounts(after))}`,
      `  recovered: first 200 ${recoveryMs === undefined ? 'never' : `${Math.round(recoveryMs)} ms`} after the database accepted connections again; non-2xx after that: ${non2xxAfterRecovery}`,
      `  rows stored: ${n(rows.length)}; every one of the ${n(exchanges.filter((e) => e.status === 200).length)} 200s has its row, and no request has two: ${matched.failures.length ? 'NO' : 'yes'}; rows without a 200: ${matched.ofNon200} of requests answered 503 whose write was in flight at the stop (committed, acknowledgement lost) and not retried since, ${matched.ofCutOff} of the ${exchanges.filter((e) => e.cutOff).length} cut off at the end`,
      `  server: ${serverUpThroughout ? 'up throughout' : 'EXITED'}, exit ${exit.code ?? exit.signal} on SIGTERM`,
      idempotency.line,
    ];
    return withVerdict({
      ...idempotency.report,
      scenario: `db-outage (${engine})`,
      passed: false,
      failures,
      lines,
      statuses,
      answered200: exchanges.filter((e) => e.status === 200).length,
      rowsStored: rows.length,
      rowsWithout200: matched.ofCutOff + matched.ofNon200,
      cutOff: exchanges.filter((e) => e.cutOff).length,
      answered503DuringOutage: during503.length,
      recoveryMs,
      non2xxAfterRecovery,
      serverExitCode: exit.code,
    });
  } finally {
    if (server?.running) await server.stop();
    await store?.close();
    await cluster.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scenario C: SIGTERM under load to mldeploy serve --workers 2

export async function runSigtermScenario(options: { seconds: number; databaseUrl?: string }): Promise<SigtermReport> {
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-scenario-sigterm-'));
  const scratch = await scratchDatabase(options.databaseUrl, dir);
  let server: CliServer | undefined;
  try {
    await publishVersions(scratch.store, join(dir, 'artifacts'), 1);
    server = await CliServer.start({ databaseUrl: scratch.url, home: dir, artifactsDir: join(dir, 'artifacts'), workers: 2 });
    const load = new Load(new URL(server.url), 'sigterm');
    await sleep(options.seconds * 1000);
    const signalAt = performance.now();
    server.child.kill('SIGTERM');
    const timer = setTimeout(() => server!.child.kill('SIGKILL'), 30_000);
    const exit = await server.exited;
    clearTimeout(timer);
    await load.stop();
    const rows = await storedRows(scratch.store);

    const exchanges = load.exchanges;
    const failures: string[] = [];
    const statuses = statusCounts(exchanges);
    if (exit.code !== 0) failures.push(`mldeploy serve exited with ${exit.code ?? exit.signal} after SIGTERM:\n${server.log}`);
    const before = exchanges.filter((e) => e.answeredMs < signalAt && !e.cutOff);
    const beforeErrors = non2xx(statusCounts(before));
    if (Object.keys(beforeErrors).length) failures.push(`non-2xx before SIGTERM: ${describeCounts(beforeErrors)}`);
    const after = exchanges.filter((e) => e.answeredMs >= signalAt && !e.cutOff);
    const afterStatuses = statusCounts(after);
    const unexpected = Object.fromEntries(
      Object.entries(afterStatuses).filter(([s]) => s !== '200' && s !== '503' && !s.startsWith('connection error')),
    );
    if (Object.keys(unexpected).length) failures.push(`answers other than 200, 503 or a closed connection while draining: ${describeCounts(unexpected)}`);
    const matched = matchRows(exchanges, rows);
    failures.push(...matched.failures);
    const ok = exchanges.filter((e) => e.status === 200);
    const answered200AfterSignal = after.filter((e) => e.status === 200).length;
    // Sent before the signal, no HTTP answer: a request that reached a keep-alive connection as the server closed it.
    const lostInFlight = after.filter((e) => e.status === 0 && e.sentMs < signalAt).length;

    const n = (x: number) => x.toLocaleString('en-US');
    const drainMs = exit.at - signalAt;
    const lines = [
      `sigterm on ${scratch.dialect}: SIGTERM after ${options.seconds} s of ${CONNECTIONS} connections to mldeploy serve --workers 2 (load average ${loadavg()[0].toFixed(1)})`,
      `  before SIGTERM: ${describeCounts(statusCounts(before))}`,
      `  answered after SIGTERM: ${describeCounts(afterStatuses)} (connection errors for requests sent before it: ${lostInFlight})`,
      `  exit ${exit.code ?? exit.signal} ${Math.round(drainMs)} ms after SIGTERM`,
      `  rows stored: ${n(rows.length)}; every one of the ${n(ok.length)} 200s has its row: ${matched.failures.length ? 'NO' : 'yes'}; rows without a 200: ${matched.ofNon200 + matched.ofCutOff}`,
    ];
    return withVerdict({
      scenario: `sigterm (${scratch.dialect})`,
      passed: false,
      failures,
      lines,
      statuses,
      answered200: ok.length,
      rowsStored: rows.length,
      rowsWithout200: matched.ofCutOff + matched.ofNon200,
      cutOff: exchanges.filter((e) => e.cutOff).length,
      exitCode: exit.code,
      drainMs,
      answered200AfterSignal,
    });
  } finally {
    if (server?.running) await server.stop();
    await scratch.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scenario D: SIGKILL under load to mldeploy serve --workers 2, a new server, clients retrying with the same id

export async function runSigkillScenario(options: { seconds: number; databaseUrl?: string }): Promise<SigkillReport> {
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-scenario-sigkill-'));
  const scratch = await scratchDatabase(options.databaseUrl, dir);
  const servers: CliServer[] = [];
  try {
    const published = await publishVersions(scratch.store, join(dir, 'artifacts'), 1);
    const start = (port?: number) =>
      CliServer.start({ databaseUrl: scratch.url, home: dir, artifactsDir: join(dir, 'artifacts'), workers: 2, port, ownGroup: true });
    const first = await start();
    servers.push(first);
    const url = new URL(first.url);
    const load = new Load(url, 'sigkill', { retry: true });
    await sleep(options.seconds * 1000);
    const killedAt = performance.now();
    await first.killGroup();
    const second = await start(Number(url.port));
    servers.push(second);
    // Every client gets a 200 from the new server (its retries included) before the load stops.
    const backBy = performance.now() + 30_000;
    const answeredAfter = () => new Set(load.exchanges.filter((e) => e.status === 200 && e.sentMs > killedAt).map((e) => e.requestId)).size;
    while (answeredAfter() < CONNECTIONS * 3 && performance.now() < backBy) await sleep(100);
    await load.stop();
    await sleep(1000);
    const idempotency = await checkIdempotency(second.url, load.exchanges);
    const exit = await second.stop();
    const rows = await storedRows(scratch.store);

    const exchanges = load.exchanges;
    const failures: string[] = [...idempotency.failures];
    const statuses = statusCounts(exchanges);
    const unexpected = Object.fromEntries(
      Object.entries(statuses).filter(([s]) => s !== '200' && s !== '503' && !s.startsWith('connection error')),
    );
    if (Object.keys(unexpected).length) failures.push(`answers other than 200, 503 or a lost connection: ${describeCounts(unexpected)}`);
    const matched = matchRows(exchanges, rows);
    failures.push(...matched.failures);
    if (matched.ofNon200) failures.push(`${matched.ofNon200} stored rows belong to no 200 and no cut-off request: their retry did not find them`);
    const answered = new Set(exchanges.filter((e) => e.status === 200).map((e) => e.requestId));
    const cutOffIds = new Set(exchanges.filter((e) => e.cutOff).map((e) => e.requestId));
    const unanswered = new Set(exchanges.filter((e) => !answered.has(e.requestId) && !cutOffIds.has(e.requestId)).map((e) => e.requestId));
    if (unanswered.size) failures.push(`${unanswered.size} requests never got a 200 (e.g. ${[...unanswered][0]})`);
    if (idempotency.report.retried === 0) failures.push('no request was retried: the SIGKILL cut nothing off');
    const cache = new Map<string, number>();
    const wrongScore = exchanges.filter((e) => e.answer && expectedProbability(published, cache, 1, e.creditScore) !== e.answer.probability);
    if (wrongScore.length) failures.push(`${wrongScore.length} answers are not what version 1 gives`);
    if (exit.code !== 0) failures.push(`the new mldeploy serve exited with ${exit.code ?? exit.signal} on SIGTERM:\n${second.log}`);
    const firstAfter = exchanges.filter((e) => e.status === 200 && e.sentMs > killedAt).map((e) => e.answeredMs);
    const downtimeMs = firstAfter.length ? Math.min(...firstAfter) - killedAt : undefined;

    const n = (x: number) => x.toLocaleString('en-US');
    const lines = [
      `sigkill on ${scratch.dialect}: SIGKILL to mldeploy serve --workers 2 and its workers after ${options.seconds} s of ${CONNECTIONS} connections, then a new server on the same port (load average ${loadavg()[0].toFixed(1)})`,
      `  answers: ${describeCounts(statuses)}; first 200 from the new server ${downtimeMs === undefined ? 'never' : `${Math.round(downtimeMs)} ms`} after the kill`,
      `  rows stored: ${n(rows.length)}; every 200 has its row, and no request has two: ${matched.failures.length ? 'NO' : 'yes'}; requests that never got a 200: ${unanswered.size}`,
      idempotency.line,
    ];
    return withVerdict({
      ...idempotency.report,
      scenario: `sigkill (${scratch.dialect})`,
      passed: false,
      failures,
      lines,
      statuses,
      answered200: exchanges.filter((e) => e.status === 200).length,
      rowsStored: rows.length,
      rowsWithout200: matched.ofCutOff + matched.ofNon200,
      cutOff: cutOffIds.size,
      downtimeMs,
      unanswered: unanswered.size,
    });
  } finally {
    for (const server of servers) if (server.running) await server.killGroup().catch(() => {});
    await scratch.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------

const USAGE =
  'usage: node build/bench/serve-scenarios.js [swap|db-outage|sigterm|sigkill|all] [--seconds N] [--database-url URL] [--engine postgres|mysql]\n' +
  '  --seconds: swap run length (default 60), db-outage time stopped (10), sigterm and sigkill load before the signal (5)\n' +
  '  --database-url: server for the scratch database of swap, sigterm and sigkill (default a temporary SQLite file);\n' +
  '    db-outage always runs its own throwaway server\n' +
  '  --engine: the server db-outage runs and stops: postgres (default) or mysql (MariaDB)';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const unknown = args.filter((a) => a.startsWith('--') && !['--seconds', '--database-url', '--engine'].includes(a));
  if (unknown.length) {
    process.stderr.write(`unknown option ${unknown.join(', ')}\n${USAGE}\n`);
    process.exit(2);
  }
  const which = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 'all';
  if (!['swap', 'db-outage', 'sigterm', 'sigkill', 'all'].includes(which)) {
    process.stderr.write(`unknown scenario "${which}"\n${USAGE}\n`);
    process.exit(2);
  }
  const given = flag('seconds');
  const secondsOr = (fallback: number) => {
    const s = Number(given ?? fallback);
    if (!(s > 0)) {
      process.stderr.write(`--seconds must be a positive number, got "${given}"\n${USAGE}\n`);
      process.exit(2);
    }
    return s;
  };
  const databaseUrl = flag('database-url');
  const engine = flag('engine') ?? 'postgres';
  if (engine !== 'postgres' && engine !== 'mysql') {
    process.stderr.write(`--engine must be postgres or mysql, got "${engine}"\n${USAGE}\n`);
    process.exit(2);
  }
  const reports: ScenarioReport[] = [];
  const print = (report: ScenarioReport) => {
    process.stdout.write(`${report.lines.join('\n')}\n${report.passed ? 'PASS' : `FAIL\n${report.failures.map((f) => `  - ${f}`).join('\n')}`}\n\n`);
    reports.push(report);
  };
  if (which === 'swap' || which === 'all') print(await runSwapScenario({ seconds: secondsOr(60), databaseUrl }));
  if (which === 'db-outage' || which === 'all') print(await runDbOutageScenario({ seconds: secondsOr(10), engine }));
  if (which === 'sigterm' || which === 'all') print(await runSigtermScenario({ seconds: secondsOr(5), databaseUrl }));
  if (which === 'sigkill' || which === 'all') print(await runSigkillScenario({ seconds: secondsOr(5), databaseUrl }));
  const failed = reports.filter((r) => !r.passed);
  process.stdout.write(
    `${reports.map((r) => `${r.passed ? 'PASS' : 'FAIL'} ${r.scenario}`).join('\n')}\n${failed.length ? `${failed.length} of ${reports.length} failed` : 'all passed'}\n`,
  );
  process.exitCode = failed.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
