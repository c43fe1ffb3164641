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
  ],
  rowIdColumns: ['loan_id'],
  target: { name: 'loan_status', positiveLabel: 'Approved' },
};

/** What the API answers for the error `run` throws: its status, and the details of a 422. */
function errorsOf(run: () => unknown): { statusCode: number; details?: Array<{ field: string; message: string; row?: number }> } {
  try {
    run();
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    const { status, body } = errorAnswer(error, { bodyLimit: 0 });
    return { statusCode: status, details: body.details };
  }
  throw new Error('expected an InvalidInputError');
}

describe('RowContract', () => {
  it('publishes a JSON Schema with every feature required and the row id optional', () => {
    const { rowSchema } = new RowContract(signature);
    expect(rowSchema.required).toEqual(['income', 'education', 'self_employed']);
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
    const [row] = contract.parse({ 'Self Employed': true, EDUCATION: 2, Income: null, LoanId: 17 }, 10);
    expect(row.features).toEqual({ income: null, education: 2, self_employed: true });
    expect(Object.keys(row.features)).toEqual(['income', 'education', 'self_employed']);
    expect(row.rowId).toBe('17');
  });

  it('rejects unknown fields by default and drops them with the ignore policy', () => {
    const body = { income: 1, education: '1', self_employed: 0, colour: 'red' };
    const rejected = errorsOf(() => new RowContract(signature).parse(body, 10));
    expect(rejected.statusCode).toBe(422);
    expect(rejected.details).toEqual([{ field: 'colour', message: 'is not an input of this model (see GET /models for its fields)' }]);
    const [row] = new RowContract(signature, { unknownFields: 'ignore' }).parse(body, 10);
    expect(row.features).toEqual({ income: 1, education: '1', self_employed: 0 });
  });

  it('names each bad field once, with its row in a batch, and caps the list', () => {
    const contract = new RowContract(signature);
    const error = errorsOf(() => contract.parse([{ income: 'x', education: [], self_employed: 'yes' }, {}], 10));
    expect(error.details).toEqual([
      { field: 'income', message: 'must be a number or null', row: 0 },
      { field: 'education', message: 'must be a string (or a number for a coded category)', row: 0 },
      { field: 'self_employed', message: 'must be true, false, 0 or 1', row: 0 },
      { field: 'income', message: 'is required', row: 1 },
      { field: 'education', message: 'is required', row: 1 },
      { field: 'self_employed', message: 'is required', row: 1 },
    ]);
    const many = errorsOf(() => contract.parse(Array.from({ length: 200 }, () => ({})), 1000));
    expect(many.details).toHaveLength(100);
    expect(errorsOf(() => contract.parse([], 10)).details).toEqual([{ field: '', message: 'the batch is empty' }]);
    expect(errorsOf(() => contract.parse(Array.from({ length: 11 }, () => ({})), 10)).statusCode).toBe(413);
  });
});
