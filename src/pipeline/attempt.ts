/**
 * Runs one task body: builds its context, enforces the timeout and checks that the result can be stored.
 * No database here: the engine persists what this returns.
 */
import type { Task, TaskContext } from './dag.js';
import type { AttemptLog } from './attempt-log.js';
import { TaskTimeoutError } from './errors.js';

/** Task outputs live in a TEXT column (64 KiB on MySQL); big results belong in tables or artifacts. */
export const DEFAULT_MAX_OUTPUT_BYTES = 60_000;

export interface TaskBodyInput {
  task: Task;
  dagId: string;
  dagRunId: string;
  tryNumber: number;
  conf: Record<string, unknown>;
  /** JSON outputs of the task's succeeded ancestors. */
  upstreamOutputs: ReadonlyMap<string, string | null>;
  log: AttemptLog;
  maxOutputBytes?: number;
}

export type TaskBodyOutcome = { ok: true; outputJson: string | null } | { ok: false; error: unknown };

export async function runTaskBody(input: TaskBodyInput): Promise<TaskBodyOutcome> {
  const { task } = input;
  const controller = new AbortController();
  const context: TaskContext = {
    dagRunId: input.dagRunId,
    dagId: input.dagId,
    taskId: task.id,
    tryNumber: input.tryNumber,
    conf: structuredClone(input.conf),
    input: <T>(taskId: string) => readUpstream<T>(task, input.upstreamOutputs, taskId),
    log: input.log,
    signal: controller.signal,
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    const body = Promise.resolve().then(() => task.run(context));
    const value =
      task.timeoutMs === undefined
        ? await body
        : await Promise.race([
            body,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                const error = new TaskTimeoutError(task.id, task.timeoutMs!);
                controller.abort(error);
                reject(error);
              }, task.timeoutMs);
            }),
          ]);
    return { ok: true, outputJson: serialiseOutput(task.id, value, input.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES) };
  } catch (error) {
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

function readUpstream<T>(task: Task, outputs: ReadonlyMap<string, string | null>, taskId: string): T {
  if (!task.ancestors.has(taskId)) {
    throw new Error(`Task "${task.id}" cannot read the output of "${taskId}": it is not upstream of "${task.id}"`);
  }
  if (!outputs.has(taskId)) throw new Error(`Task "${task.id}": upstream task "${taskId}" has no stored output`);
  const json = outputs.get(taskId);
  return (json === null || json === undefined ? undefined : JSON.parse(json)) as T;
}

function serialiseOutput(taskId: string, value: unknown, maxBytes: number): string | null {
  if (value === undefined) return null;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new Error(`Task "${taskId}" returned a value that is not JSON-serialisable: ${(error as Error).message}`);
  }
  if (json === undefined) {
    throw new Error(`Task "${taskId}" returned a value that is not JSON-serialisable (${typeof value})`);
  }
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) {
    throw new Error(
      `Task "${taskId}" returned ${bytes} bytes of JSON; outputs are stored in the database and limited to ` +
        `${maxBytes} bytes: keep big results in tables or artifacts and return a reference`,
    );
  }
  return json;
}
