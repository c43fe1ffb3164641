/**
 * A deployable model: what it accepts (signature), how inputs become numbers (preprocessor), the fitted estimator,
 * and the decision threshold. Serving needs only this and `parseModelFile`; training goes through `fitTabularModel`.
 */
import type { ModelFile } from './model-format.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION, TASK_MODEL_FORMAT_VERSION } from './model-format.js';
import { argmaxRows } from './linear.js';
import { TabularPreprocessor, type Encoding, type TabularColumns } from './preprocessing.js';
import {
  type BinaryClassifier,
  type BinaryScorer,
  type FeatureSpec,
  type MulticlassClassifier,
  type MulticlassScorer,
  type RegressionScorer,
  type Regressor,
  type Task,
} from './types.js';

/**
 * The target as the model predicts it. Binary: the label of y = 1 (and of y = 0 when the target had exactly two).
 * Multi-class: `classes`, the labels in class-code order. Regression: the name alone.
 */
export interface TargetSpec {
  name: string;
  positiveLabel?: string;
  negativeLabel?: string;
  classes?: string[];
}

/** What a model accepts and predicts, recorded in the model file and used to describe and validate API input. */
export interface ModelSignature {
  features: FeatureSpec[];
  /** Input columns that identify a row (echoed back, never used as features). */
  rowIdColumns: string[];
  target: TargetSpec;
}

export interface Predictions {
  /** P(positive label) per row. */
  probability: Float64Array;
  /** 1 where probability >= the model's threshold. */
  prediction: Uint8Array;
}

/** Predictions of any task, tagged with it. */
export type TaskPredictions =
  | ({ task: 'binary' } & Predictions)
  | {
      task: 'multiclass';
      /** The class labels in code order. */
      classes: string[];
      /** Row-major n x K probabilities. */
      probabilities: Float64Array;
      /** The most probable class code per row. */
      prediction: Int32Array;
    }
  | { task: 'regression'; value: Float64Array };

type Scorer = BinaryScorer | MulticlassScorer | RegressionScorer;
type Estimator = BinaryClassifier | MulticlassClassifier | Regressor;

/** The encoded input layout, for building an estimator that must know which columns are categorical. */
export interface EncodedLayout {
  featureNames: string[];
  categoricalFeatures: number[];
}

export interface TabularModelParts {
  /** Default binary. */
  task?: Task;
  signature: ModelSignature;
  preprocessor: TabularPreprocessor;
  /** A BinaryScorer, MulticlassScorer or RegressionScorer, as the task says. */
  estimator: Scorer;
  /** Decision threshold on the probability, default 0.5. */
  threshold?: number;
  /** ISO 8601 time of creation; default now. */
  createdAt?: string;
  /** Free-form, JSON-able provenance (run id, metrics, data set); stored in the model file as is. */
  metadata?: Record<string, unknown>;
}

export class TabularModel {
  readonly task: Task;
  readonly signature: ModelSignature;
  readonly preprocessor: TabularPreprocessor;
  readonly estimator: Scorer;
  /** The decision threshold of a binary model (0.5 and unused for the other tasks). */
  readonly threshold: number;
  readonly createdAt: string;
  readonly metadata: Record<string, unknown> | undefined;

  constructor(parts: TabularModelParts) {
    this.task = parts.task ?? 'binary';
    checkTaskParts(this.task, parts.signature, parts.estimator);
    this.signature = parts.signature;
    this.preprocessor = parts.preprocessor;
    this.estimator = parts.estimator;
    this.threshold = checkThreshold(parts.threshold ?? 0.5);
    this.createdAt = parts.createdAt ?? new Date().toISOString();
    this.metadata = parts.metadata;
  }

  /** The class labels of a multi-class model in code order (empty for the other tasks). */
  get classes(): string[] {
    return this.signature.target.classes ?? [];
  }

  /** P(positive) for training/evaluation columns (binary models). */
  predictProbaColumns(columns: TabularColumns): Float64Array {
    return this.binaryScorer().predictProba(this.preprocessor.transformColumns(columns));
  }

  /**
   * The task's score for columns: P(positive) per row (binary), row-major n x K probabilities (multi-class) or the
   * predicted values (regression).
   */
  scoreColumns(columns: TabularColumns): Float64Array {
    return this.scoreEncoded(this.preprocessor.transformColumns(columns));
  }

  /** Probabilities and thresholded predictions for records as an API receives them (binary models). */
  predictRecords(records: readonly Record<string, unknown>[]): Predictions {
    return this.withPredictions(this.binaryScorer().predictProba(this.preprocessor.transformRecords(records)));
  }

  /** The answers of any task for records as an API receives them. */
  predictTaskRecords(records: readonly Record<string, unknown>[]): TaskPredictions {
    const score = this.scoreEncoded(this.preprocessor.transformRecords(records));
    if (this.task === 'binary') return { task: 'binary', ...this.withPredictions(score) };
    if (this.task === 'regression') return { task: 'regression', value: score };
    const K = this.classes.length;
    return { task: 'multiclass', classes: this.classes, probabilities: score, prediction: argmaxRows(score, K) };
  }

  private scoreEncoded(X: ReturnType<TabularPreprocessor['transformColumns']>): Float64Array {
    if (this.task === 'binary') return (this.estimator as BinaryScorer).predictProba(X);
    if (this.task === 'multiclass') return (this.estimator as MulticlassScorer).predictProbaMatrix(X);
    return (this.estimator as RegressionScorer).predict(X);
  }

  private binaryScorer(): BinaryScorer {
    if (this.task !== 'binary') throw new Error(`this is a ${this.task} model: use scoreColumns or predictTaskRecords`);
    return this.estimator as BinaryScorer;
  }

  /** Probabilities and thresholded predictions for columns. */
  predictColumns(columns: TabularColumns): Predictions {
    return this.withPredictions(this.predictProbaColumns(columns));
  }

  /** The same model with another decision threshold (e.g. one tuned on validation data). */
  withThreshold(threshold: number): TabularModel {
    return new TabularModel({ ...this.parts(), threshold });
  }

  /** The same model with metadata merged in. */
  withMetadata(metadata: Record<string, unknown>): TabularModel {
    return new TabularModel({ ...this.parts(), metadata: { ...this.metadata, ...metadata } });
  }

  /** The model file (docs/MODEL_FORMAT.md): plain JSON data, read back by `parseModelFile`. */
  toJSON(): ModelFile {
    const common = {
      format: MODEL_FORMAT as typeof MODEL_FORMAT,
      createdAt: this.createdAt,
      signature: structuredClone(this.signature),
      preprocessing: this.preprocessor.toJSON(),
      estimator: this.estimator.toJSON(),
    };
    const metadata = this.metadata === undefined ? {} : { metadata: structuredClone(this.metadata) };
    // Binary files keep version 1's layout exactly; the other tasks need a reader that knows `task`.
    if (this.task === 'binary') return { ...common, formatVersion: MODEL_FORMAT_VERSION, threshold: this.threshold, ...metadata };
    return { ...common, formatVersion: TASK_MODEL_FORMAT_VERSION, task: this.task, ...metadata };
  }

  private parts(): TabularModelParts {
    const { task, signature, preprocessor, estimator, threshold, createdAt, metadata } = this;
    return { task, signature, preprocessor, estimator, threshold, createdAt, metadata };
  }

  private withPredictions(probability: Float64Array): Predictions {
    const prediction = new Uint8Array(probability.length);
    for (let i = 0; i < probability.length; i++) prediction[i] = probability[i] >= this.threshold ? 1 : 0;
    return { probability, prediction };
  }
}

export interface FitTabularModelOptions {
  /** Default binary. */
  task?: Task;
  /** Training columns: every signature feature must be present. */
  data: TabularColumns;
  /** Binary: 0/1 (1 = signature.target.positiveLabel); multi-class: class codes into target.classes; regression: values. */
  y: ArrayLike<number>;
  sampleWeight?: ArrayLike<number>;
  signature: ModelSignature;
  /**
   * An unfitted classifier, or a function that builds one from the encoded layout (its column names and which
   * columns hold categorical codes, for estimators that split on them natively).
   */
  estimator: Estimator | ((layout: EncodedLayout) => Estimator);
  encoding: Encoding;
  threshold?: number;
  metadata?: Record<string, unknown>;
}

/** Fits the preprocessor on the training data, then the estimator on its output; returns the deployable model. */
export function fitTabularModel(options: FitTabularModelOptions): TabularModel {
  const { data, y, sampleWeight, signature, encoding } = options;
  const task = options.task ?? 'binary';
  checkSignature(signature);
  const preprocessor = TabularPreprocessor.fit(data, signature.features, encoding);
  const X = preprocessor.transformColumns(data);
  if (y.length !== X.nRows) throw new RangeError(`fitTabularModel: data has ${X.nRows} rows but y has ${y.length} labels`);
  const layout: EncodedLayout = {
    featureNames: preprocessor.featureNames.slice(),
    categoricalFeatures: preprocessor.categoricalFeatureIndices.slice(),
  };
  const estimator = typeof options.estimator === 'function' ? options.estimator(layout) : options.estimator;
  estimator.fit(X, y, sampleWeight);
  // The signature records the categories actually learned, in code order.
  const fitted = new Map(preprocessor.fittedFeatures().map((f) => [f.name, f]));
  const features = signature.features.map((f) =>
    f.type === 'categorical' ? { ...f, categories: fitted.get(f.name)!.categories } : { ...f },
  );
  return new TabularModel({
    task,
    signature: { ...signature, features },
    preprocessor,
    estimator,
    threshold: options.threshold,
    metadata: options.metadata,
  });
}

/** Catches the mistakes that leak the target or confuse serving: target or row ids used as features, duplicates. */
function checkSignature(signature: ModelSignature): void {
  const names = new Set<string>();
  for (const f of signature.features) {
    if (names.has(f.name)) throw new RangeError(`signature lists feature '${f.name}' twice`);
    names.add(f.name);
  }
  if (names.has(signature.target.name)) throw new RangeError(`signature uses the target '${signature.target.name}' as a feature`);
  for (const id of signature.rowIdColumns) {
    if (names.has(id)) throw new RangeError(`signature uses the row id column '${id}' as a feature`);
  }
}

/** The signature's target and the estimator must fit the task: labels for binary, classes for multi-class. */
function checkTaskParts(task: Task, signature: ModelSignature, estimator: Scorer): void {
  const { target } = signature;
  if (task === 'binary') {
    if (typeof target.positiveLabel !== 'string') throw new RangeError('a binary model needs signature.target.positiveLabel');
    if (typeof (estimator as BinaryScorer).predictProba !== 'function') throw new RangeError('a binary model needs an estimator with predictProba');
  } else if (task === 'multiclass') {
    const K = (estimator as MulticlassScorer).nClasses;
    if (typeof (estimator as MulticlassScorer).predictProbaMatrix !== 'function') {
      throw new RangeError('a multiclass model needs an estimator with predictProbaMatrix');
    }
    if (!Array.isArray(target.classes) || target.classes.length !== K) {
      throw new RangeError(`a multiclass model needs signature.target.classes with one label per class (${K}), got ${target.classes?.length ?? 'none'}`);
    }
  } else if (task === 'regression') {
    if (typeof (estimator as RegressionScorer).predict !== 'function') throw new RangeError('a regression model needs an estimator with predict');
  } else {
    throw new RangeError(`unknown task ${String(task)}`);
  }
}

function checkThreshold(threshold: number): number {
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new RangeError(`threshold must be a number in [0, 1], got ${threshold}`);
  }
  return threshold;
}
