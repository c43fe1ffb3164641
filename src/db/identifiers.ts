/**
 * User-given names become SQL identifiers (raw_<dataset>, clean_<dataset>_...) and artifact keys. They are checked
 * here, once, against a strict pattern; values always travel as bound parameters.
 */

import { InvalidInputError } from '../errors.js';

const IDENTIFIER = /^[a-z][a-z0-9_]{0,47}$/;

/** A dataset or table name: lower snake_case, starts with a letter, at most 48 characters. */
export function assertIdentifier(name: string, what = 'name'): string {
  if (!IDENTIFIER.test(name)) {
    throw new InvalidInputError(
      `Invalid ${what} "${name}": use lower-case letters, digits and _, starting with a letter, at most 48 characters`,
    );
  }
  return name;
}

/** Turns any text (a file name, a CSV header) into lower snake_case: " Loan Status" -> "loan_status". */
export function toSnakeCase(text: string): string {
  return text
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** A dataset name derived from a file name: "Loan Approval.csv" -> "loan_approval". */
export function datasetNameFromFile(fileName: string): string {
  const base = fileName.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '');
  let name = toSnakeCase(base).replace(/\./g, '_');
  if (!/^[a-z]/.test(name)) name = `d_${name}`;
  return assertIdentifier(name.slice(0, 48).replace(/_+$/, ''), 'dataset name');
}
