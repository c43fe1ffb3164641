/**
 * A problem with the user's file, data or options. The message says what is wrong and where (file, line, column), so
 * callers can show it as is, without a stack trace.
 */
export class DataError extends Error {
  override name = 'DataError';
  /** Retrying cannot fix it: a workflow task that throws it fails at once (see src/pipeline/errors.ts). */
  readonly permanent = true;
}
