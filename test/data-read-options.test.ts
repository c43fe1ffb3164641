/**
 * Reading files that are not plain comma-separated UTF-8 with a header: header-less files, any delimiter (sniffed pipe
 * and space-aligned files), extra missing markers, lone-CR line endings, Latin-1/Windows-1252 and UTF-16 text. Small
 * made-up files on every backend; header-less, pipe and Latin-1 copies of the shared real files on SQLite.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniffDialect } from '../src/data/csv-sniff.js';
import { DataError } from '../src/data/errors.js';
import { preprocessData } from '../src/data/preprocess.js';
import { loadRawData } from '../src/data/raw-load.js';
import { checkCsvReadOptions, parseDelimiter, WHITESPACE } from '../src/data/read-options.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'mldeploy-read-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** A small table, written in any layout by the tests. */
const HEADER = ['age', 'city', 'income', 'y'];
const ROWS = [
  ['39', 'Köln', '52000.5', 'yes'],
  ['50', 'Paris', '83311', 'no'],
  ['38', 'Sète', '215646', 'no'],
  ['53', 'Paris', '-999', 'yes'],
  ['28', 'Köln', '338409', 'no'],
  ['37', 'Sète', '284582', 'yes'],
];

describe('sniffing and checking read options', () => {
  it('sniffs pipes, space-aligned columns and lone-CR line breaks, and keeps tabs as tabs', () => {
    expect(sniffDialect('a|b|c\n1|2|3\n', true)).toEqual({ delimiter: '|', newline: '\n' });
    expect(sniffDialect('  age   city    income\n   39   Paris   52000\n   50   "La Rochelle"  83311\n', true)).toEqual({
      delimiter: WHITESPACE,
      newline: '\n',
    });
    expect(sniffDialect('a,b\r1,2\r3,4\r', true)).toEqual({ delimiter: ',', newline: '\r' });
    expect(sniffDialect('name\tcity\nAnn Lee\tNew York\nBo\tParis\n', true).delimiter).toBe('\t');
    expect(sniffDialect('a;b\n1;2\n', true, '|')).toEqual({ delimiter: '|', newline: '\n' });
    expect(() => sniffDialect('just one column\n1\n', true)).toThrow(/no delimiter found.*pass --delimiter/);
  });

  it('reads delimiters as typed and refuses bad options naming the flag', () => {
    expect(parseDelimiter('\\t')).toBe('\t');
    expect(parseDelimiter('tab')).toBe('\t');
    expect(parseDelimiter('\\s+')).toBe(WHITESPACE);
    expect(parseDelimiter('§')).toBe('§');
    expect(() => parseDelimiter('::')).toThrow('--delimiter must be one character');
    expect(() => parseDelimiter('"')).toThrow('--delimiter cannot be a quote');
    expect(checkCsvReadOptions({ header: false, columns: [' a', 'b '], encoding: 'Latin1', naValues: ['-999', ' -999'] })).toEqual({
      header: false,
      columns: ['a', 'b'],
      encoding: 'windows-1252',
      naValues: ['-999'],
    });
    expect(() => checkCsvReadOptions({ columns: ['a', 'b'] })).toThrow('--columns names the columns of a file without a header: add --no-header');
    expect(() => checkCsvReadOptions({ header: false, columns: ['a', 'a'] })).toThrow('--columns: "a" is given twice');
    expect(() => checkCsvReadOptions({ encoding: 'klingon' })).toThrow('--encoding: unknown encoding "klingon"');
    expect(() => checkCsvReadOptions({ delimter: ',' })).toThrow('unknown CSV read option delimter');
    expect(() => checkCsvReadOptions({ naValues: [''] })).toThrow(DataError);
  });
});

describe.each(backends)('reading files on $name', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    if (backend.url) await store.dispose();
  });

  const table = async (name: string) =>
    (await sql<Record<string, unknown>>`select * from ${sql.table(name)} order by ${sql.ref('source_line')}`.execute(store.db)).rows.map(
      (row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null || typeof v === 'string' ? v : Number(v)])),
    );
  const plain = () => [HEADER, ...ROWS].map((r) => r.join(',')).join('\n') + '\n';

  it.skipIf(!backend.url)('loads a file without a header under the given names, its first line as data', async () => {
    const body = ROWS.map((r) => r.join(',')).join('\n');
    const named = await loadRawData(store, {
      file: file('noheader.csv', body),
      dataset: 'noheader',
      csv: { header: false, columns: ['Age', 'city', 'income', 'y'] },
    });
    expect(named).toMatchObject({ rows: 6, rejects: 0 });
    expect(named.columns.map((c) => [c.name, c.original, c.type])).toEqual([
      ['age', 'Age', 'integer'],
      ['city', 'city', 'categorical'],
      ['income', 'income', 'float'],
      ['y', 'y', 'categorical'],
    ]);
    const rows = await table('raw_noheader');
    expect(rows[0]).toEqual({ source_line: 1, age: 39, city: 'Köln', income: 52000.5, y: 'yes' });
    const numbered = await loadRawData(store, { file: file('noheader.csv', body), dataset: 'numbered', csv: { header: false } });
    expect(numbered.columns.map((c) => c.name)).toEqual(['c1', 'c2', 'c3', 'c4']);
    await expect(
      loadRawData(store, { file: file('noheader.csv', body), dataset: 'short_names', csv: { header: false, columns: ['a', 'b'] } }),
    ).rejects.toThrow('--columns names 2 columns but line 1, the first, has 4 fields');
  });

  it.skipIf(!backend.url)('warns when the header looks like data, and hints at --no-header when the target is missing', async () => {
    const body = ROWS.map((r) => r.join(',')).join('\n');
    const result = await loadRawData(store, { file: file('noheader.csv', body), dataset: 'looks_headerless' });
    expect(result.rows).toBe(5);
    expect(result.notes).toEqual([
      'line 1 looks like data, not column names ("39", "Köln", "52000.5", "yes": each is a number or a value of its column): ' +
        'if the file has no header line, load it with --no-header (and --columns NAME,NAME,...)',
    ]);
    await expect(preprocessData(store, { dataset: 'looks_headerless', target: 'y' })).rejects.toThrow(
      /column "y" not found; the columns are: c_39, k_ln, c_52000_5, yes\. Some column names are numbers \(39, 52000\.5\): if the file has no header line, load it with --no-header --columns/,
    );
    expect((await loadRawData(store, { file: file('plain.csv', plain()), dataset: 'plain' })).notes).toEqual([]);
  });

  it.skipIf(!backend.url)('loads pipe, space-aligned, semicolon-given and lone-CR files into the same table as the comma file', async () => {
    await loadRawData(store, { file: file('plain.csv', plain()), dataset: 'layout_comma' });
    const expected = await table('raw_layout_comma');
    const aligned = [HEADER, ...ROWS].map((r) => r.map((c) => (c.includes(' ') ? `"${c}"` : c.padStart(9))).join('  ')).join('\n');
    const layouts: [string, string, Parameters<typeof loadRawData>[1]['csv'], string][] = [
      ['pipe', [HEADER, ...ROWS].map((r) => r.join('|')).join('\n'), undefined, '|'],
      ['spaces', `${aligned}\n`, undefined, WHITESPACE],
      ['given', [HEADER, ...ROWS].map((r) => r.join('#')).join('\r\n'), { delimiter: '#' }, '#'],
      ['tabs', [HEADER, ...ROWS].map((r) => r.join('\t')).join('\n'), { delimiter: '\\t' }, '\t'],
      ['cr', [HEADER, ...ROWS].map((r) => r.join(',')).join('\r') + '\r', undefined, ','],
    ];
    for (const [name, body, csv, delimiter] of layouts) {
      const result = await loadRawData(store, { file: file(`${name}.txt`, body), dataset: `layout_${name}`, csv });
      expect(result, name).toMatchObject({ rows: 6, rejects: 0, delimiter });
      expect(await table(`raw_layout_${name}`), name).toEqual(expected);
    }
  });

  it.skipIf(!backend.url)('reads Windows-1252 and UTF-16 files, detected or given, and says which it used', async () => {
    const text = `${plain().replace('Paris', 'Besançon')}Note,€uro,1,no\n`.replace('Note', '41');
    const latin = await loadRawData(store, { file: file('latin.csv', Buffer.from(text.replace('€', '\x80'), 'latin1')), dataset: 'latin' });
    expect(latin.encoding).toBe('windows-1252');
    expect(latin.notes).toEqual([expect.stringMatching(/latin\.csv is not UTF-8 \(invalid byte at offset \d+, line 2\): read as Windows-1252/)]);
    const cities = (await table('raw_latin')).map((r) => r.city);
    expect(cities).toEqual(['Köln', 'Besançon', 'Sète', 'Paris', 'Köln', 'Sète', '€uro']);
    const given = await loadRawData(store, {
      file: file('latin.csv', Buffer.from(text.replace('€', '\x80'), 'latin1')),
      dataset: 'latin_given',
      csv: { encoding: 'cp1252' },
    });
    expect(given).toMatchObject({ encoding: 'windows-1252', notes: [] });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const wide = await loadRawData(store, { file: file('utf16.csv', utf16), dataset: 'utf16' });
    expect(wide).toMatchObject({ encoding: 'utf-16le', rows: 7, notes: [] });
    expect((await table('raw_utf16')).map((r) => r.city)).toEqual(cities);
    await expect(
      loadRawData(store, { file: file('latin.csv', Buffer.from(text, 'latin1')), dataset: 'latin_as_utf8', csv: { encoding: 'utf-8' } }),
    ).rejects.toThrow(/latin\.csv is not utf-8 text \(invalid byte at offset \d+, line 2\): check --encoding/);
  });

  it.skipIf(!backend.url)('treats --na-values as missing, and reloads the same bytes when the read options change', async () => {
    const path = file('na.csv', plain().replace('Sète', 'unknown'));
    const first = await loadRawData(store, { file: path, dataset: 'na' });
    expect(first.columns.find((c) => c.name === 'income')).toMatchObject({ type: 'float', missing: 0 });
    const again = await loadRawData(store, { file: path, dataset: 'na', csv: { naValues: ['-999', 'unknown'] } });
    expect(again.skipped).toBe(false);
    expect(again.columns.find((c) => c.name === 'income')).toMatchObject({ type: 'float', missing: 1 });
    expect(again.columns.find((c) => c.name === 'city')).toMatchObject({ missing: 1, categories: ['Köln', 'Paris', 'Sète'] });
    expect((await table('raw_na'))[3].income).toBeNull();
    expect((await loadRawData(store, { file: path, dataset: 'na', csv: { naValues: ['unknown', '-999'] } })).skipped).toBe(true);
    expect((await loadRawData(store, { file: path, dataset: 'na' })).skipped).toBe(false);
  });
});

const SHARED = resolve(__dirname, '../../shared/data');
const lacksShared = !existsSync(SHARED) && process.env.CI !== 'true';

describe.skipIf(lacksShared)('copies of the shared real files', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await freshStore(backends[0]);
  });
  afterAll(async () => store.dispose());

  const rowsOf = async (name: string, columns: string[]) =>
    (
      await sql<Record<string, unknown>>`select ${sql.join(columns.map((c) => sql.ref(c)))} from ${sql.table(name)} order by ${sql.ref(
        'source_line',
      )}`.execute(store.db)
    ).rows;

  it('a header-less copy of loan_approval.csv with --columns loads as the original does', async () => {
    const original = readFileSync(join(SHARED, 'loan_approval.csv'), 'latin1');
    const [header, ...rest] = original.split('\r\n');
    const a = await loadRawData(store, { file: join(SHARED, 'loan_approval.csv'), dataset: 'loans' });
    const b = await loadRawData(store, {
      file: file('loans-noheader.csv', rest.join('\r\n')),
      dataset: 'loans_noheader',
      csv: { header: false, columns: header.split(',') },
    });
    expect(b.rows).toBe(4269);
    // The same columns; only the names as written lose the file's leading spaces (names given are trimmed).
    const withoutOriginal = (columns: typeof a.columns) => columns.map(({ original: _, ...rest }) => rest);
    expect(withoutOriginal(b.columns)).toEqual(withoutOriginal(a.columns));
    const names = a.columns.map((c) => c.name);
    expect(await rowsOf('raw_loans_noheader', names)).toEqual(await rowsOf('raw_loans', names));
    // Loaded as if it had a header, the copy gets the warning.
    const c = await loadRawData(store, { file: file('loans-noheader.csv', rest.join('\r\n')), dataset: 'loans_guess' });
    expect(c.notes[0]).toMatch(/^line 1 looks like data, not column names \("1", "2", "Graduate", "No", \.\.\.: each is a number/);
  });

  it('a pipe-delimited copy of bank_marketing.csv and a Latin-1 copy of loan_approval.csv load as the originals', async () => {
    // Its first 5,000 rows keep the suite short.
    const bank = `${readFileSync(join(SHARED, 'bank_marketing.csv'), 'utf8').split('\n').slice(0, 5001).join('\n')}\n`;
    const a = await loadRawData(store, { file: file('bank.csv', bank), dataset: 'bank' });
    const b = await loadRawData(store, { file: file('bank-pipe.csv', bank.replaceAll(';', '|')), dataset: 'bank_pipe' });
    expect(a).toMatchObject({ rows: 5000, delimiter: ';', rejects: 0 });
    expect(b).toMatchObject({ rows: 5000, delimiter: '|', rejects: 0 });
    expect(b.columns).toEqual(a.columns);

    const loans = readFileSync(join(SHARED, 'loan_approval.csv'), 'utf8').replaceAll(' Not Graduate', ' Non diplômé');
    const latin = await loadRawData(store, { file: file('loans-latin1.csv', Buffer.from(loans, 'latin1')), dataset: 'loans_latin' });
    expect(latin.encoding).toBe('windows-1252');
    const education = latin.columns.find((c) => c.name === 'education')!;
    expect(education.categories).toEqual(['Graduate', 'Non diplômé']);
    const original = await rowsOf('raw_loans', ['education']);
    const copied = await rowsOf('raw_loans_latin', ['education']);
    expect(copied.map((r) => (r.education === 'Non diplômé' ? 'Not Graduate' : r.education))).toEqual(original.map((r) => r.education));
  });
});
