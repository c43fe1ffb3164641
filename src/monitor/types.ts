/**
 * What monitoring reports: the drift of each feature and of the predictions between the training data (the model
 * version's reference profile) and a window of the prediction log, dataset drift, and live quality (realised from
 * /feedback labels, estimated from the probabilities). snake_case because the object is the JSON that
 * `mldeploy monitor --json`, GET /monitoring/{name} and the dashboard show.
 */
import type { ColumnDrift, ColumnKind } from './drift.js';
import type { Interval, RealisedQuality } from './quality.js';

export interface FeatureDriftReport extends ColumnDrift {
  name: string;
  kind: ColumnKind;
  /** Share of missing values in the training data and in the window. */
  missing: { reference: number; live: number };
  /** Categorical: share of the window's values that training never saw. */
  unseen: number | null;
}

/** A feature that could not be tested (no non-missing value on one side): kept in the list, never counted. */
export interface UntestedFeature {
  name: string;
  kind: ColumnKind;
  test: null;
  statistic: null;
  threshold: null;
  drifted: false;
  reason: string;
  missing: { reference: number; live: number };
  unseen: number | null;
}

export type MonitoringStatus = 'ok' | 'no_live_data' | 'no_reference_profile';

export interface MonitoringReport {
  model: { name: string; version: number; alias: string | null };
  /** The window of the prediction log that was compared: its size and the times of its first and last rows. */
  window: { rows: number; size: number | null; from: string | null; to: string | null };
  status: MonitoringStatus;
  /** Why there is nothing to compare ("no live data yet"), else null. */
  message: string | null;
  reference: { rows: number; created_at: string } | null;
  features: Array<FeatureDriftReport | UntestedFeature>;
  dataset_drift: boolean;
  drift: { share: number; drifted: number; tested: number; threshold: number };
  /** Drift of the predicted probability against its distribution on the test split. */
  prediction: (ColumnDrift & { column: string }) | null;
  /** Realised quality on the window's rows that have a label. */
  live: RealisedQuality;
  /** Quality estimated without labels (confidence-based performance estimation). */
  estimated: { roc_auc: number | null; method: 'cbpe' };
  /** The version's own test ROC AUC and its 95% interval, the yardstick for a quality drop. */
  test: { roc_auc: number | null; roc_auc_ci: Interval | null };
  computed_at: string;
}

export interface MonitoringOptions {
  /** The newest N predictions (default 5,000); not with `from` or `to`. */
  window?: number;
  /** A time range of the log instead (ISO-8601, inclusive). */
  from?: string;
  to?: string;
  /** The served version to watch; default the version the alias points at. */
  version?: number;
  /** Default 'production'. */
  alias?: string;
  /** Dataset drift when at least this share of the features drifts (default 0.5). */
  driftShare?: number;
}

export const DEFAULT_WINDOW = 5000;
export const DEFAULT_DRIFT_SHARE = 0.5;
