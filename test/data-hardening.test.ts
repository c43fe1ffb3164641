/**
 * Data edge cases a careless file produces, on every backend: too few rows to split, an all-empty column, infinite
 * numbers, a field or line too long to be tabular, and staging tables left by a load whose process was killed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/data/errors.js';
import { preprocessData } from '../src/data/preprocess.js';
import { loadRawData } from '../src/data/raw-load.js';
import { MAX_RECORD_CHARS } from '../src/data/csv-read.js';
import { tableExists } from '../src/data/tables.js';
import { writeLoanSample } from '../src/data/sample.js';
import { CLI_MAIN } from './helpers/cli.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'mldeploy-hardening-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe.each(backends)('data edge cases on $name', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    if (backend.url) await store.dispose();
  });

  const column = async (table: string, name: string) =>
    (await sql<Record<string, unknown>>`select ${sql.ref(name)} as v from ${sql.table(table)} order by ${sql.ref('source_line')}`.execute(store.db)).rows.map(
      (r) => (r.v === null ? null : Number(r.v)),
    );

  it.skipIf(!backend.url)('refuses to split a 2-row file with a permanent DataError naming the rows it needs', async () => {
    await loadRawData(store, { file: file('two.csv', 'a,b,y\n1,2,0\n3,4,1\n'), dataset: 'two' });
    const error = await preprocessData(store, { dataset: 'two', target: 'y' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).permanent).toBe(true);
    expect((error as Error).message).toBe(
      'too few rows to split: 2 labelled rows (1 positive, 1 negative); a stratified train/val/test split needs at least ' +
        '3 rows of each class (one in each of the 3 splits)',
    );
    // One class short is enough to refuse; 3 of each is enough to split.
    await loadRawData(store, { file: file('five.csv', 'a,y\n7,0\n2,0\n9,0\n4,1\n5,1\n'), dataset: 'five' });
    await expect(preprocessData(store, { dataset: 'five', target: 'y' })).rejects.toThrow(/5 labelled rows \(2 positive, 3 negative\)/);
    await loadRawData(store, { file: file('six.csv', 'a,y\n7,0\n2,0\n9,0\n4,1\n5,1\n6,1\n'), dataset: 'six' });
    const snapshot = await preprocessData(store, { dataset: 'six', target: 'y' });
    expect(snapshot.counts).toMatchObject({ train: 2, val: 2, test: 2 });
  });

  it.skipIf(!backend.url)('says that an all-empty column is empty and why it is not a feature', async () => {
    const lines = ['id_code,empty,score,y'];
    for (let i = 0; i < 40; i++) lines.push(`k${i % 7},${i % 3 ? '' : 'NA'},${i * 1.5},${i % 2}`);
    const result = await loadRawData(store, { file: file('empty-col.csv', `${lines.join('\n')}\n`), dataset: 'empty_col' });
    expect(result.notes).toEqual([
      'column "empty" is empty (no value in any of the 40 rows): it is kept in the raw table but not used as a feature',
    ]);
    const notes: string[] = [];
    const snapshot = await preprocessData(store, { dataset: 'empty_col', target: 'y', onNote: (n) => notes.push(n) });
    expect(notes).toEqual(['column "empty" is not a feature: empty (no value in any of the 40 rows)']);
    expect(snapshot.features.map((f) => f.name)).toEqual(['id_code', 'score']);
  });

  it.skipIf(!backend.url)('keeps a column with Infinity numeric: infinite values become missing, with a note', async () => {
    const lines = ['x,big,y'];
    for (let i = 1; i <= 30; i++) lines.push(`${i === 4 ? 'Infinity' : i === 9 ? '-inf' : i},${i === 20 ? '1e999' : i / 4},${i % 2}`);
    const result = await loadRawData(store, { file: file('inf.csv', `${lines.join('\n')}\n`), dataset: 'inf' });
    expect(result.rows).toBe(30);
    expect(result.rejects).toBe(0);
    expect(result.columns.map((c) => [c.name, c.type, c.missing, c.infinite])).toEqual([
      ['x', 'integer', 2, 2],
      ['big', 'float', 1, 1],
      ['y', 'integer', 0, undefined],
    ]);
    expect(result.notes).toEqual([
      'column "x": 2 infinite values (first on line 5) stored as missing: no model can use an infinite number',
      'column "big": 1 infinite value (first on line 21) stored as missing: no model can use an infinite number',
    ]);
    const x = await column('raw_inf', 'x');
    expect(x[3]).toBeNull();
    expect(x[8]).toBeNull();
    expect(x[9]).toBe(10);
    expect((await column('raw_inf', 'big'))[19]).toBeNull();
  });

  // Parsing fails before anything is written, the same on every backend: SQLite is enough.
  it.skipIf(backend.name !== 'sqlite')('reports a 10 MB unquoted field as a field too long, naming its line, and a quote that never closes as such', async () => {
    const long = 'x'.repeat(10 << 20);
    const error = await loadRawData(store, { file: file('long.csv', `a,b\n1,2\n3,${long}\n5,6\n`), dataset: 'long_field' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toBe(
      `line 3: field 2 is longer than ${MAX_RECORD_CHARS >> 20} MiB (no line break or delimiter after it): a table cell that long is not tabular data; is it the right file?`,
    );
    const wide = Array.from({ length: 5 << 20 }, (_, i) => i % 10).join(',');
    await expect(loadRawData(store, { file: file('wide.csv', `a,b\n${wide}\n`), dataset: 'wide_line' })).rejects.toThrow(
      /^line 2: the line is longer than 8 MiB \(\d+ fields so far, no line break\): is the delimiter or the line ending wrong\?$/,
    );
    const unclosed = `a,b\n1,2\n3,"${'y\n'.repeat(5 << 20)}`;
    await expect(loadRawData(store, { file: file('unclosed.csv', unclosed), dataset: 'unclosed' })).rejects.toThrow(
      /^line 3: a quoted field \(field 2\) opens here and is not closed within 8 MiB/,
    );
    expect(await tableExists(store.db, 'raw_long_field')).toBe(false);
  });

  it.skipIf(!backend.url)('drops staging tables left by a killed load when the next load starts, but not a live one', async () => {
    const dead = 'staging_00000000000000aa';
    const retired = 'retired_00000000000000bb';
    const live = 'staging_00000000000000cc';
    for (const t of [dead, retired, live]) await sql`create table ${sql.table(t)} (source_line integer)`.execute(store.db);
    // On MySQL a load in progress holds its replacement's named lock, from its own connection.
    let owner: mysql.Connection | undefined;
    if (backend.name === 'mysql') {
      owner = await mysql.createConnection(store.url);
      await owner.query('select get_lock(?, 0)', ['mldeploy_replace_00000000000000cc']);
    }
    try {
      await loadRawData(store, { file: file('after-kill.csv', 'a,b\n1,2\n'), dataset: 'after_kill' });
      const tables = (await store.db.introspection.getTables()).map((t) => t.name);
      expect(tables).not.toContain(dead);
      expect(tables).not.toContain(retired);
      if (backend.name === 'mysql') expect(tables).toContain(live);
      else expect(tables).not.toContain(live); // SQLite and PostgreSQL never show another load's tables
    } finally {
      await owner?.end();
    }
    if (backend.name === 'mysql') {
      // Its owner is gone now: the next load drops it.
      await loadRawData(store, { file: file('after-kill.csv', 'a,b\n1,2\n'), dataset: 'after_kill', force: true });
      expect(await tableExists(store.db, live)).toBe(false);
    }
  });

  it.skipIf(backend.name !== 'mysql' || !backend.url)('a load killed with SIGKILL leaves a staging table that the next load drops', { timeout: 180_000 }, async () => {
    const big = join(dir, 'killed.csv');
    await writeLoanSample(big, { rows: 300_000 });
    const child = spawn(process.execPath, [CLI_MAIN, 'run', 'load_raw_data', '--data', big], {
      env: { ...process.env, MLDEPLOY_HOME: dir, MLDEPLOY_DATABASE_URL: store.url, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    const exited = new Promise((done) => child.on('exit', done));
    const staging = async () => (await store.db.introspection.getTables()).map((t) => t.name).filter((n) => n.startsWith('staging_'));
    let seen: string[] = [];
    for (let waited = 0; seen.length === 0 && waited < 120_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await staging();
    }
    expect(seen, 'the load never created its staging table').toHaveLength(1);
    child.kill('SIGKILL');
    await exited;
    expect(await staging()).toEqual(seen); // DDL commits at once on MySQL: the killed load's table stays
    await loadRawData(store, { file: file('next.csv', 'a,b\n1,2\n'), dataset: 'next_load' });
    expect(await staging()).toEqual([]);
  });
});
