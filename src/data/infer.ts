/**
 * Type inference from every value of a column. A column is numeric when its non-numbers are few enough to be set aside
 * as malformed rows within the reject threshold; otherwise it holds strings: categorical when it has few distinct
 * values, text when it has many.
 */
import type { ColumnType } from './columns.js';
import { booleanValue, isExactInteger, parseNumber } from './values.js';

/** A string column with at most this many distinct values is categorical... */
export const MAX_CATEGORIES = 50;
/** ...and so is one whose distinct values are at most this share of its values (up to DISTINCT_CAP). */
export const CATEGORY_SHARE = 0.05;
/** Distinct values are counted up to this; a column with more is text (or numeric). */
export const DISTINCT_CAP = 1000;

/** How a column is stored in a raw table. */
export type Storage = 'number' | 'boolean' | 'string';

export function storageOf(type: ColumnType): Storage {
  return type === 'integer' || type === 'float' ? 'number' : type === 'boolean' ? 'boolean' : 'string';
}

/** Running counts over a column's values (missing values are counted by the caller, which skips them here). */
export class ColumnProfile {
  missing = 0;
  numbers = 0;
  nonNumbers = 0;
  booleans = 0;
  /** Numbers among `numbers` that are +/-Infinity (stored as missing in a numeric column). */
  infinite = 0;
  /** True while every number seen is an exact integer. */
  integral = true;
  /** Count per distinct spelling, until there are more than DISTINCT_CAP (then null). */
  distinct: Map<string, number> | null = new Map();

  /** Records a present (trimmed, not missing) value and returns it as a number, NaN when it is not one. */
  observe(cell: string): number {
    const n = parseNumber(cell);
    if (n === n) {
      this.numbers++;
      if (n === Infinity || n === -Infinity) this.infinite++;
      else if (this.integral && !isExactInteger(n)) this.integral = false;
    } else {
      this.nonNumbers++;
      if (booleanValue(cell) !== undefined) this.booleans++;
    }
    const distinct = this.distinct;
    if (distinct !== null) {
      distinct.set(cell, (distinct.get(cell) ?? 0) + 1);
      if (distinct.size > DISTINCT_CAP) this.distinct = null;
    }
    return n;
  }
}

/** The type of a column from its profile over `rows` data rows, allowing `rejectThreshold` of them to be set aside. */
export function decideType(profile: ColumnProfile, rows: number, rejectThreshold: number): ColumnType {
  const { numbers, nonNumbers, booleans } = profile;
  const present = numbers + nonNumbers;
  if (present === 0) return 'text'; // nothing to infer from; preprocessing drops it
  if (numbers > profile.infinite && numbers > nonNumbers && nonNumbers <= Math.floor(rejectThreshold * rows)) {
    return profile.integral ? 'integer' : 'float';
  }
  if (booleans === present) return 'boolean';
  const distinct = profile.distinct?.size;
  if (distinct !== undefined && (distinct <= MAX_CATEGORIES || distinct <= CATEGORY_SHARE * present)) {
    return 'categorical';
  }
  return 'text';
}
