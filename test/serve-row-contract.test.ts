/** The request contract generated from a signature: schema shape, field-name spellings, policies, messages. */
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../src/errors.js';
import { errorAnswer } from '../src/serve/errors.js';
import { RowContract } from '../src/serve/row-contract.js';
import type { ServingSignature } from '../src/serve/types.js';

const signature: ServingSignature = {
  features: [
    { name: 'income', type: 'float', nullable: true },
    { name: 'education', type: 'categorical', nullable: false, categories: ['1', '2', '3'] },
    { name: 'self_employed', type: 'boolean', nullable: false },
    { name: 'dependents', type: 'integer', nullable: true },
  ],
  rowIdColumns: ['loan_id'],
  target: { name: 'loan_status', positiveLabel: 'Approved' },
};

/** What the API answers for the error `run` throws: its status, and the details of a 422. */
function errorsOf(run: () => unknown): {
  statusCode: number;
  message: string;
  details?: Array<{ field: string; message: string; row?: number }>;
} {
  try {
    run();
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    const { status, body } = errorAnswer(error, { bodyLimit: 0 });
    return { statusCode: status, message: body.message, details: body.details };
  }
  throw new Error('expected an InvalidInputError');
}

describe('RowContract', () => {
  it('publishes a JSON Schema with every feature required and the row id optional', () => {
    const { rowSchema } = new RowContract(signature);
    expect(rowSchema.required).toEqual(['income', 'education', 'self_employed', 'dependents']);
    expect(rowSchema.additionalProperties).toBe(false);
    const properties = rowSchema.properties as Record<string, Record<string, unknown>>;
    expect(properties.income.type).toEqual(['number', 'null']);
    expect(properties.education.type).toEqual(['string', 'number']);
    expect(properties.education.examples).toEqual(['1', '2', '3']);
    expect(properties.self_employed.enum).toEqual([true, false, 0, 1]);
    expect(Object.keys(properties)[0]).toBe('loan_id');
  });

  it('returns features in signature order, without the row id, from any spelling of the names', () => {
    const contract = new RowContract(signature);
    const [row] = contract.parse({ 'Self Employed': true, EDUCATION: 2, Income: null, LoanId: 17, dependents: 2 }, 10);
    expect(row.features).toEqual({ income: null, education: 2, self_employed: true, dependents: 2 });
    expect(Object.keys(row.features)).toEqual(['income', 'education', 'self_employed', 'dependents']);
    expect(row.rowId).toBe('17');
  });

  it('rejects unknown fields by default and drops them with the ignore policy', () => {
    const body = { income: 1, education: '1', self_employed: 0, dependents: null, colour: 'red' };
    const rejected = errorsOf(() => new RowContract(signature).parse(body, 10));
    expect(rejected.statusCode).toBe(422);
    expect(rejected.details).toEqual([{ field: 'colour', message: 'is not an input of this model (see GET /models for its fields)' }]);
    const [row] = new RowContract(signature, { unknownFields: 'ignore' }).parse(body, 10);
    expect(row.features).toEqual({ income: 1, education: '1', self_employed: 0, dependents: null });
  });

  it('names each bad field once, with its row in a batch, and caps the list', () => {
    const contract = new RowContract(signature);
    const error = errorsOf(() => contract.parse([{ income: 'x', education: [], self_employed: 'yes', dependents: 0 }, {}], 10));
    expect(error.details).toEqual([
      { field: 'income', message: 'must be a number or null', row: 0 },
      { field: 'education', message: 'must be a string of at most 1000 characters without NUL (or a number for a coded category)', row: 0 },
      { field: 'self_employed', message: 'must be true, false, 0 or 1', row: 0 },
      { field: 'income', message: 'is required', row: 1 },
      { field: 'education', message: 'is required', row: 1 },
      { field: 'self_employed', message: 'is required', row: 1 },
      { field: 'dependents', message: 'is required', row: 1 },
    ]);
    const many = errorsOf(() => contract.parse(Array.from({ length: 200 }, () => ({})), 1000));
    expect(many.details).toHaveLength(100);
    expect(errorsOf(() => contract.parse([], 10)).details).toEqual([{ field: '', message: 'the batch is empty' }]);
    expect(errorsOf(() => contract.parse(Array.from({ length: 11 }, () => ({})), 10)).statusCode).toBe(413);
  });

  const valid = { income: 1, education: '1', self_employed: 0, dependents: 1 };
  const problem = (row: Record<string, unknown>) => errorsOf(() => new RowContract(signature).parse(row, 10));

  it('bounds every stored string: a row id fits predictions.row_id, a category stays short, NUL is refused', () => {
    const contract = new RowContract(signature);
    expect(contract.parse({ ...valid, loan_id: 'x'.repeat(255) }, 10)[0].rowId).toHaveLength(255);
    // 255 characters, not bytes: what varchar(255) holds on PostgreSQL and on MySQL with utf8mb4.
    expect(contract.parse({ ...valid, loan_id: '\u{1F600}'.repeat(255) }, 10)[0].rowId).toBe('\u{1F600}'.repeat(255));
    expect(problem({ ...valid, loan_id: 'x'.repeat(256) }).details).toEqual([
      { field: 'loan_id', message: 'must be at most 255 characters long' },
    ]);
    expect(problem({ ...valid, id: 'a\u0000b' }).details).toEqual([{ field: 'id', message: 'must not contain the NUL character (U+0000)' }]);
    expect(problem({ ...valid, education: 'a\u0000b' }).details?.[0].field).toBe('education');
    expect(problem({ ...valid, education: 'e'.repeat(1001) }).details?.[0].field).toBe('education');
    expect(contract.parse({ ...valid, education: 'e'.repeat(1000) }, 10)[0].features.education).toHaveLength(1000);
    const error = problem({ ...valid, loan_id: 'x'.repeat(300) });
    expect(error.statusCode).toBe(422);
    expect(error.message).toBe('Invalid request: field loan_id');
  });

  it('takes whole numbers only for an integer feature', () => {
    expect(problem({ ...valid, dependents: 12.5 }).details).toEqual([
      { field: 'dependents', message: 'must be an integer (a whole number) or null' },
    ]);
    expect(new RowContract(signature).parse({ ...valid, dependents: 12.0 }, 10)[0].features.dependents).toBe(12);
  });

  it('never stores a numeric row id rounded: beyond 2^53 it must come as a string', () => {
    const contract = new RowContract(signature);
    // JSON.parse reads 9223372036854775808 as 9223372036854775808 rounded to a double: refused, with the way out.
    const big = problem(JSON.parse('{"income":1,"education":"1","self_employed":0,"dependents":1,"loan_id":9223372036854775808}'));
    expect(big.details).toEqual([
      {
        field: 'loan_id',
        message: 'must be a whole number between -9007199254740991 and 9007199254740991; send a bigger id as a string to keep it exact',
      },
    ]);
    expect(problem({ ...valid, loan_id: -(2 ** 53) }).details?.[0].field).toBe('loan_id');
    expect(contract.parse({ ...valid, loan_id: 9007199254740991 }, 10)[0].rowId).toBe('9007199254740991');
    expect(contract.parse({ ...valid, loan_id: '9223372036854775808' }, 10)[0].rowId).toBe('9223372036854775808');
    expect(problem({ ...valid, loan_id: 1.5 }).details).toEqual([
      { field: 'loan_id', message: 'must be a string or an integer (a row id), or null' },
    ]);
  });
});
