/** One split of a dataset snapshot as columns, the shape the ML core trains and scores on (`TabularColumns`). */
import { sql } from 'kysely';
import type { Store } from '../db/connect.js';
import { DataError } from './errors.js';
import { readPages } from './raw-read.js';
import { getSnapshot } from './snapshots.js';
import type { SplitName } from './split.js';

export interface SplitData {
  nRows: number;
  /** Numeric features (integer, float, boolean 0/1) as Float64Array with NaN for missing; categoricals as strings. */
  columns: Record<string, Float64Array | (string | null)[]>;
  /** The target: 0/1 (binary), class codes (multi-class) or values (regression, as Float64Array). */
  y: Uint8Array | Float64Array;
}

export async function readSplit(store: Store, snapshotId: string, split: SplitName): Promise<SplitData> {
  if (split !== 'train' && split !== 'val' && split !== 'test') {
    throw new DataError(`split must be train, val or test, got "${split as string}"`);
  }
  const snapshot = await getSnapshot(store, snapshotId);
  const nRows = snapshot.counts[split];
  const columns: SplitData['columns'] = {};
  for (const f of snapshot.features) {
    columns[f.name] = f.type === 'categorical' ? new Array<string | null>(nRows).fill(null) : new Float64Array(nRows);
  }
  const y = snapshot.task === 'regression' ? new Float64Array(nRows) : new Uint8Array(nRows);
  const names = snapshot.features.map((f) => f.name);
  let i = 0;
  for await (const page of readPages(store.db, snapshot.table, ['y', ...names], sql`${sql.ref('split')} = ${split}`)) {
    if (i + page.length > nRows) break;
    for (const row of page) {
      y[i] = Number(row.y);
      for (const f of snapshot.features) {
        const value = row[f.name];
        const column = columns[f.name];
        if (column instanceof Float64Array) column[i] = value === null || value === undefined ? NaN : Number(value);
        else column[i] = value === null || value === undefined ? null : String(value);
      }
      i++;
    }
  }
  if (i !== nRows) {
    throw new DataError(`table ${snapshot.table} does not hold the ${nRows} ${split} rows of snapshot ${snapshot.id}: it was changed`);
  }
  return { nRows, columns, y };
}
