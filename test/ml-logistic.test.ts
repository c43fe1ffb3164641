import { describe, expect, it } from 'vitest';
import { toFrame } from '../src/ml/frame.js';
import { LogisticRegression, type LogisticRegressionOptions } from '../src/ml/logistic.js';
import { createRng } from '../src/ml/random.js';
import { expectAllClose, loadFixture } from './ml-fixtures.js';

interface LogisticFit {
  name: string;
  params: { C: number; class_weight?: 'balanced' | Record<string, number>; fit_intercept?: boolean };
  sampleWeight: boolean;
  coef: number[];
  intercept: number;
  proba_test: number[];
  lbfgs_default_coef: number[];
  lbfgs_default_intercept: number;
}
const fixture = loadFixture<{ X: number[][]; y: number[]; sampleWeight: number[]; X_test: number[][]; fits: LogisticFit[] }>(
  'sklearn_logistic.json',
);

function optionsOf(fit: LogisticFit): LogisticRegressionOptions {
  const cw = fit.params.class_weight;
  return {
    C: fit.params.C,
    fitIntercept: fit.params.fit_intercept ?? true,
    classWeight: cw === undefined ? undefined : cw === 'balanced' ? 'balanced' : { 0: cw['0'], 1: cw['1'] },
  };
}

describe.each(fixture.fits)('LogisticRegression vs scikit-learn: $name', (fit) => {
  const sw = fit.sampleWeight ? fixture.sampleWeight : undefined;

  it.each(['newton', 'lbfgs'] as const)('%s reaches the optimum of scikit-learn\'s objective', (solver) => {
    const tol = 1e-7;
    const model = new LogisticRegression({ ...optionsOf(fit), solver, tol, maxIter: 500 }).fit(fixture.X, fixture.y, sw);
    expect(model.converged).toBe(true);
    // Reference: newton-cg run to a gradient below 1e-6, i.e. the exact optimum.
    expectAllClose(model.coef, fit.coef, 1e-6);
    expect(Math.abs(model.intercept - fit.intercept)).toBeLessThan(1e-6);
    expectAllClose(model.predictProba(fixture.X_test), fit.proba_test, 1e-7);
  });

  it("is within scikit-learn's own lbfgs tolerance of its default fit", () => {
    // scikit-learn's default lbfgs (tol=1e-4) stops up to ~5e-4 short of the optimum on this data.
    const model = new LogisticRegression(optionsOf(fit)).fit(fixture.X, fixture.y, sw);
    expectAllClose(model.coef, fit.lbfgs_default_coef, 1e-3);
  });
});

describe('LogisticRegression behaviour', () => {
  const { X, y } = fixture;

  it('treats class weights as per-class sample weights', () => {
    const weighted = new LogisticRegression({ classWeight: { 0: 1, 1: 3 } }).fit(X, y);
    const viaSamples = new LogisticRegression().fit(X, y, y.map((v) => (v === 1 ? 3 : 1)));
    expectAllClose(weighted.coef, Array.from(viaSamples.coef), 1e-12);
  });

  it('scores a Frame and rows identically and predicts with a threshold', () => {
    const model = new LogisticRegression().fit(toFrame(X), y);
    const fromRows = model.predictProba(fixture.X_test);
    expect(model.predictProba(toFrame(fixture.X_test))).toEqual(fromRows);
    expect(Array.from(model.predict(fixture.X_test))).toEqual(Array.from(fromRows, (p) => (p >= 0.5 ? 1 : 0)));
    expect(Array.from(model.predict(fixture.X_test, 0.9))).toEqual(Array.from(fromRows, (p) => (p >= 0.9 ? 1 : 0)));
  });

  it('stays finite on separable data and extreme scores', () => {
    const sepX = [[-2], [-1], [1], [2]];
    const model = new LogisticRegression({ C: 1e6 }).fit(sepX, [0, 0, 1, 1]);
    expect(Number.isFinite(model.coef[0])).toBe(true);
    expect(model.coef[0]).toBeGreaterThan(5);
    const proba = model.predictProba([[-1e6], [1e6]]);
    expect(Array.from(proba)).toEqual([0, 1]);
  });

  it('solves unscaled features (money next to ratios) by Newton and L-BFGS alike', () => {
    const rng = createRng(3);
    const n = 400;
    const rows = Array.from({ length: n }, () => [rng.next() * 4e7, rng.next(), 300 + 600 * rng.next()]);
    const labels = rows.map(([money, ratio, score]) => (money / 4e7 + ratio + (score - 600) / 300 + rng.next() - 1.5 > 0 ? 1 : 0));
    const newton = new LogisticRegression({ solver: 'newton' }).fit(rows, labels);
    expect(newton.converged).toBe(true);
    // Rescaling a column rescales its coefficient only when the penalty is negligible: compare probabilities instead.
    const lbfgs = new LogisticRegression({ solver: 'lbfgs', maxIter: 2000, tol: 1e-10 }).fit(rows, labels);
    expectAllClose(lbfgs.predictProba(rows), Array.from(newton.predictProba(rows)), 1e-4);
  });

  it('round-trips through JSON with bit-identical probabilities', () => {
    const model = new LogisticRegression({ C: 0.1, classWeight: 'balanced' }).fit(X, y);
    const copy = LogisticRegression.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    expect(copy.predictProba(fixture.X_test)).toEqual(model.predictProba(fixture.X_test));
    expect(copy.toJSON()).toEqual(model.toJSON());
  });

  it('rejects bad estimator JSON naming the field', () => {
    const json = new LogisticRegression().fit(X, y).toJSON();
    expect(() => LogisticRegression.fromJSON({ ...json, coef: [1, NaN, 0, 0, 0] })).toThrow('estimator.coef[1] must be a finite number, got NaN');
    expect(() => LogisticRegression.fromJSON({ ...json, coef: [1, 2] })).toThrow('estimator.coef must have 5 entries, got 2');
    expect(() => LogisticRegression.fromJSON({ ...json, params: { ...json.params, C: -1 } })).toThrow('estimator.params.C must be >=');
    expect(() => LogisticRegression.fromJSON({ ...json, kind: 'svm' })).toThrow('estimator.kind must be one of "logistic_regression"');
  });

  it('rejects bad input with the row, column or option named', () => {
    expect(() => new LogisticRegression().fit([[1], [NaN]], [0, 1])).toThrow('column 0, row 1 is NaN; impute missing values first');
    expect(() => new LogisticRegression().fit([[1], [2]], [1, 1])).toThrow('y must contain both classes');
    expect(() => new LogisticRegression().fit([[1], [2]], [0, 2])).toThrow('y[1] must be 0 or 1, got 2');
    expect(() => new LogisticRegression().fit([[1], [2]], [0, 1], [1, -1])).toThrow('sampleWeight[1] must be a finite number >= 0');
    expect(() => new LogisticRegression({ C: 0 })).toThrow('C must be a positive number');
    expect(() => new LogisticRegression().predictProba([[1]])).toThrow('not fitted');
    const model = new LogisticRegression().fit(X, y);
    expect(() => model.predictProba([[1, 2]])).toThrow('LogisticRegression was fitted on 5 features but the input has 2');
  });
});

describe('toFrame', () => {
  it('transposes rows and keeps NaN as missing', () => {
    const frame = toFrame([
      [1, NaN],
      [3, 4],
    ]);
    expect(frame.nRows).toBe(2);
    expect(Array.from(frame.columns[0])).toEqual([1, 3]);
    expect(Number.isNaN(frame.columns[1][0])).toBe(true);
  });

  it('names the ragged or non-numeric row', () => {
    expect(() => toFrame([[1, 2], [3]])).toThrow('row 1 has 1 values, expected 2 like row 0');
    expect(() => toFrame([[1, 2], [3, '4' as unknown as number]])).toThrow('row 1, column 1 must be a number (NaN for missing), got "4"');
    expect(() => toFrame({ nRows: 2, columns: [new Float64Array(3)] })).toThrow('Frame.columns[0] has 3 values, expected nRows = 2');
  });
});
