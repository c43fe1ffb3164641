/**
 * The request contract of one model version: a JSON Schema generated from the model's signature (published in the
 * OpenAPI document) and the validator compiled from that same schema, so the docs and the checks cannot disagree.
 * Field names are the signature's snake_case names; other spellings ("Age", "Annual Income") are mapped onto them
 * before validation.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { toSnakeCase } from '../db/identifiers.js';
import type { FeatureSpec } from '../ml/types.js';
import { TooLargeError } from '../errors.js';
import { validationError, type FieldError } from './errors.js';
import type { ServingSignature } from './types.js';

/** What to do with a field the model does not know: answer 422 (default) or drop it. */
export type UnknownFieldPolicy = 'reject' | 'ignore';

export interface RowContractOptions {
  unknownFields?: UnknownFieldPolicy;
}

/** A validated request row: the model's features in signature order, and the caller's row id when sent. */
export interface ParsedRow {
  features: Record<string, unknown>;
  rowId: string | null;
}

export type JsonSchema = Record<string, unknown>;

/** At most this many field errors are listed in one 422 answer (a 1,000-row batch of junk stays small). */
const MAX_REPORTED_ERRORS = 100;

/** A row id is stored in predictions.row_id, varchar(255) (characters, on every backend). */
export const MAX_ROW_ID_LENGTH = 255;
/** Longest categorical value: far above any real category, small enough that a row's inputs stay a small record. */
export const MAX_CATEGORY_LENGTH = 1000;
/** Text without U+0000: PostgreSQL cannot store it in text columns, and no real value contains it. */
export const NO_NUL_PATTERN = '^[^\\u0000]*$';
/** Integers a JSON number holds exactly; a row id beyond them would be stored rounded, so it must come as a string. */
const MAX_EXACT_INTEGER = Number.MAX_SAFE_INTEGER;

/** The API's validator: draft-07 with union types, no coercion ("35" is not a number), every error reported. */
export const strictAjv = new Ajv({ allErrors: true, allowUnionTypes: true, coerceTypes: false, useDefaults: false });

export class RowContract {
  /** JSON Schema of one request row, as published in the OpenAPI document. */
  readonly rowSchema: JsonSchema;
  private readonly validateRow: ValidateFunction;
  private readonly canonical: Set<string>;
  private readonly aliases = new Map<string, string>();
  private readonly byName = new Map<string, FeatureSpec>();
  private readonly unknownFields: UnknownFieldPolicy;

  constructor(
    private readonly signature: ServingSignature,
    options: RowContractOptions = {},
  ) {
    this.unknownFields = options.unknownFields ?? 'reject';
    for (const feature of signature.features) this.byName.set(feature.name, feature);
    this.canonical = new Set([...signature.features.map((f) => f.name), ...rowIdFields(signature)]);
    for (const name of this.canonical) {
      this.aliases.set(name.toLowerCase(), name);
      this.aliases.set(toSnakeCase(name), name);
    }
    this.rowSchema = rowSchemaOf(signature);
    this.validateRow = strictAjv.compile(this.rowSchema);
  }

  /**
   * Validates a request body (one row object or an array of them) and returns its rows, or throws:
   * 422 naming every bad field (with its row index in a batch), 413 when a batch has more than `maxRows` rows.
   */
  parse(body: unknown, maxRows: number): ParsedRow[] {
    const batch = Array.isArray(body);
    const rows: unknown[] = batch ? (body as unknown[]) : [body];
    if (batch && rows.length === 0) throw validationError([{ field: '', message: 'the batch is empty' }]);
    if (rows.length > maxRows) {
      throw new TooLargeError(`A batch may hold at most ${maxRows} rows; this one has ${rows.length}`, { code: 'too_many_rows' });
    }
    const errors: FieldError[] = [];
    const parsed: ParsedRow[] = [];
    for (let i = 0; i < rows.length && errors.length < MAX_REPORTED_ERRORS; i++) {
      const rowErrors: FieldError[] = [];
      const row = this.parseRow(rows[i], rowErrors);
      for (const error of rowErrors) errors.push(batch ? { ...error, row: i } : error);
      if (row) parsed.push(row);
    }
    if (errors.length > 0) throw validationError(errors.slice(0, MAX_REPORTED_ERRORS));
    return parsed;
  }

  private parseRow(value: unknown, errors: FieldError[]): ParsedRow | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      errors.push({ field: '', message: 'a row must be a JSON object of field: value' });
      return undefined;
    }
    const row = this.canonicalNames(value as Record<string, unknown>, errors);
    if (!this.validateRow(row)) errors.push(...this.describe(this.validateRow.errors ?? []));
    if (errors.length > 0) return undefined;
    const features: Record<string, unknown> = {};
    for (const feature of this.signature.features) features[feature.name] = row[feature.name];
    return { features, rowId: this.rowIdOf(row) };
  }

  /** The row with every field under its canonical name; unknown fields kept (to be reported) or dropped. */
  private canonicalNames(row: Record<string, unknown>, errors: FieldError[]): Record<string, unknown> {
    let exact = true;
    for (const key in row) {
      if (!this.canonical.has(key)) {
        exact = false;
        break;
      }
    }
    if (exact) return row;
    const out: Record<string, unknown> = Object.create(null);
    const givenAs = new Map<string, string>();
    for (const [key, value] of Object.entries(row)) {
      const name = this.canonical.has(key) ? key : (this.aliases.get(key.toLowerCase()) ?? this.aliases.get(toSnakeCase(key)));
      if (name === undefined) {
        if (this.unknownFields === 'reject') out[key] = value;
        continue;
      }
      const previous = givenAs.get(name);
      if (previous !== undefined) {
        errors.push({ field: key, message: `field ${name} is given twice (as "${previous}" and "${key}")` });
        continue;
      }
      givenAs.set(name, key);
      out[name] = value;
    }
    return out;
  }

  private rowIdOf(row: Record<string, unknown>): string | null {
    for (const column of rowIdFields(this.signature)) {
      const value = row[column];
      if (value !== undefined && value !== null) return String(value);
    }
    return null;
  }

  /** One message per field, in terms of the field's type rather than JSON Schema keywords. */
  private describe(errors: ErrorObject[]): FieldError[] {
    const byField = new Map<string, string>();
    for (const error of errors) {
      if (error.keyword === 'required') {
        byField.set(String(error.params.missingProperty), 'is required');
      } else if (error.keyword === 'additionalProperties') {
        byField.set(String(error.params.additionalProperty), 'is not an input of this model (see GET /models for its fields)');
      } else {
        const field = decodePointer(error.instancePath);
        if (byField.has(field)) continue;
        const feature = this.byName.get(field);
        byField.set(field, feature ? `must be ${expectedValue(feature)}` : rowIdProblem(error));
      }
    }
    return [...byField].map(([field, message]) => ({ field, message }));
  }
}

/** What is wrong with a row id field, in the caller's terms. */
function rowIdProblem(error: ErrorObject): string {
  switch (error.keyword) {
    case 'maxLength':
      return `must be at most ${MAX_ROW_ID_LENGTH} characters long`;
    case 'pattern':
      return 'must not contain the NUL character (U+0000)';
    case 'minimum':
    case 'maximum':
      return `must be a whole number between -${MAX_EXACT_INTEGER} and ${MAX_EXACT_INTEGER}; send a bigger id as a string to keep it exact`;
    default:
      return 'must be a string or an integer (a row id), or null';
  }
}

function decodePointer(pointer: string): string {
  return pointer.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
}

function expectedValue(feature: FeatureSpec): string {
  const base =
    feature.type === 'boolean'
      ? 'true, false, 0 or 1'
      : feature.type === 'categorical'
        ? `a string of at most ${MAX_CATEGORY_LENGTH} characters without NUL (or a number for a coded category)`
        : feature.type === 'integer'
          ? 'an integer (a whole number)'
          : 'a number';
  return feature.nullable ? `${base} or null` : base;
}

function featureSchema(feature: FeatureSpec): JsonSchema {
  const nullable = feature.nullable;
  switch (feature.type) {
    case 'integer':
    case 'float':
      return {
        // An integer feature takes whole numbers only (12.5 is refused, 12.0 is 12): its training data had no others.
        type: nullable ? [jsonType(feature), 'null'] : jsonType(feature),
        description: `${feature.type}${nullable ? ', null when missing' : ''}`,
      };
    case 'boolean':
      return {
        enum: nullable ? [true, false, 0, 1, null] : [true, false, 0, 1],
        description: `boolean (true/false or 1/0)${nullable ? ', null when missing' : ''}`,
      };
    case 'categorical': {
      const levels = feature.categories ?? [];
      const shown = levels.slice(0, 20).map((c) => JSON.stringify(c)).join(', ');
      return {
        // Numbers are accepted for coded categories (e.g. EDUCATION 1..6) and compared as their text.
        type: nullable ? ['string', 'number', 'null'] : ['string', 'number'],
        maxLength: MAX_CATEGORY_LENGTH,
        pattern: NO_NUL_PATTERN,
        description:
          `categorical${levels.length ? `: one of ${shown}${levels.length > 20 ? ', ...' : ''}` : ''}; ` +
          `a value not seen in training is accepted and scored as an unknown category${nullable ? '; null when missing' : ''}`,
        ...(levels.length ? { examples: levels.slice(0, 5) } : {}),
      };
    }
  }
}

function jsonType(feature: FeatureSpec): 'integer' | 'number' {
  return feature.type === 'integer' ? 'integer' : 'number';
}

/**
 * The fields a caller may send to identify a row: the training data's row-id columns, and `id` (what the original
 * API's clients send, whatever the CSV called its index column) unless the model has a feature of that name.
 */
export function rowIdFields(signature: ServingSignature): string[] {
  const fields = [...signature.rowIdColumns];
  if (!fields.includes('id') && !signature.features.some((f) => f.name === 'id')) fields.push('id');
  return fields;
}

/** JSON Schema of one request row: every feature required (null allowed where nullable), row-id fields optional. */
export function rowSchemaOf(signature: ServingSignature): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const column of rowIdFields(signature)) {
    properties[column] = {
      type: ['string', 'integer', 'null'],
      maxLength: MAX_ROW_ID_LENGTH,
      pattern: NO_NUL_PATTERN,
      minimum: -MAX_EXACT_INTEGER,
      maximum: MAX_EXACT_INTEGER,
      description:
        `row id: not a model input; stored with the prediction as row_id (text of at most ${MAX_ROW_ID_LENGTH} ` +
        `characters, or an integer of at most ${MAX_EXACT_INTEGER} in magnitude: send bigger ids as strings)`,
    };
  }
  for (const feature of signature.features) properties[feature.name] = featureSchema(feature);
  return {
    type: 'object',
    properties,
    required: signature.features.map((f) => f.name),
    additionalProperties: false,
  };
}
