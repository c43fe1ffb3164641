/**
 * Column names and schemas of loaded data: header normalisation and lookup by the name as written or normalised.
 */
import { assertIdentifier, toSnakeCase } from '../db/identifiers.js';
import { DataError } from './errors.js';

/** What a column holds, inferred from all its values. */
export type ColumnType = 'integer' | 'float' | 'boolean' | 'categorical' | 'text';

/** One column of a raw table, as inferred at load time (stored in raw_loads.columns_json). */
export interface ColumnSchema {
  /** Normalised lower snake_case name: the SQL column and the feature name. */
  name: string;
  /** The header cell as written in the file. */
  original: string;
  type: ColumnType;
  /** True when some loaded row has no value here. */
  nullable: boolean;
  /** Loaded rows without a value (infinite numbers included: they are stored as missing). */
  missing: number;
  /** Infinite values (`inf`, `-Infinity`, `1e999`) of a numeric column, stored as missing; omitted when none. */
  infinite?: number;
  /** Number of distinct values, when at most DISTINCT_CAP (omitted for columns with more). */
  distinct?: number;
  /** For categorical columns: every level, sorted. */
  categories?: string[];
}

/** Every raw and clean table has this column: the line of the CSV file where the row starts (also the row order). */
export const LINE_COLUMN = 'source_line';

const MAX_NAME = 48;

function baseName(original: string, index: number): string {
  let name = toSnakeCase(original).replace(/\./g, '_').replace(/_+/g, '_').replace(/^_+|_+$/g, '');
  if (name === '') return `unnamed_${index}`;
  if (!/^[a-z]/.test(name)) name = `c_${name}`;
  return name.slice(0, MAX_NAME).replace(/_+$/, '');
}

/**
 * Header cells -> unique SQL-safe column names: trimmed, lower snake_case (`" Loan Status"` -> `loan_status`,
 * `default.payment.next.month` -> `default_payment_next_month`), an empty header -> `unnamed_<index>`, a leading digit
 * gets a `c_` prefix, duplicates get `_2`, `_3`... `source_line` is reserved for the line number.
 */
export function normaliseHeader(cells: readonly string[]): { name: string; original: string }[] {
  const used = new Set<string>([LINE_COLUMN]);
  return cells.map((original, index) => {
    const base = baseName(original, index);
    let name = base;
    for (let k = 2; used.has(name); k++) {
      const suffix = `_${k}`;
      name = `${base.slice(0, MAX_NAME - suffix.length).replace(/_+$/, '')}${suffix}`;
    }
    used.add(name);
    return { name: assertIdentifier(name, 'column name'), original };
  });
}

/** The column called `given`, as written in the file (with or without its spaces) or normalised; else a clear error. */
export function resolveColumn<C extends { name: string; original: string }>(columns: readonly C[], given: string): C {
  const trimmed = given.trim();
  const normalised = baseName(given, -1);
  const found =
    columns.find((c) => c.name === given) ??
    columns.find((c) => c.original === given) ??
    columns.find((c) => c.original.trim() === trimmed) ??
    columns.find((c) => c.name === normalised) ??
    columns.find((c) => c.original.trim().toLowerCase() === trimmed.toLowerCase());
  if (found) return found;
  throw new DataError(`column "${given}" not found; the columns are: ${columns.map((c) => c.name).join(', ')}`);
}
