/**
 * Errors the pipeline raises, and how task errors are turned into the text we store. An error that retrying cannot
 * fix (a bad file, a wrong option: `permanent`, see src/errors.ts) fails its task at once, and only its message is
 * stored, since a stack trace of the user's own mistake helps nobody.
 */

import { ConflictError, isPermanent, TimeoutError } from '../errors.js';

export { isPermanent } from '../errors.js';

/** A run with this id exists already: how a second scheduler learns that a tick has fired. */
export class DagRunExistsError extends ConflictError {
  constructor(readonly dagRunId: string) {
    super(`DAG run "${dagRunId}" already exists`, { code: 'dag_run_exists' });
  }
}

/** A task attempt that ran past its timeout; it is retried like any transient failure. */
export class TaskTimeoutError extends TimeoutError {
  constructor(taskId: string, timeoutMs: number) {
    super(`Task "${taskId}" timed out after ${timeoutMs} ms`, { code: 'task_timeout' });
  }
}

const MAX_MESSAGE = 2000;
const MAX_FRAMES = 12;
const MAX_DETAIL = 8000;

/** The one-line message of anything thrown (`TypeError: ...`; plain `Error` shows just the message). */
export function errorMessage(error: unknown): string {
  let text: string;
  if (isPermanent(error)) {
    text = (error as Error).message;
  } else if (error instanceof Error) {
    text = error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  } else {
    text = typeof error === 'string' ? error : safeJson(error);
  }
  return truncate(text || 'Unknown error', MAX_MESSAGE);
}

/**
 * The message with a trimmed stack: Node's internal frames dropped, at most a dozen frames, and the cause (one level),
 * so the stored error points at the task's code without pages of framework frames.
 */
export function errorDetail(error: unknown): string {
  if (isPermanent(error)) return errorMessage(error);
  const lines = [errorMessage(error), ...stackFrames(error)];
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause !== undefined) lines.push(`Caused by: ${errorMessage(cause)}`, ...stackFrames(cause).slice(0, 4));
  return truncate(lines.join('\n'), MAX_DETAIL);
}

function stackFrames(error: unknown): string[] {
  if (!(error instanceof Error) || !error.stack) return [];
  const frames = error.stack
    .split('\n')
    .filter((line) => /^\s+at /.test(line) && !line.includes('node:internal'))
    .map((line) => line.trimEnd());
  if (frames.length <= MAX_FRAMES) return frames;
  return [...frames.slice(0, MAX_FRAMES), `    ... ${frames.length - MAX_FRAMES} more frames`];
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
