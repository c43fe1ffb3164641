/** Small SQL helpers shared by the tracking store and the registry: portable upserts and write-conflict retries. */
import { sql, type InsertQueryBuilder, type InsertResult } from 'kysely';
import type { Database, DialectName } from '../db/index.js';

type Column<TB extends keyof Database> = keyof Database[TB] & string;

/**
 * Turns an insert into "insert or update these columns" on all three dialects: ON CONFLICT ... DO UPDATE on
 * SQLite and PostgreSQL, ON DUPLICATE KEY UPDATE col = VALUES(col) on MySQL/MariaDB (VALUES() is the form both
 * MariaDB and MySQL 8 accept).
 */
export function upsert<TB extends keyof Database>(
  dialect: DialectName,
  insert: InsertQueryBuilder<Database, TB, InsertResult>,
  conflictColumns: readonly Column<TB>[],
  updateColumns: readonly Column<TB>[],
): InsertQueryBuilder<Database, TB, InsertResult> {
  // Kysely cannot type column names chosen at run time; the parameters above are typed instead.
  const query = insert as InsertQueryBuilder<any, any, InsertResult>;
  if (dialect === 'mysql') {
    return query.onDuplicateKeyUpdate(
      Object.fromEntries(updateColumns.map((column) => [column, sql`values(${sql.ref(column)})`])),
    ) as InsertQueryBuilder<Database, TB, InsertResult>;
  }
  return query.onConflict((conflict) =>
    conflict
      .columns([...conflictColumns])
      .doUpdateSet(Object.fromEntries(updateColumns.map((column) => [column, sql.ref(`excluded.${column}`)]))),
  ) as InsertQueryBuilder<Database, TB, InsertResult>;
}

/** Rows per INSERT: far below SQLite's 32766 bound parameters and MySQL's packet limit. */
export const BATCH_ROWS = 500;

export function chunk<T>(items: readonly T[], size = BATCH_ROWS): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * True for errors that mean "another writer got there first" and go away when the transaction is run again:
 * a unique-key race, a deadlock or serialization failure, a busy SQLite database.
 */
export function isWriteConflict(error: unknown): boolean {
  const err = error as { code?: unknown; errno?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  return (
    code === '23505' || // PostgreSQL unique_violation
    code === '40001' || // serialization_failure
    code === '40P01' || // deadlock_detected
    code === 'ER_DUP_ENTRY' ||
    code === 'ER_LOCK_DEADLOCK' ||
    code === 'ER_LOCK_WAIT_TIMEOUT' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code.startsWith('SQLITE_BUSY')
  );
}

/** Runs `attempt` again (with a short random back-off) while it fails with a write conflict. */
export async function retryOnWriteConflict<T>(attempt: () => Promise<T>, maxAttempts = 12): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= maxAttempts || !isWriteConflict(error)) throw error;
      await new Promise((done) => setTimeout(done, Math.random() * 10 * tries));
    }
  }
}
