import type { Frame, Matrix } from './types.js';

/**
 * Normalises model input to a column-major Frame. A Frame is checked and returned as is (no copy); rows
 * (`number[][]`) are validated and transposed. NaN marks a missing value; anything that is not a number is rejected.
 */
export function toFrame(X: Matrix): Frame {
  if (Array.isArray(X)) return rowsToFrame(X);
  if (X === null || typeof X !== 'object') throw new TypeError(`input must be an array of rows or a Frame, got ${describe(X)}`);
  assertFrame(X);
  return X;
}

/** Checks the invariants of a Frame: integer nRows, one Float64Array of length nRows per column, matching names. */
export function assertFrame(frame: Frame): void {
  const { nRows, columns, names } = frame;
  if (!Number.isInteger(nRows) || nRows < 0) throw new TypeError(`Frame.nRows must be a non-negative integer, got ${describe(nRows)}`);
  if (!Array.isArray(columns)) throw new TypeError('Frame.columns must be an array of Float64Array');
  for (let j = 0; j < columns.length; j++) {
    const col = columns[j];
    if (!(col instanceof Float64Array)) throw new TypeError(`Frame.columns[${j}] must be a Float64Array, got ${describe(col)}`);
    if (col.length !== nRows) throw new RangeError(`Frame.columns[${j}] has ${col.length} values, expected nRows = ${nRows}`);
  }
  if (names !== undefined && (!Array.isArray(names) || names.length !== columns.length)) {
    throw new RangeError(`Frame.names must list one name per column (${columns.length}), got ${Array.isArray(names) ? names.length : describe(names)}`);
  }
}

function rowsToFrame(rows: unknown[]): Frame {
  const nRows = rows.length;
  if (nRows === 0) return { nRows: 0, columns: [] };
  const first = rows[0];
  if (!Array.isArray(first)) throw new TypeError(`row 0 must be an array of numbers, got ${describe(first)}`);
  const width = first.length;
  const columns = Array.from({ length: width }, () => new Float64Array(nRows));
  for (let i = 0; i < nRows; i++) {
    const row = rows[i];
    if (!Array.isArray(row)) throw new TypeError(`row ${i} must be an array of numbers, got ${describe(row)}`);
    if (row.length !== width) throw new RangeError(`row ${i} has ${row.length} values, expected ${width} like row 0`);
    for (let j = 0; j < width; j++) {
      const v = row[j];
      if (typeof v !== 'number') throw new TypeError(`row ${i}, column ${j} must be a number (NaN for missing), got ${describe(v)}`);
      columns[j][i] = v;
    }
  }
  return { nRows, columns };
}

/** Throws unless the frame has exactly `expected` columns; `who` names the model in the message. */
export function assertWidth(frame: Frame, expected: number, who: string): void {
  if (frame.columns.length !== expected) {
    throw new RangeError(`${who} was fitted on ${expected} features but the input has ${frame.columns.length}`);
  }
}

/** A new Frame holding the given rows (in that order) of `frame`. */
export function takeRows(frame: Frame, rowIndices: ArrayLike<number>): Frame {
  const n = rowIndices.length;
  const columns = frame.columns.map((col) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = col[rowIndices[i]];
    return out;
  });
  return frame.names ? { nRows: n, columns, names: frame.names.slice() } : { nRows: n, columns };
}

/** A short description of an unexpected value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}
