/**
 * On SQLite the API checkpoints the WAL from a worker thread, not inside request commits: the automatic checkpoint is
 * off while it serves, the rows still reach the database file, and the automatic checkpoint is back after close.
 */
import { statSync } from 'node:fs';
import { sql } from 'kysely';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../src/serve/app.js';
import { backends, freshStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

describe('SQLite checkpoints', () => {
  it('moves WAL checkpoints to a thread while serving and restores them on close', async () => {
    const store = await freshStore(backends.find((b) => b.name === 'sqlite')!);
    const pragma = async (statement: string) => (await sql.raw(`PRAGMA ${statement}`).execute(store.db)).rows[0] as Record<string, number>;
    const app = await buildApp({
      store,
      modelSource: new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() }),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
      sqliteCheckpointIntervalMs: 20,
    });
    try {
      await app.ready();
      expect(await pragma('wal_autocheckpoint')).toEqual({ wal_autocheckpoint: 0 });
      const { rows } = await sql<{ name: string; file: string }>`PRAGMA database_list`.execute(store.db);
      const file = rows.find((r) => r.name === 'main')!.file;
      const batch = Array.from({ length: 500 }, (_, i) => ({ ...ORIGINAL_REQUEST, id: i }));
      for (let i = 0; i < 10; i++) {
        expect((await app.inject({ method: 'POST', url: '/predict', payload: batch })).statusCode).toBe(200);
        await new Promise((r) => setTimeout(r, 60));
      }
      // Without checkpoints the rows would all sit in the WAL and the database file would stay as the schema left it;
      // checkpointed, they are in the database file and the WAL is reused from its start.
      const walBytes = statSync(`${file}-wal`).size;
      const databaseBytes = statSync(file).size;
      expect(databaseBytes).toBeGreaterThan(1_000_000);
      expect(walBytes).toBeLessThan(databaseBytes / 2);
    } finally {
      await app.close();
    }
    expect(await pragma('wal_autocheckpoint')).toEqual({ wal_autocheckpoint: 1000 });
    await store.dispose();
  });
});
