/** Models on the original's request features, fitted on synthetic loan applications, for the serving benchmarks. */
import { LogisticRegression } from '../src/ml/logistic.js';
import { createRng } from '../src/ml/random.js';
import { fitTabularModel, type TabularModel } from '../src/ml/tabular-model.js';
import { ORIGINAL_REQUEST } from './original.js';

export const LOAN_FEATURES = Object.keys(ORIGINAL_REQUEST).filter((k) => k !== 'id');

export interface SyntheticLoanModelOptions {
  rows: number;
  seed: number;
  /** Changes how sharply the label follows credit score and amount, so that models score differently. */
  variant: number;
  /** The logistic regression's inverse regularisation strength. */
  C?: number;
}

/** A logistic model fitted on `rows` synthetic applications (10% missing incomes) with a noisy rule as the label. */
export function fitSyntheticLoanModel(options: SyntheticLoanModelOptions): TabularModel {
  const { rows: n, variant } = options;
  const rng = createRng(options.seed);
  const data = Object.fromEntries(LOAN_FEATURES.map((name) => [name, new Float64Array(n)]));
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    data.age[i] = 20 + rng.int(50);
    data.annual_income[i] = rng.next() < 0.1 ? NaN : 20_000 + rng.int(130_000);
    data.credit_score[i] = 300 + rng.int(550);
    data.loan_amount[i] = 1000 + rng.int(49_000);
    data.loan_duration_years[i] = 1 + rng.int(30);
    data.number_of_open_accounts[i] = rng.int(20);
    data.had_past_default[i] = rng.next() < 0.2 ? 1 : 0;
    const score = (data.credit_score[i] - 575) / (60 + 60 * variant) - (data.loan_amount[i] - 25_000) / (10_000 * (1 + variant));
    y[i] = score + rng.next() - 0.5 > 0 ? 1 : 0;
  }
  return fitTabularModel({
    data,
    y,
    signature: {
      features: LOAN_FEATURES.map((name) => ({
        name,
        type: name === 'had_past_default' ? ('boolean' as const) : name === 'loan_duration_years' ? ('integer' as const) : ('float' as const),
        nullable: name === 'annual_income',
      })),
      rowIdColumns: ['id'],
      target: { name: 'loan_approval', positiveLabel: '1', negativeLabel: '0' },
    },
    estimator: new LogisticRegression(options.C === undefined ? {} : { C: options.C }),
    encoding: 'linear',
  });
}
