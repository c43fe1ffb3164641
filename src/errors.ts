/**
 * The errors mldeploy raises on purpose, one hierarchy for every layer. Each has a stable machine-readable `code` (the
 * API's `error` field) and a category given by its class: invalid input, not found, conflict, unavailable, timeout.
 * The category is mapped once to an HTTP status (the API's error handler, src/serve/app.ts) and once to an exit code
 * (src/cli/main.ts); nothing else looks at messages or names to decide what went wrong.
 *
 * `permanent` says whether trying again can help: a pipeline task failing with a permanent error fails at once,
 * without retries, and its message alone is stored (a stack trace of the user's own mistake helps nobody).
 */

/** One invalid input field; `row` is the index in a batch request. */
export interface FieldError {
  field: string;
  message: string;
  row?: number;
}

export interface ErrorOptions {
  /** A more specific stable code than the category's, e.g. 'unknown_model' for a NotFoundError. */
  code?: string;
  cause?: unknown;
}

export abstract class MldeployError extends Error {
  /** Stable, machine-readable: clients and scripts branch on it, never on the message. */
  readonly code: string;
  abstract readonly permanent: boolean;

  constructor(message: string, defaultCode: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code ?? defaultCode;
    this.name = new.target.name;
  }
}

/** Input that breaks a rule: a bad option, name, file, request or model file. Retrying the same input cannot help. */
export class InvalidInputError extends MldeployError {
  readonly permanent = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'invalid_input', options);
  }
}

/** Invalid fields of a request or a set of options, each named (422 with the list in the API). */
export class ValidationError extends InvalidInputError {
  constructor(
    readonly details: FieldError[],
    message = validationSummary(details),
    options?: ErrorOptions,
  ) {
    super(message, { code: 'validation', ...options });
  }
}

function validationSummary(details: FieldError[]): string {
  const fields = details.length === 1 ? `field ${details[0].field || '(body)'}` : `${details.length} fields`;
  return `Invalid request: ${fields}`;
}

/** Input over a size limit (413 in the API). */
export class TooLargeError extends InvalidInputError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { code: 'too_large', ...options });
  }
}

/** A run, experiment, model, model version, alias, artifact, dataset or prediction that does not exist. */
export class NotFoundError extends MldeployError {
  readonly permanent = true;
  constructor(
    readonly entity: string,
    readonly id: string,
    options?: ErrorOptions & { message?: string },
  ) {
    super(options?.message ?? `${entity} not found: ${id}`, 'not_found', options);
  }
}

export class ArtifactNotFoundError extends NotFoundError {
  constructor(readonly key: string) {
    super('artifact', key, { code: 'artifact_not_found' });
  }
}

/** A request that contradicts stored state: a run id taken, a param re-logged with another value, nothing to roll back. */
export class ConflictError extends MldeployError {
  readonly permanent = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'conflict', options);
  }
}

/** Something needed is down, saturated or not there yet (no production model, the database): try again later. */
export class UnavailableError extends MldeployError {
  readonly permanent = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'unavailable', options);
  }
}

/** Work that took longer than its limit; trying again may succeed. */
export class TimeoutError extends MldeployError {
  readonly permanent = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'timeout', options);
  }
}

/**
 * Whether retrying cannot fix it. Duck-typed on `permanent` so that errors from code that does not know this module
 * (a plugin, a task of your own) can say so too.
 */
export function isPermanent(error: unknown): boolean {
  return (error as { permanent?: unknown } | null)?.permanent === true;
}
