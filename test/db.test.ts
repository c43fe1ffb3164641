import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { backends, freshStore } from './helpers/stores.js';
import { migrateToLatest, openStore, redactUrl, dialectOf } from '../src/db/index.js';
import { assertIdentifier, datasetNameFromFile, toSnakeCase } from '../src/db/identifiers.js';

describe('store URLs', () => {
  it('picks the dialect from the scheme and rejects unknown ones', () => {
    expect(dialectOf('sqlite:/tmp/x.db')).toBe('sqlite');
    expect(dialectOf('postgresql://u@h/db')).toBe('postgres');
    expect(dialectOf('mariadb://root@h/db')).toBe('mysql');
    expect(() => dialectOf('oracle://x')).toThrow(/Unsupported database URL scheme "oracle:"/);
  });
  it('never shows a password', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
  });
});

describe('identifiers', () => {
  it('normalises headers and file names to lower snake_case', () => {
    expect(toSnakeCase(' loan_status')).toBe('loan_status');
    expect(toSnakeCase('Annual_Income')).toBe('annual_income');
    expect(toSnakeCase('LoanAmount')).toBe('loan_amount');
    expect(datasetNameFromFile('/x/Loan Approval.csv')).toBe('loan_approval');
    expect(datasetNameFromFile('2024-data.csv')).toBe('d_2024_data');
  });
  it('rejects anything that could break out of an identifier', () => {
    for (const bad of ['a;drop table x', 'A', '1abc', 'a"b', 'a'.repeat(49), '']) {
      expect(() => assertIdentifier(bad)).toThrow(/Invalid name/);
    }
  });
});

describe.each(backends)('migrations on $name', (backend) => {
  it.skipIf(!backend.url)('create every table and are idempotent', async () => {
    const store = await freshStore(backend);
    try {
      await migrateToLatest(store.db); // second run is a no-op
      const tables = (await store.db.introspection.getTables()).map((t) => t.name);
      for (const t of ['raw_loads', 'runs', 'model_versions', 'model_aliases', 'dag_runs', 'task_instances', 'predictions']) {
        expect(tables).toContain(t);
      }
      await store.db
        .insertInto('experiments')
        .values({ id: 'e1', name: 'default', created_at: new Date().toISOString() })
        .execute();
      await expect(
        store.db.insertInto('experiments').values({ id: 'e2', name: 'default', created_at: '' }).execute(),
      ).rejects.toThrow();
    } finally {
      await store.dispose();
    }
  });
});

describe('concurrent processes on one SQLite file', () => {
  it('a transaction that has read can still write after another connection wrote (BEGIN IMMEDIATE)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mldeploy-sqlite-'));
    const file = join(dir, 'store.db');
    const store = openStore(`sqlite:${file}`);
    // Another process, e.g. a server logging predictions; it does not wait for locks.
    const other = new SQLite(file);
    other.pragma('busy_timeout = 0');
    try {
      await sql`create table counters (name text primary key, n integer not null)`.execute(store.db);
      await sql`insert into counters values ('promotions', 0)`.execute(store.db);
      let otherWhileOpen: string | undefined;
      await store.db.transaction().execute(async (trx) => {
        const { n } = (await sql<{ n: number }>`select n from counters where name = 'promotions'`.execute(trx)).rows[0]!;
        try {
          other.prepare(`update counters set n = n + 100 where name = 'promotions'`).run();
          otherWhileOpen = 'committed';
        } catch (error) {
          otherWhileOpen = (error as { code?: string }).code;
        }
        await sql`update counters set n = ${n + 1} where name = 'promotions'`.execute(trx);
      });
      // The other writer had to wait for the transaction, which committed; then the other writer gets its turn.
      expect(otherWhileOpen).toBe('SQLITE_BUSY');
      other.prepare(`update counters set n = n + 100 where name = 'promotions'`).run();
      expect((await sql<{ n: number }>`select n from counters`.execute(store.db)).rows[0]!.n).toBe(101);
    } finally {
      other.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!backends[1]!.url)('PostgreSQL connections the server ends', () => {
  it('a query cut off by the server fails; the process stays up and the next query works', async () => {
    const store = await freshStore(backends[1]!);
    const admin = openStore(backends[1]!.url!);
    try {
      const pid = Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db)).rows[0]!.pid);
      const cutOff = expect(sql`select pg_sleep(30)`.execute(store.db)).rejects.toThrow(/terminat/i);
      // What a server restart does to each backend ("terminating connection due to administrator command").
      await new Promise((done) => setTimeout(done, 200));
      await sql`select pg_terminate_backend(${pid})`.execute(admin.db);
      await cutOff;
      // The socket closes just after the error reply; once it has, the pool has dropped the dead connection.
      await new Promise((done) => setTimeout(done, 100));
      expect((await sql<{ one: number }>`select 1 as one`.execute(store.db)).rows[0]!.one).toBe(1);
    } finally {
      await admin.close();
      await store.dispose();
    }
  });
});

describe.skipIf(!backends[2]!.url)('MySQL connections the server ends', () => {
  it('a query on a connection killed by the server fails; the process stays up and the next query works', async () => {
    const fresh = await freshStore(backends[2]!);
    // One connection in the pool: the next query gets the killed one back unless the pool dropped it.
    const store = openStore(fresh.url, { poolSize: 1 });
    const admin = openStore(backends[2]!.url!);
    try {
      const id = Number((await sql<{ id: number }>`select connection_id() as id`.execute(store.db)).rows[0]!.id);
      // The expectation is attached before the kill: the query may fail before the KILL statement returns.
      const cutOff = expect(sql`select sleep(30)`.execute(store.db)).rejects.toThrow(/connection lost|killed/i);
      // What a server shutdown does to each session (pg crashed the process on it, see above).
      await new Promise((done) => setTimeout(done, 200));
      await sql.raw(`kill connection ${id}`).execute(admin.db);
      await cutOff;
      const next = (await sql<{ id: number }>`select connection_id() as id`.execute(store.db)).rows[0]!;
      expect(Number(next.id)).not.toBe(id);
    } finally {
      await admin.close();
      await store.close();
      await fresh.dispose();
    }
  });
});
