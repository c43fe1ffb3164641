/** Drift statistics and live-quality estimates against scipy / scikit-learn (fixtures by scripts/drift_fixtures.py). */
import { describe, expect, it } from 'vitest';
import { columnDrift, datasetDrift, type ColumnData } from '../src/monitor/drift.js';
import { calibrate, estimateRocAuc, fitIsotonicCalibration, realisedQuality } from '../src/monitor/quality.js';
import { chi2Sf, kolmogorovSf, normalSf } from '../src/monitor/special.js';
import {
  chi2Contingency,
  jensenShannonDistance,
  ksTwoSample,
  proportionZTest,
  wassersteinDistance,
} from '../src/monitor/stats.js';
import { rocAuc } from '../src/ml/metrics.js';
import { loadFixture } from './ml-fixtures.js';

const fixture = loadFixture('drift.json');

/** Agreement to 1e-9, relative for values above 1 in magnitude (distances in the data's own units). */
function expectClose(actual: number, expected: number, what: string): void {
  const tolerance = 1e-9 * Math.max(1, Math.abs(expected));
  expect(Math.abs(actual - expected), `${what}: ${actual} vs scipy ${expected}`).toBeLessThanOrEqual(tolerance);
}

describe('two-sample Kolmogorov-Smirnov equals scipy.stats.ks_2samp', () => {
  it.each(fixture.ks as any[])('$name ($method)', (c) => {
    const result = ksTwoSample(c.a, c.b);
    expect(result.method).toBe(c.method);
    expectClose(result.statistic, c.statistic, 'D');
    expectClose(result.pValue, c.p_value, 'p-value');
  });

  it('the Kolmogorov distribution equals scipy.stats.kstwo.sf over every method region', () => {
    for (const c of fixture.kolmogorov as any[]) expectClose(kolmogorovSf(c.n, c.x), c.sf, `kstwo.sf(${c.x}, ${c.n})`);
  });
});

describe('chi-squared, z-test, distances', () => {
  it.each(fixture.chi2 as any[])('chi2_contingency of $table', (c) => {
    const result = chi2Contingency(c.table);
    expect(result.dof).toBe(c.dof);
    expectClose(result.statistic, c.statistic, 'chi2');
    expectClose(result.pValue, c.p_value, 'p-value');
  });

  it('the proportion z-test equals its formula with scipy.stats.norm', () => {
    for (const c of fixture.z as any[]) {
      const result = proportionZTest(c.ref[0], c.ref[1], c.cur[0], c.cur[1]);
      expectClose(result.statistic, c.statistic, 'z');
      expectClose(result.pValue, c.p_value, 'p-value');
    }
  });

  it('wasserstein_distance', () => {
    for (const c of fixture.wasserstein as any[]) expectClose(wassersteinDistance(c.a, c.b), c.distance, 'wasserstein');
  });

  it('jensenshannon', () => {
    for (const c of fixture.jensenshannon as any[]) expectClose(jensenShannonDistance(c.p, c.q), c.distance, 'jensen-shannon');
  });

  it('chi2.sf and norm.sf', () => {
    for (const c of fixture.chi2_sf as any[]) expectClose(chi2Sf(c.x, c.dof), c.sf, `chi2.sf(${c.x}, ${c.dof})`);
    for (const c of fixture.norm_sf as any[]) expectClose(normalSf(c.z), c.sf, `norm.sf(${c.z})`);
  });
});

function columnData(kind: 'numeric' | 'categorical', values: any[]): ColumnData {
  if (kind === 'numeric') return { kind, rows: values.length, values };
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return { kind, rows: values.length, counts };
}

describe("column drift chooses Evidently's default test and equals scipy", () => {
  it.each(fixture.columns as any[])('$name: $test', (c) => {
    const drift = columnDrift(columnData(c.kind, c.reference), columnData(c.kind, c.current))!;
    expect(drift.test).toBe(c.test);
    expectClose(drift.statistic, c.statistic, 'drift score');
    if (c.test_statistic !== null) expectClose(Math.abs(drift.test_statistic!), Math.abs(c.test_statistic), 'test statistic');
    expect(drift.drifted).toBe(c.drifted);
    expectClose(drift.psi, c.psi, 'PSI');
  });

  it('gives no result when a side has no values', () => {
    expect(columnDrift({ kind: 'numeric', rows: 0, values: [] }, { kind: 'numeric', rows: 3, values: [1, 2, 3] })).toBeNull();
  });

  it('flags dataset drift when at least the given share of columns drifts', () => {
    expect(datasetDrift([true, false, true, false]).drifted).toBe(true);
    expect(datasetDrift([true, false, false]).drifted).toBe(false);
    expect(datasetDrift([true, false, false], 0.3).drifted).toBe(true);
    expect(datasetDrift([]).drifted).toBe(false);
  });
});

describe('live quality', () => {
  it.each(fixture.cbpe as any[])('CBPE ROC AUC equals NannyML formula (n = $p.length)', (c) => {
    expectClose(estimateRocAuc(c.p)!, c.roc_auc, 'estimated ROC AUC');
  });

  it.each(fixture.isotonic as any[])('isotonic calibration equals scikit-learn IsotonicRegression (n = $p.length)', (c) => {
    const calibrated = calibrate(fitIsotonicCalibration(c.p, c.y), c.query);
    c.calibrated.forEach((expected: number, i: number) => expectClose(calibrated[i], expected, `query ${i}`));
  });

  it('estimates the realised AUC when the probabilities are calibrated', () => {
    // Labels drawn from the probabilities themselves: the estimate and the realised AUC agree within sampling error.
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const p = Array.from({ length: 20_000 }, () => random() ** 2);
    const y = p.map((v) => (random() < v ? 1 : 0));
    expect(Math.abs(estimateRocAuc(p)! - rocAuc(y, p))).toBeLessThan(0.01);
  });

  it('reports realised metrics with intervals that contain them, and nulls without both classes', () => {
    const p = [0.2, 0.7, 0.4, 0.1, 0.9, 0.6, 0.8, 0.55];
    const q = realisedQuality([0, 1, 1, 0, 1, 0, 1, 1], p, p.map((v) => (v >= 0.5 ? 1 : 0)));
    expect(q.labels).toBe(8);
    expect(q.roc_auc).toBeCloseTo(rocAuc([0, 1, 1, 0, 1, 0, 1, 1], [0.2, 0.7, 0.4, 0.1, 0.9, 0.6, 0.8, 0.55]), 12);
    expect(q.accuracy).toBeCloseTo(6 / 8, 12);
    for (const [value, ci] of [[q.roc_auc, q.roc_auc_ci], [q.accuracy, q.accuracy_ci], [q.log_loss, q.log_loss_ci]] as const) {
      expect(ci!.lower).toBeLessThanOrEqual(value!);
      expect(ci!.upper).toBeGreaterThanOrEqual(value!);
    }
    const oneClass = realisedQuality([1, 1], [0.6, 0.7], [1, 1]);
    expect(oneClass.roc_auc).toBeNull();
    expect(oneClass.accuracy).toBe(1);
    expect(realisedQuality([], [], []).accuracy).toBeNull();
  });
});
