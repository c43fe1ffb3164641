/**
 * Prediction traffic over time: count, positive rate, mean probability and, where feedback arrived, how often the
 * prediction matched the label. Buckets are days or hours of the UTC ISO timestamps, so grouping is a prefix of the
 * stored text and works the same on all three databases.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { count, numberOrNull } from './common.js';

export type StatsBucket = 'day' | 'hour';

export interface PredictionAggregate {
  count: number;
  /** Share of predictions that were the positive class. */
  positiveRate: number | null;
  meanProbability: number | null;
  /** Predictions that received a feedback label. */
  labelled: number;
  /** Share of labelled predictions whose prediction equals the label. */
  labelAgreement: number | null;
}

export interface PredictionBucket extends PredictionAggregate {
  /** ISO start of the day or hour. */
  start: string;
}

export interface PredictionStats {
  model: string | null;
  bucket: StatsBucket;
  since: string;
  until: string | null;
  totals: PredictionAggregate;
  /** Every bucket from `since` to the end, oldest first, empty ones included. */
  buckets: PredictionBucket[];
  /** True when the window held more than MAX_BUCKETS buckets and only the latest are returned. */
  truncated: boolean;
}

export const MAX_BUCKETS = 500;

const BUCKET = {
  day: { prefix: 10, ms: 86_400_000, suffix: 'T00:00:00.000Z', defaultWindowMs: 30 * 86_400_000 },
  hour: { prefix: 13, ms: 3_600_000, suffix: ':00:00.000Z', defaultWindowMs: 48 * 3_600_000 },
} as const;

export interface StatsQuery {
  model?: string;
  bucket: StatsBucket;
  /** ISO time, inclusive; defaults to 30 days (day buckets) or 48 hours (hour buckets) before `now`. */
  since?: string;
  /** ISO time, exclusive; defaults to no upper bound. */
  until?: string;
  now?: Date;
}

function aggregate(row: { n: unknown; positives: unknown; mean_probability: unknown; labelled: unknown; agreed: unknown }): PredictionAggregate {
  const n = count(row.n);
  const labelled = count(row.labelled);
  return {
    count: n,
    positiveRate: n > 0 ? count(row.positives) / n : null,
    meanProbability: n > 0 ? numberOrNull(row.mean_probability) : null,
    labelled,
    labelAgreement: labelled > 0 ? count(row.agreed) / labelled : null,
  };
}

const EMPTY: PredictionAggregate = { count: 0, positiveRate: null, meanProbability: null, labelled: 0, labelAgreement: null };

export async function predictionStats(db: Kysely<Database>, query: StatsQuery): Promise<PredictionStats> {
  const spec = BUCKET[query.bucket];
  const now = query.now ?? new Date();
  const since = query.since ?? new Date(now.getTime() - spec.defaultWindowMs).toISOString();
  const bucketKey = sql<string>`substr(${sql.ref('created_at')}, 1, ${sql.lit(spec.prefix)})`;

  let base = db.selectFrom('predictions').where('created_at', '>=', since);
  if (query.until) base = base.where('created_at', '<', query.until);
  if (query.model) base = base.where('model_name', '=', query.model);
  const measures = base.select((eb) => [
    eb.fn.countAll().as('n'),
    eb.fn.sum('prediction').as('positives'),
    eb.fn.avg('probability').as('mean_probability'),
    eb.fn.count('label').as('labelled'),
    sql<number>`sum(case when ${sql.ref('label')} = ${sql.ref('prediction')} then 1 else 0 end)`.as('agreed'),
  ]);

  const [totals, rows] = await Promise.all([
    measures.executeTakeFirstOrThrow(),
    measures
      .select(bucketKey.as('bucket'))
      .groupBy(bucketKey)
      .orderBy('bucket', 'desc')
      .limit(MAX_BUCKETS)
      .execute(),
  ]);

  const found = new Map(rows.map((r) => [r.bucket, aggregate(r)]));
  const endKey = query.until
    ? new Date(Date.parse(query.until) - 1).toISOString().slice(0, spec.prefix)
    : maxKey(now.toISOString().slice(0, spec.prefix), rows[0]?.bucket);
  const range = bucketRange(since.slice(0, spec.prefix), endKey, query.bucket);
  // Keys outside the range only appear if timestamps are not ISO UTC; keep them rather than hide traffic.
  const keys = [...new Set([...range.keys, ...found.keys()])].sort();
  const buckets = keys.slice(-MAX_BUCKETS).map((key) => ({ start: key + spec.suffix, ...(found.get(key) ?? EMPTY) }));
  return {
    model: query.model ?? null,
    bucket: query.bucket,
    since,
    until: query.until ?? null,
    totals: aggregate(totals),
    buckets,
    truncated: range.truncated || keys.length > MAX_BUCKETS,
  };
}

function maxKey(a: string, b: string | undefined): string {
  return b !== undefined && b > a ? b : a;
}

/** The latest MAX_BUCKETS day or hour keys from `first` to `last` inclusive; none when either is not an ISO prefix. */
function bucketRange(first: string, last: string, bucket: StatsBucket): { keys: string[]; truncated: boolean } {
  const spec = BUCKET[bucket];
  const start = Date.parse(first + spec.suffix);
  const end = Date.parse(last + spec.suffix);
  if (!Number.isFinite(start) || !Number.isFinite(end)) return { keys: [], truncated: false };
  const from = Math.max(start, end - (MAX_BUCKETS - 1) * spec.ms);
  const keys: string[] = [];
  for (let t = from; t <= end; t += spec.ms) keys.push(new Date(t).toISOString().slice(0, spec.prefix));
  return { keys, truncated: from > start };
}
