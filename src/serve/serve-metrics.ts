/** The metrics the API exposes on GET /metrics. */
import { MetricsRegistry } from './metrics.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export function createServeMetrics() {
  const registry = new MetricsRegistry();
  const metrics = {
    registry,
    httpRequests: registry.counter({
      name: 'mldeploy_http_requests_total',
      help: 'HTTP requests answered, by route pattern and status code.',
      labelNames: ['method', 'route', 'status'] as const,
    }),
    httpDuration: registry.histogram({
      name: 'mldeploy_http_request_duration_seconds',
      help: 'Time from request received to response sent, by route pattern.',
      labelNames: ['method', 'route'] as const,
      buckets: LATENCY_BUCKETS,
    }),
    predictions: registry.counter({
      name: 'mldeploy_predictions_total',
      help: 'Predictions served and stored, by model, version and predicted class.',
      labelNames: ['model', 'version', 'prediction'] as const,
    }),
    modelInfo: registry.gauge({
      name: 'mldeploy_served_model_info',
      help: 'The model version each name is served with (value 1).',
      labelNames: ['model', 'version'] as const,
      aggregate: 'max',
    }),
    modelSwaps: registry.counter({
      name: 'mldeploy_model_swaps_total',
      help: 'Times a served model changed version (promotion, rollback or removal).',
      labelNames: ['model'] as const,
    }),
    logQueuedRows: registry.gauge({
      name: 'mldeploy_prediction_log_queued_rows',
      help: 'Predictions waiting to be committed to the database.',
    }),
    logWrites: registry.counter({
      name: 'mldeploy_prediction_log_writes_total',
      help: 'Group-commit writes to the predictions table, by outcome.',
      labelNames: ['outcome'] as const,
    }),
    logWrittenRows: registry.counter({
      name: 'mldeploy_prediction_log_rows_total',
      help: 'Prediction rows committed to the database.',
    }),
    logWriteDuration: registry.histogram({
      name: 'mldeploy_prediction_log_write_duration_seconds',
      help: 'Duration of one group-commit write.',
      buckets: LATENCY_BUCKETS,
    }),
    residentMemory: registry.gauge({
      name: 'process_resident_memory_bytes',
      help: 'Resident memory size in bytes (of all server processes).',
    }),
  };
  registry.onCollect(() => metrics.residentMemory.set(undefined, process.memoryUsage.rss()));
  return metrics;
}

export type ServeMetrics = ReturnType<typeof createServeMetrics>;
