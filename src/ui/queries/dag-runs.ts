/** Pipeline runs as the dashboard shows them: DAG runs, their task instances, and every attempt with its log. */
import type { Kysely } from 'kysely';
import type { Database, DagRunsTable, TaskAttemptsTable, TaskInstancesTable } from '../../db/schema.js';
import { count, durationMs, parseJson, type PageRequest, type Paged } from './common.js';

export interface DagRunSummary {
  id: string;
  dagId: string;
  status: DagRunsTable['status'];
  trigger: DagRunsTable['trigger'];
  conf: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  /** Task instances per state, e.g. { success: 2, failed: 1 }. */
  taskCounts: Record<string, number>;
}

export interface TaskAttemptView {
  tryNumber: number;
  state: TaskAttemptsTable['state'];
  log: string;
  error: string | null;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
}

export interface TaskInstanceView {
  taskId: string;
  state: TaskInstancesTable['state'];
  tryNumber: number;
  maxTries: number;
  output: unknown;
  error: string | null;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  attempts: TaskAttemptView[];
}

export interface DagRunDetail extends DagRunSummary {
  /** In start order; tasks that never started come last, by id. */
  tasks: TaskInstanceView[];
}

function summary(row: DagRunsTable, taskCounts: Record<string, number>): DagRunSummary {
  return {
    id: row.id,
    dagId: row.dag_id,
    status: row.status,
    trigger: row.trigger,
    conf: parseJson(row.conf_json),
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    durationMs: durationMs(row.started_at, row.ended_at),
    taskCounts,
  };
}

async function taskCountsByRun(db: Kysely<Database>, runIds: string[]): Promise<Map<string, Record<string, number>>> {
  const byRun = new Map<string, Record<string, number>>(runIds.map((id) => [id, {}]));
  if (runIds.length === 0) return byRun;
  const rows = await db
    .selectFrom('task_instances')
    .select(['dag_run_id', 'state', (eb) => eb.fn.countAll().as('n')])
    .where('dag_run_id', 'in', runIds)
    .groupBy(['dag_run_id', 'state'])
    .execute();
  for (const row of rows) byRun.get(row.dag_run_id)![row.state] = count(row.n);
  return byRun;
}

/** Newest first, optionally for one DAG. */
export async function listDagRuns(
  db: Kysely<Database>,
  filter: { dagId?: string } & PageRequest,
): Promise<Paged<DagRunSummary>> {
  let query = db.selectFrom('dag_runs');
  if (filter.dagId) query = query.where('dag_id', '=', filter.dagId);
  const [rows, total] = await Promise.all([
    query
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute(),
    query.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
  ]);
  const counts = await taskCountsByRun(db, rows.map((r) => r.id));
  return {
    total: count(total.n),
    limit: filter.limit,
    offset: filter.offset,
    items: rows.map((row) => summary(row, counts.get(row.id)!)),
  };
}

/** Every DAG that has run at least once, for the filter. */
export async function listDagIds(db: Kysely<Database>): Promise<string[]> {
  const rows = await db.selectFrom('dag_runs').select('dag_id').distinct().orderBy('dag_id').execute();
  return rows.map((r) => r.dag_id);
}

export async function getDagRun(db: Kysely<Database>, id: string): Promise<DagRunDetail | undefined> {
  const run = await db.selectFrom('dag_runs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!run) return undefined;
  const [tasks, attempts] = await Promise.all([
    db.selectFrom('task_instances').selectAll().where('dag_run_id', '=', id).execute(),
    db
      .selectFrom('task_attempts')
      .selectAll()
      .where('dag_run_id', '=', id)
      .orderBy('task_id')
      .orderBy('try_number')
      .execute(),
  ]);
  const taskCounts: Record<string, number> = {};
  for (const t of tasks) taskCounts[t.state] = (taskCounts[t.state] ?? 0) + 1;
  const views: TaskInstanceView[] = tasks.map((t) => ({
    taskId: t.task_id,
    state: t.state,
    tryNumber: Number(t.try_number),
    maxTries: Number(t.max_tries),
    output: parseJson(t.output_json),
    error: t.error,
    startedAt: t.started_at,
    endedAt: t.ended_at,
    durationMs: durationMs(t.started_at, t.ended_at),
    attempts: attempts
      .filter((a) => a.task_id === t.task_id)
      .map((a) => ({
        tryNumber: Number(a.try_number),
        state: a.state,
        log: a.log,
        error: a.error,
        startedAt: a.started_at,
        endedAt: a.ended_at,
        durationMs: durationMs(a.started_at, a.ended_at),
      })),
  }));
  views.sort(byStartThenId);
  return { ...summary(run, taskCounts), tasks: views };
}

function byStartThenId(a: TaskInstanceView, b: TaskInstanceView): number {
  if (a.startedAt && b.startedAt && a.startedAt !== b.startedAt) return a.startedAt < b.startedAt ? -1 : 1;
  if (a.startedAt && !b.startedAt) return -1;
  if (!a.startedAt && b.startedAt) return 1;
  return a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0;
}
