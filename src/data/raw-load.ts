/**
 * `load_raw_data`: a CSV file -> the raw table `raw_<dataset>`, typed from all of its values, in one atomic write.
 *
 * Passes over the file: a scan (sha256, UTF-8 and binary checks, delimiter sniffing), then one load pass that parses,
 * profiles and inserts at once, with column types guessed from the first SAMPLE_ROWS rows. The profile of all rows
 * then decides the types; in the rare case they differ from the guess in how a column is stored (e.g. a column numeric
 * for 5,000 rows and text later), the staging table is rebuilt in a second pass with the final types. Against always
 * parsing twice (profile, then convert), this saves a parse pass: about 2.3 of 8 CPU seconds on 1M rows
 * (docs/BENCHMARKS.md). Typing in SQL from a text staging table would need per-dialect casts instead.
 */
import { createHash, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Store } from '../db/connect.js';
import { datasetNameFromFile } from '../db/identifiers.js';
import { BulkInserter } from './bulk-insert.js';
import { LINE_COLUMN, normaliseHeader, type ColumnSchema, type ColumnType } from './columns.js';
import { readCsv } from './csv-read.js';
import { sniffDialect, type CsvDialect } from './csv-sniff.js';
import { DataError } from './errors.js';
import { scanFile, type FileScan } from './file-scan.js';
import { ColumnProfile, decideType, storageOf, type Storage } from './infer.js';
import {
  insertRejects,
  latestLoadedLoad,
  loadResultFromRow,
  recordFailedLoad,
  RejectLog,
  type RawLoadResult,
} from './raw-loads.js';
import { rawTableName, replaceTableAtomically, tableExists, type Staging, type TableColumn } from './tables.js';
import { checkCsvReadOptions, readOptionsKey, type CsvReadOptions } from './read-options.js';
import { booleanValue, missingTest, parseNumber } from './values.js';

export type { RawLoadResult } from './raw-loads.js';

/** Rows whose values decide the column types of the first load pass. */
export const SAMPLE_ROWS = 5000;
export const DEFAULT_REJECT_THRESHOLD = 0.01;

export interface LoadProgress {
  /** 'reload' when a second pass rebuilds the table with corrected column types. */
  phase: 'load' | 'reload';
  bytesRead: number;
  totalBytes: number;
  /** Data rows read so far in this phase. */
  rows: number;
}

export interface LoadRawDataOptions {
  file: string;
  /** Defaults to the file name in snake_case (`Loan Approval.csv` -> `loan_approval`). */
  dataset?: string;
  /** Load even when the same bytes are already the dataset's latest load. */
  force?: boolean;
  /** Largest share of malformed rows that is set aside rather than failing the load (default 0.01). */
  rejectThreshold?: number;
  /** Called about once per MiB read; an exception thrown here aborts the load and rolls it back. */
  onProgress?: (progress: LoadProgress) => void;
  /** How to read the file when sniffing is not enough: delimiter, header, column names, missing values, encoding. */
  csv?: CsvReadOptions;
}

interface LoadJob {
  store: Store;
  file: string;
  scan: FileScan;
  dialect: CsvDialect;
  csv: CsvReadOptions;
  isMissing: (cell: string) => boolean;
  threshold: number;
  onProgress?: (progress: LoadProgress) => void;
}

/** The outcome of one pass over the file. */
interface Pass {
  header: { name: string; original: string }[];
  /** Types decided from every row of this pass. */
  types: ColumnType[];
  /** True when `types` store a column differently from how this pass stored it. */
  mismatch: boolean;
  dataRows: number;
  loaded: number;
  rejects: RejectLog;
  columns: ColumnSchema[];
  /** What the user should know about the data that is not an error (empty columns, infinite values). */
  notes: string[];
  /** Set when the header line looks like data (the file may have no header). */
  headerNote?: string;
}

export function formatPercent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

function guessTypes(
  sample: readonly SampleRow[],
  width: number,
  threshold: number,
  isMissing: (cell: string) => boolean,
): ColumnType[] {
  const profiles = Array.from({ length: width }, () => new ColumnProfile());
  for (const { record, problem } of sample) {
    if (problem || record.length !== width) continue;
    for (let j = 0; j < width; j++) {
      const cell = record[j].trim();
      if (isMissing(cell)) profiles[j].missing++;
      else profiles[j].observe(cell);
    }
  }
  return profiles.map((p) => decideType(p, sample.length, threshold));
}

interface SampleRow {
  record: string[];
  line: number;
  problem: string | undefined;
}

/** Infinite values stored as missing in a numeric column: how many, and the first line. */
interface InfiniteValues {
  count: number;
  firstLine: number;
}

/** Loaded-row statistics: the profile minus what rows set aside for a bad number contributed. */
function columnSchemas(
  header: Pass['header'],
  types: ColumnType[],
  profiles: ColumnProfile[],
  aside: ColumnProfile[],
  infinite: (InfiniteValues | undefined)[],
): ColumnSchema[] {
  return header.map(({ name, original }, j) => {
    const type = types[j];
    const inf = storageOf(type) === 'number' ? (infinite[j]?.count ?? 0) : 0;
    const missing = profiles[j].missing - aside[j].missing + inf;
    const schema: ColumnSchema = { name, original, type, nullable: missing > 0, missing, ...(inf ? { infinite: inf } : {}) };
    const counts = profiles[j].distinct;
    if (counts) {
      const removed = aside[j].distinct;
      const values = [...counts].filter(([value, n]) => n - (removed?.get(value) ?? 0) > 0).map(([value]) => value);
      if (type === 'categorical') schema.categories = values.sort();
      schema.distinct =
        type === 'integer' || type === 'float'
          ? new Set(values.map(parseNumber)).size
          : type === 'boolean'
            ? new Set(values.map(booleanValue)).size
            : values.length;
    }
    return schema;
  });
}

async function loadPass(job: LoadJob, staging: Staging, known: ColumnType[] | undefined): Promise<Pass> {
  const { file, dialect, threshold, isMissing } = job;
  const hash = createHash('sha256');
  const rejects = new RejectLog();
  let header: Pass['header'] | undefined;
  let profiles: ColumnProfile[] = [];
  let aside: ColumnProfile[] = [];
  let storage: Storage[] | undefined;
  let inserter: BulkInserter | undefined;
  let storageBroken = false;
  let sample: SampleRow[] = [];
  let dataRows = 0;
  const infinite: (InfiniteValues | undefined)[] = [];

  const start = async (types: ColumnType[]): Promise<void> => {
    storage = types.map(storageOf);
    const columns = header!.map(({ name }, j) => ({ name, kind: storage![j] === 'string' ? 'string' : 'number' }) as const);
    const all: TableColumn[] = [{ name: LINE_COLUMN, kind: 'line' }, ...columns];
    inserter = new BulkInserter(staging.db, job.store.dialect, await staging.create(all, [LINE_COLUMN]), all);
  };

  const setAside = (record: readonly string[]): void => {
    for (let j = 0; j < record.length; j++) {
      const cell = record[j].trim();
      if (isMissing(cell)) aside[j].missing++;
      else if (profiles[j].distinct) aside[j].distinct!.set(cell, (aside[j].distinct!.get(cell) ?? 0) + 1);
    }
  };

  // The hot loop: profile every cell, convert it for its column's storage, queue the row or set it aside.
  const take = (record: string[], line: number, problem: string | undefined): void => {
    const width = header!.length;
    if (problem) return rejects.add(line, problem, record, dialect.delimiter);
    if (record.length !== width) {
      return rejects.add(line, `expected ${width} fields, found ${record.length}`, record, dialect.delimiter);
    }
    const out = inserter!;
    out.value(line);
    let bad: string | undefined;
    let infiniteAt: number[] | undefined;
    for (let j = 0; j < width; j++) {
      const cell = record[j].trim();
      const profile = profiles[j];
      if (isMissing(cell)) {
        profile.missing++;
        out.value(null);
        continue;
      }
      const n = profile.observe(cell);
      const kind = storage![j];
      if (kind === 'number') {
        if (n !== n) bad ??= `column "${header![j].original.trim()}": "${cell}" is not a number`;
        if (n === Infinity || n === -Infinity) {
          (infiniteAt ??= []).push(j);
          out.value(null);
        } else {
          out.value(n);
        }
      } else if (kind === 'string') {
        out.value(cell);
      } else {
        const b = booleanValue(cell);
        if (b === undefined) storageBroken = true;
        out.value(b ?? null);
      }
    }
    if (bad) {
      out.dropRow();
      rejects.add(line, bad, record, dialect.delimiter);
      setAside(record);
    } else if (storageBroken) {
      out.dropRow(); // the table is rebuilt with the right types: stop writing, keep profiling
    } else {
      out.endRow();
      if (infiniteAt) {
        for (const j of infiniteAt) {
          const seen = (infinite[j] ??= { count: 0, firstLine: line });
          seen.count++;
        }
      }
    }
  };

  const flushIfFull = async (): Promise<void> => {
    if (inserter!.full) await inserter!.flush();
  };

  let headerNote: string | undefined;
  const guess = async (): Promise<void> => {
    if (job.csv.header !== false) headerNote = headerLooksLikeData(header!, sample, isMissing);
    await start(guessTypes(sample, header!.length, threshold, isMissing));
  };

  for await (const batch of readCsv(file, { ...dialect, encoding: job.scan.encoding, hash })) {
    for (let i = 0; i < batch.records.length; i++) {
      const record = batch.records[i];
      const line = batch.lines[i];
      const problem = batch.malformed.get(i);
      if (!header) {
        if (job.csv.header === false) {
          const names = job.csv.columns ?? record.map((_, j) => `c${j + 1}`);
          if (names.length !== record.length) {
            throw new DataError(
              `--columns names ${names.length} columns but line ${line}, the first, has ${record.length} fields`,
            );
          }
          header = normaliseHeader(names);
        } else {
          if (problem) throw new DataError(`line ${line}: the header is malformed: ${problem}`);
          header = normaliseHeader(record);
        }
        profiles = header.map(() => new ColumnProfile());
        aside = header.map(() => new ColumnProfile());
        if (known) await start(known);
        if (job.csv.header !== false) continue;
      }
      dataRows++;
      if (storage) {
        take(record, line, problem);
        await flushIfFull();
      } else {
        sample.push({ record, line, problem });
        if (sample.length === SAMPLE_ROWS) {
          await guess();
          for (const s of sample) {
            take(s.record, s.line, s.problem);
            await flushIfFull();
          }
          sample = [];
        }
      }
    }
    job.onProgress?.({ phase: known ? 'reload' : 'load', bytesRead: batch.bytesRead, totalBytes: job.scan.size, rows: dataRows });
  }
  if (!header) throw new DataError(`${file} is empty`);
  if (dataRows === 0) throw new DataError(`${file} has a header but no data rows (if it has no header, pass --no-header)`);
  if (!storage) {
    await guess();
    for (const s of sample) {
      take(s.record, s.line, s.problem);
      await flushIfFull();
    }
  }
  await inserter!.flush();
  if (hash.digest('hex') !== job.scan.sha256) throw new DataError(`${file} changed while it was being loaded: load it again`);

  const types = profiles.map((p) => decideType(p, dataRows, threshold));
  const mismatch = storageBroken || types.some((t, j) => storageOf(t) !== storage![j]);
  const columns = mismatch ? [] : columnSchemas(header, types, profiles, aside, infinite);
  return {
    header,
    types,
    mismatch,
    dataRows,
    loaded: inserter!.written,
    rejects,
    columns,
    notes: mismatch ? [] : columnNotes(columns, infinite, inserter!.written),
    headerNote,
  };
}

/**
 * A warning when the first line looks like data rather than column names: every cell of it is a number, a missing
 * marker or a value that its column also holds further down (e.g. `39,State-gov,77516,Bachelors` in a file without a
 * header).
 */
function headerLooksLikeData(
  header: readonly { original: string }[],
  sample: readonly SampleRow[],
  isMissing: (cell: string) => boolean,
): string | undefined {
  if (sample.length === 0) return undefined;
  const cells = header.map((h) => h.original.trim());
  const valueLike = cells.every((cell, j) => {
    if (isMissing(cell) || parseNumber(cell) === parseNumber(cell)) return true;
    return sample.some(({ record }) => record[j]?.trim() === cell);
  });
  if (!valueLike) return undefined;
  const shown = cells.slice(0, 4).map((c) => `"${c}"`).join(', ') + (cells.length > 4 ? ', ...' : '');
  return (
    `line 1 looks like data, not column names (${shown}: each is a number or a value of its column): ` +
    'if the file has no header line, load it with --no-header (and --columns NAME,NAME,...)'
  );
}

/** Columns the user would otherwise only notice later: empty ones, and numbers too large for any column to hold. */
function columnNotes(columns: readonly ColumnSchema[], infinite: (InfiniteValues | undefined)[], loaded: number): string[] {
  const notes: string[] = [];
  columns.forEach((c, j) => {
    const name = c.original.trim() || c.name;
    if (loaded > 0 && c.missing === loaded && !c.infinite) {
      notes.push(`column "${name}" is empty (no value in any of the ${loaded} rows): it is kept in the raw table but not used as a feature`);
    }
    const inf = infinite[j];
    if (c.infinite && inf) {
      notes.push(
        `column "${name}": ${c.infinite} infinite value${c.infinite === 1 ? '' : 's'} (first on line ${inf.firstLine}) ` +
          'stored as missing: no model can use an infinite number',
      );
    }
  });
  return notes;
}

async function writeRawTable(job: LoadJob, staging: Staging, passes: Pass[]): Promise<Pass> {
  let pass = await loadPass(job, staging, undefined);
  passes.push(pass);
  if (pass.mismatch) {
    pass = { ...(await loadPass(job, staging, pass.types)), headerNote: pass.headerNote };
    passes.push(pass);
    if (pass.mismatch) throw new DataError(`${job.file} changed while it was being loaded: load it again`);
  }
  const { rejects, dataRows } = pass;
  if (rejects.count > job.threshold * dataRows) {
    throw new DataError(
      `${rejects.count} of ${dataRows} rows (${formatPercent(rejects.count / dataRows)}) malformed, above the ` +
        `${formatPercent(job.threshold)} threshold; first: ${rejects.describeFirst()}`,
    );
  }
  if (pass.loaded === 0) throw new DataError(`no row of ${job.file} could be loaded; first problem: ${rejects.describeFirst()}`);
  return pass;
}

/** Loads a CSV file into `raw_<dataset>`, replacing the dataset's previous raw table atomically. */
export async function loadRawData(store: Store, options: LoadRawDataOptions): Promise<RawLoadResult> {
  const file = resolve(options.file);
  const dataset = options.dataset ?? datasetNameFromFile(file);
  const table = rawTableName(dataset);
  const threshold = options.rejectThreshold ?? DEFAULT_REJECT_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1)) {
    throw new DataError(`rejectThreshold must be a fraction between 0 and 1, got ${options.rejectThreshold}`);
  }
  const csv = checkCsvReadOptions(options.csv);
  const readOptions = readOptionsKey(csv);
  const scan = await scanFile(file, csv.encoding);

  const latest = await latestLoadedLoad(store.db, dataset);
  if (
    latest &&
    !options.force &&
    latest.content_hash === scan.sha256 &&
    (latest.read_options ?? '') === readOptions &&
    (await tableExists(store.db, latest.table_name))
  ) {
    return loadResultFromRow(latest, true);
  }

  const loadId = randomUUID();
  const passes: Pass[] = [];
  let delimiter = '';
  try {
    const dialect = sniffDialect(scan.head, scan.headIsWholeFile, csv.delimiter);
    delimiter = dialect.delimiter;
    const isMissing = missingTest(csv.naValues);
    const job: LoadJob = { store, file, scan, dialect, csv, isMissing, threshold, onProgress: options.onProgress };
    const pass = await replaceTableAtomically(
      store,
      table,
      (staging) => writeRawTable(job, staging, passes),
      async (db, done) => {
        await db
          .insertInto('raw_loads')
          .values({
            id: loadId,
            dataset,
            table_name: table,
            source: file.slice(0, 1024),
            content_hash: scan.sha256,
            status: 'loaded',
            row_count: done.loaded,
            reject_count: done.rejects.count,
            columns_json: JSON.stringify(done.columns),
            delimiter,
            read_options: readOptions || null,
            encoding: scan.encoding,
            error: null,
            created_at: new Date().toISOString(),
          })
          .execute();
        await insertRejects(db, loadId, done.rejects.kept);
      },
    );
    return {
      loadId,
      dataset,
      table,
      rows: pass.loaded,
      rejects: pass.rejects.count,
      columns: pass.columns,
      delimiter,
      encoding: scan.encoding,
      contentHash: scan.sha256,
      skipped: false,
      notes: [...scan.notes, ...(pass.headerNote ? [pass.headerNote] : []), ...pass.notes],
    };
  } catch (error) {
    const last = passes.at(-1);
    await recordFailedLoad(
      store,
      {
        id: loadId,
        dataset,
        table_name: table,
        source: file.slice(0, 1024),
        content_hash: scan.sha256,
        row_count: 0,
        reject_count: last?.rejects.count ?? 0,
        columns_json: JSON.stringify(last?.columns ?? []),
        delimiter,
        read_options: readOptions || null,
        encoding: scan.encoding,
        error: error instanceof Error ? error.message : String(error),
      },
      last?.rejects.kept ?? [],
    ).catch(() => undefined);
    throw error;
  }
}
