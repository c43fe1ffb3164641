import { describe, expect, it } from 'vitest';
import { HistGradientBoostingClassifier } from '../src/ml/hgb/index.js';
import { LogisticRegression } from '../src/ml/logistic.js';
import { ModelFormatError, parseModelFile, type ModelFile } from '../src/ml/model-format.js';
import type { TabularColumns } from '../src/ml/preprocessing.js';
import { createRng } from '../src/ml/random.js';
import { fitTabularModel, type ModelSignature } from '../src/ml/tabular-model.js';
import type { BinaryClassifier, Frame, Matrix } from '../src/ml/types.js';

/** A small loan-like table: two numerics (with gaps), a boolean and a categorical, all carrying signal. */
function makeData(n: number, seed: number): { data: TabularColumns; y: Uint8Array } {
  const rng = createRng(seed);
  const income = new Float64Array(n);
  const score = new Float64Array(n);
  const employed = new Float64Array(n);
  const region: (string | null)[] = [];
  const y = new Uint8Array(n);
  const regions = ['north', 'south', 'east', 'west'];
  for (let i = 0; i < n; i++) {
    income[i] = rng.next() < 0.05 ? NaN : 1e6 + 9e6 * rng.next();
    score[i] = 300 + 600 * rng.next();
    employed[i] = rng.next() < 0.7 ? 1 : 0;
    region.push(rng.next() < 0.05 ? null : regions[rng.int(4)]);
    const z = (score[i] - 600) / 100 + (Number.isNaN(income[i]) ? 0 : (income[i] - 5e6) / 4e6) + employed[i] - (region[i] === 'east' ? 1 : 0);
    y[i] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { data: { income, score, employed, region }, y };
}

const signature: ModelSignature = {
  features: [
    { name: 'income', type: 'float', nullable: true },
    { name: 'score', type: 'integer', nullable: false },
    { name: 'employed', type: 'boolean', nullable: false },
    { name: 'region', type: 'categorical', nullable: true },
  ],
  rowIdColumns: ['loan_id'],
  target: { name: 'loan_status', positiveLabel: 'Approved', negativeLabel: 'Rejected' },
};
const train = makeData(600, 1);
const test = makeData(200, 2);
const records = Array.from({ length: 200 }, (_, i) => ({
  loan_id: i,
  income: Number.isNaN((test.data.income as Float64Array)[i]) ? null : (test.data.income as Float64Array)[i],
  score: (test.data.score as Float64Array)[i],
  employed: (test.data.employed as Float64Array)[i] === 1,
  region: (test.data.region as (string | null)[])[i],
}));

const logistic = fitTabularModel({
  data: train.data,
  y: train.y,
  signature,
  estimator: new LogisticRegression({ C: 0.5 }),
  encoding: 'linear',
  threshold: 0.4,
  metadata: { runId: 'r1', metrics: { roc_auc: 0.9 } },
});

describe('fitTabularModel and TabularModel', () => {
  it('records the categories learned from training in the signature', () => {
    expect(logistic.signature.features[3].categories).toEqual(['east', 'north', 'south', 'west']);
    expect(signature.features[3].categories).toBeUndefined(); // the caller's object is not modified
  });

  it('predicts records exactly like columns, thresholding at the model threshold', () => {
    const fromColumns = logistic.predictProbaColumns(test.data);
    const { probability, prediction } = logistic.predictRecords(records);
    expect(probability).toEqual(fromColumns);
    expect(Array.from(prediction)).toEqual(Array.from(probability, (p) => (p >= 0.4 ? 1 : 0)));
  });

  it('refuses the target or a row id as a feature', () => {
    const leak = { ...signature, features: [...signature.features, { name: 'loan_status', type: 'float' as const, nullable: false }] };
    expect(() => fitTabularModel({ data: train.data, y: train.y, signature: leak, estimator: new LogisticRegression(), encoding: 'linear' })).toThrow(
      "signature uses the target 'loan_status' as a feature",
    );
    const idLeak = { ...signature, features: [...signature.features, { name: 'loan_id', type: 'integer' as const, nullable: false }] };
    expect(() => fitTabularModel({ data: train.data, y: train.y, signature: idLeak, estimator: new LogisticRegression(), encoding: 'linear' })).toThrow(
      "signature uses the row id column 'loan_id' as a feature",
    );
  });

  it('tells an estimator factory which encoded columns are categorical codes', () => {
    const seen: { indices?: readonly number[]; width?: number } = {};
    class Recorder implements BinaryClassifier {
      fit(X: Matrix) {
        seen.width = (X as Frame).columns.length;
        return this;
      }
      predictProba(X: Matrix) {
        return new Float64Array((X as Frame).nRows).fill(0.5);
      }
      predict(X: Matrix) {
        return new Uint8Array((X as Frame).nRows);
      }
      toJSON() {
        return { kind: 'recorder', formatVersion: 1 };
      }
    }
    const estimator = (layout: { categoricalFeatures: readonly number[] }) => {
      seen.indices = layout.categoricalFeatures;
      return new Recorder();
    };
    fitTabularModel({ data: train.data, y: train.y, signature, estimator, encoding: 'tree' });
    expect(seen).toEqual({ indices: [3], width: 4 });
  });
});

describe('model file round trip', () => {
  it('logistic: parse(stringify(model)) gives bit-identical probabilities and the same file', () => {
    const text = JSON.stringify(logistic.toJSON());
    const copy = parseModelFile(JSON.parse(text));
    expect(copy.predictRecords(records)).toEqual(logistic.predictRecords(records));
    expect(copy.predictProbaColumns(test.data)).toEqual(logistic.predictProbaColumns(test.data));
    expect(JSON.stringify(copy.toJSON())).toBe(text);
    expect(parseModelFile(text).threshold).toBe(0.4); // JSON text is accepted too
  });

  it('gradient boosting with native categorical splits: bit-identical after the round trip', () => {
    const hgb = fitTabularModel({
      data: train.data,
      y: train.y,
      signature,
      estimator: ({ categoricalFeatures }) => new HistGradientBoostingClassifier({ maxIter: 10, categoricalFeatures, nThreads: 1, randomState: 0 }),
      encoding: 'tree',
    });
    const copy = parseModelFile(JSON.parse(JSON.stringify(hgb.toJSON())));
    expect(copy.predictRecords(records)).toEqual(hgb.predictRecords(records));
    expect(hgb.toJSON().estimator.kind).toBe('hist_gradient_boosting');
  });
});

describe('parseModelFile rejects broken files, naming the field', () => {
  const good = (): ModelFile => JSON.parse(JSON.stringify(logistic.toJSON()));
  const rejects = (file: unknown, message: string) => {
    expect(() => parseModelFile(file)).toThrow(ModelFormatError);
    expect(() => parseModelFile(file)).toThrow(message);
  };

  it('not an object, or not JSON', () => {
    rejects(42, 'model file: (root) must be an object, got 42');
    rejects([], 'model file: (root) must be an object, got an array');
    rejects('{"format":', 'model file: not valid JSON');
  });

  it('wrong format tag or unsupported version', () => {
    rejects({ ...good(), format: 'mlflow' }, 'model file: format must be "mldeploy-model", got "mlflow"');
    rejects({ ...good(), formatVersion: 3 }, 'model file: formatVersion 3 is not supported: this build reads versions 1 and 2');
  });

  it('unknown estimator kind', () => {
    rejects({ ...good(), estimator: { ...good().estimator, kind: 'random_forest' } }, 'model file: estimator.kind "random_forest" is not a known estimator');
  });

  it('non-finite numbers and wrong array lengths in the estimator', () => {
    const nan = good();
    (nan.estimator.coef as number[])[2] = NaN;
    rejects(nan, 'model file: estimator.coef[2] must be a finite number, got NaN');
    const short = good();
    (short.estimator.coef as number[]).pop();
    rejects(short, 'model file: estimator.coef must have 7 entries, got 6');
    const wide = good();
    wide.estimator.nFeatures = 8;
    (wide.estimator.coef as number[]).push(0);
    rejects(wide, 'model file: estimator.nFeatures is 8 but preprocessing produces 7 columns');
  });

  it('broken preprocessing, signature, threshold or dates', () => {
    const median = good();
    (median.preprocessing.numeric[1] as { median: unknown }).median = null;
    rejects(median, 'model file: preprocessing.numeric[1].median must be a finite number, got null');
    const type = good();
    type.signature.features[1].type = 'categorical';
    rejects(type, "model file: signature.features[1].type is categorical but preprocessing treats \"score\" as integer");
    const missing = good();
    missing.signature.features.pop();
    rejects(missing, 'model file: signature.features lacks feature "region"');
    rejects({ ...good(), threshold: 1.5 }, 'model file: threshold must be <= 1, got 1.5');
    rejects({ ...good(), createdAt: 'yesterday' }, 'model file: createdAt must be an ISO 8601 date-time');
    rejects({ ...good(), signature: { ...good().signature, target: { name: 'y' } } }, 'model file: signature.target.positiveLabel must be a string');
  });

  it('broken gradient boosting state, re-rooted under estimator', () => {
    const hgb = fitTabularModel({
      data: train.data,
      y: train.y,
      signature,
      estimator: new HistGradientBoostingClassifier({ maxIter: 2, nThreads: 1, randomState: 0 }),
      encoding: 'tree',
    }).toJSON();
    rejects({ ...hgb, estimator: { ...hgb.estimator, formatVersion: 9 } }, 'model file: estimator.formatVersion must be 1, got 9');
  });
});
