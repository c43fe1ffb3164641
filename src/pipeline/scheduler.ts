/**
 * Cron schedules for DAGs, kept in the `schedules` table, and the scheduler loop that triggers due runs.
 * Each fire time maps to one run id (`sched-<dagId>-<epoch minute>`): when several scheduler processes see the same
 * tick, the primary key lets exactly one of them create the run. Missed fire times (scheduler down) are not caught
 * up; the latest due one fires. Cron times are read in UTC unless a timezone is given (all schedulers must agree).
 * The scheduler also recovers abandoned runs (PipelineRunner.recoverStaleRuns) when it starts and every minute, so
 * a run whose process died fails and can be retried without anyone looking for it.
 */
import { InvalidInputError } from '../errors.js';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Store } from '../db/connect.js';
import type { SchedulesTable } from '../db/schema.js';
import { assertId } from './dag.js';
import { DagRunExistsError, errorMessage } from './errors.js';
import type { PipelineRunner, RecoverOptions } from './runner.js';

export const DEFAULT_TIMEZONE = 'UTC';

export interface ScheduleInfo {
  dagId: string;
  cron: string;
  conf: Record<string, unknown>;
  enabled: boolean;
  updatedAt: string;
  /** The next fire time (ISO-8601, UTC), or null if the expression never fires again or the schedule is disabled. */
  nextRunAt: string | null;
}

export interface ScheduleOptions {
  /** IANA timezone the cron fields are read in. Default UTC. */
  timezone?: string;
}

/** Parses a 5-field cron expression (minute hour day-of-month month day-of-week, or @daily and friends). */
export function parseCron(expression: string, options: ScheduleOptions = {}): Cron {
  try {
    const timezone = options.timezone ?? DEFAULT_TIMEZONE;
    return new Cron(expression.trim(), { paused: true, mode: '5-part', timezone });
  } catch (error) {
    throw new InvalidInputError(
      `Invalid cron expression "${expression}": ${errorMessage(error).replace(/^\w*Error: /, '')}. ` +
        'Use 5 fields: minute hour day-of-month month day-of-week, e.g. "0 2 * * *" for 02:00 every day',
    );
  }
}

/** Creates or replaces the schedule of a DAG. */
export async function setSchedule(
  store: Store,
  dagId: string,
  cron: string,
  conf: Record<string, unknown> = {},
  options: ScheduleOptions & { enabled?: boolean } = {},
): Promise<ScheduleInfo> {
  assertId('DAG id', dagId, 48);
  if (parseCron(cron, options).nextRun() === null) throw new InvalidInputError(`Cron expression "${cron}" never fires`);
  if (conf === null || typeof conf !== 'object' || Array.isArray(conf)) {
    throw new InvalidInputError('The schedule configuration (conf) must be an object');
  }
  const row: SchedulesTable = {
    dag_id: dagId,
    cron: cron.trim(),
    conf_json: JSON.stringify(conf),
    enabled: options.enabled === false ? 0 : 1,
    updated_at: new Date().toISOString(),
  };
  await store.db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('schedules').select('dag_id').where('dag_id', '=', dagId).executeTakeFirst();
    if (existing) await trx.updateTable('schedules').set(row).where('dag_id', '=', dagId).execute();
    else await trx.insertInto('schedules').values(row).execute();
  });
  return toInfo(row, new Date(), options);
}

/** Returns whether there was a schedule to remove. */
export async function removeSchedule(store: Store, dagId: string): Promise<boolean> {
  const result = await store.db.deleteFrom('schedules').where('dag_id', '=', dagId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function listSchedules(
  store: Store,
  options: ScheduleOptions & { now?: Date } = {},
): Promise<ScheduleInfo[]> {
  const rows = await store.db.selectFrom('schedules').selectAll().orderBy('dag_id').execute();
  return rows.map((row) => toInfo(row, options.now ?? new Date(), options));
}

/** The run id a schedule's fire time maps to. */
export function scheduledRunId(dagId: string, fireAt: Date): string {
  return `sched-${dagId}-${Math.floor(fireAt.getTime() / 60_000)}`;
}

export interface SchedulerOptions extends ScheduleOptions {
  runner: PipelineRunner;
  store: Store;
  logger?: Logger;
  /** How often schedules are checked. Default 15 s. */
  tickMs?: number;
  /** How often abandoned runs are recovered, the first time at start. Default 1 min. */
  recoverEveryMs?: number;
  /** When a run counts as abandoned. Default: recoverStaleRuns's defaults. */
  recovery?: RecoverOptions;
  /** The clock (tests). */
  now?: () => Date;
}

export interface ScheduledFire {
  dagId: string;
  runId: string;
  fireAt: string;
  /** False when another scheduler created this run first. */
  created: boolean;
}

export interface Scheduler {
  /** Checks the schedules once and triggers what fell due since the previous check. */
  tick(at?: Date): Promise<ScheduledFire[]>;
  /** Fails the runs no process drives any more; returns their ids. */
  recover(): Promise<string[]>;
  close(): Promise<void>;
}

export function startScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? (() => new Date());
  const tickMs = options.tickMs ?? 15_000;
  const logger = options.logger?.child({ component: 'scheduler' });
  let lastCheck = now();
  let closed = false;

  async function tick(at: Date = now()): Promise<ScheduledFire[]> {
    const since = lastCheck;
    const rows = await options.store.db.selectFrom('schedules').selectAll().where('enabled', '=', 1).execute();
    lastCheck = at;
    const fires: ScheduledFire[] = [];
    for (const row of rows) {
      let cron: Cron;
      try {
        cron = parseCron(row.cron, options);
      } catch (error) {
        logger?.error({ dagId: row.dag_id, err: error }, 'Stored schedule has an invalid cron expression');
        continue;
      }
      // The latest fire time in (since, at]: previousRuns excludes its reference, hence the extra millisecond.
      const [fireAt] = cron.previousRuns(1, new Date(at.getTime() + 1));
      if (!fireAt || fireAt.getTime() <= since.getTime()) continue;
      const runId = scheduledRunId(row.dag_id, fireAt);
      try {
        const conf = JSON.parse(row.conf_json) as Record<string, unknown>;
        await options.runner.trigger(row.dag_id, conf, 'schedule', { runId });
        fires.push({ dagId: row.dag_id, runId, fireAt: fireAt.toISOString(), created: true });
      } catch (error) {
        if (error instanceof DagRunExistsError) {
          fires.push({ dagId: row.dag_id, runId, fireAt: fireAt.toISOString(), created: false });
        } else {
          logger?.error({ dagId: row.dag_id, runId, err: error }, 'Scheduled trigger failed');
        }
      }
    }
    return fires;
  }

  async function recover(): Promise<string[]> {
    return options.runner.recoverStaleRuns(options.recovery);
  }

  /** Runs `work` after `firstMs`, then `everyMs` after each run ends, until closed. */
  function repeat(work: () => Promise<unknown>, failure: string, firstMs: number, everyMs: number) {
    let timer: NodeJS.Timeout | undefined;
    let running: Promise<unknown> = Promise.resolve();
    const next = (ms: number) => {
      if (closed) return;
      timer = setTimeout(() => {
        running = work()
          .catch((error: unknown) => logger?.error({ err: error }, failure))
          .finally(() => next(everyMs));
      }, ms);
    };
    next(firstMs);
    return async () => {
      clearTimeout(timer);
      await running;
    };
  }

  const recoverEveryMs = options.recoverEveryMs ?? 60_000;
  const stops = [
    repeat(tick, 'Scheduler tick failed', tickMs, tickMs),
    repeat(recover, 'Recovery of abandoned DAG runs failed', 0, recoverEveryMs),
  ];
  logger?.info({ tickMs, recoverEveryMs, timezone: options.timezone ?? DEFAULT_TIMEZONE }, 'Scheduler started');

  return {
    tick,
    recover,
    async close() {
      closed = true;
      await Promise.all(stops.map((stop) => stop()));
    },
  };
}

function toInfo(row: SchedulesTable, now: Date, options: ScheduleOptions): ScheduleInfo {
  const enabled = Number(row.enabled) === 1;
  let nextRunAt: string | null = null;
  if (enabled) {
    try {
      nextRunAt = parseCron(row.cron, options).nextRun(now)?.toISOString() ?? null;
    } catch {
      nextRunAt = null;
    }
  }
  return {
    dagId: row.dag_id,
    cron: row.cron,
    conf: JSON.parse(row.conf_json) as Record<string, unknown>,
    enabled,
    updatedAt: row.updated_at,
    nextRunAt,
  };
}
