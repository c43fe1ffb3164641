/**
 * Property tests of the CSV loader on every backend: random bytes, random table shapes, quoting, line endings,
 * delimiters and encodings. Whatever the file, a load either succeeds and the table holds exactly what the file says,
 * or fails with a DataError (a message, no stack) and leaves no table, no half-written rows and no staging table.
 * Bounded: a fixed number of runs per property and a time limit per backend.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/data/errors.js';
import { loadRawData } from '../src/data/raw-load.js';
import { rawTableName, replacementTables, tableExists } from '../src/data/tables.js';
import { isMissing, parseNumber } from '../src/data/values.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'mldeploy-csv-props-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs per property: the embedded backend gets more, the servers (DDL per load) fewer. */
const RUNS = { sqlite: 40, postgres: 12, mysql: 12 } as const;
/** Per property and backend; fast-check stops early (not a failure) when it is reached. */
const TIME_LIMIT_MS = 5_000;

type Cell = string;
interface Table {
  header: string[];
  rows: Cell[][];
}
interface Dialect {
  delimiter: ',' | ';' | '\t' | '|';
  newline: '\n' | '\r\n' | '\r';
  quoteAll: boolean;
  bom: boolean;
  encoding: 'utf-8' | 'latin1';
  trailingNewline: boolean;
}

const NAME_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ é.'];
const TEXT_CHARS = [...'abcxyz ABC019.-e"\',;\t|\n\rQé€中😀'];

const headerName = fc.array(fc.constantFrom(...NAME_CHARS), { minLength: 1, maxLength: 12 }).map((c) => c.join(''));
const text = fc.array(fc.constantFrom(...TEXT_CHARS), { maxLength: 14 }).map((c) => c.join(''));
const missing = fc.constantFrom('', 'NA', 'null', '?', ' ', 'NaN');
const integer = fc.integer({ min: -1e6, max: 1e6 }).map(String);
const float = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 }).map(String);
const infinity = fc.constantFrom('inf', '-Infinity', 'Infinity', '1e999');

/** A column: values of one kind (with some missing ones), so every column is typed as a user would expect. */
const column = (rows: number) =>
  fc
    .constantFrom('integer', 'float', 'boolean', 'category', 'text')
    .chain((kind) => {
      const value =
        kind === 'integer'
          ? fc.oneof({ weight: 8, arbitrary: integer }, { weight: 1, arbitrary: missing }, { weight: 1, arbitrary: infinity })
          : kind === 'float'
            ? fc.oneof({ weight: 8, arbitrary: float }, { weight: 1, arbitrary: missing })
            : kind === 'boolean'
              ? fc.oneof(fc.constantFrom('true', 'FALSE', 'True', 'false'), missing)
              : kind === 'category'
                ? fc.oneof({ weight: 5, arbitrary: fc.constantFrom('red', 'Green', ' blue ', 'x,y', 'say "hi"') }, { weight: 1, arbitrary: missing })
                : text;
      return fc.array(value, { minLength: rows, maxLength: rows });
    });

const table: fc.Arbitrary<Table> = fc
  .record({ width: fc.integer({ min: 2, max: 6 }), rows: fc.integer({ min: 1, max: 25 }) })
  .chain(({ width, rows }) =>
    fc.record({
      header: fc.uniqueArray(headerName, { minLength: width, maxLength: width, selector: (n) => n.trim().toLowerCase() }),
      columns: fc.array(column(rows), { minLength: width, maxLength: width }),
    }),
  )
  .map(({ header, columns }) => ({ header, rows: columns[0].map((_, i) => columns.map((c) => c[i])) }));

const dialect: fc.Arbitrary<Dialect> = fc.record({
  delimiter: fc.constantFrom<Dialect['delimiter']>(',', ';', '\t', '|'),
  newline: fc.constantFrom('\n', '\r\n', '\r'),
  quoteAll: fc.boolean(),
  bom: fc.boolean(),
  encoding: fc.constantFrom<Dialect['encoding']>('utf-8', 'latin1'),
  trailingNewline: fc.boolean(),
});

function writeCell(cell: string, d: Dialect): string {
  const special = /["\n\r]/.test(cell) || cell.includes(d.delimiter) || cell !== cell.trim();
  return d.quoteAll || special ? `"${cell.replace(/"/g, '""')}"` : cell;
}

function encode(t: Table, d: Dialect): Uint8Array {
  const lines = [t.header, ...t.rows].map((r) => r.map((c) => writeCell(c, d)).join(d.delimiter));
  const body = lines.join(d.newline) + (d.trailingNewline ? d.newline : '');
  if (d.encoding === 'latin1' && [...body].every((ch) => ch.charCodeAt(0) <= 0xff)) return Buffer.from(body, 'latin1');
  return Buffer.from((d.bom ? '\ufeff' : '') + body, 'utf8');
}

/** What the user expects the loaded cell to be, given the column's inferred type. */
function expected(cell: string, type: string): number | string | null {
  const trimmed = cell.trim();
  if (isMissing(trimmed)) return null;
  if (type === 'integer' || type === 'float') {
    const n = parseNumber(trimmed);
    return Number.isFinite(n) ? n : null;
  }
  if (type === 'boolean') return trimmed.toLowerCase() === 'true' ? 1 : 0;
  return trimmed;
}

function sameValue(actual: unknown, want: number | string | null, type: string): boolean {
  if (want === null) return actual === null;
  if (typeof want === 'number') {
    const got = Number(actual);
    return type === 'integer' ? got === want : Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want));
  }
  return actual === want;
}

describe.each(backends)('the CSV loader under random input on $name', (backend) => {
  let store: TestStore;
  let counter = 0;
  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    if (backend.url) await store.dispose();
  });

  const runs = RUNS[backend.name];
  const settings = { numRuns: runs, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false };

  const runtimeTables = () => replacementTables(store);

  /** Loads the bytes as a new dataset; checks the all-or-nothing rules and returns the result (or the error). */
  async function loadChecked(bytes: Uint8Array) {
    const dataset = `prop_${++counter}`;
    const file = join(dir, `${backend.name}-${dataset}.csv`);
    writeFileSync(file, bytes);
    const table = rawTableName(dataset);
    let result: Awaited<ReturnType<typeof loadRawData>> | undefined;
    let error: unknown;
    try {
      result = await loadRawData(store, { file, dataset });
    } catch (e) {
      error = e;
    }
    const loaded = await store.db
      .selectFrom('raw_loads')
      .select(['id', 'row_count'])
      .where('dataset', '=', dataset)
      .where('status', '=', 'loaded')
      .execute();
    expect(await runtimeTables(), 'staging tables left behind').toEqual([]);
    if (error !== undefined) {
      expect(error, `not a DataError: ${(error as Error)?.stack}`).toBeInstanceOf(DataError);
      expect((error as DataError).permanent).toBe(true);
      expect((error as Error).message).not.toMatch(/\n\s+at /);
      expect(await tableExists(store.db, table), 'a table was left by a failed load').toBe(false);
      expect(loaded).toEqual([]);
      return { error: error as DataError };
    }
    expect(await tableExists(store.db, table)).toBe(true);
    expect(loaded.map((r) => [r.id, Number(r.row_count)])).toEqual([[result!.loadId, result!.rows]]);
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(store.db);
    expect(Number(rows[0].n)).toBe(result!.rows);
    expect(result!.rows).toBeGreaterThan(0);
    return { result: result!, table };
  }

  it.skipIf(!backend.url)('random bytes: a clear DataError or a consistent load', async () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      // mostly the bytes CSV is made of, so some of them get past the first checks
      fc.array(fc.constantFrom(...Buffer.from('a1,;\t|"\n\r .e-é?')), { maxLength: 600 }).map((b) => Uint8Array.from(b)),
    );
    await fc.assert(fc.asyncProperty(bytes, async (b) => void (await loadChecked(b))), settings);
  });

  it.skipIf(!backend.url)('well-formed tables in any dialect and encoding load exactly, cell for cell', async () => {
    await fc.assert(
      fc.asyncProperty(table, dialect, async (t, d) => {
        const outcome = await loadChecked(encode(t, d));
        if (outcome.error) throw new Error(`a well-formed file was refused: ${outcome.error.message}`);
        const { result, table: name } = outcome;
        expect(result.rows).toBe(t.rows.length);
        expect(result.rejects).toBe(0);
        expect(result.columns.map((c) => c.original)).toEqual(t.header);
        const names = result.columns.map((c) => c.name);
        const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(name)} order by ${sql.ref('source_line')}`.execute(
          store.db,
        );
        rows.forEach((row, i) => {
          result.columns.forEach((c, j) => {
            const want = expected(t.rows[i][j], c.type);
            if (!sameValue(row[names[j]], want, c.type)) {
              throw new Error(
                `row ${i + 1}, column ${c.name} (${c.type}): loaded ${JSON.stringify(row[names[j]])}, expected ${JSON.stringify(want)} ` +
                  `from cell ${JSON.stringify(t.rows[i][j])}`,
              );
            }
          });
        });
      }),
      settings,
    );
  });

  it.skipIf(!backend.url)('damaged tables (cut, stray quotes, garbage, ragged lines): a DataError or a consistent load', async () => {
    const damage = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('cut', 'quote', 'garbage', 'field'),
      garbage: fc.uint8Array({ minLength: 1, maxLength: 20 }),
    });
    await fc.assert(
      fc.asyncProperty(table, dialect, damage, async (t, d, { at, kind, garbage }) => {
        const bytes = Buffer.from(encode(t, d));
        const cut = at % (bytes.length + 1);
        const insert = kind === 'quote' ? Buffer.from('"') : kind === 'field' ? Buffer.from(d.delimiter) : Buffer.from(garbage);
        const damaged = kind === 'cut' ? bytes.subarray(0, cut) : Buffer.concat([bytes.subarray(0, cut), insert, bytes.subarray(cut)]);
        await loadChecked(damaged);
      }),
      settings,
    );
  });
});
