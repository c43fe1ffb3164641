/**
 * The contracts of the ML core. Nothing here (or anywhere under src/ml) imports database, HTTP or file-system code:
 * models take numbers in and give numbers out, and serialise to plain JSON-able data.
 */

/** Column-major numeric data: `columns[j][i]` is feature j of row i; NaN means missing. */
export interface Frame {
  nRows: number;
  columns: Float64Array[];
  /** Feature names, one per column, when known. */
  names?: string[];
}

/** What `fit` and `predictProba` accept: rows (`number[][]`, NaN = missing) or a column-major Frame. */
export type Matrix = number[][] | Frame;

/** The serialised state of a fitted estimator: plain data, tagged with its kind and format version. */
export interface EstimatorJSON {
  kind: string;
  formatVersion: number;
  [key: string]: unknown;
}

/** A fitted binary classifier that can score numeric rows: enough for serving. */
export interface BinaryScorer {
  /** P(y = 1) for each row. */
  predictProba(X: Matrix): Float64Array;
  toJSON(): EstimatorJSON;
}

/** A binary classifier with the scikit-learn shape: fit, then predictProba / predict. */
export interface BinaryClassifier extends BinaryScorer {
  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this;
  /** 1 where P(y = 1) >= threshold (default 0.5), else 0. */
  predict(X: Matrix, threshold?: number): Uint8Array;
}

/** A fitted classifier over K >= 2 classes coded 0..K-1 that can score numeric rows: enough for serving. */
export interface MulticlassScorer {
  readonly nClasses: number;
  /** Row-major n x K probabilities; each row sums to 1. */
  predictProbaMatrix(X: Matrix): Float64Array;
  toJSON(): EstimatorJSON;
}

/** A classifier over K >= 2 classes coded 0..K-1. */
export interface MulticlassClassifier extends MulticlassScorer {
  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this;
}

/** A fitted regressor that can score numeric rows: enough for serving. */
export interface RegressionScorer {
  predict(X: Matrix): Float64Array;
  toJSON(): EstimatorJSON;
}

export interface Regressor extends RegressionScorer {
  fit(X: Matrix, y: ArrayLike<number>, sampleWeight?: ArrayLike<number>): this;
}

/** What a model predicts: one of two labels, one of K classes, or a number. */
export type Task = 'binary' | 'multiclass' | 'regression';
export const TASKS: readonly Task[] = ['binary', 'multiclass', 'regression'];

/** The kind of a feature as inferred from the data and recorded in the model signature. */
export type FeatureType = 'integer' | 'float' | 'boolean' | 'categorical';

/** One input field of a model, as the API and the model file describe it. */
export interface FeatureSpec {
  name: string;
  type: FeatureType;
  /** True when the training data had missing values here or the model imputes them: null is accepted. */
  nullable: boolean;
  /** For categorical features: the levels seen in training, in code order. */
  categories?: string[];
}

