/** Dataset snapshots: the cleaned, split tables that runs and model versions point to. */
import type { Kysely } from 'kysely';
import type { Store } from '../db/connect.js';
import type { Database, DatasetSnapshotsTable } from '../db/schema.js';
import type { FeatureSpec, Task } from '../ml/types.js';
import { DataError } from './errors.js';
import type { SplitName } from './split.js';

export interface SnapshotCounts {
  train: number;
  val: number;
  test: number;
  /** Rows with y = 1 per split (binary; 0 for the other tasks). */
  positives: Record<SplitName, number>;
  /** Multi-class: rows of each class (in class-code order) per split. */
  classCounts?: Record<SplitName, number[]>;
  /** Rows left out because their target was missing. */
  droppedMissingTarget: number;
}

export interface DatasetSnapshot {
  id: string;
  dataset: string;
  /** The clean table: `clean_<dataset>_<12 hex of contentHash>`, with `split`, `y` and the feature columns. */
  table: string;
  rawLoadId: string;
  /** The target column (normalised name). */
  target: string;
  /** binary, multiclass or regression: what y holds (0/1, a class code into `classes`, a number). */
  task: Task;
  /** Why this task: detected from the target, or given. */
  taskReason?: string;
  /** Multi-class: the target's labels in class-code order. */
  classes?: string[];
  /** The target value mapped to y = 1 (binary; empty for the other tasks). */
  positiveLabel: string;
  /** The value mapped to y = 0 when the target has exactly two; undefined when 0 means "any other value". */
  negativeLabel?: string;
  features: FeatureSpec[];
  /** Columns dropped as row ids. */
  rowIdColumns: string[];
  counts: SnapshotCounts;
  /** sha256 identifying the snapshot's content: the raw bytes, their inferred schema and every preprocessing option. */
  contentHash: string;
  seed: number;
  createdAt: string;
}

export function snapshotFromRow(row: DatasetSnapshotsTable): DatasetSnapshot {
  return {
    id: row.id,
    dataset: row.dataset,
    table: row.table_name,
    rawLoadId: row.raw_load_id,
    target: row.target,
    task: (row.task ?? 'binary') as Task,
    ...(row.task_reason ? { taskReason: row.task_reason } : {}),
    ...(row.classes_json ? { classes: JSON.parse(row.classes_json) as string[] } : {}),
    positiveLabel: row.positive_label,
    negativeLabel: row.negative_label ?? undefined,
    features: JSON.parse(row.features_json) as FeatureSpec[],
    rowIdColumns: JSON.parse(row.row_id_columns_json) as string[],
    counts: JSON.parse(row.counts_json) as SnapshotCounts,
    contentHash: row.content_hash,
    seed: Number(row.seed),
    createdAt: row.created_at,
  };
}

export function snapshotRow(s: DatasetSnapshot): DatasetSnapshotsTable {
  return {
    id: s.id,
    dataset: s.dataset,
    raw_load_id: s.rawLoadId,
    table_name: s.table,
    target: s.target,
    positive_label: s.positiveLabel,
    negative_label: s.negativeLabel ?? null,
    features_json: JSON.stringify(s.features),
    row_id_columns_json: JSON.stringify(s.rowIdColumns),
    counts_json: JSON.stringify(s.counts),
    content_hash: s.contentHash,
    seed: s.seed,
    created_at: s.createdAt,
    task: s.task === 'binary' ? null : s.task,
    task_reason: s.taskReason ?? null,
    classes_json: s.classes ? JSON.stringify(s.classes) : null,
  };
}

export async function findSnapshotByHash(
  db: Kysely<Database>,
  dataset: string,
  contentHash: string,
): Promise<DatasetSnapshot | undefined> {
  const row = await db
    .selectFrom('dataset_snapshots')
    .selectAll()
    .where('dataset', '=', dataset)
    .where('content_hash', '=', contentHash)
    .executeTakeFirst();
  return row && snapshotFromRow(row);
}

export async function getSnapshot(store: Store, id: string): Promise<DatasetSnapshot> {
  const row = await store.db.selectFrom('dataset_snapshots').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new DataError(`dataset snapshot ${id} not found`);
  return snapshotFromRow(row);
}

/** The dataset's most recent snapshot, or undefined when it has none. */
export async function latestSnapshot(store: Store, dataset: string): Promise<DatasetSnapshot | undefined> {
  const row = await store.db
    .selectFrom('dataset_snapshots')
    .selectAll()
    .where('dataset', '=', dataset)
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row && snapshotFromRow(row);
}
