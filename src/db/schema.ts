/**
 * The relational schema of mldeploy, as Kysely types. One schema for SQLite, PostgreSQL and MySQL/MariaDB:
 * ids are text (UUIDs), times are ISO-8601 text in UTC, JSON payloads are text, booleans are 0/1 integers.
 * Data tables made at run time (raw_* and clean_*) are not listed here: their columns come from the data.
 */

/** A CSV file loaded into a raw table (`load_raw_data`). */
export interface RawLoadsTable {
  id: string;
  dataset: string;
  table_name: string;
  source: string;
  content_hash: string;
  status: 'loaded' | 'failed';
  row_count: number;
  reject_count: number;
  /** JSON: ColumnSchema[] */
  columns_json: string;
  delimiter: string;
  /** JSON of the CsvReadOptions the file was read with (null: the defaults); a reload with others is not skipped. */
  read_options: string | null;
  /** The text encoding the file was read with (null in loads made before it was recorded: UTF-8). */
  encoding: string | null;
  error: string | null;
  created_at: string;
}

/** A malformed CSV row, kept with its line number and the reason it was set aside. */
export interface RawRejectsTable {
  load_id: string;
  line: number;
  reason: string;
  content: string;
}

/** A cleaned, split data set (`preprocess_data`) that runs and model versions point to. */
export interface DatasetSnapshotsTable {
  id: string;
  dataset: string;
  raw_load_id: string;
  table_name: string;
  target: string;
  positive_label: string;
  /** The label mapped to 0 when the target has exactly two values; null when 0 means "any other value". */
  negative_label: string | null;
  /** JSON: FeatureSpec[] of the feature columns */
  features_json: string;
  /** JSON: string[] of the dropped row-id columns */
  row_id_columns_json: string;
  /** JSON: { train, val, test, positives: { train, val, test } } */
  counts_json: string;
  content_hash: string;
  seed: number;
  created_at: string;
  /** 'multiclass' or 'regression'; null for binary (snapshots made before tasks existed are binary). */
  task: string | null;
  /** Why that task (detected or given), for the record. */
  task_reason: string | null;
  /** JSON: string[] of a multi-class target's labels in class-code order. */
  classes_json: string | null;
}

export interface ExperimentsTable {
  id: string;
  name: string;
  created_at: string;
}

export interface RunsTable {
  id: string;
  experiment_id: string;
  parent_run_id: string | null;
  name: string;
  status: 'RUNNING' | 'FINISHED' | 'FAILED';
  dataset_snapshot_id: string | null;
  dag_run_id: string | null;
  start_time: string;
  end_time: string | null;
}

export interface RunParamsTable {
  run_id: string;
  key: string;
  value: string;
}

export interface RunMetricsTable {
  run_id: string;
  key: string;
  value: number;
  step: number;
  timestamp: string;
}

export interface RunTagsTable {
  run_id: string;
  key: string;
  value: string;
}

export interface RegisteredModelsTable {
  name: string;
  description: string | null;
  created_at: string;
}

export interface ModelVersionsTable {
  name: string;
  version: number;
  run_id: string | null;
  /** Artifact key of the model file, relative to the artifact root. */
  artifact_key: string;
  dataset_snapshot_id: string | null;
  /** JSON: headline metrics at registration, e.g. { val: {...}, test: {...} } */
  metrics_json: string;
  created_at: string;
}

export interface ModelAliasesTable {
  name: string;
  alias: string;
  version: number;
  updated_at: string;
}

/** Audit trail of the registry: promotions, refusals, forced promotions, rollbacks. */
export interface ModelEventsTable {
  id: string;
  name: string;
  version: number;
  alias: string | null;
  action: 'register' | 'promote' | 'refuse' | 'force_promote' | 'rollback' | 'delete';
  reason: string;
  created_at: string;
}

export interface DagRunsTable {
  id: string;
  dag_id: string;
  status: 'queued' | 'running' | 'success' | 'failed';
  trigger: 'manual' | 'schedule' | 'retry';
  /** JSON: the run's configuration (data file, target, ...). */
  conf_json: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface TaskInstancesTable {
  dag_run_id: string;
  task_id: string;
  state: 'pending' | 'queued' | 'running' | 'success' | 'failed' | 'upstream_failed' | 'up_for_retry';
  try_number: number;
  max_tries: number;
  /** JSON: what the task returned, read by downstream tasks. */
  output_json: string | null;
  error: string | null;
  started_at: string | null;
  ended_at: string | null;
  /**
   * Written when an attempt starts and every few seconds while it runs, by the process running it; a running task
   * whose heartbeat is old was abandoned by a process that died. Null before the first attempt.
   */
  heartbeat_at: string | null;
}

/** One attempt of a task, with its captured log. */
export interface TaskAttemptsTable {
  dag_run_id: string;
  task_id: string;
  try_number: number;
  state: 'running' | 'success' | 'failed';
  log: string;
  error: string | null;
  started_at: string;
  ended_at: string | null;
}

export interface SchedulesTable {
  dag_id: string;
  cron: string;
  conf_json: string;
  enabled: number;
  updated_at: string;
}

/** Every prediction served: inputs, output, and the model version that made it. */
export interface PredictionsTable {
  id: string;
  /** The caller's x-request-id or Idempotency-Key when sent, else a fresh id; one per request. */
  request_id: string;
  /** The row's index in its request (0 for a one-row request); (request_id, request_row) is unique. */
  request_row: number | null;
  created_at: string;
  model_name: string;
  model_version: number;
  /** The caller's row id (e.g. the original's `id`), when sent. */
  row_id: string | null;
  inputs_json: string;
  probability: number;
  prediction: number;
  threshold: number;
  /** Ground truth attached later through POST /feedback: 0/1, or the class code of a multi-class model. */
  label: number | null;
  label_at: string | null;
  /** A regression model's predicted value (null for classifiers). */
  value: number | null;
  /** A multi-class model's probability per class, as a JSON object label -> probability (null otherwise). */
  probabilities_json: string | null;
  /** A regression model's true value, from POST /feedback. */
  label_value: number | null;
}

/** A dashboard session (see src/serve/sessions.ts); the session id itself is only in the browser's cookie. */
export interface SessionsTable {
  /** SHA-256 (hex) of the session id. */
  id_hash: string;
  created_at: string;
  /** Absolute: the session ends then, whatever its activity. */
  expires_at: string;
  revoked_at: string | null;
  /** The credential that logged in: 'admin token', or 'admin key ' + its fingerprint. */
  created_by: string;
}

export interface Database {
  raw_loads: RawLoadsTable;
  raw_rejects: RawRejectsTable;
  dataset_snapshots: DatasetSnapshotsTable;
  experiments: ExperimentsTable;
  runs: RunsTable;
  run_params: RunParamsTable;
  run_metrics: RunMetricsTable;
  run_tags: RunTagsTable;
  registered_models: RegisteredModelsTable;
  model_versions: ModelVersionsTable;
  model_aliases: ModelAliasesTable;
  model_events: ModelEventsTable;
  dag_runs: DagRunsTable;
  task_instances: TaskInstancesTable;
  task_attempts: TaskAttemptsTable;
  schedules: SchedulesTable;
  predictions: PredictionsTable;
  sessions: SessionsTable;
}

