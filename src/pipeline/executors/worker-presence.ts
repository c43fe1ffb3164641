/**
 * Which queue workers are alive, kept in Redis beside the queue: every worker beats every few seconds into a sorted
 * set (member: the worker, score: the time of its beat), so a runner can tell "queued, a worker will take it" from
 * "queued, and no worker has been seen for 40 s". Times are Redis's own clock (TIME), so machines with skewed clocks
 * agree.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';

/** The few ioredis calls this needs (BullMQ's `queue.client` resolves to an ioredis client). */
export interface PresenceRedis {
  time(): Promise<[string, string]>;
  zadd(key: string, score: number, member: string): Promise<unknown>;
  zrem(key: string, member: string): Promise<unknown>;
  zremrangebyscore(key: string, min: number | string, max: number | string): Promise<unknown>;
  zcount(key: string, min: number | string, max: number | string): Promise<number>;
  zrevrange(key: string, start: number, stop: number, withScores: 'WITHSCORES'): Promise<string[]>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
}

/** A worker that has not beaten for this long counts as gone. */
export const WORKER_LIVE_MS = 30_000;
/** How often a worker beats; well under WORKER_LIVE_MS so one late beat does not make it look gone. */
export const WORKER_BEAT_MS = 5_000;

export interface WorkerPresence {
  /** Workers that beat within WORKER_LIVE_MS. */
  live: number;
  /** The last beat of any worker (ms since the epoch, Redis clock); null if none was ever seen on this queue. */
  lastSeenMs: number | null;
  /** Redis's clock when asked, to measure "seen N s ago" against. */
  nowMs: number;
}

function keys(prefix: string, queueName: string) {
  return { beats: `${prefix}:${queueName}:worker-beats`, lastSeen: `${prefix}:${queueName}:worker-last-seen` };
}

async function redisNowMs(redis: PresenceRedis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/** `host:pid:random`: readable in a queue dashboard, unique across restarts. */
export function workerIdentity(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export async function beat(redis: PresenceRedis, prefix: string, queueName: string, worker: string): Promise<void> {
  const { beats, lastSeen } = keys(prefix, queueName);
  const now = await redisNowMs(redis);
  await redis.zadd(beats, now, worker);
  await redis.set(lastSeen, String(now));
  // Workers that stopped beating long ago leave the set (the last-seen time stays).
  await redis.zremrangebyscore(beats, '-inf', now - 24 * 3600_000);
}

/** A worker that stops cleanly leaves at once, instead of counting as live for WORKER_LIVE_MS more. */
export async function leave(redis: PresenceRedis, prefix: string, queueName: string, worker: string): Promise<void> {
  await redis.zrem(keys(prefix, queueName).beats, worker);
}

export async function presence(redis: PresenceRedis, prefix: string, queueName: string): Promise<WorkerPresence> {
  const { beats, lastSeen } = keys(prefix, queueName);
  const nowMs = await redisNowMs(redis);
  const live = await redis.zcount(beats, nowMs - WORKER_LIVE_MS, '+inf');
  const stored = await redis.get(lastSeen);
  return { live, lastSeenMs: stored === null ? null : Number(stored), nowMs };
}

/** What a run waiting on a queue with no live worker says: undefined while some worker is alive. */
export function describeNoWorker(p: WorkerPresence): string | undefined {
  if (p.live > 0) return undefined;
  if (p.lastSeenMs === null) return 'waiting for a worker: none has ever been seen on this queue (start one with mldeploy worker)';
  const seconds = Math.max(Math.round(WORKER_LIVE_MS / 1000), Math.round((p.nowMs - p.lastSeenMs) / 1000));
  return `waiting for a worker: none has been seen for ${seconds} s (start one with mldeploy worker)`;
}
