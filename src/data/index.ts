/** The data layer: CSV files -> raw tables -> cleaned, split dataset snapshots, on SQLite, PostgreSQL and MySQL. */
export { DataError } from './errors.js';
export { resolveColumn, normaliseHeader, LINE_COLUMN, type ColumnSchema, type ColumnType } from './columns.js';
export { sniffDialect, type CsvDialect, type Delimiter, type Newline } from './csv-sniff.js';
export { MISSING_MARKERS } from './values.js';
export { checkCsvReadOptions, describeDelimiter, parseDelimiter, WHITESPACE, CSV_READ_FLAGS, type CsvReadOptions } from './read-options.js';
export { MAX_CATEGORIES, CATEGORY_SHARE, DISTINCT_CAP } from './infer.js';
export {
  loadRawData,
  DEFAULT_REJECT_THRESHOLD,
  type LoadProgress,
  type LoadRawDataOptions,
  type RawLoadResult,
} from './raw-load.js';
export { MAX_STORED_REJECTS } from './raw-loads.js';
export { preprocessData, DEFAULT_SEED, type PreprocessOptions } from './preprocess.js';
export { getSnapshot, latestSnapshot, type DatasetSnapshot, type SnapshotCounts } from './snapshots.js';
export { readSplit, type SplitData } from './read-split.js';
export { DEFAULT_FRACTIONS, SPLITS, type SplitName } from './split.js';
export { writeLoanSample, loanApprovalLogit, LOAN_SAMPLE_HEADER, type LoanApplicant, type LoanSampleOptions } from './sample.js';
