/**
 * Keeps SQLite checkpoints off the request path. SQLite checkpoints the WAL automatically inside the commit that
 * takes it past 1,000 pages, and better-sqlite3 is synchronous, so that commit blocks the event loop for tens of
 * milliseconds (the p99 of every request in flight). The API turns the automatic checkpoint off on its connection
 * and checkpoints from a worker thread with its own connection instead, in PASSIVE mode, which waits for no writer
 * or reader. If the thread fails, the automatic checkpoint is switched back on.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Logger } from '../logger.js';

/** SQLite's default wal_autocheckpoint, restored on stop. */
const SQLITE_DEFAULT_AUTOCHECKPOINT = 1000;

// The thread is plain CommonJS evaluated from this string (no module of ours to find at run time, from src or dist).
// It runs one constant maintenance statement through the driver, so it does not need Kysely.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
parentPort.postMessage({ ready: true });
`;

export interface SqliteCheckpointer {
  stop(): Promise<void>;
}

/** Starts checkpointing the database file behind `db` every `intervalMs`; undefined for an in-memory database. */
export async function startSqliteCheckpointer(
  db: Kysely<Database>,
  options: { intervalMs?: number; logger?: Logger } = {},
): Promise<SqliteCheckpointer | undefined> {
  const { rows } = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(db);
  const file = rows.find((r) => r.name === 'main')?.file;
  if (!file) return undefined;

  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { file, intervalMs: options.intervalMs ?? 200, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  let stopping = false;
  const restoreAutomatic = () =>
    sql.raw(`PRAGMA wal_autocheckpoint = ${SQLITE_DEFAULT_AUTOCHECKPOINT}`).execute(db).then(
      () => undefined,
      () => undefined, // the store may already be closed
    );
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (message: { error?: string }) => {
    if (message.error) options.logger?.warn({ error: message.error }, 'SQLite checkpoint failed');
  });
  worker.on('error', (error) => options.logger?.error({ err: error }, 'SQLite checkpoint thread failed'));
  void exited.then(async () => {
    if (stopping) return;
    options.logger?.warn('SQLite checkpoint thread stopped: automatic checkpoints are back on');
    await restoreAutomatic();
  });

  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  await sql`PRAGMA wal_autocheckpoint = 0`.execute(db);
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      worker.postMessage('stop');
      await exited;
      await restoreAutomatic();
    },
  };
}
