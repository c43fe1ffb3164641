/**
 * DAG definitions: tasks, their dependencies and retry policy. Everything is checked once, when the DAG is defined,
 * so a bad DAG fails at start-up with a message naming the task, never half-way through a run.
 */

/** Lines written here land in the attempt's stored log and in the process log. */
export interface TaskLogger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** What a task body receives for one attempt. */
export interface TaskContext {
  readonly dagRunId: string;
  readonly dagId: string;
  readonly taskId: string;
  /** 1 for the first attempt; keeps counting across automatic retries and `retry(dagRunId)`. */
  readonly tryNumber: number;
  /** The run's configuration, as given to `trigger` (a copy: changes are not saved). */
  readonly conf: Readonly<Record<string, unknown>>;
  /** The persisted output of a task upstream of this one (direct or not). Throws for any other task. */
  input<T = unknown>(taskId: string): T;
  readonly log: TaskLogger;
  /** Aborted when the attempt times out: long tasks should check it (a task body cannot be killed from outside). */
  readonly signal: AbortSignal;
}

export interface TaskDef {
  /** Letters, digits, `_`, `.`, `-`; starts with a letter; at most 64 characters. */
  id: string;
  /** Tasks that must succeed before this one starts. */
  upstream?: string[];
  /** Automatic retries after the first attempt fails. Default 2. */
  retries?: number;
  /** Wait before the first retry; doubles for each further retry. Default 1000 ms. */
  retryDelayMs?: number;
  /** Upper bound of the retry wait. Default 5 minutes. */
  maxRetryDelayMs?: number;
  /** The attempt fails (and `signal` aborts) after this long. Default: no limit. */
  timeoutMs?: number;
  /** The task body. Its result must be JSON-serialisable: it is stored and read by downstream tasks. */
  run: (ctx: TaskContext) => Promise<unknown>;
}

export interface DagDef {
  /** Letters, digits, `_`, `.`, `-`; starts with a letter; at most 48 characters (it is part of scheduled run ids). */
  id: string;
  description?: string;
  tasks: TaskDef[];
  /**
   * Checks a run's configuration when the run is triggered, before it is created: a bad option throws there (an
   * InvalidInputError naming it) instead of failing a task after other tasks did their work.
   */
  checkConf?: (conf: Record<string, unknown>) => void;
}

/** A validated task with its defaults applied. */
export interface Task {
  readonly id: string;
  readonly upstream: readonly string[];
  readonly downstream: readonly string[];
  /** Every task this one depends on, directly or not: the tasks whose output it may read. */
  readonly ancestors: ReadonlySet<string>;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly timeoutMs: number | undefined;
  readonly run: (ctx: TaskContext) => Promise<unknown>;
}

/** A validated DAG; `tasks` is in a topological order that keeps the definition order where it can. */
export interface Dag {
  readonly id: string;
  readonly description: string;
  readonly tasks: readonly Task[];
  readonly taskById: ReadonlyMap<string, Task>;
  readonly checkConf: (conf: Record<string, unknown>) => void;
}

export const DEFAULT_RETRIES = 2;
export const DEFAULT_RETRY_DELAY_MS = 1000;
export const DEFAULT_MAX_RETRY_DELAY_MS = 5 * 60_000;

const ID_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]*$/;
const MAX_DAG_ID_LENGTH = 48;
const MAX_TASK_ID_LENGTH = 64;

export function defineDag(def: DagDef): Dag {
  assertId('DAG id', def.id, MAX_DAG_ID_LENGTH);
  const where = `DAG "${def.id}"`;
  if (!Array.isArray(def.tasks) || def.tasks.length === 0) throw new Error(`${where} has no tasks`);

  const defs = new Map<string, TaskDef>();
  for (const task of def.tasks) {
    assertId(`${where}: task id`, task.id, MAX_TASK_ID_LENGTH);
    if (defs.has(task.id)) throw new Error(`${where}: duplicate task id "${task.id}"`);
    if (typeof task.run !== 'function') throw new Error(`${where}: task "${task.id}" has no run function`);
    defs.set(task.id, task);
  }
  for (const task of def.tasks) {
    for (const up of task.upstream ?? []) {
      if (!defs.has(up)) throw new Error(`${where}: task "${task.id}" lists unknown upstream task "${up}"`);
    }
  }

  const order = topologicalOrder(def.tasks, where);
  const downstream = new Map<string, string[]>(def.tasks.map((t) => [t.id, []]));
  for (const task of def.tasks) for (const up of new Set(task.upstream ?? [])) downstream.get(up)!.push(task.id);

  const ancestors = new Map<string, Set<string>>();
  const tasks: Task[] = order.map((id) => {
    const td = defs.get(id)!;
    const upstream = [...new Set(td.upstream ?? [])];
    const mine = new Set<string>();
    for (const up of upstream) {
      mine.add(up);
      for (const a of ancestors.get(up)!) mine.add(a);
    }
    ancestors.set(id, mine);
    return {
      id,
      upstream,
      downstream: downstream.get(id)!,
      ancestors: mine,
      retries: nonNegativeInteger(`${where}: task "${id}" retries`, td.retries, DEFAULT_RETRIES),
      retryDelayMs: nonNegativeInteger(`${where}: task "${id}" retryDelayMs`, td.retryDelayMs, DEFAULT_RETRY_DELAY_MS),
      maxRetryDelayMs: nonNegativeInteger(
        `${where}: task "${id}" maxRetryDelayMs`,
        td.maxRetryDelayMs,
        DEFAULT_MAX_RETRY_DELAY_MS,
      ),
      timeoutMs: positiveTimeout(`${where}: task "${id}" timeoutMs`, td.timeoutMs),
      run: td.run,
    };
  });
  return {
    id: def.id,
    description: def.description ?? '',
    tasks,
    taskById: new Map(tasks.map((t) => [t.id, t])),
    checkConf: def.checkConf ?? (() => {}),
  };
}

/**
 * The wait before the next attempt after `failedInBudget` failed attempts (1 = the first failure): the base delay
 * doubled per further failure, capped.
 */
export function retryDelayMs(task: Pick<Task, 'retryDelayMs' | 'maxRetryDelayMs'>, failedInBudget: number): number {
  const exponent = Math.max(0, failedInBudget - 1);
  return Math.min(task.retryDelayMs * 2 ** exponent, task.maxRetryDelayMs);
}

export function assertId(what: string, value: unknown, maxLength: number): asserts value is string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value) || value.length > maxLength) {
    throw new Error(
      `${what} ${JSON.stringify(value)} is invalid: use letters, digits, "_", "." or "-", start with a letter, ` +
        `at most ${maxLength} characters`,
    );
  }
}

/** Kahn's algorithm, taking ready tasks in definition order; on a cycle, names one. */
function topologicalOrder(tasks: TaskDef[], where: string): string[] {
  const remaining = new Map(tasks.map((t) => [t.id, new Set(t.upstream ?? [])]));
  const order: string[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining].filter(([, ups]) => ups.size === 0).map(([id]) => id);
    if (ready.length === 0) throw new Error(`${where} has a cycle: ${findCycle(remaining).join(' -> ')}`);
    for (const id of ready) {
      remaining.delete(id);
      order.push(id);
    }
    for (const ups of remaining.values()) for (const id of ready) ups.delete(id);
  }
  return order;
}

/** Walks upstream edges among the tasks left by Kahn's algorithm (each has one) until a task repeats. */
function findCycle(remaining: Map<string, Set<string>>): string[] {
  const path: string[] = [];
  let current = remaining.keys().next().value as string;
  while (!path.includes(current)) {
    path.push(current);
    current = [...remaining.get(current)!].find((up) => remaining.has(up))!;
  }
  // path runs against the edges (task -> its upstream); report it in execution order.
  return [...path.slice(path.indexOf(current)), current].reverse();
}

function nonNegativeInteger(what: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${what} must be a non-negative integer, got ${value}`);
  }
  return value;
}

function positiveTimeout(what: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  // setTimeout's ceiling; above it Node fires immediately.
  if (!Number.isSafeInteger(value) || value <= 0 || value > 2_147_483_647) {
    throw new Error(`${what} must be a positive integer of milliseconds, got ${value}`);
  }
  return value;
}
