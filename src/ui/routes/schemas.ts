/**
 * JSON schemas of the dashboard API's responses, so they are documented in /docs and serialised by Fastify's fast
 * path. Fields left out of a schema would be dropped from the response: keep these in step with src/ui/queries.
 */

export const TAG = 'dashboard';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const nullableNum = { type: ['number', 'null'] } as const;
/** Any JSON value (stored JSON columns: DAG conf, task output, prediction inputs, registration metrics). */
const anyJson = {} as const;

function object(properties: Record<string, unknown>, description?: string) {
  return { type: 'object', properties, required: Object.keys(properties), ...(description ? { description } : {}) } as const;
}

function paged(item: unknown) {
  return object({ total: int, limit: int, offset: int, items: { type: 'array', items: item } });
}

/** The API's error body (see src/serve/errors.ts): `error` is a stable code. */
export const errorResponse = {
  type: 'object',
  properties: {
    error: str,
    message: str,
    details: { type: 'array', items: object({ field: str, message: str }) },
  },
  required: ['error', 'message'],
} as const;

/** Larger numbers are not exact in JSON and SQL drivers: an offset or limit past this is refused, not rounded. */
const MAX_PAGE_NUMBER = Number.MAX_SAFE_INTEGER;

export const pageQuery = {
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE_NUMBER, description: 'page size (at most 500 are returned)' },
  offset: { type: 'integer', minimum: 0, maximum: MAX_PAGE_NUMBER, default: 0 },
} as const;

const dagRunSummary = {
  id: str,
  dagId: str,
  status: { type: 'string', enum: ['queued', 'running', 'success', 'failed'] },
  trigger: str,
  conf: anyJson,
  error: nullableStr,
  createdAt: str,
  startedAt: nullableStr,
  endedAt: nullableStr,
  durationMs: nullableNum,
  taskCounts: { type: 'object', additionalProperties: int, description: 'task instances per state' },
};

export const dagRunList = paged(object(dagRunSummary));

const attempt = object({
  tryNumber: int,
  state: str,
  log: str,
  error: nullableStr,
  startedAt: str,
  endedAt: nullableStr,
  durationMs: nullableNum,
});

export const dagRunDetail = object({
  ...dagRunSummary,
  tasks: {
    type: 'array',
    items: object({
      taskId: str,
      state: str,
      tryNumber: int,
      maxTries: int,
      output: anyJson,
      error: nullableStr,
      startedAt: nullableStr,
      endedAt: nullableStr,
      durationMs: nullableNum,
      attempts: { type: 'array', items: attempt },
    }),
  },
});

export const experimentList = paged(
  object({ id: str, name: str, createdAt: str, runCount: int, lastRunAt: nullableStr }),
);

const runSummary = {
  id: str,
  experimentId: str,
  parentRunId: nullableStr,
  name: str,
  status: { type: 'string', enum: ['RUNNING', 'FINISHED', 'FAILED'] },
  datasetSnapshotId: nullableStr,
  dagRunId: nullableStr,
  startTime: str,
  endTime: nullableStr,
  durationMs: nullableNum,
};

export const runList = paged(object(runSummary));

export const runDetail = object({
  ...runSummary,
  experimentName: str,
  params: { type: 'object', additionalProperties: str },
  metrics: {
    type: 'array',
    description: 'last value of each metric (highest step)',
    items: object({ key: str, value: num, step: int, timestamp: str, steps: int }),
  },
  tags: { type: 'object', additionalProperties: str },
  children: { type: 'array', items: object(runSummary) },
  modelVersions: { type: 'array', items: object({ name: str, version: int }) },
  artifacts: {
    type: ['array', 'null'],
    items: str,
    description: 'artifact keys of the run; null when the server cannot list artifacts',
  },
});

export const metricHistory = object({
  runId: str,
  key: str,
  points: { type: 'array', items: object({ step: int, value: num, timestamp: str }) },
});

const metricsObject = { type: 'object', additionalProperties: true, description: 'metrics recorded at registration' };

export const modelList = object({
  items: {
    type: 'array',
    items: object({
      name: str,
      description: nullableStr,
      createdAt: str,
      versionCount: int,
      latestVersion: nullableInt,
      aliases: { type: 'object', additionalProperties: int },
      production: {
        type: ['object', 'null'],
        properties: { version: int, metrics: metricsObject, testAuc: nullableNum, createdAt: str, promotedAt: str },
        required: ['version', 'metrics', 'testAuc', 'createdAt', 'promotedAt'],
      },
    }),
  },
});

export const modelDetail = object({
  name: str,
  description: nullableStr,
  createdAt: str,
  aliases: { type: 'array', items: object({ alias: str, version: int, updatedAt: str }) },
  versions: {
    type: 'array',
    items: object({
      version: int,
      runId: nullableStr,
      artifactKey: str,
      datasetSnapshotId: nullableStr,
      metrics: metricsObject,
      testAuc: nullableNum,
      createdAt: str,
      aliases: { type: 'array', items: str },
    }),
  },
  events: {
    type: 'array',
    items: object({
      id: str,
      version: int,
      alias: nullableStr,
      action: { type: 'string', enum: ['register', 'promote', 'refuse', 'force_promote', 'rollback'] },
      reason: str,
      createdAt: str,
    }),
  },
});

export const predictionList = object({
  limit: int,
  offset: int,
  hasMore: { type: 'boolean' },
  items: {
    type: 'array',
    items: object({
      id: str,
      requestId: str,
      createdAt: str,
      modelName: str,
      modelVersion: int,
      rowId: nullableStr,
      inputs: anyJson,
      probability: num,
      prediction: int,
      threshold: num,
      label: nullableInt,
      labelAt: nullableStr,
    }),
  },
});

const aggregate = {
  count: int,
  positiveRate: nullableNum,
  meanProbability: nullableNum,
  labelled: int,
  labelAgreement: nullableNum,
};

export const predictionStats = object({
  model: nullableStr,
  bucket: { type: 'string', enum: ['day', 'hour'] },
  since: str,
  until: nullableStr,
  totals: object(aggregate),
  buckets: { type: 'array', items: object({ start: str, ...aggregate }) },
  truncated: { type: 'boolean' },
});

export const datasets = object({
  rawLoads: {
    type: 'array',
    items: object({
      id: str,
      dataset: str,
      tableName: str,
      source: str,
      contentHash: str,
      status: str,
      rowCount: int,
      rejectCount: int,
      columns: anyJson,
      delimiter: str,
      error: nullableStr,
      createdAt: str,
    }),
  },
  snapshots: {
    type: 'array',
    items: object({
      id: str,
      dataset: str,
      rawLoadId: str,
      tableName: str,
      target: str,
      positiveLabel: str,
      features: anyJson,
      rowIdColumns: anyJson,
      counts: anyJson,
      contentHash: str,
      seed: int,
      createdAt: str,
    }),
  },
});
