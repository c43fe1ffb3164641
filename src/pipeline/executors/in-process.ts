/**
 * Runs task attempts in this process, at most `concurrency` at a time (the laptop default). Retry delays are timers:
 * if the process stops, waiting attempts stay queued in the database and `recoverStaleRuns` fails them for a retry.
 */
import { InvalidInputError } from '../../errors.js';
import { attemptKey, type AttemptHandler, type Executor, type SubmitOptions, type TaskAttemptRef } from './executor.js';

export interface InProcessExecutorOptions {
  /** Attempts running at once. Default 4. */
  concurrency?: number;
}

export class InProcessExecutor implements Executor {
  readonly kind = 'in-process' as const;
  private readonly concurrency: number;
  private handler: AttemptHandler | undefined;
  private readonly ready: TaskAttemptRef[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Attempts submitted and not finished: a second submit of the same attempt is dropped. */
  private readonly pending = new Set<string>();
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(options: InProcessExecutorOptions = {}) {
    const concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new InvalidInputError(`Executor concurrency must be a positive integer, got ${concurrency}`);
    }
    this.concurrency = concurrency;
  }

  bind(handler: AttemptHandler): void {
    if (this.handler && this.handler !== handler) throw new Error('This executor is already bound to a runner');
    this.handler = handler;
  }

  async submit(attempt: TaskAttemptRef, options: SubmitOptions = {}): Promise<void> {
    if (this.closed) throw new Error('The in-process executor is closed');
    if (!this.handler) throw new Error('The in-process executor is not bound to a runner');
    const key = attemptKey(attempt);
    if (this.pending.has(key)) return;
    this.pending.add(key);
    const delayMs = options.delayMs ?? 0;
    if (delayMs <= 0) return this.enqueue(attempt);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue(attempt);
    }, delayMs);
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.ready.length = 0;
    await Promise.allSettled([...this.running]);
  }

  private enqueue(attempt: TaskAttemptRef): void {
    this.ready.push(attempt);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.concurrency && this.ready.length > 0) {
      const attempt = this.ready.shift()!;
      const run: Promise<void> = this.handler!(attempt)
        // The handler logs its own failures; this only keeps a rejection from going unhandled.
        .catch(() => undefined)
        .finally(() => {
          this.running.delete(run);
          this.pending.delete(attemptKey(attempt));
          this.pump();
        });
      this.running.add(run);
    }
  }
}
