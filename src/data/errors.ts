import { InvalidInputError, type ErrorOptions } from '../errors.js';

/**
 * A problem with the user's file, data or options. The message says what is wrong and where (file, line, column), so
 * callers can show it as is, without a stack trace. Retrying cannot fix it (it is an InvalidInputError): a workflow
 * task that throws it fails at once.
 */
export class DataError extends InvalidInputError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, { code: 'invalid_data', ...options });
  }
}
