/**
 * What the serving layer needs from the rest of mldeploy, as narrow interfaces: the API never imports the trainer,
 * and tests can serve any object that scores records.
 */
import type { TaskPredictions } from '../ml/tabular-model.js';
import type { FeatureSpec, Task } from '../ml/types.js';

/** The input contract of a model: what a request row must carry. */
export interface ServingSignature {
  features: FeatureSpec[];
  /** Row-id columns dropped from the features at training (e.g. `id`): accepted in requests and stored as row_id. */
  rowIdColumns: string[];
  /**
   * Binary: the class the probability refers to; `negativeLabel`, when known, names the other class in answers.
   * Multi-class: the class labels in code order. Regression: the name only.
   */
  target: { name: string; positiveLabel?: string; negativeLabel?: string; classes?: string[] };
}

/** A loaded model the API can serve. `TabularModel` from src/ml/model-format.ts satisfies it. */
export interface ServableModel {
  signature: ServingSignature;
  /** Probability at or above which the prediction is 1. */
  threshold: number;
  /** Scores validated records (feature name -> value); one probability and prediction per record (binary models). */
  predictRecords(records: Record<string, unknown>[]): { probability: Float64Array; prediction: Uint8Array };
  /** What the model predicts; absent means binary. */
  task?: Task;
  /** The answers of a multi-class or regression model (binary ones go through `predictRecords`). */
  predictTaskRecords?(records: Record<string, unknown>[]): TaskPredictions;
}

/** The model a name should be served with now, or why there is none. */
export type ModelResolution = { version: number; model: ServableModel } | { unavailable: string };

/**
 * Where served models come from. `resolve` is called on every poll (every few hundred ms), so it must be cheap when
 * nothing changed (e.g. cache the loaded model by version). It throws when it cannot tell (database down): the API
 * then keeps serving what it has. It returns `{ unavailable }` when there is positively no model to serve.
 */
export interface ModelSource {
  resolve(name: string): Promise<ModelResolution>;
  /** Names of every model that may be served under /models/:name/predict; optional (default: only the default model). */
  names?(): Promise<string[]>;
}
