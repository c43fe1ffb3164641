/**
 * Answers and stored rows of multi-class and regression models (binary ones keep their own path in routes/predict.ts).
 * A multi-class answer names the most probable class and gives every class's probability; a regression answer gives
 * the value. The predictions table keeps them in `probabilities_json` and `value`; its binary columns hold the class
 * code and its probability (multi-class) or zeros (regression), threshold 0 since neither task uses one.
 */
import type { TaskPredictions } from '../ml/tabular-model.js';
import type { PredictionRecord } from './prediction-log.js';
import type { ServableModel } from './types.js';

export interface MulticlassAnswer {
  prediction_id: string;
  /** The most probable class. */
  label: string;
  /** Probability of each class, by label. */
  probabilities: Record<string, number>;
  row_id: string | null;
  model: { name: string; version: number };
}

export interface RegressionAnswer {
  prediction_id: string;
  value: number;
  row_id: string | null;
  model: { name: string; version: number };
}

export type TaskAnswer = MulticlassAnswer | RegressionAnswer;

interface RowIdentity {
  id: string;
  request_id: string;
  created_at: string;
  model_name: string;
  model_version: number;
  row_id: string | null;
  inputs_json: string;
}

/** Scores the rows with a multi-class or regression model: the records to store and the answers, in row order. */
export function scoreTaskRows(
  model: ServableModel,
  rows: readonly { features: Record<string, unknown> }[],
  identity: (i: number) => RowIdentity,
): { records: PredictionRecord[]; answers: TaskAnswer[] } {
  if (!model.predictTaskRecords) throw new Error(`a ${model.task} model must provide predictTaskRecords`);
  const result: TaskPredictions = model.predictTaskRecords(rows.map((row) => row.features));
  const records: PredictionRecord[] = [];
  const answers: TaskAnswer[] = [];
  rows.forEach((_, i) => {
    const base = identity(i);
    const reply = { prediction_id: base.id, row_id: base.row_id ?? null, model: { name: base.model_name, version: base.model_version } };
    if (result.task === 'regression') {
      const value = result.value[i];
      if (!Number.isFinite(value)) throw new Error(`${base.model_name} version ${base.model_version} gave value ${value} for row ${i}`);
      records.push({ ...base, probability: 0, prediction: 0, threshold: 0, value });
      answers.push({ ...reply, value });
    } else if (result.task === 'multiclass') {
      const K = result.classes.length;
      const probabilities: Record<string, number> = {};
      for (let k = 0; k < K; k++) {
        const p = result.probabilities[i * K + k];
        if (!(p >= 0 && p <= 1)) throw new Error(`${base.model_name} version ${base.model_version} gave probability ${p} for row ${i}`);
        probabilities[result.classes[k]] = p;
      }
      const code = result.prediction[i];
      const probabilitiesJson = JSON.stringify(probabilities);
      records.push({ ...base, probability: result.probabilities[i * K + code], prediction: code, threshold: 0, probabilities_json: probabilitiesJson });
      answers.push({ ...reply, label: result.classes[code], probabilities });
    } else {
      throw new Error('binary models are answered by the binary path');
    }
  });
  return { records, answers };
}

/** A trial prediction of a multi-class or regression model; throws when it cannot score. */
export function trialTaskPrediction(model: ServableModel, row: Record<string, unknown>): void {
  const { records } = scoreTaskRows(model, [{ features: row }], () => ({
    id: 'trial',
    request_id: 'trial',
    created_at: new Date(0).toISOString(),
    model_name: 'trial',
    model_version: 0,
    row_id: null,
    inputs_json: '{}',
  }));
  if (records.length !== 1) throw new Error(`its trial prediction gave ${records.length} rows for 1`);
}

/**
 * The stored label of feedback on a prediction: a class code (binary 0/1, whose labels may also be sent as written,
 * e.g. "Approved"; multi-class: the class label) or, for regression, the true value. Returns a problem to report
 * (422) instead when the label does not fit the model.
 */
export function feedbackLabel(
  prediction: { value: number | null; probabilities_json: string | null },
  target: ServableModel['signature']['target'] | undefined,
  label: unknown,
): { label: number | null; label_value: number | null } | { problem: string } {
  if (prediction.value !== null) {
    if (typeof label !== 'number' || !Number.isFinite(label)) return { problem: `label must be a number for a regression model, got ${JSON.stringify(label)}` };
    return { label: null, label_value: label };
  }
  const classes =
    prediction.probabilities_json !== null
      ? (target?.classes ?? Object.keys(JSON.parse(prediction.probabilities_json) as Record<string, number>))
      : undefined;
  if (classes) {
    const text = typeof label === 'number' ? String(label) : label;
    const code = typeof text === 'string' ? classes.findIndex((c) => c === text || c.trim().toLowerCase() === text.trim().toLowerCase()) : -1;
    if (code < 0) return { problem: `label must be one of the classes ${classes.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(label)}` };
    return { label: code, label_value: null };
  }
  if (label === 0 || label === 1) return { label, label_value: null };
  const positive = target?.positiveLabel;
  if (typeof label === 'string' && positive !== undefined) {
    const wanted = label.trim().toLowerCase();
    if (wanted === positive.trim().toLowerCase()) return { label: 1, label_value: null };
    if (target?.negativeLabel !== undefined && wanted === target.negativeLabel.trim().toLowerCase()) return { label: 0, label_value: null };
  }
  const named = positive === undefined ? '' : `, ${JSON.stringify(positive)}${target?.negativeLabel !== undefined ? ` or ${JSON.stringify(target.negativeLabel)}` : ''}`;
  return { problem: `label must be 0, 1${named}, got ${JSON.stringify(label)}` };
}
