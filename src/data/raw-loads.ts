/**
 * The raw_loads and raw_rejects rows: what a load recorded, looked up by dataset, and malformed rows kept for
 * diagnosis.
 */
import type { Kysely } from 'kysely';
import type { Store } from '../db/connect.js';
import type { Database, RawLoadsTable } from '../db/schema.js';
import type { ColumnSchema } from './columns.js';
import { formatRecord } from './csv-read.js';

/** What `loadRawData` did. */
export interface RawLoadResult {
  loadId: string;
  dataset: string;
  /** The raw table, `raw_<dataset>`. */
  table: string;
  /** Rows loaded. */
  rows: number;
  /** Malformed rows set aside (in raw_rejects). */
  rejects: number;
  columns: ColumnSchema[];
  /** The field delimiter, sniffed or given: one character, or `\s+` for space-aligned columns. */
  delimiter: string;
  /** The text encoding the file was read with (WHATWG name: utf-8, windows-1252, utf-16le...). */
  encoding: string;
  /** sha256 of the file's bytes. */
  contentHash: string;
  /** True when the same bytes were already the dataset's latest load and nothing was done. */
  skipped: boolean;
  /** Things about the data worth a line in the task log that are not errors (empty columns, infinite values...). */
  notes: string[];
}

/** At most this many rejects per load are stored; the count covers all of them. */
export const MAX_STORED_REJECTS = 1000;

export interface Reject {
  line: number;
  reason: string;
  content: string;
}

/** Malformed rows in file order: every one counted, the first MAX_STORED_REJECTS kept. */
export class RejectLog {
  count = 0;
  readonly kept: Reject[] = [];

  add(line: number, reason: string, record: readonly string[], delimiter: string): void {
    this.count++;
    if (this.kept.length < MAX_STORED_REJECTS) this.kept.push({ line, reason, content: formatRecord(record, delimiter) });
  }

  describeFirst(): string {
    const first = this.kept[0];
    return first ? `line ${first.line}: ${first.reason}` : 'none';
  }
}

/** The dataset's most recent successful load, if any. */
export async function latestLoadedLoad(db: Kysely<Database>, dataset: string): Promise<RawLoadsTable | undefined> {
  return db
    .selectFrom('raw_loads')
    .selectAll()
    .where('dataset', '=', dataset)
    .where('status', '=', 'loaded')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export function loadResultFromRow(row: RawLoadsTable, skipped: boolean): RawLoadResult {
  return {
    loadId: row.id,
    dataset: row.dataset,
    table: row.table_name,
    rows: Number(row.row_count),
    rejects: Number(row.reject_count),
    columns: JSON.parse(row.columns_json) as ColumnSchema[],
    delimiter: row.delimiter,
    encoding: row.encoding ?? 'utf-8',
    contentHash: row.content_hash,
    skipped,
    notes: [],
  };
}

export async function insertRejects(db: Kysely<Database>, loadId: string, rejects: readonly Reject[]): Promise<void> {
  for (let i = 0; i < rejects.length; i += 200) {
    await db
      .insertInto('raw_rejects')
      .values(rejects.slice(i, i + 200).map((r) => ({ load_id: loadId, line: r.line, reason: r.reason, content: r.content })))
      .execute();
  }
}

/**
 * Records a failed load (status 'failed', the error, and the rejects found so far) for diagnosis; best effort, in its
 * own transaction, after the load's own writes were rolled back.
 */
export async function recordFailedLoad(
  store: Store,
  load: Omit<RawLoadsTable, 'status' | 'created_at'>,
  rejects: readonly Reject[],
): Promise<void> {
  await store.db.transaction().execute(async (trx) => {
    await trx
      .insertInto('raw_loads')
      .values({ ...load, status: 'failed', created_at: new Date().toISOString() })
      .execute();
    await insertRejects(trx, load.id, rejects);
  });
}
