/**
 * The prediction log with group commit: rows from concurrent requests are written together in one multi-row INSERT,
 * and each request waits for the commit that carries its rows before it answers. A write starts at the end of the
 * event-loop turn in which rows arrived (every request already read joins it), and while the allowed writes are in
 * flight the next rows queue up, so the batch size follows the load: one row per write when idle, hundreds under
 * load, with no timer adding latency.
 *
 * Failure is told apart by its cause, so one request's data never fails another request:
 * - the database is down (connection refused or lost, no answer within `commitTimeoutMs`, queue full): every request
 *   of the write gets PredictionLogUnavailable (the API answers 503); the log keeps trying with the rows that arrive
 *   next, so it recovers by itself when the database comes back;
 * - the database refused the data (a value it cannot store, a duplicate key): the write is retried in halves down to
 *   single requests, so the other requests are committed; an offending request gets PredictionRowRejected (422), and a request whose
 *   id is already stored (a client's retry) resolves as 'duplicate' so the caller can answer with the stored rows.
 * A 503 never carries a prediction; a row whose write was already sent when its request gave up may still be committed
 * (it is then stored but was not answered: the client's retry with the same request id finds it). The database's
 * error text goes to the server log only, never into an error a client sees.
 */
import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import type { Database, PredictionsTable } from '../db/schema.js';
import type { Logger } from '../logger.js';

export type PredictionRecord = Omit<Insertable<PredictionsTable>, 'label' | 'label_at' | 'label_value'>;

/** The database cannot take rows now (down, too slow, saturated): a retry later may succeed. */
export class PredictionLogUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PredictionLogUnavailable';
  }
}

/** The database refused this request's rows (a value it cannot store): retrying the same rows will fail again. */
export class PredictionRowRejected extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PredictionRowRejected';
  }
}

/** 'duplicate': rows with this request id and row number were already stored (by an earlier attempt of the request). */
export type AppendOutcome = 'stored' | 'duplicate';

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
  resolve: (outcome: AppendOutcome) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
  settled: boolean;
}

/** Rows per INSERT statement: 13 bound values a row stays far below every backend's parameter limit. */
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
  'request_row',
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
  /** `message` is what clients may see (/health); `cause`, the database's own text, goes only to the server log. */
  private lastError: { message: string; at: string; cause: string } | undefined;
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
    return this.lastError
      ? { ok: false, lastError: { message: this.lastError.message, at: this.lastError.at } }
      : { ok: true };
  }

  /**
   * Resolves once every record is committed ('stored'), or when the request's rows turn out to be stored already
   * ('duplicate', nothing written); rejects with PredictionRowRejected when the database refuses these rows, and with
   * PredictionLogUnavailable when it cannot take rows now.
   */
  append(records: PredictionRecord[]): Promise<AppendOutcome> {
    if (this.closed) return Promise.reject(new PredictionLogUnavailable('The prediction log is shutting down'));
    if (this.queued + records.length > this.maxQueuedRows && this.queued > 0) {
      return Promise.reject(
        new PredictionLogUnavailable(`The prediction log is saturated (${this.queued} rows waiting for the database)`),
      );
    }
    return new Promise<AppendOutcome>((resolve, reject) => {
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
    const error = await this.tryInsert(batch.flatMap((p) => p.records));
    if (error === undefined) {
      this.recovered();
      for (const p of batch) settle(p, 'stored');
      return;
    }
    const kind = failureKind(error);
    if (kind === 'unavailable') {
      this.failed(error);
      for (const p of batch) settle(p, unavailable(error));
      return;
    }
    if (batch.length === 1) {
      this.settleAlone(batch[0], error, kind);
      return;
    }
    // The database refused something in this batch: find the requests it belongs to by writing halves of the batch
    // (down to single requests), so the others are committed and only the offending ones fail. One bad request among
    // n costs about 2 log2(n) writes rather than n.
    this.options.logger?.warn({ err: error, requests: batch.length }, 'a group commit was refused: writing its requests apart');
    await this.isolate(batch);
  }

  /** Writes the halves of a refused batch, and the halves of a refused half, until each refused request is alone. */
  private async isolate(batch: Pending[]): Promise<void> {
    const middle = Math.ceil(batch.length / 2);
    for (const half of [batch.slice(0, middle), batch.slice(middle)]) {
      const waiting = half.filter((p) => !p.settled); // a request may have given up meanwhile
      if (waiting.length === 0) continue;
      const error = await this.tryInsert(waiting.flatMap((p) => p.records));
      if (error === undefined) {
        this.recovered();
        for (const p of waiting) settle(p, 'stored');
        continue;
      }
      const kind = failureKind(error);
      if (kind === 'unavailable') {
        this.failed(error);
        for (const p of waiting) settle(p, unavailable(error));
      } else if (waiting.length === 1) {
        this.settleAlone(waiting[0], error, kind);
      } else {
        await this.isolate(waiting);
      }
    }
  }

  /** The outcome of a request whose rows were written alone and failed. */
  private settleAlone(pending: Pending, error: unknown, kind: FailureKind): void {
    if (kind === 'duplicate') {
      settle(pending, 'duplicate');
    } else if (kind === 'row') {
      this.options.logger?.warn(
        { err: error, request_id: pending.records[0]?.request_id },
        'the database refused the rows of a prediction request',
      );
      settle(
        pending,
        new PredictionRowRejected('The database cannot store the values of this request (see the server log)', { cause: error }),
      );
    } else {
      this.failed(error);
      settle(pending, unavailable(error));
    }
  }

  /** Inserts the rows within the commit deadline; the error, if any. */
  private async tryInsert(records: PredictionRecord[]): Promise<unknown> {
    const started = process.hrtime.bigint();
    let error: unknown;
    try {
      await withDeadline(this.insert(records), this.commitTimeoutMs);
    } catch (e) {
      error = e ?? new Error('the write failed');
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.options.onWrite?.({ rows: records.length, seconds, ok: error === undefined });
    return error;
  }

  private failed(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (this.lastError?.cause !== message) this.options.logger?.error({ err: error }, 'prediction log write failed');
    this.lastError = { message: describeUnavailable(error), at: new Date().toISOString(), cause: message };
  }

  private recovered(): void {
    if (this.lastError) this.options.logger?.info('prediction log writes recovered');
    this.lastError = undefined;
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
      // Every column, undefined ones as null: Kysely leaves out a column whose value is undefined.
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
          (this.lastError ? ` (${this.lastError.message})` : ''),
      ),
    );
  }
}

/** A write abandoned at its deadline: the database is not answering. */
class WriteDeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`the write took more than ${ms} ms`);
    this.name = 'WriteDeadlineExceeded';
  }
}

/**
 * A write that hangs (a database that stopped answering) is abandoned after the deadline so the rows behind it can
 * be tried on another connection; the abandoned write may still finish later.
 */
function withDeadline(write: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WriteDeadlineExceeded(ms)), ms);
  });
  write.catch(() => {}); // an abandoned write's late failure is not an unhandled rejection
  return Promise.race([write, deadline]).finally(() => clearTimeout(timer));
}

type FailureKind = 'unavailable' | 'row' | 'duplicate' | 'other';

/** PostgreSQL SQLSTATE classes: 08 connection exception, 53 insufficient resources, 57 operator intervention. */
const PG_UNAVAILABLE_CLASSES = new Set(['08', '53', '57']);
/** PostgreSQL SQLSTATE classes about the data: 22 data exception, 23 integrity constraint violation. */
const PG_ROW_CLASSES = new Set(['22', '23']);
const PG_UNIQUE_VIOLATION = '23505';
/** MySQL/MariaDB errors about a row's values: too long, wrong string (charset, NUL), out of range, truncated, ... */
const MYSQL_ROW_ERRNOS = new Set([1048, 1264, 1265, 1292, 1300, 1366, 1406, 1690, 3140, 4025]);
const MYSQL_DUPLICATE_ERRNO = 1062;
/** MySQL/MariaDB errors that mean the server is not taking work: too many connections, shutting down, gone away. */
const MYSQL_UNAVAILABLE_ERRNOS = new Set([1040, 1053, 1077, 1152, 1205, 2002, 2003, 2006, 2013]);

/**
 * Why a write failed, from the driver's error: the database is unreachable or not answering ('unavailable'), it
 * refused the values ('row') or a key already stored ('duplicate'), or anything else ('other').
 */
function failureKind(error: unknown): FailureKind {
  if (error instanceof WriteDeadlineExceeded) return 'unavailable';
  const e = error as { code?: unknown; errno?: unknown; fatal?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^SQLITE_CONSTRAINT_(UNIQUE|PRIMARYKEY)$/.test(code)) return 'duplicate';
  if (/^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)/.test(code)) return 'row';
  if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/.test(code)) return 'unavailable';
  if (/^[0-9A-Z]{5}$/.test(code) && !code.startsWith('ER_') && typeof e?.errno !== 'number') {
    if (code === PG_UNIQUE_VIOLATION) return 'duplicate';
    const sqlClass = code.slice(0, 2);
    if (PG_ROW_CLASSES.has(sqlClass)) return 'row';
    if (PG_UNAVAILABLE_CLASSES.has(sqlClass)) return 'unavailable';
    return 'other';
  }
  if (typeof e?.errno === 'number' && (code.startsWith('ER_') || code === '')) {
    if (e.errno === MYSQL_DUPLICATE_ERRNO) return 'duplicate';
    if (MYSQL_ROW_ERRNOS.has(e.errno)) return 'row';
    if (MYSQL_UNAVAILABLE_ERRNOS.has(e.errno)) return 'unavailable';
  }
  // Node's socket errors (ECONNREFUSED, ECONNRESET, ...) and mysql2's PROTOCOL_* / fatal errors: the link is gone.
  if (/^(E[A-Z]+|PROTOCOL_.*)$/.test(code) || e?.fatal === true) return 'unavailable';
  return 'other';
}

/** What a client may be told about an unavailable log: the kind of failure, without the database's text. */
function describeUnavailable(error: unknown): string {
  return error instanceof WriteDeadlineExceeded ? 'the database did not answer in time' : 'the database write failed (see the server log)';
}

function unavailable(error: unknown): PredictionLogUnavailable {
  return new PredictionLogUnavailable(`The prediction could not be stored: ${describeUnavailable(error)}`, { cause: error });
}

function settle(pending: Pending, outcome: AppendOutcome | Error): void {
  if (pending.settled) return;
  pending.settled = true;
  clearTimeout(pending.timer);
  if (outcome instanceof Error) pending.reject(outcome);
  else pending.resolve(outcome);
}
