/**
 * The prediction log with group commit: rows from concurrent requests are written together in one multi-row INSERT,
 * and each request waits for the commit that carries its rows before it answers. A write starts at the end of the
 * event-loop turn in which rows arrived (every request already read joins it), and while the allowed writes are in
 * flight the next rows queue up, so the batch size follows the load: one row per write when idle, hundreds under
 * load, with no timer adding latency.
 *
 * Failure: a request whose rows are not committed within `commitTimeoutMs` (or that finds the queue full, or whose
 * write fails) gets PredictionLogUnavailable, which the API answers with 503; the log keeps trying with the rows that
 * arrive next, so it recovers by itself when the database comes back. A 503 never carries a prediction; a row whose
 * write was already sent when its request gave up may still be committed (it is then stored but was not answered).
 */
import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { Database, PredictionsTable } from '../db/schema.js';
import type { Logger } from '../logger.js';

export type PredictionRecord = Omit<Insertable<PredictionsTable>, 'label' | 'label_at' | 'label_value'>;

export class PredictionLogUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PredictionLogUnavailable';
  }
}

export interface PredictionLogOptions {
  /** Most rows in one write (a request's rows are never split across writes, so a bigger request goes alone). */
  maxBatchRows?: number;
  /** Most rows waiting; past it new requests fail at once (back-pressure instead of unbounded memory). */
  maxQueuedRows?: number;
  /** How long a request waits for its commit before it fails with 503. */
  commitTimeoutMs?: number;
  /**
   * Writes in flight at once (default 1). With a database server, a batch can start while the previous one waits for
   * its commit (the server may flush both at once); SQLite writes are synchronous, so more than 1 changes nothing.
   */
  maxConcurrentWrites?: number;
  logger?: Logger;
  /** Called after each write, for metrics. */
  onWrite?: (event: { rows: number; seconds: number; ok: boolean }) => void;
}

interface Pending {
  records: PredictionRecord[];
  resolve: () => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  settled: boolean;
}

/** Rows per INSERT statement: 12 bound values a row stays far below every backend's parameter limit. */
const ROWS_PER_STATEMENT = 500;
/** How many INSERT texts (one per row count) are kept; the oldest goes first. */
const CACHED_STATEMENTS = 64;
/** The columns written, in the order of the bound values. */
const COLUMNS = [
  'id',
  'request_id',
  'created_at',
  'model_name',
  'model_version',
  'row_id',
  'inputs_json',
  'probability',
  'prediction',
  'threshold',
  'value',
  'probabilities_json',
] as const satisfies ReadonlyArray<keyof PredictionRecord>;

export class PredictionLog {
  private readonly maxBatchRows: number;
  private readonly maxQueuedRows: number;
  private readonly commitTimeoutMs: number;
  private readonly queue: Pending[] = [];
  private queued = 0;
  private readonly maxConcurrentWrites: number;
  private readonly active = new Set<Promise<void>>();
  private scheduled = false;
  private closed = false;
  private lastError: { message: string; at: string } | undefined;
  private readonly statements = new Map<number, string>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: PredictionLogOptions = {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? 1000;
    this.maxQueuedRows = options.maxQueuedRows ?? 50_000;
    this.commitTimeoutMs = options.commitTimeoutMs ?? 2000;
    this.maxConcurrentWrites = options.maxConcurrentWrites ?? 1;
  }

  /** Rows accepted and not yet committed (nor failed). */
  get queuedRows(): number {
    return this.queued;
  }

  /** The last write failure, cleared by the next successful write. */
  get health(): { ok: boolean; lastError?: { message: string; at: string } } {
    return this.lastError ? { ok: false, lastError: this.lastError } : { ok: true };
  }

  /** Resolves once every record is committed; rejects with PredictionLogUnavailable otherwise. */
  append(records: PredictionRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new PredictionLogUnavailable('The prediction log is shutting down'));
    if (this.queued + records.length > this.maxQueuedRows && this.queued > 0) {
      return Promise.reject(
        new PredictionLogUnavailable(`The prediction log is saturated (${this.queued} rows waiting for the database)`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const pending: Pending = { records, resolve, reject, settled: false, timer: undefined as unknown as NodeJS.Timeout };
      pending.timer = setTimeout(() => this.expire(pending), this.commitTimeoutMs);
      this.queue.push(pending);
      this.queued += records.length;
      this.kick();
    });
  }

  /** Stops accepting rows and waits until every accepted row is written (or has failed). */
  async close(): Promise<void> {
    this.closed = true;
    while (this.queue.length > 0 || this.active.size > 0) {
      this.startWrites();
      await Promise.all(this.active);
    }
  }

  /**
   * Starts writes at the end of the current turn of the event loop, so every request already read joins them. This
   * matters for SQLite, whose writes are synchronous: no request can arrive while one is in flight.
   */
  private kick(): void {
    if (this.scheduled || this.queue.length === 0 || this.active.size >= this.maxConcurrentWrites) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startWrites();
    });
  }

  private startWrites(): void {
    while (this.queue.length > 0 && this.active.size < this.maxConcurrentWrites) {
      const write: Promise<void> = this.write(this.takeBatch()).finally(() => {
        this.active.delete(write);
        this.kick();
      });
      this.active.add(write);
    }
  }

  /** One group commit; settles every request in the batch, never throws. */
  private async write(batch: Pending[]): Promise<void> {
    const records = batch.flatMap((p) => p.records);
    const started = process.hrtime.bigint();
    let error: unknown;
    try {
      await withDeadline(this.insert(records), this.commitTimeoutMs);
    } catch (e) {
      error = e;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.options.onWrite?.({ rows: records.length, seconds, ok: !error });
    if (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (this.lastError?.message !== message) this.options.logger?.error({ err: error }, 'prediction log write failed');
      this.lastError = { message, at: new Date().toISOString() };
      const failure = new PredictionLogUnavailable(`The prediction could not be stored: ${message}`, { cause: error });
      for (const p of batch) settle(p, failure);
    } else {
      if (this.lastError) this.options.logger?.info('prediction log writes recovered');
      this.lastError = undefined;
      for (const p of batch) settle(p);
    }
  }

  /** Whole requests, oldest first, up to maxBatchRows rows (at least one request). */
  private takeBatch(): Pending[] {
    let rows = 0;
    let count = 0;
    while (count < this.queue.length) {
      const next = this.queue[count].records.length;
      if (count > 0 && rows + next > this.maxBatchRows) break;
      rows += next;
      count++;
    }
    this.queued -= rows;
    return this.queue.splice(0, count);
  }

  private async insert(records: PredictionRecord[]): Promise<void> {
    if (records.length <= ROWS_PER_STATEMENT) {
      await this.db.executeQuery(this.insertStatement(records));
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      for (let i = 0; i < records.length; i += ROWS_PER_STATEMENT) {
        await trx.executeQuery(this.insertStatement(records.slice(i, i + ROWS_PER_STATEMENT)));
      }
    });
  }

  /**
   * The INSERT for these rows. Kysely builds the SQL of an n-row insert anew each time (a cost per row comparable to
   * the insert itself on SQLite); it is the same text for every n, so it is built once per n and bound to new values.
   */
  private insertStatement(records: PredictionRecord[]): CompiledQuery {
    const rows = records.length;
    let sqlText = this.statements.get(rows);
    if (sqlText === undefined) {
      const ordered = records.map((r) => Object.fromEntries(COLUMNS.map((c) => [c, r[c] ?? null])) as PredictionRecord);
      sqlText = this.db.insertInto('predictions').values(ordered).compile().sql;
      if (this.statements.size >= CACHED_STATEMENTS) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(rows, sqlText);
    }
    const parameters = new Array<unknown>(rows * COLUMNS.length);
    let k = 0;
    for (const record of records) for (const column of COLUMNS) parameters[k++] = record[column] ?? null;
    return CompiledQuery.raw(sqlText, parameters);
  }

  /** A request gave up waiting: drop its rows if they were not sent yet, and fail it. */
  private expire(pending: Pending): void {
    if (pending.settled) return;
    const index = this.queue.indexOf(pending);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.queued -= pending.records.length;
    }
    settle(
      pending,
      new PredictionLogUnavailable(
        `The database did not commit the prediction within ${this.commitTimeoutMs} ms` +
          (this.lastError ? ` (last error: ${this.lastError.message})` : ''),
      ),
    );
  }
}

/**
 * A write that hangs (a database that stopped answering) is abandoned after the deadline so the rows behind it can
 * be tried on another connection; the abandoned write may still finish later.
 */
function withDeadline(write: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the write took more than ${ms} ms`)), ms);
  });
  write.catch(() => {}); // an abandoned write's late failure is not an unhandled rejection
  return Promise.race([write, deadline]).finally(() => clearTimeout(timer));
}

function settle(pending: Pending, error?: Error): void {
  if (pending.settled) return;
  pending.settled = true;
  clearTimeout(pending.timer);
  if (error) pending.reject(error);
  else pending.resolve();
}
