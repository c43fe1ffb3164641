import { describe, expect, it } from 'vitest';
import { MultinomialLogisticRegression, Ridge } from '../src/ml/linear.js';
import {
  bootstrapInterval,
  confusionMatrixMulticlass,
  evaluateMulticlass,
  evaluateRegression,
  f1Macro,
  logLossMulticlass,
  meanAbsoluteError,
  r2Score,
  rocAucOvr,
  rootMeanSquaredError,
} from '../src/ml/metrics.js';
import { createRng } from '../src/ml/random.js';
import { expectAllClose, loadFixture } from './ml-fixtures.js';

interface Fixture {
  multinomial: {
    X: number[][];
    y: number[];
    sampleWeight: number[];
    X_test: number[][];
    fits: { name: string; params: { C: number; fit_intercept?: boolean }; sampleWeight: boolean; coef: number[][]; intercept: number[]; proba_test: number[][]; lbfgs_coef: number[][]; lbfgs_proba_test: number[][] }[];
  };
  ridge: {
    X: number[][];
    y: number[];
    sampleWeight: number[];
    X_test: number[][];
    fits: { name: string; params: { alpha: number; fit_intercept?: boolean }; sampleWeight: boolean; coef: number[]; intercept: number; predict_test: number[] }[];
  };
  multiclass_metrics: {
    name: string;
    y: number[];
    P: number[];
    K: number;
    roc_auc: number;
    log_loss: number;
    accuracy: number;
    f1_macro: number;
    confusion_matrix: number[][];
    bootstrap: { resamples: number; seed: number; lower: number; upper: number; used: number };
  }[];
  regression_metrics: {
    name: string;
    y: number[];
    y_pred: number[];
    rmse: number;
    mae: number;
    r2: number;
    bootstrap: { resamples: number; seed: number; lower: number; upper: number; used: number };
  }[];
  rng: { seed: number; n: number; draws: number[] };
}
const fixture = loadFixture<Fixture>('sklearn_tasks.json');

describe.each(fixture.multinomial.fits)('multinomial LogisticRegression vs scikit-learn lbfgs: $name', (fit) => {
  const { X, y, X_test, sampleWeight } = fixture.multinomial;
  const model = new MultinomialLogisticRegression({ C: fit.params.C, fitIntercept: fit.params.fit_intercept ?? true }).fit(
    X,
    y,
    fit.sampleWeight ? sampleWeight : undefined,
  );

  it('reaches the same coefficients and intercepts', () => {
    expect(model.converged).toBe(true);
    expect(model.nClasses).toBe(fit.coef.length);
    fit.coef.forEach((row, k) => expectAllClose(model.coef[k], row, 1e-5 * Math.max(1, ...row.map(Math.abs))));
    expectAllClose(model.intercept, fit.intercept, 1e-5);
  });

  it("agrees with scikit-learn's default lbfgs fit to the precision at which that one stops", () => {
    fit.lbfgs_coef.forEach((row, k) => expectAllClose(model.coef[k], row, 5e-3 * Math.max(1, ...row.map(Math.abs))));
    expectAllClose(model.predictProbaMatrix(X_test), fit.lbfgs_proba_test.flat(), 1e-3);
  });

  it('gives the same probabilities, rows summing to 1, and survives its JSON', () => {
    const P = model.predictProbaMatrix(X_test);
    expectAllClose(P, fit.proba_test.flat(), 1e-6);
    for (let i = 0; i < X_test.length; i++) {
      expect(P.subarray(i * model.nClasses, (i + 1) * model.nClasses).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    const back = MultinomialLogisticRegression.fromJSON(JSON.parse(JSON.stringify(model.toJSON())));
    expect(Array.from(back.predictProbaMatrix(X_test))).toEqual(Array.from(P));
  });
});

describe('multinomial LogisticRegression input checks', () => {
  it('refuses labels that are not class codes and missing values, naming them', () => {
    expect(() => new MultinomialLogisticRegression().fit([[1], [2], [3]], [0, 1, 1.5])).toThrow(/y\[2\] must be a class code/);
    expect(() => new MultinomialLogisticRegression().fit([[1], [2], [3]], [0, 2, 2])).toThrow(/class 1 has no rows/);
    expect(() => new MultinomialLogisticRegression().fit([[1], [NaN], [3]], [0, 1, 2])).toThrow(/row 1 is NaN/);
  });

  it('rejects a model file whose coefficient rows do not match its classes', () => {
    const json = new MultinomialLogisticRegression().fit([[0], [1], [2], [3]], [0, 1, 2, 2]).toJSON();
    expect(() => MultinomialLogisticRegression.fromJSON({ ...json, coef: json.coef.slice(1) })).toThrow(/estimator.coef must be an array of 3 rows/);
  });
});

describe.each(fixture.ridge.fits)('Ridge vs scikit-learn: $name', (fit) => {
  const { X, y, X_test, sampleWeight } = fixture.ridge;
  it('has the same coefficients, intercept and predictions', () => {
    const model = new Ridge({ alpha: fit.params.alpha, fitIntercept: fit.params.fit_intercept ?? true }).fit(
      X,
      y,
      fit.sampleWeight ? sampleWeight : undefined,
    );
    expectAllClose(model.coef, fit.coef, 1e-8 * Math.max(1, ...fit.coef.map(Math.abs)));
    expect(Math.abs(model.intercept - fit.intercept)).toBeLessThan(1e-8);
    expectAllClose(model.predict(X_test), fit.predict_test, 1e-8);
    expect(Array.from(Ridge.fromJSON(JSON.parse(JSON.stringify(model.toJSON()))).predict(X_test))).toEqual(Array.from(model.predict(X_test)));
  });
});

describe('the seeded generator the bootstrap draws from', () => {
  it('draws the same rows as the Python port used for the fixtures', () => {
    const rng = createRng(fixture.rng.seed);
    expect(fixture.rng.draws.map(() => rng.int(fixture.rng.n))).toEqual(fixture.rng.draws);
  });
});

describe.each(fixture.multiclass_metrics)('multi-class metrics vs scikit-learn: $name', (c) => {
  it('macro one-vs-rest ROC AUC, log loss, accuracy, macro F1 and confusion matrix', () => {
    expect(rocAucOvr(c.y, c.P)).toBeCloseTo(c.roc_auc, 12);
    expect(logLossMulticlass(c.y, c.P)).toBeCloseTo(c.log_loss, 10);
    const e = evaluateMulticlass(c.y, c.P, { resamples: 10 });
    expect(e.roc_auc).toBeCloseTo(c.roc_auc, 12);
    expect(e.accuracy).toBeCloseTo(c.accuracy, 12);
    expect(e.f1_macro).toBeCloseTo(c.f1_macro, 12);
    expect(e.confusion_matrix).toEqual(c.confusion_matrix);
    expect(e.n_classes).toBe(c.K);
  });

  it('bootstrap interval of the macro AUC, with the same resamples', () => {
    const b = c.bootstrap;
    const ci = bootstrapInterval(c.y.length, (rows) => rocAucOvr(c.y, c.P, rows), { resamples: b.resamples, seed: b.seed });
    expect(ci.used).toBe(b.used);
    expect(ci.lower).toBeCloseTo(b.lower, 12);
    expect(ci.upper).toBeCloseTo(b.upper, 12);
    const e = evaluateMulticlass(c.y, c.P, { resamples: b.resamples, seed: b.seed });
    expect([e.roc_auc_ci_lower, e.roc_auc_ci_upper]).toEqual([ci.lower, ci.upper]);
    // Reproducible: the same seed gives the same interval; another seed another one.
    expect(bootstrapInterval(c.y.length, (rows) => rocAucOvr(c.y, c.P, rows), { resamples: b.resamples, seed: b.seed })).toEqual(ci);
    expect(bootstrapInterval(c.y.length, (rows) => rocAucOvr(c.y, c.P, rows), { resamples: b.resamples, seed: b.seed + 1 }).lower).not.toBe(ci.lower);
  });
});

describe.each(fixture.regression_metrics)('regression metrics vs scikit-learn: $name', (c) => {
  it('RMSE, MAE, R^2 and the bootstrap interval of R^2', () => {
    expect(rootMeanSquaredError(c.y, c.y_pred)).toBeCloseTo(c.rmse, 12);
    expect(meanAbsoluteError(c.y, c.y_pred)).toBeCloseTo(c.mae, 12);
    expect(r2Score(c.y, c.y_pred)).toBeCloseTo(c.r2, 12);
    const e = evaluateRegression(c.y, c.y_pred, { resamples: c.bootstrap.resamples, seed: c.bootstrap.seed });
    expect(e.rmse).toBeCloseTo(c.rmse, 12);
    expect(e.r2_ci_lower).toBeCloseTo(c.bootstrap.lower, 12);
    expect(e.r2_ci_upper).toBeCloseTo(c.bootstrap.upper, 12);
  });
});

describe('metric input checks', () => {
  it('names the bad row', () => {
    expect(() => rocAucOvr([0, 1, 3], [0.5, 0.5, 0.2, 0.8, 0.9, 0.1])).toThrow(/y\[2\] must be a class code in 0..1/);
    expect(() => confusionMatrixMulticlass([0, 1], [0, 2], 2)).toThrow(/yPred\[1\]/);
    expect(() => rootMeanSquaredError([1, NaN], [1, 2])).toThrow(/y\[1\] must be a finite number/);
    expect(f1Macro([[0, 0], [0, 5]])).toBe(0.5);
  });
});
