/**
 * The target column -> 0/1. Obvious label pairs are mapped automatically (0/1, yes/no, y/n, true/false; case and
 * spaces ignored); anything else needs the positive label, and the error lists the values found.
 */
import type { ColumnSchema } from './columns.js';
import { DataError } from './errors.js';

/** The target's values as written (booleans as true/false), with their row counts, most frequent first. */
export interface LabelCount {
  value: string;
  count: number;
}

const POSITIVE_OF_PAIR: [string, string, string][] = [
  ['0', '1', '1'],
  ['no', 'yes', 'yes'],
  ['n', 'y', 'y'],
  ['false', 'true', 'true'],
];

export function normaliseLabel(value: string): string {
  return value.trim().toLowerCase();
}

/** A raw-table value of the target as its label text. */
export function labelText(value: unknown, target: ColumnSchema): string | null {
  if (value === null || value === undefined) return null;
  if (target.type === 'boolean') return Number(value) === 1 ? 'true' : 'false';
  return String(value);
}

function listValues(counts: readonly LabelCount[], max = 10): string {
  const shown = counts.slice(0, max).map((c) => `"${c.value}" (${c.count})`);
  if (counts.length > max) shown.push(`and ${counts.length - max} more`);
  return shown.join(', ');
}

/** The positive label: the given one (matched without regard to case) or the obvious one of a yes/no-like pair. */
export function choosePositiveLabel(target: ColumnSchema, counts: readonly LabelCount[], given: string | undefined): string {
  const name = target.original.trim() || target.name;
  if (counts.length === 0) throw new DataError(`target "${name}" has no values`);
  let positive: string | undefined;
  if (given !== undefined) {
    const wanted = normaliseLabel(given);
    positive = counts.find((c) => c.value === given)?.value ?? counts.find((c) => normaliseLabel(c.value) === wanted)?.value;
    if (positive === undefined) {
      throw new DataError(`positive label "${given}" is not a value of target "${name}"; its values: ${listValues(counts)}`);
    }
  } else {
    const found = [...new Set(counts.map((c) => normaliseLabel(c.value)))].sort();
    const pair = found.length === 2 ? POSITIVE_OF_PAIR.find(([a, b]) => found[0] === a && found[1] === b) : undefined;
    if (!pair) {
      throw new DataError(
        `target "${name}" has values ${listValues(counts)}: pass --positive-label with one of them`,
      );
    }
    positive = counts.find((c) => normaliseLabel(c.value) === pair[2])!.value;
  }
  const positives = counts.filter((c) => normaliseLabel(c.value) === normaliseLabel(positive!));
  if (positives.length === counts.length) {
    throw new DataError(
      `target "${name}" has only the value "${positive}" (${counts[0].count} rows): a binary classifier needs two classes`,
    );
  }
  return positive;
}
