/** Errors the API answers with a status and a JSON body `{ error, message, details? }`. */

/** One invalid input field; `row` is the index in a batch request. */
export interface FieldError {
  field: string;
  message: string;
  row?: number;
}

export class ServeError extends Error {
  constructor(
    readonly statusCode: number,
    /** Machine-readable kind, e.g. 'validation', 'model_unavailable'. */
    readonly code: string,
    message: string,
    readonly details?: FieldError[],
  ) {
    super(message);
    this.name = 'ServeError';
  }

  toBody(): { error: string; message: string; details?: FieldError[] } {
    return this.details ? { error: this.code, message: this.message, details: this.details } : { error: this.code, message: this.message };
  }
}

export function validationError(details: FieldError[]): ServeError {
  const fields = details.length === 1 ? `field ${details[0].field || '(body)'}` : `${details.length} fields`;
  return new ServeError(422, 'validation', `Invalid request: ${fields}`, details);
}
