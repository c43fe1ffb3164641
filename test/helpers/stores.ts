/**
 * Test stores for every backend. SQLite always runs; PostgreSQL and MySQL run when their URL is set
 * (MLDEPLOY_TEST_POSTGRES_URL, MLDEPLOY_TEST_MYSQL_URL) and are required when CI=true. Each call makes a fresh,
 * uniquely named database and drops it afterwards, so test files can run in parallel.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { migrateToLatest, openStore, type Store } from '../../src/db/index.js';

export interface TestBackend {
  name: 'sqlite' | 'postgres' | 'mysql';
  /** Undefined when the backend is not configured (tests using it are skipped). */
  url: string | undefined;
}

const ci = process.env.CI === 'true';

function required(name: string, url: string | undefined): string | undefined {
  if (!url && ci) throw new Error(`${name} must be set in CI (see .ci/run)`);
  return url;
}

export const backends: TestBackend[] = [
  { name: 'sqlite', url: 'sqlite:' },
  { name: 'postgres', url: required('MLDEPLOY_TEST_POSTGRES_URL', process.env.MLDEPLOY_TEST_POSTGRES_URL) },
  { name: 'mysql', url: required('MLDEPLOY_TEST_MYSQL_URL', process.env.MLDEPLOY_TEST_MYSQL_URL) },
];

export interface TestStore extends Store {
  /** The URL of the fresh database, for code under test that opens its own connection. */
  url: string;
  /** Closes the store and drops the database. */
  dispose(): Promise<void>;
}

/** A fresh, migrated database on the given backend. */
export async function freshStore(backend: TestBackend): Promise<TestStore> {
  if (!backend.url) throw new Error(`${backend.name} is not configured`);
  const suffix = randomBytes(5).toString('hex');
  let url: string;
  let drop: () => Promise<void>;
  if (backend.name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mldeploy-test-'));
    url = `sqlite:${join(dir, 'test.db')}`;
    drop = async () => rmSync(dir, { recursive: true, force: true });
  } else if (backend.name === 'postgres') {
    const dbName = `mldeploy_t_${suffix}`;
    const admin = new pg.Client({ connectionString: backend.url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(backend.url);
    u.pathname = `/${dbName}`;
    url = u.href;
    drop = async () => {
      const c = new pg.Client({ connectionString: backend.url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    };
  } else {
    const dbName = `mldeploy_t_${suffix}`;
    const admin = await mysql.createConnection(backend.url);
    await admin.query(`CREATE DATABASE ${dbName} CHARACTER SET utf8mb4`);
    await admin.end();
    const u = new URL(backend.url);
    u.pathname = `/${dbName}`;
    url = u.href;
    drop = async () => {
      const c = await mysql.createConnection(backend.url!);
      await c.query(`DROP DATABASE IF EXISTS ${dbName}`);
      await c.end();
    };
  }
  const store = openStore(url);
  await migrateToLatest(store.db);
  return {
    ...store,
    url,
    async dispose() {
      await store.close();
      await drop();
    },
  };
}
