/** Data lineage: CSV files loaded into raw tables, and the cleaned, split snapshots made from them. */
import type { Kysely } from 'kysely';
import type { Database, RawLoadsTable } from '../../db/schema.js';
import { parseJson } from './common.js';

export interface RawLoadView {
  id: string;
  dataset: string;
  tableName: string;
  source: string;
  contentHash: string;
  status: RawLoadsTable['status'];
  rowCount: number;
  rejectCount: number;
  columns: unknown;
  delimiter: string;
  error: string | null;
  createdAt: string;
}

export interface SnapshotView {
  id: string;
  dataset: string;
  rawLoadId: string;
  tableName: string;
  target: string;
  positiveLabel: string;
  features: unknown;
  rowIdColumns: unknown;
  /** { train, val, test, positives: { train, val, test } } */
  counts: unknown;
  contentHash: string;
  seed: number;
  createdAt: string;
}

export interface DatasetsView {
  rawLoads: RawLoadView[];
  snapshots: SnapshotView[];
}

/** The latest `limit` loads and snapshots, newest first, optionally of one dataset. */
export async function listDatasets(db: Kysely<Database>, filter: { dataset?: string; limit: number }): Promise<DatasetsView> {
  let loads = db.selectFrom('raw_loads').selectAll();
  let snapshots = db.selectFrom('dataset_snapshots').selectAll();
  if (filter.dataset) {
    loads = loads.where('dataset', '=', filter.dataset);
    snapshots = snapshots.where('dataset', '=', filter.dataset);
  }
  const [loadRows, snapshotRows] = await Promise.all([
    loads.orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).execute(),
    snapshots.orderBy('created_at', 'desc').orderBy('id').limit(filter.limit).execute(),
  ]);
  return {
    rawLoads: loadRows.map((r) => ({
      id: r.id,
      dataset: r.dataset,
      tableName: r.table_name,
      source: r.source,
      contentHash: r.content_hash,
      status: r.status,
      rowCount: Number(r.row_count),
      rejectCount: Number(r.reject_count),
      columns: parseJson(r.columns_json),
      delimiter: r.delimiter,
      error: r.error,
      createdAt: r.created_at,
    })),
    snapshots: snapshotRows.map((s) => ({
      id: s.id,
      dataset: s.dataset,
      rawLoadId: s.raw_load_id,
      tableName: s.table_name,
      target: s.target,
      positiveLabel: s.positive_label,
      features: parseJson(s.features_json),
      rowIdColumns: parseJson(s.row_id_columns_json),
      counts: parseJson(s.counts_json),
      contentHash: s.content_hash,
      seed: Number(s.seed),
      createdAt: s.created_at,
    })),
  };
}
