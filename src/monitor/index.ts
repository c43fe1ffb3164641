/** Monitoring: reference profiles, live profiles from the prediction log, drift, live and estimated quality. */
export * from './types.js';
export { columnDrift, datasetDrift, DRIFT_DEFAULTS, PSI_THRESHOLD, type ColumnData, type ColumnDrift, type ColumnKind, type DriftOptions, type DriftTest } from './drift.js';
export { calibrate, estimateRocAuc, fitIsotonicCalibration, realisedQuality, type Calibration, type Interval, type RealisedQuality } from './quality.js';
export { chi2Contingency, jensenShannonDistance, ksTwoSample, populationStabilityIndex, proportionZTest, wassersteinDistance } from './stats.js';
export {
  buildReferenceProfile,
  summariseProfile,
  type ProfileSummary,
  PROFILE_FORMAT,
  PROFILE_FORMAT_VERSION,
  type BuildProfileOptions,
  type CategoricalProfile,
  type ColumnProfile,
  type NumericProfile,
  type ReferenceColumn,
  type ReferenceProfile,
} from './profile.js';
export {
  computeMonitoringReport,
  computeMonitoringTimeline,
  featureDistributions,
  loadReferenceProfile,
  MAX_WINDOW,
  MonitoringInputError,
  REFERENCE_PROFILE_PATH,
  resolveMonitoredVersion,
  type FeatureDistribution,
  type MonitoringTimelinePoint,
  type MonitorStores,
} from './report.js';
export { monitoringPlugin } from './plugin.js';
