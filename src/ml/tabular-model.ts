/**
 * A deployable model: what it accepts (signature), how inputs become numbers (preprocessor), the fitted estimator,
 * and the decision threshold. Serving needs only this and `parseModelFile`; training goes through `fitTabularModel`.
 */
import type { ModelFile } from './model-format.js';
import { MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model-format.js';
import { TabularPreprocessor, type Encoding, type TabularColumns } from './preprocessing.js';
import { type BinaryClassifier, type BinaryScorer, type FeatureSpec } from './types.js';

/** What a model accepts and predicts, recorded in the model file and used to describe and validate API input. */
export interface ModelSignature {
  features: FeatureSpec[];
  /** Input columns that identify a row (echoed back, never used as features). */
  rowIdColumns: string[];
  target: { name: string; positiveLabel: string; negativeLabel?: string };
}

export interface Predictions {
  /** P(positive label) per row. */
  probability: Float64Array;
  /** 1 where probability >= the model's threshold. */
  prediction: Uint8Array;
}

/** The encoded input layout, for building an estimator that must know which columns are categorical. */
export interface EncodedLayout {
  featureNames: string[];
  categoricalFeatures: number[];
}

export interface TabularModelParts {
  signature: ModelSignature;
  preprocessor: TabularPreprocessor;
  estimator: BinaryScorer;
  /** Decision threshold on the probability, default 0.5. */
  threshold?: number;
  /** ISO 8601 time of creation; default now. */
  createdAt?: string;
  /** Free-form, JSON-able provenance (run id, metrics, data set); stored in the model file as is. */
  metadata?: Record<string, unknown>;
}

export class TabularModel {
  readonly signature: ModelSignature;
  readonly preprocessor: TabularPreprocessor;
  readonly estimator: BinaryScorer;
  readonly threshold: number;
  readonly createdAt: string;
  readonly metadata: Record<string, unknown> | undefined;

  constructor(parts: TabularModelParts) {
    this.signature = parts.signature;
    this.preprocessor = parts.preprocessor;
    this.estimator = parts.estimator;
    this.threshold = checkThreshold(parts.threshold ?? 0.5);
    this.createdAt = parts.createdAt ?? new Date().toISOString();
    this.metadata = parts.metadata;
  }

  /** P(positive) for training/evaluation columns. */
  predictProbaColumns(columns: TabularColumns): Float64Array {
    return this.estimator.predictProba(this.preprocessor.transformColumns(columns));
  }

  /** Probabilities and thresholded predictions for records as an API receives them. */
  predictRecords(records: readonly Record<string, unknown>[]): Predictions {
    return this.withPredictions(this.estimator.predictProba(this.preprocessor.transformRecords(records)));
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
    return {
      format: MODEL_FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      createdAt: this.createdAt,
      signature: structuredClone(this.signature),
      preprocessing: this.preprocessor.toJSON(),
      estimator: this.estimator.toJSON(),
      threshold: this.threshold,
      ...(this.metadata === undefined ? {} : { metadata: structuredClone(this.metadata) }),
    };
  }

  private parts(): TabularModelParts {
    const { signature, preprocessor, estimator, threshold, createdAt, metadata } = this;
    return { signature, preprocessor, estimator, threshold, createdAt, metadata };
  }

  private withPredictions(probability: Float64Array): Predictions {
    const prediction = new Uint8Array(probability.length);
    for (let i = 0; i < probability.length; i++) prediction[i] = probability[i] >= this.threshold ? 1 : 0;
    return { probability, prediction };
  }
}

export interface FitTabularModelOptions {
  /** Training columns: every signature feature must be present. */
  data: TabularColumns;
  /** 0/1 target (1 = signature.target.positiveLabel). */
  y: ArrayLike<number>;
  sampleWeight?: ArrayLike<number>;
  signature: ModelSignature;
  /**
   * An unfitted classifier, or a function that builds one from the encoded layout (its column names and which
   * columns hold categorical codes, for estimators that split on them natively).
   */
  estimator: BinaryClassifier | ((layout: EncodedLayout) => BinaryClassifier);
  encoding: Encoding;
  threshold?: number;
  metadata?: Record<string, unknown>;
}

/** Fits the preprocessor on the training data, then the estimator on its output; returns the deployable model. */
export function fitTabularModel(options: FitTabularModelOptions): TabularModel {
  const { data, y, sampleWeight, signature, encoding } = options;
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

function checkThreshold(threshold: number): number {
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new RangeError(`threshold must be a number in [0, 1], got ${threshold}`);
  }
  return threshold;
}
