/** The shapes the tracking store and the model registry hand out: plain objects, camelCase, times in ISO-8601 UTC. */

export type RunStatus = 'RUNNING' | 'FINISHED' | 'FAILED';

export interface Experiment {
  id: string;
  name: string;
  createdAt: string;
}

export interface ExperimentSummary extends Experiment {
  runCount: number;
  /** Start time of the newest run, or null when the experiment has none. */
  lastRunTime: string | null;
}

export interface StartRunOptions {
  /** Experiment name; created on first use. */
  experiment: string;
  name: string;
  /** Makes this a child run (e.g. one hyper-parameter trial under a tuning run). */
  parentRunId?: string;
  datasetSnapshotId?: string;
  dagRunId?: string;
  tags?: Record<string, string>;
}

export interface RunInfo {
  id: string;
  experimentId: string;
  experimentName: string;
  name: string;
  status: RunStatus;
  parentRunId: string | null;
  datasetSnapshotId: string | null;
  dagRunId: string | null;
  startTime: string;
  endTime: string | null;
}

export interface MetricPoint {
  step: number;
  value: number;
  timestamp: string;
}

/** A run with its data: params, the latest value of each metric (highest step) and tags. */
export interface RunSummary extends RunInfo {
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

export interface RunDetail extends RunSummary {
  /** Direct children, oldest first. */
  childRunIds: string[];
  /** Every logged value per metric, by step; present when asked for with `{ metricHistory: true }`. */
  metricHistory?: Record<string, MetricPoint[]>;
}

export interface ListRunsOptions {
  experiment?: string;
  /** A run id for its children; null for top-level runs only; omitted for all runs. */
  parentRunId?: string | null;
  dagRunId?: string;
  status?: RunStatus;
  /** 1-1000, default 100. */
  limit?: number;
  offset?: number;
}

export type ParamValue = string | number | boolean;

export type ModelEventAction = 'register' | 'promote' | 'refuse' | 'force_promote' | 'rollback' | 'delete';
/** The actions that move an alias. */
export type AliasAction = 'promote' | 'force_promote' | 'rollback';

export interface RegisterVersionOptions {
  name: string;
  runId?: string;
  /** Key of the model file in the artifact repository. */
  artifactKey: string;
  datasetSnapshotId?: string;
  /** Headline metrics at registration, e.g. { val: {...}, test: {...} }; stored as JSON. */
  metrics: Record<string, unknown>;
}

export interface ModelVersion {
  name: string;
  version: number;
  runId: string | null;
  artifactKey: string;
  datasetSnapshotId: string | null;
  metrics: Record<string, unknown>;
  createdAt: string;
  /** Aliases pointing at this version now, sorted. */
  aliases: string[];
}

export interface RegisteredModel {
  name: string;
  description: string | null;
  createdAt: string;
  latestVersion: ModelVersion | null;
  /** alias -> version */
  aliases: Record<string, number>;
}

export interface ModelEvent {
  id: string;
  name: string;
  version: number;
  alias: string | null;
  action: ModelEventAction;
  reason: string;
  createdAt: string;
}

export interface SetAliasOptions {
  action: AliasAction;
  /** Why, in a sentence; kept in the audit trail. */
  reason: string;
}
