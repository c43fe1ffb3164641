import { describe, expect, it } from 'vitest';
import {
  accuracy,
  bestF1Threshold,
  confusionMatrix,
  evaluateBinary,
  f1,
  logLoss,
  normalQuantile,
  precision,
  recall,
  rocAuc,
  rocAucConfidenceInterval,
  rocCurve,
} from '../src/ml/metrics.js';
import { expectAllClose, loadFixture } from './ml-fixtures.js';

interface MetricsCase {
  name: string;
  y: number[];
  p: number[];
  roc_auc: number;
  roc_curve: { fpr: number[]; tpr: number[]; thresholds: number[] };
  log_loss: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion_matrix: { tn: number; fp: number; fn: number; tp: number };
  delong: { auc: number; standardError: number; lower: number; upper: number };
  best_f1: { threshold: number; f1: number; precision: number; recall: number };
}
const fixture = loadFixture<{ cases: MetricsCase[]; normal_quantiles: { q: number; z: number }[] }>('sklearn_metrics.json');
const predictAtHalf = (p: number[]) => p.map((v) => (v >= 0.5 ? 1 : 0));

describe.each(fixture.cases)('metrics vs scikit-learn: $name', (c) => {
  it('rocAuc equals roc_auc_score (ties count one half)', () => {
    expect(rocAuc(c.y, c.p)).toBeCloseTo(c.roc_auc, 12);
  });

  it('rocCurve equals roc_curve(drop_intermediate=True)', () => {
    const curve = rocCurve(c.y, Float64Array.from(c.p));
    expectAllClose(curve.fpr, c.roc_curve.fpr, 1e-12);
    expectAllClose(curve.tpr, c.roc_curve.tpr, 1e-12);
    expectAllClose(curve.thresholds, c.roc_curve.thresholds, 1e-12);
  });

  it('logLoss equals log_loss, including clipped 0 and 1 probabilities', () => {
    expect(logLoss(c.y, c.p)).toBeCloseTo(c.log_loss, 12);
  });

  it('threshold metrics and the confusion matrix equal scikit-learn', () => {
    const yPred = predictAtHalf(c.p);
    expect(confusionMatrix(c.y, yPred)).toEqual(c.confusion_matrix);
    expect(accuracy(c.y, yPred)).toBeCloseTo(c.accuracy, 14);
    expect(precision(c.y, yPred)).toBeCloseTo(c.precision, 14);
    expect(recall(c.y, yPred)).toBeCloseTo(c.recall, 14);
    expect(f1(c.y, yPred)).toBeCloseTo(c.f1, 14);
  });

  it('DeLong interval equals the O(m n) definition computed in numpy', () => {
    const ci = rocAucConfidenceInterval(c.y, c.p);
    expect(ci.auc).toBeCloseTo(c.delong.auc, 12);
    expect(ci.standardError).toBeCloseTo(c.delong.standardError, 12);
    expect(ci.lower).toBeCloseTo(c.delong.lower, 8);
    expect(ci.upper).toBeCloseTo(c.delong.upper, 8);
  });

  it('bestF1Threshold finds the brute-force optimum over all distinct thresholds', () => {
    const best = bestF1Threshold(c.y, c.p);
    expect(best.threshold).toBe(c.best_f1.threshold);
    expect(best.f1).toBeCloseTo(c.best_f1.f1, 12);
    expect(best.precision).toBeCloseTo(c.best_f1.precision, 12);
    expect(best.recall).toBeCloseTo(c.best_f1.recall, 12);
  });

  it('evaluateBinary reports the same numbers under snake_case names', () => {
    const report = evaluateBinary(c.y, Float64Array.from(c.p));
    expect(report).toMatchObject({
      confusion_matrix: c.confusion_matrix,
      n: c.y.length,
      positives: c.y.filter((v) => v === 1).length,
    });
    expect(report.roc_auc).toBeCloseTo(c.roc_auc, 12);
    expect(report.roc_auc_ci_lower).toBeCloseTo(c.delong.lower, 8);
    expect(report.roc_auc_ci_upper).toBeCloseTo(c.delong.upper, 8);
    expect(report.log_loss).toBeCloseTo(c.log_loss, 12);
    expect(report.f1).toBeCloseTo(c.f1, 12);
    expect(Object.keys(report).sort()).toEqual(
      ['accuracy', 'confusion_matrix', 'f1', 'log_loss', 'n', 'positives', 'precision', 'recall', 'roc_auc', 'roc_auc_ci_lower', 'roc_auc_ci_upper'],
    );
  });
});

describe('DeLong confidence interval', () => {
  it('matches a hand computation', () => {
    // Positives 0.9, 0.8, 0.4; negatives 0.7, 0.4, 0.2, 0.1.
    // V10 = [1, 1, 2.5/4] and V01 = [2/3, 2.5/3, 1, 1]; AUC = 10.5/12 = 7/8.
    // S10 = 0.09375 / 2 = 3/64, S01 = (25 + 1 + 9 + 9) / 576 / 3 = 11/432; Var = S10/3 + S01/4 = 19/864.
    const y = [1, 1, 1, 0, 0, 0, 0];
    const p = [0.9, 0.8, 0.4, 0.7, 0.4, 0.2, 0.1];
    const ci = rocAucConfidenceInterval(y, p);
    const se = Math.sqrt(19 / 864);
    expect(ci.auc).toBe(7 / 8);
    expect(ci.standardError).toBeCloseTo(se, 14);
    expect(ci.lower).toBeCloseTo(7 / 8 - 1.959963984540054 * se, 8);
    expect(ci.upper).toBe(1); // clipped
    const ci80 = rocAucConfidenceInterval(y, p, 0.8);
    expect(ci80.lower).toBeCloseTo(7 / 8 - 1.2815515655446004 * se, 8);
  });

  it('needs two rows of each class', () => {
    expect(() => rocAucConfidenceInterval([1, 0, 0], [0.9, 0.1, 0.2])).toThrow(/at least 2 positives and 2 negatives, got 1 and 2/);
  });
});

describe('normalQuantile', () => {
  it.each(fixture.normal_quantiles)('matches scipy.stats.norm.ppf($q)', ({ q, z }) => {
    expect(Math.abs(normalQuantile(q) - z)).toBeLessThan(1e-8 * Math.max(1, Math.abs(z)));
  });
});

describe('rocCurve thinning', () => {
  const n = 2000;
  const y = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
  const p = Array.from({ length: n }, (_, i) => ((i * 7919) % n) / n + (y[i] ? 0.2 : 0));

  it('keeps at most maxPoints points, the end points, and only points of the full curve', () => {
    const full = rocCurve(y, p);
    const thin = rocCurve(y, p, 50);
    expect(full.fpr.length).toBeGreaterThan(50);
    expect(thin.fpr.length).toBe(50);
    expect([thin.fpr[0], thin.tpr[0]]).toEqual([0, 0]);
    expect([thin.fpr[49], thin.tpr[49]]).toEqual([1, 1]);
    const onFull = new Set(Array.from(full.thresholds));
    for (let k = 0; k < 50; k++) {
      expect(onFull.has(thin.thresholds[k])).toBe(true);
      if (k > 0) {
        expect(thin.fpr[k]).toBeGreaterThanOrEqual(thin.fpr[k - 1]);
        expect(thin.thresholds[k]).toBeLessThan(thin.thresholds[k - 1]);
      }
    }
  });

  it('returns a short curve unchanged', () => {
    expect(rocCurve([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8], 100)).toEqual(rocCurve([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]));
  });
});

describe('metric edge cases and input errors', () => {
  it('uses zero_division=0 when nothing is predicted positive', () => {
    expect(precision([1, 0, 1], [0, 0, 0])).toBe(0);
    expect(recall([1, 0, 1], [0, 0, 0])).toBe(0);
    expect(f1([1, 0, 1], [0, 0, 0])).toBe(0);
    expect(recall([0, 0], [1, 0])).toBe(0);
  });

  it('gives AUC 0.5 for constant scores and 1 / 0 for perfect and inverted ranking', () => {
    expect(rocAuc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])).toBe(1);
    expect(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4])).toBe(0);
  });

  it('names the offending index or the problem', () => {
    expect(() => rocAuc([0, 2, 1], [0.1, 0.2, 0.3])).toThrow('y[1] must be 0 or 1, got 2');
    expect(() => rocAuc([0, 1, 1], [0.1, NaN, 0.3])).toThrow('rocAuc: p[1] must be a finite number, got NaN');
    expect(() => rocAuc([0, 1], [0.1])).toThrow('rocAuc: y has 2 labels but p has 1 scores');
    expect(() => rocAuc([1, 1], [0.1, 0.2])).toThrow('only one class (2 positives, 0 negatives)');
    expect(() => logLoss([0, 1], [0.1, 1.2])).toThrow('logLoss: p[1] must be a probability in [0, 1], got 1.2');
    expect(() => rocCurve([0, 1], [0.1, 0.2], 1)).toThrow('maxPoints must be an integer >= 2');
  });
});
