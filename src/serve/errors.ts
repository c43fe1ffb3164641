/**
 * How the API answers an error: the one place where an error becomes an HTTP status and a JSON body
 * `{ error, message, details? }` (`error` is the error's stable code). Used by the app's error handler and by the
 * dashboard's HTML error pages.
 */
import {
  ConflictError,
  InvalidInputError,
  MldeployError,
  NotFoundError,
  TimeoutError,
  TooLargeError,
  UnavailableError,
  ValidationError,
  type FieldError,
} from '../errors.js';

export type { FieldError } from '../errors.js';

/** 422 naming every invalid field of a request. */
export function validationError(details: FieldError[]): ValidationError {
  return new ValidationError(details);
}

/** Categories first match wins, so a subclass is listed before its parent. */
const STATUS_OF: Array<[abstract new (...args: never[]) => MldeployError, number]> = [
  [ValidationError, 422],
  [TooLargeError, 413],
  [InvalidInputError, 400],
  [NotFoundError, 404],
  [ConflictError, 409],
  [UnavailableError, 503],
  [TimeoutError, 504],
];

export interface ErrorAnswer {
  status: number;
  body: { error: string; message: string; details?: FieldError[] };
}

/**
 * The status and body for anything a route threw. Our own errors by category; Fastify's by their status (schema
 * validation 422 with each field named, a body over the limit 413, other client errors as they are); anything else is
 * a bug: 500 with no internals in the body (the server log has them).
 */
export function errorAnswer(error: unknown, { bodyLimit }: { bodyLimit: number }): ErrorAnswer {
  if (error instanceof MldeployError) {
    const status = STATUS_OF.find(([type]) => error instanceof type)?.[1] ?? 500;
    const details = error instanceof ValidationError ? error.details : undefined;
    return status >= 500 && status !== 503 && status !== 504
      ? answer(500, 'internal', 'Internal server error')
      : answer(status, error.code, error.message, details);
  }
  const fastifyError = error as { statusCode?: number; validation?: unknown[]; validationContext?: string; message?: string };
  if (fastifyError.validation) {
    const details = fieldErrorsOf(fastifyError.validation, fastifyError.validationContext);
    // A body with invalid fields is 422; a malformed address (path, query) or header is a plain bad request.
    if (fastifyError.validationContext === 'body' || fastifyError.validationContext === undefined) {
      return answer(422, 'validation', new ValidationError(details).message, details);
    }
    return answer(400, 'bad_request', details.map((d) => `${d.field} ${d.message}`).join('; '), details);
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 413) return answer(413, 'payload_too_large', `The request body is larger than the limit of ${bodyLimit} bytes`);
  if (status >= 400 && status < 500) {
    return answer(status, status === 415 ? 'unsupported_media_type' : 'bad_request', fastifyError.message ?? 'Bad request');
  }
  return answer(500, 'internal', 'Internal server error');
}

function answer(status: number, code: string, message: string, details?: FieldError[]): ErrorAnswer {
  return { status, body: details ? { error: code, message, details } : { error: code, message } };
}

/** Fastify's schema errors (ajv) as field errors; a path or query parameter is named as such. */
function fieldErrorsOf(validation: unknown[], context: string | undefined): FieldError[] {
  const where = context === 'querystring' ? 'query parameter ' : context === 'params' ? 'path parameter ' : context === 'headers' ? 'header ' : '';
  return validation.map((raw) => {
    const error = raw as { keyword?: string; instancePath?: string; params?: Record<string, unknown>; message?: string };
    if (error.keyword === 'required') return { field: `${where}${String(error.params?.missingProperty)}`, message: 'is required' };
    if (error.keyword === 'additionalProperties') {
      return { field: `${where}${String(error.params?.additionalProperty)}`, message: 'is not an accepted field' };
    }
    return { field: `${where}${(error.instancePath ?? '').replace(/^\//, '')}`, message: error.message ?? 'is invalid' };
  });
}
