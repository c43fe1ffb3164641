/**
 * Checks for untrusted JSON (model files, estimator state). Each check names the field path in its error, e.g.
 * "preprocessing.numeric[2].median must be a finite number, got null", and returns the value with its proper type.
 */
import { InvalidInputError } from '../errors.js';
import { describe } from './frame.js';

/** Raised for JSON that does not have the expected shape; `path` is the offending field. */
export class JsonShapeError extends InvalidInputError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path} ${problem}`, { code: 'invalid_json_shape' });
  }
}

export function expectObject(value: unknown, path: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new JsonShapeError(path, `must be an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

export function expectArray(value: unknown, path: string, length?: number): unknown[] {
  if (!Array.isArray(value)) throw new JsonShapeError(path, `must be an array, got ${describe(value)}`);
  if (length !== undefined && value.length !== length) {
    throw new JsonShapeError(path, `must have ${length} entries, got ${value.length}`);
  }
  return value;
}

export function expectString(value: unknown, path: string, { nonEmpty = false } = {}): string {
  if (typeof value !== 'string') throw new JsonShapeError(path, `must be a string, got ${describe(value)}`);
  if (nonEmpty && value.length === 0) throw new JsonShapeError(path, 'must not be empty');
  return value;
}

export function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new JsonShapeError(path, `must be true or false, got ${describe(value)}`);
  return value;
}

export function expectFinite(value: unknown, path: string, { min, max }: { min?: number; max?: number } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new JsonShapeError(path, `must be a finite number, got ${describe(value)}`);
  }
  if (min !== undefined && value < min) throw new JsonShapeError(path, `must be >= ${min}, got ${value}`);
  if (max !== undefined && value > max) throw new JsonShapeError(path, `must be <= ${max}, got ${value}`);
  return value;
}

export function expectInteger(value: unknown, path: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new JsonShapeError(path, `must be an integer, got ${describe(value)}`);
  if (value < min) throw new JsonShapeError(path, `must be >= ${min}, got ${value}`);
  return value;
}

export function expectOneOf<T extends string | number>(value: unknown, path: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new JsonShapeError(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describe(value)}`);
  }
  return value as T;
}

/** An array of finite numbers (of the given length), as a Float64Array. */
export function expectFiniteArray(value: unknown, path: string, length?: number): Float64Array {
  const items = expectArray(value, path, length);
  const out = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) out[i] = expectFinite(items[i], `${path}[${i}]`);
  return out;
}

export function expectStringArray(value: unknown, path: string, { unique = false } = {}): string[] {
  const items = expectArray(value, path).map((item, i) => expectString(item, `${path}[${i}]`));
  if (unique) {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item)) throw new JsonShapeError(`${path}[${i}]`, `repeats ${JSON.stringify(item)}`);
      seen.add(item);
    });
  }
  return items;
}
