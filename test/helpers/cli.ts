/**
 * Runs the BUILT command line (`node dist/cli/main.js`, made by `npm run build`) the way a user does, against a
 * throwaway MLDEPLOY_HOME, and looks at what it left behind in that home's SQLite file and artifact folder.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';

export const REPO_ROOT = resolve(__dirname, '../..');
export const CLI_MAIN = join(REPO_ROOT, 'dist/cli/main.js');

export interface CliResult {
  /** Exit code; null when the process was killed (see `signal`). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment, e.g. LOG_LEVEL. */
  env?: Record<string, string>;
  /** Kill the process after this long (default 120 s): a hung command fails its test instead of the whole run. */
  timeoutMs?: number;
}

/** A state folder for one test: its own SQLite file and artifacts. */
export interface CliHome {
  dir: string;
  /** Runs `mldeploy ...args` with MLDEPLOY_HOME = dir and no other MLDEPLOY_* from the caller's environment. */
  run(args: string[], options?: CliOptions): Promise<CliResult>;
  /** Runs the command, expects exit 0 and parses stdout as JSON. */
  json<T = unknown>(args: string[], options?: CliOptions): Promise<T>;
  /** Tables made at run time (raw_<dataset>, clean_*, staging_*, retired_*), not the fixed schema. */
  dataTables(): string[];
  /** Row count of a schema table (0 when the database file does not exist yet). */
  count(table: string): number;
  /** Rows of a read-only query on the home's SQLite file ([] when it does not exist yet). */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[];
  /** Files under the artifact folder. */
  artifactFiles(): string[];
  remove(): void;
}

/** The environment of a CLI child: the caller's, minus anything that would point it at another store or queue. */
function childEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('MLDEPLOY_') || key === 'PORT' || key === 'LOG_LEVEL') continue;
    env[key] = value;
  }
  return { ...env, MLDEPLOY_HOME: home, ...extra };
}

export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolvePromise({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
  });
}

/** What a failed command says to the user: its `mldeploy: ...` lines on stderr (log lines and stacks left out). */
export function userError(result: CliResult): string {
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('mldeploy: '))
    .join('\n');
}

/** A compact description of a result, for assertion messages. */
export function describeResult(args: string[], result: CliResult): string {
  return `mldeploy ${args.join(' ')} -> exit ${result.code}${result.signal ? ` (${result.signal})` : ''}\n` +
    `stdout:\n${result.stdout.slice(-3000)}\nstderr:\n${result.stderr.slice(-3000)}`;
}

const RUNTIME_TABLE = /^(raw_(?!loads$|rejects$)|clean_|staging_|retired_)/;

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

export function makeHome(prefix = 'mldeploy-cli-'): CliHome {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const dbFile = join(dir, 'mldeploy.db');
  const withDb = <T>(fallback: T, read: (db: Database.Database) => T): T => {
    if (!existsSync(dbFile)) return fallback;
    const db = new Database(dbFile, { readonly: true, fileMustExist: true });
    try {
      return read(db);
    } finally {
      db.close();
    }
  };
  const home: CliHome = {
    dir,
    run: (args, options = {}) => runCli(args, dir, childEnv(dir, options.env), options.timeoutMs),
    async json<T>(args: string[], options?: CliOptions): Promise<T> {
      const result = await home.run(args, options);
      if (result.code !== 0) throw new Error(describeResult(args, result));
      try {
        return JSON.parse(result.stdout) as T;
      } catch {
        throw new Error(`stdout is not JSON\n${describeResult(args, result)}`);
      }
    },
    dataTables: () =>
      withDb([] as string[], (db) =>
        (db.prepare("select name from sqlite_master where type = 'table' order by name").all() as { name: string }[])
          .map((row) => row.name)
          .filter((name) => RUNTIME_TABLE.test(name)),
      ),
    count: (table) =>
      withDb(0, (db) => {
        if (!/^[a-z_]+$/.test(table)) throw new Error(`not a schema table name: ${table}`);
        return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
      }),
    query: <T>(text: string, ...params: unknown[]) => withDb([] as T[], (db) => db.prepare(text).all(...params) as T[]),
    artifactFiles: () => listFiles(join(dir, 'artifacts')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
  return home;
}
