/** load_raw_data on every backend: typed raw tables, rejects, the threshold, atomicity and idempotence. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRawData, SAMPLE_ROWS } from '../src/data/raw-load.js';
import { writeLoanSample } from '../src/data/sample.js';
import { tableExists } from '../src/data/tables.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'mldeploy-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** n rows of `id,score,label` with `bad` rows replaced by the given lines. */
function numbers(n: number, bad: Record<number, string> = {}): string {
  const lines = ['id,score,label'];
  for (let i = 1; i <= n; i++) lines.push(bad[i] ?? `${i},${(i * 7) % 100},${i % 2 ? 'yes' : 'no'}`);
  return `${lines.join('\n')}\n`;
}

describe.each(backends)('loading CSV files on $name', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    if (backend.url) await store.dispose();
  });

  const rows = async (table: string) =>
    (await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by ${sql.ref('source_line')}`.execute(store.db)).rows;
  const loads = (dataset: string) =>
    store.db.selectFrom('raw_loads').selectAll().where('dataset', '=', dataset).orderBy('created_at').execute();

  it.skipIf(!backend.url)('types columns from a quirky file: BOM, CRLF, semicolons, quotes, 5e+05, missing markers', async () => {
    const path = file(
      'quirky.csv',
      '\ufeff"Client ID";" Annual Income";"Limit.Bal";"Member";"City";"Note";""\r\n' +
        '1;"52000.5";5e+05;true;"Paris";"said ""hi""; left";x\r\n' +
        '2;NA;1e+05;FALSE;"Lyon";"multi\r\nline";y\r\n' +
        '\r\n' +
        '3;"  61000 ";200000;;"paris";?;z\r\n',
    );
    const result = await loadRawData(store, { file: path, dataset: 'quirky' });
    expect(result).toMatchObject({ dataset: 'quirky', table: 'raw_quirky', rows: 3, rejects: 0, delimiter: ';', skipped: false });
    expect(result.columns.map((c) => [c.name, c.original, c.type, c.missing])).toEqual([
      ['client_id', 'Client ID', 'integer', 0],
      ['annual_income', ' Annual Income', 'float', 1],
      ['limit_bal', 'Limit.Bal', 'integer', 0],
      ['member', 'Member', 'boolean', 1],
      ['city', 'City', 'categorical', 0],
      ['note', 'Note', 'categorical', 1],
      ['unnamed_6', '', 'categorical', 0],
    ]);
    expect(result.columns[4].categories).toEqual(['Lyon', 'Paris', 'paris']);
    const table = await rows('raw_quirky');
    expect(table.map((r) => Number(r.source_line))).toEqual([2, 3, 6]);
    expect(table.map((r) => (r.annual_income === null ? null : Number(r.annual_income)))).toEqual([52000.5, null, 61000]);
    expect(table.map((r) => Number(r.limit_bal))).toEqual([500000, 100000, 200000]);
    expect(table.map((r) => (r.member === null ? null : Number(r.member)))).toEqual([1, 0, null]);
    expect(table.map((r) => r.note)).toEqual(['said "hi"; left', 'multi\r\nline', null]);
  });

  it.skipIf(!backend.url)('sets malformed rows aside with their line and reason, within the threshold', async () => {
    const path = file('ragged.csv', numbers(300, { 17: '17,5', 40: '40,abc,yes', 41: '41,"1",no,extra' }));
    const result = await loadRawData(store, { file: path, dataset: 'ragged' });
    expect(result).toMatchObject({ rows: 297, rejects: 3 });
    expect(result.columns.find((c) => c.name === 'score')?.type).toBe('integer');
    const rejects = await store.db
      .selectFrom('raw_rejects')
      .select(['line', 'reason', 'content'])
      .where('load_id', '=', result.loadId)
      .orderBy('line')
      .execute();
    expect(rejects.map((r) => [Number(r.line), r.reason, r.content])).toEqual([
      [18, 'expected 3 fields, found 2', '17,5'],
      [41, 'column "score": "abc" is not a number', '40,abc,yes'],
      [42, 'expected 3 fields, found 4', '41,1,no,extra'],
    ]);
    expect((await rows('raw_ragged')).length).toBe(297);
  });

  it.skipIf(!backend.url)('fails above the threshold, leaving no table and no loaded row, and records why', async () => {
    const bad: Record<number, string> = {};
    for (let i = 10; i < 52; i++) bad[i] = `${i},1`;
    const path = file('bad.csv', numbers(1000, bad));
    await expect(loadRawData(store, { file: path, dataset: 'too_bad' })).rejects.toThrow(
      '42 of 1000 rows (4.2%) malformed, above the 1% threshold; first: line 11: expected 3 fields, found 2',
    );
    expect(await tableExists(store.db, 'raw_too_bad')).toBe(false);
    const [failed, ...others] = await loads('too_bad');
    expect(others).toEqual([]);
    expect(failed).toMatchObject({ status: 'failed', reject_count: 42 });
    expect(failed.error).toMatch(/42 of 1000 rows/);
    // A higher threshold accepts the same file.
    expect(await loadRawData(store, { file: path, dataset: 'too_bad', rejectThreshold: 0.05 })).toMatchObject({ rows: 958, rejects: 42 });
  });

  it.skipIf(!backend.url)('refuses non-CSV, empty and header-only files with clear errors', async () => {
    const png = join(dir, 'pic.csv');
    writeFileSync(png, Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]));
    await expect(loadRawData(store, { file: png, dataset: 'pic' })).rejects.toThrow(/not a CSV file: it looks like a PNG image/);
    await expect(loadRawData(store, { file: file('empty.csv', ''), dataset: 'empty' })).rejects.toThrow(/is empty/);
    await expect(loadRawData(store, { file: file('header.csv', 'a,b,c\r\n'), dataset: 'header' })).rejects.toThrow(
      /has a header but no data rows/,
    );
    expect(await tableExists(store.db, 'raw_header')).toBe(false);
  });

  it.skipIf(!backend.url)('skips the same bytes, reloads with force, and replaces the table with a new file', async () => {
    const first = file('v1.csv', numbers(50));
    const a = await loadRawData(store, { file: first, dataset: 'versions' });
    const again = await loadRawData(store, { file: first, dataset: 'versions' });
    expect(again).toMatchObject({ skipped: true, loadId: a.loadId, rows: 50, contentHash: a.contentHash });
    const forced = await loadRawData(store, { file: first, dataset: 'versions', force: true });
    expect(forced.skipped).toBe(false);
    expect(forced.loadId).not.toBe(a.loadId);
    const b = await loadRawData(store, { file: file('v2.csv', numbers(80)), dataset: 'versions' });
    expect(b.rows).toBe(80);
    expect((await rows('raw_versions')).length).toBe(80);
    expect((await loads('versions')).map((l) => l.status)).toEqual(['loaded', 'loaded', 'loaded']);
    // Back to the first file: not skipped, since it is no longer the latest load.
    expect((await loadRawData(store, { file: first, dataset: 'versions' })).skipped).toBe(false);
    expect((await rows('raw_versions')).length).toBe(50);
  });

  it.skipIf(!backend.url)('rolls back a load that crashes midway, keeping the previous table and its metadata', async () => {
    const before = await loadRawData(store, { file: file('small.csv', numbers(20)), dataset: 'crash' });
    const big = join(dir, 'big.csv');
    await writeLoanSample(big, { rows: 20_000 });
    let calls = 0;
    await expect(
      loadRawData(store, {
        file: big,
        dataset: 'crash',
        onProgress: () => {
          if (++calls === 5) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    expect(calls).toBe(5);
    expect((await rows('raw_crash')).length).toBe(20);
    const history = await loads('crash');
    expect(history.map((l) => l.status)).toEqual(['loaded', 'failed']);
    expect(history[0].id).toBe(before.loadId);
    expect(history[1].error).toBe('simulated crash');
    const tables = (await store.db.introspection.getTables()).map((t) => t.name);
    expect(tables.filter((t) => t.startsWith('staging_') || t.startsWith('retired_'))).toEqual([]);
  });

  it.skipIf(!backend.url)('rebuilds the table when a column turns out non-numeric after the first rows', async () => {
    const n = SAMPLE_ROWS + 500;
    const lines = ['code,value'];
    for (let i = 0; i < n; i++) lines.push(`${i < SAMPLE_ROWS ? i : `A${i}`},${i}`);
    const progress: string[] = [];
    const result = await loadRawData(store, {
      file: file('late.csv', `${lines.join('\n')}\n`),
      dataset: 'late',
      onProgress: (p) => progress.push(p.phase),
    });
    expect(result).toMatchObject({ rows: n, rejects: 0 });
    expect(result.columns.map((c) => c.type)).toEqual(['text', 'integer']);
    expect(progress).toContain('reload');
    const table = await rows('raw_late');
    expect(table[0].code).toBe('0');
    expect(table[n - 1].code).toBe(`A${n - 1}`);
  });
});
