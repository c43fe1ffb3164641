/**
 * Opens the store named by a URL: `sqlite:<file>` (or `sqlite::memory:`), `postgres://...` / `postgresql://...`,
 * `mysql://...` / `mariadb://...`. One Kysely code path above; the dialect is the only seam.
 */
import { InvalidInputError } from '../errors.js';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  MysqlDialect,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  type SqliteDialectConfig,
} from 'kysely';
import type * as Mysql2 from 'mysql2';
import type * as Pg from 'pg';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres' | 'mysql';

export interface Store {
  db: Kysely<Database>;
  dialect: DialectName;
  /** The URL with any password replaced by `***`, safe to log. */
  displayUrl: string;
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Pool size for PostgreSQL and MySQL. */
  poolSize?: number;
}

// The server drivers load only when a URL names their database: every process pays for SQLite alone otherwise
// (pg and mysql2 take a noticeable part of a CLI command's start-up). Both are CommonJS, so require is synchronous.
const requireDriver = createRequire(import.meta.url);
let pgDriver: typeof Pg | undefined;

function loadPg(): typeof Pg {
  if (!pgDriver) {
    pgDriver = requireDriver('pg') as typeof Pg;
    // int8 (bigint) and numeric come back as strings by default; our counts and versions fit in a double.
    pgDriver.types.setTypeParser(20, (value) => Number(value));
    pgDriver.types.setTypeParser(1700, (value) => Number(value));
  }
  return pgDriver;
}

export function dialectOf(url: string): DialectName {
  const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
  if (scheme === 'sqlite') return 'sqlite';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgres';
  if (scheme === 'mysql' || scheme === 'mariadb') return 'mysql';
  throw new InvalidInputError(
    `Unsupported database URL scheme "${scheme}:" (expected sqlite:<file>, postgres://... or mysql://...)`,
  );
}

export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** `sqlite:/abs/file.db`, `sqlite:rel/file.db`, `sqlite:///abs/file.db` or `sqlite::memory:`. */
export function sqlitePath(url: string): string {
  let rest = url.slice('sqlite:'.length);
  if (rest === ':memory:') return rest;
  if (rest.startsWith('//')) rest = rest.slice(2);
  if (rest === '') throw new InvalidInputError('sqlite: URL names no file (e.g. sqlite:./mldeploy.db)');
  return resolve(decodeURIComponent(rest));
}

/**
 * Kysely prepares every SQLite statement anew; the same few statements (bulk inserts, the prediction log) run
 * thousands of times, so prepared statements are kept by SQL text. Statements run synchronously, so one cached
 * statement is never used by two queries at once (Kysely's .stream() is not used on SQLite).
 */
function withStatementCache(database: SQLite.Database, maxStatements = 256): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) {
        cache.delete(sql); // re-inserted below: the Map's order doubles as least-recently-used order
      } else {
        statement = database.prepare(sql);
        if (cache.size >= maxStatements) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  } as SqliteDatabase;
}

/**
 * SQLite transactions take the write lock when they begin (BEGIN IMMEDIATE), waiting under the busy timeout. With
 * Kysely's plain BEGIN, a transaction that read before another process committed (a serving process logging
 * predictions) fails at its first write with SQLITE_BUSY_SNAPSHOT, at once and whatever the busy timeout: a
 * promotion or a pipeline step beside a busy server would fail.
 */
class WriteLockingSqliteDialect extends SqliteDialect {
  constructor(private readonly settings: SqliteDialectConfig) {
    super(settings);
  }

  override createDriver(): Driver {
    return new (class extends SqliteDriver {
      override async beginTransaction(connection: DatabaseConnection): Promise<void> {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      }
    })(this.settings);
  }
}

export function openStore(url: string, options: StoreOptions = {}): Store {
  const dialect = dialectOf(url);
  const displayUrl = redactUrl(url);
  if (dialect === 'sqlite') {
    const file = sqlitePath(url);
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    const database = new SQLite(file);
    // WAL lets the API read while a pipeline writes; the busy timeout covers the short write locks between processes.
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 10000');
    database.pragma('foreign_keys = ON');
    const db = new Kysely<Database>({ dialect: new WriteLockingSqliteDialect({ database: withStatementCache(database) }) });
    return { db, dialect, displayUrl, close: () => db.destroy() };
  }
  if (dialect === 'postgres') {
    const pool = new (loadPg().Pool)({ connectionString: url, max: options.poolSize ?? 10 });
    // An idle connection that the server drops (restart, failover) is an 'error' event that would crash the process
    // if unhandled; the pool has already discarded that client and the next query opens a new one.
    pool.on('error', () => {});
    // A client in use gets no such listener from the pool, and pg emits 'error' on it too when the server goes away
    // mid-query (a restart): that crashed the process. Its query fails with the error, and the pool discards the
    // client on release because it is no longer queryable.
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect, displayUrl, close: () => db.destroy() };
  }
  const parsed = new URL(url);
  const { createPool } = requireDriver('mysql2') as typeof Mysql2;
  const pool = createPool({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.replace(/^\//, '') || undefined,
    connectionLimit: options.poolSize ?? 10,
    charset: 'utf8mb4',
    timezone: 'Z',
  });
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  return { db, dialect, displayUrl, close: () => db.destroy() };
}
