/**
 * Row-id columns: integer columns with a distinct value on every row that are named like an id (id, *_id, index,
 * unnamed_0...) or hold a 0..n-1 or 1..n sequence in any order. They identify rows, carry no signal, and would let a
 * model memorise: preprocessing drops them.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { ColumnSchema } from './columns.js';

const ID_NAME = /^(id|idx|index|row|row_?(id|num|number|index)|unnamed_\d+)$|_id$|^id_/;

export function looksLikeIdName(name: string): boolean {
  return ID_NAME.test(name);
}

interface Extremes {
  n: number | string;
  [key: string]: number | string | null;
}

/** The names of the row-id columns among `candidates` (integer columns without missing values) of `table`. */
export async function findRowIdColumns(
  db: Kysely<Database>,
  table: string,
  candidates: readonly ColumnSchema[],
): Promise<string[]> {
  const columns = candidates.filter((c) => c.type === 'integer' && c.missing === 0);
  if (columns.length === 0) return [];
  const aggregates = columns.flatMap((c, i) => [
    sql`min(${sql.ref(c.name)}) as ${sql.id(`min_${i}`)}`,
    sql`max(${sql.ref(c.name)}) as ${sql.id(`max_${i}`)}`,
  ]);
  const { rows } = await sql<Extremes>`select count(*) as n, ${sql.join(aggregates)} from ${sql.table(table)}`.execute(db);
  const n = Number(rows[0].n);
  const ids: string[] = [];
  for (const [i, c] of columns.entries()) {
    const min = Number(rows[0][`min_${i}`]);
    const max = Number(rows[0][`max_${i}`]);
    const sequence = (min === 0 && max === n - 1) || (min === 1 && max === n);
    if (!sequence && !looksLikeIdName(c.name)) continue;
    const distinct = await sql<{ d: number | string }>`select count(distinct ${sql.ref(c.name)}) as d from ${sql.table(table)}`.execute(db);
    if (Number(distinct.rows[0].d) === n) ids.push(c.name);
  }
  return ids;
}
