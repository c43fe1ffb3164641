/**
 * `preprocess_data`: the dataset's latest raw table -> a clean table with a stratified, seeded train/val/test split,
 * the target as y (0/1), and the feature columns (row ids and free text dropped), recorded as a dataset snapshot.
 * Imputation and scaling are not done here: they belong to the model pipeline, fitted on the train split only.
 */
import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Store } from '../db/connect.js';
import { assertIdentifier } from '../db/identifiers.js';
import type { FeatureSpec, FeatureType } from '../ml/types.js';
import { BulkInserter } from './bulk-insert.js';
import { LINE_COLUMN, resolveColumn, type ColumnSchema } from './columns.js';
import { DataError } from './errors.js';
import { latestLoadedLoad } from './raw-loads.js';
import { readPages } from './raw-read.js';
import { findRowIdColumns } from './row-ids.js';
import {
  findSnapshotByHash,
  snapshotRow,
  type DatasetSnapshot,
  type SnapshotCounts,
} from './snapshots.js';
import { allocate, assignSplits, checkFractions, DEFAULT_FRACTIONS, NO_SPLIT, SPLITS, type Fractions } from './split.js';
import { cleanTableName, replaceTableAtomically, tableExists, type ColumnKind, type TableColumn } from './tables.js';
import { choosePositiveLabel, labelText, normaliseLabel, type LabelCount } from './target.js';
import { decideTask, sortClasses, type TaskDecision } from './task.js';
import type { Task } from '../ml/types.js';

export const DEFAULT_SEED = 1337;
/** SQL type of the y column by its kind (binary, multi-class, regression), for the split assignment table. */
const Y_SQL_TYPE: Partial<Record<ColumnKind, 'smallint' | 'bigint' | 'double precision'>> = {
  flag: 'smallint',
  integer: 'bigint',
  number: 'double precision',
};
/** Column names of the clean table that features cannot have. */
export const CLEAN_TABLE_COLUMNS = [LINE_COLUMN, 'split', 'y'] as const;
/** A target with more distinct values than this is not a class label. */
const MAX_TARGET_VALUES = 10_000;
/** Bump when the clean table's content for the same inputs changes (it is part of the snapshot hash). */
const FORMAT = 1;

export interface PreprocessOptions {
  dataset: string;
  /** The target column, as written in the file or normalised. */
  target: string;
  /** The target value that means y = 1; needed unless the values are an obvious pair (0/1, yes/no, y/n, true/false). */
  positiveLabel?: string;
  /** binary, multiclass or regression; detected from the target when not given. */
  task?: Task;
  /** Seed of the split (default 1337). */
  seed?: number;
  /** Train, validation and test shares (default [0.7, 0.1, 0.2]). */
  fractions?: readonly [number, number, number];
  /** Columns to leave out besides row ids and text columns. */
  dropColumns?: string[];
  /** Told which columns are left out of the features and why (for the task log). */
  onNote?: (note: string) => void;
}

/**
 * The target of every raw row, in line order: label codes (-1 = missing) into `counts`, and for a numeric target its
 * values. A numeric target may have any number of distinct values (a regression target); past MAX_TARGET_VALUES they
 * are no longer counted (`manyValues`, code -2), and any other target with that many is refused.
 */
async function readLabels(store: Store, table: string, target: ColumnSchema) {
  const lines: number[] = [];
  const codes: number[] = [];
  const values: number[] = [];
  const numeric = target.type === 'integer' || target.type === 'float';
  const index = new Map<string, number>();
  const counts: LabelCount[] = [];
  let manyValues = false;
  for await (const page of readPages(store.db, table, [target.name])) {
    for (const row of page) {
      lines.push(Number(row.source_line));
      const raw = row[target.name];
      if (numeric) values.push(raw === null || raw === undefined ? NaN : Number(raw));
      const text = labelText(raw, target);
      if (text === null) {
        codes.push(-1);
        continue;
      }
      let code = index.get(text);
      if (code === undefined) {
        if (index.size === MAX_TARGET_VALUES) {
          if (!numeric) throw new DataError(`target "${target.name}" has more than ${MAX_TARGET_VALUES} distinct values: it is not a class label`);
          manyValues = true;
          codes.push(-2);
          continue;
        }
        code = index.size;
        index.set(text, code);
        counts.push({ value: text, count: 0 });
      }
      counts[code].count++;
      codes.push(code);
    }
  }
  return { lines, codes, counts, values, manyValues };
}

/** The target column; when it is not found and the column names look like values, the hint to read the file header-less. */
function resolveTarget(columns: readonly ColumnSchema[], given: string): ColumnSchema {
  try {
    return resolveColumn(columns, given);
  } catch (error) {
    const numeric = columns.map((c) => c.original.trim()).filter((name) => name !== '' && Number.isFinite(Number(name)));
    if (numeric.length === 0) throw error;
    throw new DataError(
      `${(error as Error).message}. Some column names are numbers (${numeric.slice(0, 3).join(', ')}): if the file has no ` +
        'header line, load it with --no-header --columns NAME,NAME,...',
    );
  }
}

function leftOutBecause(
  c: ColumnSchema,
  target: ColumnSchema,
  dropped: readonly string[],
  rowIds: readonly string[],
  rows: number,
): string | undefined {
  if (c === target) return undefined;
  if (dropped.includes(c.name)) return 'dropped as asked';
  if (rowIds.includes(c.name)) return 'a row id (a distinct value per row)';
  if (c.type !== 'text') return undefined;
  if (c.missing === rows) return `empty (no value in any of the ${rows} rows)`;
  return `free text (${c.distinct === undefined ? 'too many' : c.distinct} distinct values: not a number, not a category)`;
}

/**
 * Each stratum (class) must put a row in every split with a share (so each split has every class for its metrics):
 * with the default shares that is 3 rows of each class (3 rows for regression); a smaller file fails here instead of
 * inside a model fit. `names` name the strata (none: one stratum, regression).
 */
function checkEnoughRows(strata: Uint8Array, names: readonly string[], fractions: Fractions): void {
  const perStratum = new Array<number>(Math.max(1, names.length)).fill(0);
  for (const s of strata) if (s !== NO_SPLIT) perStratum[s]++;
  const short = perStratum.some((n) => allocate(n, fractions).some((m, k) => fractions[k] > 0 && m === 0));
  if (!short) return;
  const total = perStratum.reduce((a, b) => a + b, 0);
  const detail =
    names.length === 2 && names[1] === 'positive'
      ? `${perStratum[1]} positive, ${perStratum[0]} negative`
      : names.map((name, k) => `${perStratum[k]} "${name}"`).join(', ');
  const splits = SPLITS.filter((_, k) => fractions[k] > 0);
  throw new DataError(
    `too few rows to split: ${total} labelled row${total === 1 ? '' : 's'}${detail ? ` (${detail})` : ''}; ` +
      `a ${names.length ? 'stratified ' : ''}${splits.join('/')} split needs at least ${minimumPerClass(fractions)} rows` +
      `${names.length ? ' of each class' : ''} (one in each of the ${splits.length} splits)`,
  );
}

/** The fewest rows of one class that give every split with a share at least one row. */
function minimumPerClass(fractions: Fractions): number {
  for (let n = 1; ; n++) if (allocate(n, fractions).every((m, k) => fractions[k] === 0 || m > 0)) return n;
}

function featureType(column: ColumnSchema): FeatureType {
  return column.type as FeatureType;
}

function tableColumn(feature: ColumnSchema): TableColumn {
  const kinds = { integer: 'integer', float: 'number', boolean: 'flag', categorical: 'string' } as const;
  return { name: feature.name, kind: kinds[feature.type as FeatureType] };
}

function snapshotHash(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify({ format: FORMAT, ...parts })).digest('hex');
}

/** The target per row as the model learns it; NaN where it is missing. */
function targetValues(
  task: Task,
  labels: { codes: number[]; counts: LabelCount[]; values: number[] },
  positiveLabel: string,
  classes: string[] | undefined,
): Float64Array {
  const { codes, counts } = labels;
  if (task === 'regression') return Float64Array.from(labels.values, (v, i) => (codes[i] === -1 ? NaN : v));
  if (task === 'multiclass') {
    const classOf = counts.map((c) => classes!.indexOf(c.value));
    return Float64Array.from(codes, (code) => (code < 0 ? NaN : classOf[code]));
  }
  const positive = normaliseLabel(positiveLabel);
  const isPositive = counts.map((c) => normaliseLabel(c.value) === positive);
  return Float64Array.from(codes, (code) => (code < 0 ? NaN : isPositive[code] ? 1 : 0));
}

/** Builds (or reuses) the dataset snapshot of the dataset's latest raw load with these options. */
export async function preprocessData(store: Store, options: PreprocessOptions): Promise<DatasetSnapshot> {
  const dataset = assertIdentifier(options.dataset, 'dataset name');
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new DataError(`seed must be a non-negative integer, got ${options.seed}`);
  const fractions: Fractions = checkFractions(options.fractions ?? DEFAULT_FRACTIONS);
  const load = await latestLoadedLoad(store.db, dataset);
  if (!load) throw new DataError(`dataset "${dataset}" has no loaded raw data: run load_raw_data first`);
  const columns = JSON.parse(load.columns_json) as ColumnSchema[];
  const target = resolveTarget(columns, options.target);
  const dropped = (options.dropColumns ?? []).map((c) => resolveColumn(columns, c).name);
  if (dropped.includes(target.name)) throw new DataError(`the target "${target.name}" cannot be dropped`);

  const labels = await readLabels(store, load.table_name, target);
  const present = labels.codes.filter((c) => c !== -1).length;
  const byCount = [...labels.counts].sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1));
  const decision: TaskDecision = decideTask(
    { column: target, counts: byCount, manyValues: labels.manyValues, rows: present },
    { task: options.task, positiveLabel: options.positiveLabel },
  );
  const { task } = decision;
  let positiveLabel = '';
  let negativeLabel: string | undefined;
  let classes: string[] | undefined;
  if (task === 'binary') {
    positiveLabel = choosePositiveLabel(target, byCount, options.positiveLabel);
    const negatives = labels.counts.filter((c) => normaliseLabel(c.value) !== normaliseLabel(positiveLabel));
    negativeLabel = negatives.length === 1 ? negatives[0].value : undefined;
  } else if (task === 'multiclass') {
    classes = sortClasses(labels.counts.map((c) => c.value), target);
  }
  const contentHash = snapshotHash({
    dataset,
    raw: load.content_hash,
    columns: columns.map((c) => [c.name, c.type]),
    target: target.name,
    positiveLabel,
    seed,
    fractions,
    dropped: [...dropped].sort(),
    // Binary snapshots keep the hash they had before tasks existed.
    ...(task === 'binary' ? {} : { task }),
    // Other read options give other values from the same bytes; the defaults leave the hash as it always was.
    ...(load.read_options ? { read: load.read_options } : {}),
  });
  const existing = await findSnapshotByHash(store.db, dataset, contentHash);
  if (existing && (await tableExists(store.db, existing.table))) return existing;

  const rowIdColumns = await findRowIdColumns(
    store.db,
    load.table_name,
    columns.filter((c) => c !== target && !dropped.includes(c.name)),
  );
  const features = columns.filter(
    (c) => c !== target && c.type !== 'text' && !dropped.includes(c.name) && !rowIdColumns.includes(c.name),
  );
  for (const c of columns) {
    const why = leftOutBecause(c, target, dropped, rowIdColumns, Number(load.row_count));
    if (why) options.onNote?.(`column "${c.name}" is not a feature: ${why}`);
  }
  if (features.length === 0) {
    throw new DataError(`no feature column left in "${dataset}" after dropping the target, row ids, text and dropped columns`);
  }
  for (const f of features) {
    if ((CLEAN_TABLE_COLUMNS as readonly string[]).includes(f.name)) {
      throw new DataError(`column "${f.name}" clashes with the clean table's own "${f.name}" column: drop or rename it`);
    }
  }

  // y per row: 0/1 (binary), the class code (multi-class) or the value (regression); strata for the split.
  const y = targetValues(task, labels, positiveLabel, classes);
  const strata = Uint8Array.from(labels.codes, (code, i) =>
    code === -1 || Number.isNaN(y[i]) ? NO_SPLIT : task === 'regression' ? 0 : y[i],
  );
  const strataNames = task === 'binary' ? ['negative', 'positive'] : task === 'multiclass' ? classes! : [];
  checkEnoughRows(strata, strataNames, fractions);
  const splits = assignSplits(strata, fractions, seed, task === 'regression' ? 1 : (classes?.length ?? 2));
  const counts: SnapshotCounts = {
    train: 0,
    val: 0,
    test: 0,
    positives: { train: 0, val: 0, test: 0 },
    droppedMissingTarget: labels.codes.filter((c) => c === -1).length,
    ...(classes ? { classCounts: { train: classes.map(() => 0), val: classes.map(() => 0), test: classes.map(() => 0) } } : {}),
  };
  const table = existing?.table ?? cleanTableName(dataset, contentHash);
  const missing = features.map(() => 0);
  const levels = features.map(() => new Set<string>());

  const snapshot = await replaceTableAtomically(
    store,
    table,
    async (staging): Promise<DatasetSnapshot> => {
      const all: TableColumn[] = [
        { name: LINE_COLUMN, kind: 'line' },
        { name: 'split', kind: 'split' },
        { name: 'y', kind: task === 'binary' ? 'flag' : task === 'multiclass' ? 'integer' : 'number' },
        ...features.map(tableColumn),
      ];
      const clean = await staging.create(all, ['split', LINE_COLUMN]);
      // Set-based: the split of each labelled row goes into a narrow temporary table, and one INSERT ... SELECT joins
      // it with the raw table, so the feature values never travel through this process.
      const assignment = `split_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      await staging.db.schema
        .createTable(assignment)
        .temporary()
        .addColumn(LINE_COLUMN, 'integer', (c) => c.primaryKey())
        .addColumn('split', 'varchar(8)', (c) => c.notNull())
        .addColumn('y', Y_SQL_TYPE[all[2].kind]!, (c) => c.notNull())
        .execute();
      const assignmentColumns: TableColumn[] = [
        { name: LINE_COLUMN, kind: 'line' },
        { name: 'split', kind: 'split' },
        all[2],
      ];
      const out = new BulkInserter(staging.db, store.dialect, assignment, assignmentColumns);
      let rows = 0;
      for (let i = 0; i < splits.length; i++) {
        const code = splits[i];
        if (code === NO_SPLIT) continue;
        const split = SPLITS[code];
        counts[split]++;
        if (task === 'binary') counts.positives[split] += y[i];
        else if (counts.classCounts) counts.classCounts[split][y[i]]++;
        rows++;
        out.value(labels.lines[i]);
        out.value(split);
        out.value(y[i]);
        out.endRow();
        if (out.full) await out.flush();
      }
      await out.flush();
      const names = features.map((f) => f.name);
      const a = (column: string) => sql.ref(`a.${column}`);
      await sql`insert into ${sql.table(clean)} (${sql.join([LINE_COLUMN, 'split', 'y', ...names].map((n) => sql.ref(n)))})
        select ${sql.join([a(LINE_COLUMN), a('split'), a('y'), ...names.map((n) => sql.ref(`r.${n}`))])}
        from ${sql.table(assignment)} as a join ${sql.table(load.table_name)} as r on ${sql.ref(`r.${LINE_COLUMN}`)} = ${a(LINE_COLUMN)}`.execute(
        staging.db,
      );
      await staging.db.schema.dropTable(assignment).execute();
      const stats = await sql<Record<string, number | string>>`select count(*) as n${sql.join(
        names.map((n, j) => sql`, count(${sql.ref(n)}) as ${sql.ref(`present_${j}`)}`),
        sql``,
      )} from ${sql.table(clean)}`.execute(staging.db);
      if (Number(stats.rows[0].n) !== rows) {
        throw new DataError(`raw table ${load.table_name} changed while preprocessing: run it again`);
      }
      features.forEach((_, j) => {
        missing[j] = rows - Number(stats.rows[0][`present_${j}`]);
      });
      for (const [j, f] of features.entries()) {
        if (f.type !== 'categorical') continue;
        const distinct = await sql<{ v: string }>`select distinct ${sql.ref(f.name)} as v from ${sql.table(clean)} where ${sql.ref(
          f.name,
        )} is not null`.execute(staging.db);
        for (const { v } of distinct.rows) levels[j].add(v);
      }
      const specs: FeatureSpec[] = features.map((f, j) => ({
        name: f.name,
        type: featureType(f),
        nullable: missing[j] > 0,
        ...(f.type === 'categorical' ? { categories: [...levels[j]].sort() } : {}),
      }));
      return (
        existing ?? {
          id: randomUUID(),
          dataset,
          table,
          rawLoadId: load.id,
          target: target.name,
          positiveLabel,
          negativeLabel,
          task,
          taskReason: decision.reason,
          ...(classes ? { classes } : {}),
          features: specs,
          rowIdColumns,
          counts,
          contentHash,
          seed,
          createdAt: new Date().toISOString(),
        }
      );
    },
    async (db, built) => {
      if (!existing) await db.insertInto('dataset_snapshots').values(snapshotRow(built)).execute();
    },
  );
  return snapshot;
}
