/**
 * The monitoring report of one served model version: its reference profile against a window of the prediction log.
 * The CLI (`mldeploy monitor`), the API (GET /monitoring/{name}), the dashboard and the scheduler's triggers all call
 * `computeMonitoringReport`. Windows of the newest N rows are kept per process and refreshed incrementally.
 */
import type { Store } from '../db/index.js';
import {
  PRODUCTION_ALIAS,
  ArtifactNotFoundError,
  NotFoundError,
  runArtifactKey,
  type ArtifactRepository,
  type ModelRegistry,
  type ModelVersion,
} from '../tracking/index.js';
import { columnDrift, datasetDrift, type ColumnData } from './drift.js';
import {
  LivePredictionWindow,
  readTimeRange,
  type LiveColumn,
  type LiveColumns,
  type LiveFeature,
  type LiveOutput,
  type LiveWindow,
} from './live.js';
import { binCounts, parseReferenceProfile, referenceColumnData, type ReferenceProfile } from './profile.js';
import { calibrate, estimateRocAuc, realisedQuality } from './quality.js';
import {
  DEFAULT_DRIFT_SHARE,
  DEFAULT_WINDOW,
  type FeatureDriftReport,
  type MonitoringOptions,
  type MonitoringReport,
  type UntestedFeature,
} from './types.js';

/** The stores monitoring reads: the prediction log's database, the artifacts (profiles) and the registry. */
export interface MonitorStores {
  store: Store;
  artifacts: Pick<ArtifactRepository, 'get'>;
  registry: ModelRegistry;
}

/** Where train_model stores a version's reference profile, among its run's artifacts. */
export const REFERENCE_PROFILE_PATH = 'reference_profile.json';
/** Most rows one window may hold. */
export const MAX_WINDOW = 1_000_000;

export class MonitoringInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MonitoringInputError';
  }
}

/** The reference profile of a model version, or null when it has none (registered before profiles existed). */
export async function loadReferenceProfile(stores: { artifacts: Pick<ArtifactRepository, 'get'> }, version: ModelVersion): Promise<ReferenceProfile | null> {
  if (!version.runId) return null;
  const key = runArtifactKey(version.runId, REFERENCE_PROFILE_PATH);
  // A stored profile never changes: kept per artifact store, so a refresh does not read and parse it again.
  let kept = profiles.get(stores.artifacts);
  if (!kept) profiles.set(stores.artifacts, (kept = new Map()));
  const cached = kept.get(key);
  if (cached) return cached;
  try {
    const body = await stores.artifacts.get(key);
    const profile = parseReferenceProfile(JSON.parse(body.toString('utf8')));
    kept.set(key, profile);
    while (kept.size > MAX_KEPT_WINDOWS) kept.delete(kept.keys().next().value!);
    return profile;
  } catch (error) {
    if (error instanceof ArtifactNotFoundError) return null;
    throw error;
  }
}

const profiles = new WeakMap<object, Map<string, ReferenceProfile>>();

/** The version an alias (default production) points at, or the given version. */
export async function resolveMonitoredVersion(
  registry: ModelRegistry,
  name: string,
  options: Pick<MonitoringOptions, 'version' | 'alias'> = {},
): Promise<ModelVersion> {
  if (options.version !== undefined) return registry.getVersion(name, options.version);
  const alias = options.alias ?? PRODUCTION_ALIAS;
  const version = await registry.getAlias(name, alias);
  if (!version) {
    await registry.listVersions(name); // throws NotFoundError for an unknown model
    throw new NotFoundError('alias', `${name}@${alias} (no version is ${alias}; pass a version)`);
  }
  return version;
}

/**
 * Drift and quality of a served model version over a window of its prediction log. Throws NotFoundError for an
 * unknown model or version, MonitoringInputError for bad options; with no traffic the report says "no live data yet".
 */
export async function computeMonitoringReport(
  stores: MonitorStores,
  name: string,
  options: MonitoringOptions = {},
): Promise<MonitoringReport> {
  const range = timeRange(options);
  if (range && options.window !== undefined) throw new MonitoringInputError('give a window of N rows or a time range (from, to), not both');
  const size = range ? null : windowSize(options.window);
  const driftShare = options.driftShare ?? DEFAULT_DRIFT_SHARE;
  if (!(driftShare > 0 && driftShare <= 1)) throw new MonitoringInputError(`drift share must be in (0, 1], got ${driftShare}`);
  const version = await resolveMonitoredVersion(stores.registry, name, options);
  const alias = options.version === undefined ? (options.alias ?? PRODUCTION_ALIAS) : null;
  const profile = await loadReferenceProfile(stores, version);
  const base = emptyReport(version, alias, size);
  if (!profile) {
    return { ...base, status: 'no_reference_profile', message: `version ${version.version} has no reference profile (trained before monitoring existed); retrain to monitor it` };
  }
  base.reference = { rows: profile.rows, created_at: profile.createdAt };
  const features: LiveFeature[] = profile.features.map((f) => ({ name: f.name, kind: f.kind }));
  const output = outputOf(profile);
  const window = range
    ? await readTimeRange(stores.store.db, name, version.version, features, range, MAX_WINDOW, output)
    : await refreshedWindow(stores.store, name, version.version, features, size!, output);
  const live = window.columns();
  if (live.rows === 0) return { ...base, window: { ...base.window, rows: 0 }, status: 'no_live_data', message: 'no live data yet' };
  return { ...base, ...compare(profile, live, driftShare), window: { rows: live.rows, size, from: live.from, to: live.to } };
}

function compare(
  profile: ReferenceProfile,
  live: LiveColumns,
  driftShare: number,
): Pick<MonitoringReport, 'features' | 'dataset_drift' | 'drift' | 'prediction' | 'live' | 'estimated'> {
  const features = profile.features.map((reference, j): FeatureDriftReport | UntestedFeature => {
    const current = live.features[j];
    const liveRows = current.kind === 'numeric' ? current.values.length : sumCounts(current.counts);
    const missing = {
      reference: share(reference.missing, reference.rows + reference.missing),
      live: share(current.missing, liveRows + current.missing),
    };
    const unseen = reference.kind === 'categorical' && current.kind === 'categorical' ? unseenShare(reference.levels, current.counts) : null;
    const drift = columnDrift(referenceColumnData(reference), liveColumnData(current));
    if (!drift) {
      return {
        name: reference.name,
        kind: reference.kind,
        test: null,
        statistic: null,
        threshold: null,
        drifted: false,
        reason: reference.rows === 0 ? 'no values in the training data' : 'no values in the window',
        missing,
        unseen,
      };
    }
    return { name: reference.name, kind: reference.kind, ...drift, missing, unseen };
  });
  const tested = features.filter((f): f is FeatureDriftReport => f.test !== null);
  const dataset = datasetDrift(tested.map((f) => f.drifted), driftShare);
  const output = live.output;
  const predictionDrift = output ? columnDrift(referenceColumnData(profile.prediction), liveColumnData(output)) : null;
  // Realised and estimated quality are a binary classifier's (labels 0/1 against the positive class's probability).
  const binary = profile.prediction.name === 'probability';
  return {
    features,
    dataset_drift: dataset.drifted,
    drift: { share: dataset.share, drifted: dataset.count, tested: tested.length, threshold: driftShare },
    prediction: predictionDrift && { column: profile.prediction.name, ...predictionDrift },
    live: binary ? realisedQuality(live.labels, live.labelledProbabilities, live.labelledPredictions) : realisedQuality([], [], []),
    estimated: { roc_auc: binary ? estimateRocAuc(calibrate(profile.calibration, live.probabilities)) : null, method: 'cbpe' },
  };
}

function liveColumnData(column: LiveColumn): ColumnData {
  return column.kind === 'numeric'
    ? { kind: 'numeric', rows: column.values.length, values: column.values }
    : { kind: 'categorical', rows: sumCounts(column.counts), counts: column.counts };
}

/** Which logged output the profile's prediction describes; null for one the log does not hold. */
function outputOf(profile: ReferenceProfile): LiveOutput | null {
  const { name, kind } = profile.prediction;
  if ((name === 'probability' || name === 'value') && kind === 'numeric') return { name };
  if (name === 'class' && kind === 'categorical') return { name, classes: profile.classes };
  return null;
}

function emptyReport(version: ModelVersion, alias: string | null, size: number | null): MonitoringReport {
  const test = (version.metrics as { test?: { roc_auc?: number; roc_auc_ci_lower?: number; roc_auc_ci_upper?: number } }).test;
  return {
    model: { name: version.name, version: version.version, alias },
    window: { rows: 0, size, from: null, to: null },
    status: 'ok',
    message: null,
    reference: null,
    features: [],
    dataset_drift: false,
    drift: { share: 0, drifted: 0, tested: 0, threshold: DEFAULT_DRIFT_SHARE },
    prediction: null,
    live: realisedQuality([], [], []),
    estimated: { roc_auc: null, method: 'cbpe' },
    test: {
      roc_auc: typeof test?.roc_auc === 'number' ? test.roc_auc : null,
      roc_auc_ci:
        typeof test?.roc_auc_ci_lower === 'number' && typeof test?.roc_auc_ci_upper === 'number'
          ? { lower: test.roc_auc_ci_lower, upper: test.roc_auc_ci_upper }
          : null,
    },
    computed_at: new Date().toISOString(),
  };
}

function unseenShare(levels: Array<[string, number]>, counts: Map<string, number>): number | null {
  const known = new Set(levels.map(([level]) => level));
  let unseen = 0;
  let total = 0;
  for (const [level, n] of counts) {
    total += n;
    if (!known.has(level)) unseen += n;
  }
  return total === 0 ? null : unseen / total;
}

function sumCounts(counts: Map<string, number>): number {
  let total = 0;
  for (const n of counts.values()) total += n;
  return total;
}

function share(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

function windowSize(window: number | undefined): number {
  const size = window ?? DEFAULT_WINDOW;
  if (!Number.isInteger(size) || size < 1 || size > MAX_WINDOW) {
    throw new MonitoringInputError(`window must be a whole number of rows from 1 to ${MAX_WINDOW}, got ${window}`);
  }
  return size;
}

function timeRange(options: MonitoringOptions): { from?: string; to?: string } | null {
  if (options.from === undefined && options.to === undefined) return null;
  const parse = (value: string | undefined, field: string): string | undefined => {
    if (value === undefined) return undefined;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new MonitoringInputError(`${field} is not a date or time: ${JSON.stringify(value)}`);
    return new Date(ms).toISOString();
  };
  const range = { from: parse(options.from, 'from'), to: parse(options.to, 'to') };
  if (range.from && range.to && range.from > range.to) throw new MonitoringInputError(`from (${range.from}) is after to (${range.to})`);
  return range;
}

/** Windows kept per database, so that a refresh reads only what is new; the least recently used go first. */
const windows = new WeakMap<Store, Map<string, LivePredictionWindow>>();
const MAX_KEPT_WINDOWS = 16;

async function refreshedWindow(
  store: Store,
  name: string,
  version: number,
  features: LiveFeature[],
  size: number,
  output: LiveOutput | null,
): Promise<LiveWindow> {
  let kept = windows.get(store);
  if (!kept) windows.set(store, (kept = new Map()));
  const key = JSON.stringify([name, version, size, features, output]);
  let live = kept.get(key);
  if (live) kept.delete(key);
  else live = new LivePredictionWindow(store.db, name, version, features, size, output);
  kept.set(key, live);
  while (kept.size > MAX_KEPT_WINDOWS) kept.delete(kept.keys().next().value!);
  await live.refresh();
  return live.window;
}

/** One chunk of the log in a timeline: its time span, drift and quality. */
export interface MonitoringTimelinePoint {
  rows: number;
  from: string;
  to: string;
  drift_share: number;
  dataset_drift: boolean;
  /** Drift score per feature (p-value or distance, as in the report), by name. */
  features: Record<string, { statistic: number | null; drifted: boolean }>;
  live_roc_auc: number | null;
  labels: number;
  estimated_roc_auc: number | null;
}

/**
 * Drift and quality over time: the newest `chunks` x `chunkRows` predictions cut into consecutive chunks, oldest
 * first, each compared with the reference as a window of its own.
 */
export async function computeMonitoringTimeline(
  stores: MonitorStores,
  name: string,
  options: Pick<MonitoringOptions, 'version' | 'alias' | 'driftShare'> & { chunks?: number; chunkRows?: number } = {},
): Promise<MonitoringTimelinePoint[]> {
  const chunks = options.chunks ?? 10;
  const chunkRows = options.chunkRows ?? 1000;
  if (!Number.isInteger(chunks) || chunks < 1 || !Number.isInteger(chunkRows) || chunkRows < 1 || chunks * chunkRows > MAX_WINDOW) {
    throw new MonitoringInputError(`a timeline needs whole numbers of chunks and rows, at most ${MAX_WINDOW} rows in all`);
  }
  const version = await resolveMonitoredVersion(stores.registry, name, options);
  const profile = await loadReferenceProfile(stores, version);
  if (!profile) return [];
  const features: LiveFeature[] = profile.features.map((f) => ({ name: f.name, kind: f.kind }));
  const all = await readTimeRange(stores.store.db, name, version.version, features, {}, chunks * chunkRows, outputOf(profile));
  const rows = all.rows;
  const points: MonitoringTimelinePoint[] = [];
  for (let start = rows % chunkRows; start < rows; start += chunkRows) {
    const live = all.columns(start, start + chunkRows);
    const compared = compare(profile, live, options.driftShare ?? DEFAULT_DRIFT_SHARE);
    points.push({
      rows: live.rows,
      from: live.from!,
      to: live.to!,
      drift_share: compared.drift.share,
      dataset_drift: compared.dataset_drift,
      features: Object.fromEntries(compared.features.map((f) => [f.name, { statistic: f.statistic, drifted: f.drifted }])),
      live_roc_auc: compared.live.roc_auc,
      labels: compared.live.labels,
      estimated_roc_auc: compared.estimated.roc_auc,
    });
  }
  return points;
}

/** Training and live shares of one feature over the same bins (numeric) or levels (categorical), for plotting. */
export interface FeatureDistribution {
  name: string;
  kind: 'numeric' | 'categorical';
  /** Bin or level labels; for numeric bins, `edges` holds the bin edges. */
  labels: string[];
  edges: number[] | null;
  reference: number[];
  live: number[];
}

/** Levels shown per categorical feature; the rest of the window's values are pooled as unseen or other. */
const SHOWN_LEVELS = 15;

/** The training vs live distribution of every feature and of the predicted probability over the current window. */
export async function featureDistributions(
  stores: MonitorStores,
  name: string,
  options: Pick<MonitoringOptions, 'version' | 'alias' | 'window'> = {},
): Promise<FeatureDistribution[]> {
  const version = await resolveMonitoredVersion(stores.registry, name, options);
  const profile = await loadReferenceProfile(stores, version);
  if (!profile) return [];
  const features: LiveFeature[] = profile.features.map((f) => ({ name: f.name, kind: f.kind }));
  const output = outputOf(profile);
  const live = (await refreshedWindow(stores.store, name, version.version, features, windowSize(options.window), output)).columns();
  const columns = live.output ? [...profile.features, profile.prediction] : profile.features;
  const liveColumns = live.output ? [...live.features, live.output] : live.features;
  return columns.map((reference, j): FeatureDistribution => {
    const current = liveColumns[j];
    if (reference.kind === 'numeric' && current.kind === 'numeric' && reference.values) {
      // Few distinct values (flags, small counts): one point per value rather than quantile bins.
      const values = [...new Set([...reference.values.map(([v]) => v), ...current.values])].sort((a, b) => a - b).slice(0, 50);
      const referenceCounts = new Map(reference.values);
      const liveCounts = new Map<number, number>();
      for (const v of current.values) liveCounts.set(v, (liveCounts.get(v) ?? 0) + 1);
      return {
        name: reference.name,
        kind: 'numeric',
        labels: values.map((v) => formatEdge(v)),
        edges: null,
        reference: shares(values.map((v) => referenceCounts.get(v) ?? 0)),
        live: shares(values.map((v) => liveCounts.get(v) ?? 0)),
      };
    }
    if (reference.kind === 'numeric' && current.kind === 'numeric') {
      const { edges, counts } = reference.bins;
      const liveCounts = Array.from(binCounts(current.values, edges));
      return {
        name: reference.name,
        kind: 'numeric',
        labels: edges.slice(0, -1).map((e) => `from ${formatEdge(e)}`),
        edges,
        reference: shares(counts),
        live: shares(liveCounts),
      };
    }
    const levels = reference.kind === 'categorical' ? reference.levels.slice(0, SHOWN_LEVELS) : [];
    const counts = current.kind === 'categorical' ? current.counts : new Map<string, number>();
    const shown = new Set(levels.map(([level]) => level));
    const known = new Set(reference.kind === 'categorical' ? reference.levels.map(([level]) => level) : []);
    let unseen = 0;
    let other = 0;
    for (const [level, n] of counts) {
      if (!known.has(level)) unseen += n;
      else if (!shown.has(level)) other += n;
    }
    const referenceOther = reference.kind === 'categorical' ? reference.levels.slice(SHOWN_LEVELS).reduce((s, [, n]) => s + n, 0) : 0;
    return {
      name: reference.name,
      kind: 'categorical',
      labels: [...levels.map(([level]) => level), 'other levels', 'unseen in training'],
      edges: null,
      reference: shares([...levels.map(([, n]) => n), referenceOther, 0]),
      live: shares([...levels.map(([level]) => counts.get(level) ?? 0), other, unseen]),
    };
  });
}

function shares(counts: number[]): number[] {
  const total = counts.reduce((s, v) => s + v, 0);
  return counts.map((c) => (total === 0 ? 0 : c / total));
}

function formatEdge(value: number): string {
  if (Math.abs(value) >= 10_000) return `${Math.round(value / 1000)}k`;
  return Number.isInteger(value) ? String(value) : value.toPrecision(3);
}
