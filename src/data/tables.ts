/**
 * Data tables made at run time (raw_<dataset>, clean_<dataset>_<hash>): their names, column types, and the one way
 * they are written: into a fresh staging table that replaces the target only when everything succeeded, together with
 * the metadata row that makes it visible. A failure at any point leaves the previous table and metadata as they were.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { DialectName, Store } from '../db/connect.js';
import { assertIdentifier } from '../db/identifiers.js';

const MAX_IDENTIFIER = 48;

function fit(prefix: string, dataset: string, suffix: string): string {
  const room = MAX_IDENTIFIER - prefix.length - suffix.length;
  return assertIdentifier(`${prefix}${dataset.slice(0, room).replace(/_+$/, '')}${suffix}`, 'table name');
}

/** `raw_<dataset>`; a long dataset name is shortened and made unique with a hash of it. */
export function rawTableName(dataset: string): string {
  assertIdentifier(dataset, 'dataset name');
  const plain = `raw_${dataset}`;
  if (plain.length <= MAX_IDENTIFIER) return plain;
  return fit('raw_', dataset, `_${createHash('sha256').update(dataset).digest('hex').slice(0, 8)}`);
}

/** `clean_<dataset>_<first 12 hex of the snapshot hash>` (the dataset part shortened when needed). */
export function cleanTableName(dataset: string, snapshotHash: string): string {
  assertIdentifier(dataset, 'dataset name');
  return fit('clean_', dataset, `_${snapshotHash.slice(0, 12)}`);
}

/** SQL types used in data tables, the same meaning on every dialect. */
export type ColumnKind = 'line' | 'number' | 'integer' | 'flag' | 'string' | 'split';

export interface TableColumn {
  name: string;
  kind: ColumnKind;
}

function sqlType(kind: ColumnKind, dialect: DialectName): ColumnDataType | Expression<unknown> {
  switch (kind) {
    case 'line':
      return 'integer'; // in SQLite an INTEGER primary key is the rowid: no separate index
    case 'number':
      return 'double precision';
    case 'integer':
      return 'bigint';
    case 'flag':
      return 'smallint';
    case 'split':
      return 'varchar(8)';
    case 'string':
      return dialect === 'mysql' ? sql`longtext` : 'text'; // MySQL's text stops at 64 KB
  }
}

async function createTable(
  db: Kysely<Database>,
  dialect: DialectName,
  table: string,
  columns: readonly TableColumn[],
  primaryKey: string[],
): Promise<void> {
  let builder = db.schema.createTable(assertIdentifier(table, 'table name'));
  for (const c of columns) {
    const required = primaryKey.includes(c.name);
    builder = builder.addColumn(assertIdentifier(c.name, 'column name'), sqlType(c.kind, dialect), (col) =>
      required ? col.notNull() : col,
    );
  }
  await builder.addPrimaryKeyConstraint(`${table}_pk`, primaryKey as never).execute();
}

export async function dropTableIfExists(db: Kysely<Database>, table: string): Promise<void> {
  await db.schema.dropTable(assertIdentifier(table, 'table name')).ifExists().execute();
}

export async function tableExists(db: Kysely<Database>, table: string): Promise<boolean> {
  const tables = await db.introspection.getTables();
  return tables.some((t) => t.name === table);
}

/** The tables of one replacement share a random id: `staging_<id>` (being built) and `retired_<id>` (being replaced). */
function newReplacementId(): string {
  return randomBytes(8).toString('hex');
}

const REPLACEMENT_TABLE = /^(staging|retired)_([0-9a-f]{16})$/;

/** The MySQL named lock a replacement holds while its tables exist; it dies with the connection, so with the process. */
function replacementLock(id: string): string {
  return `mldeploy_replace_${id}`;
}

async function tryLock(db: Kysely<Database>, lock: string, waitSeconds: number): Promise<boolean> {
  const { rows } = await sql<{ got: number | null }>`select get_lock(${lock}, ${waitSeconds}) as got`.execute(db);
  return Number(rows[0]?.got) === 1;
}

async function releaseLock(db: Kysely<Database>, lock: string): Promise<void> {
  await sql`select release_lock(${lock})`.execute(db);
}

/**
 * The `staging_*` and `retired_*` tables of this database, by name only: a catalogue query per dialect instead of
 * Kysely's introspection, which reads every column of every table (on MariaDB an information_schema scan, run before
 * every load).
 */
export async function replacementTables(store: Store): Promise<string[]> {
  const { db, dialect } = store;
  const query =
    dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'table'`
      : dialect === 'postgres'
        ? sql<{ name: string }>`select tablename as name from pg_tables where schemaname = current_schema()`
        : sql<Record<string, string>>`show tables`;
  const { rows } = await query.execute(db);
  return rows.map((row) => String(Object.values(row)[0])).filter((name) => REPLACEMENT_TABLE.test(name));
}

/**
 * Drops `staging_*` and `retired_*` tables left by a replacement whose process died (SIGKILL, a crash, a lost
 * machine) and returns their names. Run before every replacement, so a retried or next load cleans up after a killed
 * one. On SQLite and PostgreSQL a replacement's tables live in its transaction, invisible to others, so any visible
 * one is a leftover. On MySQL, where DDL commits at once, a live replacement holds its named lock and is left alone.
 */
export async function dropAbandonedTables(store: Store): Promise<string[]> {
  const leftovers = await replacementTables(store);
  if (leftovers.length === 0) return [];
  if (store.dialect !== 'mysql') {
    for (const name of leftovers) await dropTableIfExists(store.db, name);
    return leftovers;
  }
  return store.db.connection().execute(async (conn) => {
    const dropped: string[] = [];
    for (const name of leftovers) {
      const lock = replacementLock(REPLACEMENT_TABLE.exec(name)![2]);
      if (!(await tryLock(conn, lock, 0))) continue; // its replacement is still running
      try {
        await dropTableIfExists(conn, name);
        dropped.push(name);
      } finally {
        await releaseLock(conn, lock);
      }
    }
    return dropped;
  });
}

/** What `build` gets: where to write, and a way to (re)create the staging table. */
export interface Staging {
  /** Runs the writes; inside the load's transaction. */
  db: Kysely<Database>;
  /** Creates a fresh staging table (dropping one made before) and returns its name. */
  create(columns: readonly TableColumn[], primaryKey: string[]): Promise<string>;
}

/**
 * Builds a new version of `target` and publishes it with its metadata, all or nothing.
 * - SQLite and PostgreSQL: one transaction holds the staging table, its rows, the swap and `record`; DDL is
 *   transactional there, so an error or a crash anywhere rolls everything back.
 * - MySQL/MariaDB commit DDL implicitly, so: the staging table is created, filled in one transaction, swapped in with
 *   one atomic RENAME TABLE, then `record` commits. Any error drops the staging table, or swaps the previous table
 *   back if `record` failed. Only a process killed between the RENAME and the `record` commit can leave the new table
 *   without its metadata (the next load replaces it); one killed earlier leaves a `staging_*` or `retired_*` table, which
 *   the next replacement drops (`dropAbandonedTables`).
 */
export async function replaceTableAtomically<T>(
  store: Store,
  target: string,
  build: (staging: Staging) => Promise<T>,
  record: (db: Kysely<Database>, result: T) => Promise<void>,
): Promise<T> {
  assertIdentifier(target, 'table name');
  await dropAbandonedTables(store);
  const id = newReplacementId();
  const stagingName = `staging_${id}`;
  if (store.dialect !== 'mysql') {
    return store.db.transaction().execute(async (trx) => {
      let staging: string | undefined;
      const result = await build({
        db: trx,
        async create(columns, primaryKey) {
          if (staging) await dropTableIfExists(trx, staging);
          staging = stagingName;
          await createTable(trx, store.dialect, staging, columns, primaryKey);
          return staging;
        },
      });
      if (!staging) throw new Error('internal error: nothing was written to a staging table');
      await dropTableIfExists(trx, target);
      await trx.schema.alterTable(staging).renameTo(target).execute();
      await record(trx, result);
      return result;
    });
  }
  return store.db.connection().execute(async (conn) => {
    const lock = replacementLock(id);
    if (!(await tryLock(conn, lock, 10))) throw new Error(`could not take the lock ${lock} for a new staging table`);
    let staging: string | undefined;
    try {
      const result = await build({
        db: conn,
        async create(columns, primaryKey) {
          await sql`rollback`.execute(conn);
          if (staging) await dropTableIfExists(conn, staging);
          staging = stagingName;
          await createTable(conn, 'mysql', staging, columns, primaryKey);
          await sql`start transaction`.execute(conn);
          return staging;
        },
      });
      if (!staging) throw new Error('internal error: nothing was written to a staging table');
      await sql`commit`.execute(conn);
      const retired = (await tableExists(conn, target)) ? `retired_${id}` : undefined;
      if (retired) {
        await sql`rename table ${sql.table(target)} to ${sql.table(retired)}, ${sql.table(staging)} to ${sql.table(target)}`.execute(conn);
      } else {
        await sql`rename table ${sql.table(staging)} to ${sql.table(target)}`.execute(conn);
      }
      const published = staging;
      staging = undefined;
      try {
        await sql`start transaction`.execute(conn);
        await record(conn, result);
        await sql`commit`.execute(conn);
      } catch (error) {
        await sql`rollback`.execute(conn);
        staging = published;
        if (retired) {
          await sql`rename table ${sql.table(target)} to ${sql.table(published)}, ${sql.table(retired)} to ${sql.table(target)}`.execute(conn);
        } else {
          await sql`rename table ${sql.table(target)} to ${sql.table(published)}`.execute(conn);
        }
        throw error;
      }
      if (retired) await dropTableIfExists(conn, retired);
      return result;
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      if (staging) await dropTableIfExists(conn, staging).catch(() => undefined);
      throw error;
    } finally {
      await releaseLock(conn, lock).catch(() => undefined);
    }
  });
}
