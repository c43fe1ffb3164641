/** Reading data tables in pages, in row order (keyset pagination on the indexed line column: no OFFSET scans). */
import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import type { Database } from '../db/schema.js';
import { LINE_COLUMN } from './columns.js';

export const PAGE_ROWS = 10_000;

export type DataRow = Record<string, unknown> & { source_line: number | string };

/** Yields pages of `columns` (plus source_line) from `table` in line order, optionally filtered by `where`. */
export async function* readPages(
  db: Kysely<Database>,
  table: string,
  columns: readonly string[],
  where?: Expression<SqlBool>,
): AsyncGenerator<DataRow[]> {
  const selected = sql.join([LINE_COLUMN, ...columns].map((c) => sql.ref(c)));
  let after = 0; // lines start at 1; the header is line 1 or later
  for (;;) {
    const filter = where ? sql`${where} and ${sql.ref(LINE_COLUMN)} > ${after}` : sql`${sql.ref(LINE_COLUMN)} > ${after}`;
    const { rows } = await sql<DataRow>`select ${selected} from ${sql.table(table)} where ${filter} order by ${sql.ref(
      LINE_COLUMN,
    )} limit ${sql.lit(PAGE_ROWS)}`.execute(db);
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < PAGE_ROWS) return;
    after = Number(rows[rows.length - 1].source_line);
  }
}
