/**
 * A synthetic loan data set with the original stack's schema (its data/dataset.csv): a 0..n-1 row index column with an
 * empty header, the same value ranges, a few percent of empty cells in the same columns, and, unlike the original
 * (where no model beats chance), a learnable approval rule: a logistic function of credit score, income-to-loan ratio,
 * past default, age and loan duration. The best possible model reaches a ROC AUC of about 0.87 on it.
 */
import { InvalidInputError } from '../errors.js';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { createRng, type Rng } from '../ml/random.js';

export const LOAN_SAMPLE_HEADER =
  ',Age,Annual_Income,Credit_Score,Loan_Amount,Loan_Duration_Years,Number_of_Open_Accounts,Had_Past_Default,Loan_Approval';

/** One applicant, before any value is blanked out. */
export interface LoanApplicant {
  age: number;
  annualIncome: number;
  creditScore: number;
  loanAmount: number;
  loanDurationYears: number;
  openAccounts: number;
  pastDefault: 0 | 1;
}

/** Share of empty cells per column, as in the original file. */
const MISSING_SHARE = { age: 0.05, annualIncome: 0.03, creditScore: 0.04, loanAmount: 0.02, openAccounts: 0.01 };

/** The log-odds of approval: the rule the labels are drawn from. */
export function loanApprovalLogit(a: LoanApplicant): number {
  return (
    0.012 * (a.creditScore - 575) +
    1.1 * (Math.log(a.annualIncome / a.loanAmount) - 1.55) -
    1.3 * (a.pastDefault - 0.5) +
    0.015 * (a.age - 44) -
    0.03 * (a.loanDurationYears - 15)
  );
}

function between(rng: Rng, low: number, high: number): number {
  return low + rng.int(high - low + 1);
}

function applicant(rng: Rng): LoanApplicant {
  return {
    age: between(rng, 18, 69),
    annualIncome: between(rng, 30_000, 200_000),
    creditScore: between(rng, 300, 850),
    loanAmount: between(rng, 5_000, 50_000),
    loanDurationYears: between(rng, 1, 29),
    openAccounts: between(rng, 1, 14),
    pastDefault: rng.next() < 0.5 ? 1 : 0,
  };
}

/** A value written the way pandas writes a float column with missing values: `35.0`, or empty when blanked out. */
function cell(rng: Rng, value: number, missingShare: number): string {
  return rng.next() < missingShare ? '' : `${value}.0`;
}

function line(rng: Rng, index: number): string {
  const a = applicant(rng);
  const approved = rng.next() < 1 / (1 + Math.exp(-loanApprovalLogit(a))) ? 1 : 0;
  return [
    index,
    cell(rng, a.age, MISSING_SHARE.age),
    cell(rng, a.annualIncome, MISSING_SHARE.annualIncome),
    cell(rng, a.creditScore, MISSING_SHARE.creditScore),
    cell(rng, a.loanAmount, MISSING_SHARE.loanAmount),
    a.loanDurationYears,
    cell(rng, a.openAccounts, MISSING_SHARE.openAccounts),
    a.pastDefault,
    approved,
  ].join(',');
}

export interface LoanSampleOptions {
  rows?: number;
  seed?: number;
}

/** Writes the sample to `file`, streaming (a million rows take a few seconds and little memory). Deterministic by seed. */
export async function writeLoanSample(file: string, { rows = 5000, seed = 42 }: LoanSampleOptions = {}): Promise<void> {
  if (!Number.isSafeInteger(rows) || rows < 1) throw new InvalidInputError(`rows must be a positive integer, got ${rows}`);
  const rng = createRng(seed);
  const out = createWriteStream(file);
  const failed = once(out, 'error').then(([error]) => Promise.reject(error as Error));
  failed.catch(() => undefined);
  let block = `${LOAN_SAMPLE_HEADER}\n`;
  for (let i = 0; i < rows; i++) {
    block += `${line(rng, i)}\n`;
    if (block.length >= 1 << 16 || i === rows - 1) {
      if (!out.write(block)) await Promise.race([once(out, 'drain'), failed]);
      block = '';
    }
  }
  out.end();
  await Promise.race([finished(out), failed]);
}
