/**
 * How one CSV cell is read: missing markers, numbers and booleans. Cells are trimmed before they get here.
 */

/** Spellings of "no value" besides the empty cell, compared without regard to case. */
export const MISSING_MARKERS = ['na', 'n/a', 'null', 'nan', '?'] as const;

const MISSING = new Set<string>(MISSING_MARKERS);

/** True for the empty cell and the built-in missing markers. */
export function isMissing(cell: string): boolean {
  return cell.length === 0 || (cell.length <= 4 && MISSING.has(cell.toLowerCase()));
}

/**
 * The missing-value test of one load: the built-in markers plus the user's own (`--na-values`), which are compared
 * as written (after trimming), as pandas compares its `na_values`.
 */
export function missingTest(naValues: readonly string[] = []): (cell: string) => boolean {
  if (naValues.length === 0) return isMissing;
  const extra = new Set(naValues.map((v) => v.trim()));
  return (cell) => isMissing(cell) || extra.has(cell);
}

const INFINITY = /^[+-]?(inf|infinity)$/i;

/**
 * The cell as a decimal number (sign, digits, decimal point, exponent: `-1.5`, `5e+05`), or NaN. Hex, binary and octal
 * literals and thousands separators are not numbers here, although `Number()` accepts some of them. Infinity
 * (`inf`, `-Infinity`, any case) and decimals too large for a double (`1e999`) give +/-Infinity: they are numbers
 * that no column can hold, which the loader stores as missing and reports, instead of calling the column text.
 */
export function parseNumber(cell: string): number {
  const n = Number(cell);
  if (n !== n) return INFINITY.test(cell) ? (cell.charCodeAt(0) === 45 ? -Infinity : Infinity) : NaN;
  if (n === Infinity || n === -Infinity) return n;
  if (cell.length > 2 && cell.charCodeAt(0) === 48) {
    const prefix = cell.charCodeAt(1) | 0x20; // lower-case
    if (prefix === 0x78 || prefix === 0x62 || prefix === 0x6f) return NaN; // 0x.., 0b.., 0o..
  }
  return n;
}

/** True for a number that an integer column can hold exactly. */
export function isExactInteger(n: number): boolean {
  return Number.isInteger(n) && Math.abs(n) <= Number.MAX_SAFE_INTEGER;
}

/**
 * 1 for `true`, 0 for `false` (any case), otherwise undefined. Yes/no is deliberately not boolean: as a feature it is a
 * two-level category, and as a target the target mapping reads it.
 */
export function booleanValue(cell: string): 1 | 0 | undefined {
  if (cell.length === 4 && cell.toLowerCase() === 'true') return 1;
  if (cell.length === 5 && cell.toLowerCase() === 'false') return 0;
  return undefined;
}
