/**
 * Task detection: what kind of model a target calls for, from its type and distinct values, with the reason in words
 * (it goes to the task log and the run). A target with two values is binary; a string target with 3 to 100 values,
 * or an integer one with 3 to 100 values and at least 10 rows per value on average, is multi-class; any other numeric
 * target is regression. `--task` overrides the guess, within what the data allows.
 */
import type { Task } from '../ml/types.js';
import type { ColumnSchema } from './columns.js';
import { DataError } from './errors.js';
import type { LabelCount } from './target.js';

/** Most classes a multi-class target may have. */
export const MAX_CLASSES = 100;
/** An integer target needs at least this many rows per distinct value on average to be read as class labels. */
const MIN_ROWS_PER_CLASS = 10;

export interface TaskDecision {
  task: Task;
  reason: string;
}

export interface TargetSummary {
  column: ColumnSchema;
  /** Distinct values with their counts (possibly cut short when `manyValues`). */
  counts: readonly LabelCount[];
  /** True when the target had more distinct values than were counted. */
  manyValues: boolean;
  /** Rows with a value. */
  rows: number;
}

const NUMERIC = new Set(['integer', 'float']);

export function decideTask(target: TargetSummary, options: { task?: Task; positiveLabel?: string }): TaskDecision {
  const { column, counts, manyValues, rows } = target;
  const name = column.original.trim() || column.name;
  const levels = manyValues ? `more than ${counts.length}` : String(counts.length);
  if (options.task !== undefined && options.task !== 'binary' && options.positiveLabel !== undefined) {
    throw new DataError(`--positive-label applies to binary targets only, not to --task ${options.task}`);
  }
  if (options.task === 'binary') return { task: 'binary', reason: `--task binary given (target "${name}" has ${levels} distinct values)` };
  if (options.task === 'multiclass') {
    checkClassCount(name, counts.length, manyValues);
    return { task: 'multiclass', reason: `--task multiclass given (target "${name}" has ${levels} classes)` };
  }
  if (options.task === 'regression') {
    if (!NUMERIC.has(column.type)) {
      throw new DataError(`--task regression needs a numeric target, but "${name}" is ${column.type} (values like ${sample(counts)})`);
    }
    return { task: 'regression', reason: `--task regression given (target "${name}" is ${column.type} with ${levels} distinct values)` };
  }
  if (options.task !== undefined) throw new DataError(`--task must be binary, multiclass or regression, got "${String(options.task)}"`);

  if (options.positiveLabel !== undefined) {
    return { task: 'binary', reason: `--positive-label "${options.positiveLabel}" given: one label against the rest` };
  }
  // Labels that differ only in case or spaces ("yes", "YES") are one class, as the binary mapping treats them.
  const labels = new Set(counts.map((c) => c.value.trim().toLowerCase())).size;
  if (!manyValues && labels <= 2) return { task: 'binary', reason: `target "${name}" has ${labels} distinct values` };
  if (column.type === 'float') {
    return { task: 'regression', reason: `target "${name}" is numeric with fractional values (${levels} distinct)` };
  }
  if (column.type === 'integer') {
    const perValue = rows / counts.length;
    if (!manyValues && counts.length <= MAX_CLASSES && perValue >= MIN_ROWS_PER_CLASS) {
      return {
        task: 'multiclass',
        reason: `target "${name}" is an integer with ${counts.length} distinct values, ${perValue.toFixed(0)} rows each on average: class labels`,
      };
    }
    return {
      task: 'regression',
      reason: `target "${name}" is an integer with ${levels} distinct values (${perValue.toFixed(1)} rows each on average): a quantity`,
    };
  }
  checkClassCount(name, counts.length, manyValues);
  return { task: 'multiclass', reason: `target "${name}" is ${column.type} with ${counts.length} distinct values` };
}

function checkClassCount(name: string, count: number, manyValues: boolean): void {
  if (manyValues || count > MAX_CLASSES) {
    throw new DataError(
      `target "${name}" has ${manyValues ? `more than ${count}` : count} distinct values: too many classes for a classifier ` +
        `(at most ${MAX_CLASSES}); a numeric target can be trained with --task regression`,
    );
  }
  if (count < 2) throw new DataError(`target "${name}" has ${count} distinct value${count === 1 ? '' : 's'}: a classifier needs at least two classes`);
}

function sample(counts: readonly LabelCount[]): string {
  return counts
    .slice(0, 3)
    .map((c) => JSON.stringify(c.value))
    .join(', ');
}

/**
 * Class labels in scikit-learn's order (numpy.unique): numerically for an integer target, by code point for strings.
 */
export function sortClasses(values: string[], column: ColumnSchema): string[] {
  if (column.type === 'integer' || column.type === 'float') return [...values].sort((a, b) => Number(a) - Number(b));
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
