/** CSV reading without a database: cells, headers, sniffing, quoting, line numbers, file checks, type inference. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { normaliseHeader, resolveColumn } from '../src/data/columns.js';
import { readCsv, type CsvBatch } from '../src/data/csv-read.js';
import { sniffDialect } from '../src/data/csv-sniff.js';
import { scanFile } from '../src/data/file-scan.js';
import { ColumnProfile, decideType } from '../src/data/infer.js';
import { loanApprovalLogit, LOAN_SAMPLE_HEADER, writeLoanSample } from '../src/data/sample.js';
import { booleanValue, isMissing, parseNumber } from '../src/data/values.js';

const dir = mkdtempSync(join(tmpdir(), 'mldeploy-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function readAll(path: string, delimiter: ',' | ';' | '\t' = ',', newline: '\n' | '\r\n' = '\n') {
  const batches: CsvBatch[] = [];
  for await (const b of readCsv(path, { delimiter, newline })) batches.push(b);
  return {
    records: batches.flatMap((b) => b.records),
    lines: batches.flatMap((b) => b.lines),
    malformed: batches.flatMap((b) => [...b.malformed].map(([i, reason]) => ({ line: b.lines[i], reason }))),
  };
}

describe('cells', () => {
  it('knows the missing markers, in any case', () => {
    for (const m of ['', 'NA', 'na', 'N/A', 'null', 'NULL', 'NaN', 'nan', '?']) expect(isMissing(m), m).toBe(true);
    for (const v of ['0', 'N', 'none', 'unknown', '-']) expect(isMissing(v), v).toBe(false);
  });
  it('reads decimal numbers, scientific notation included, and nothing else', () => {
    expect(parseNumber('5e+05')).toBe(500000);
    expect(parseNumber('1E5')).toBe(100000);
    expect(parseNumber('-1.25')).toBe(-1.25);
    expect(parseNumber('.5')).toBe(0.5);
    expect(parseNumber('35.0')).toBe(35);
    for (const bad of ['0x1f', '0b101', '0o17', '1,000', '12abc', '1 2', 'infinit', 'Infinity1']) {
      expect(parseNumber(bad), bad).toBeNaN();
    }
  });
  it('reads infinity in its usual spellings, and decimals too large for a double, as infinite', () => {
    for (const inf of ['Infinity', '+Infinity', 'inf', 'INF', '1e999']) expect(parseNumber(inf), inf).toBe(Infinity);
    for (const inf of ['-Infinity', '-inf', '-1e999']) expect(parseNumber(inf), inf).toBe(-Infinity);
  });
  it('reads true/false as booleans but not yes/no', () => {
    expect(booleanValue('TRUE')).toBe(1);
    expect(booleanValue('False')).toBe(0);
    expect(booleanValue('yes')).toBeUndefined();
  });
});

describe('headers', () => {
  it('trims and snake-cases names, names empty headers, and de-duplicates', () => {
    expect(
      normaliseHeader(['', ' loan_status', 'Annual Income', 'default.payment.next.month', 'LIMIT_BAL', 'a', 'A', '2nd', 'source_line']).map(
        (c) => c.name,
      ),
    ).toEqual([
      'unnamed_0',
      'loan_status',
      'annual_income',
      'default_payment_next_month',
      'limit_bal',
      'a',
      'a_2',
      'c_2nd',
      'source_line_2',
    ]);
  });
  it('finds a column by the name as written or normalised, and lists the columns when it cannot', () => {
    const columns = normaliseHeader(['loan_id', ' loan_status', 'default.payment.next.month']);
    expect(resolveColumn(columns, ' loan_status').name).toBe('loan_status');
    expect(resolveColumn(columns, 'loan_status').name).toBe('loan_status');
    expect(resolveColumn(columns, 'default.payment.next.month').name).toBe('default_payment_next_month');
    expect(resolveColumn(columns, 'Loan Status').name).toBe('loan_status');
    expect(() => resolveColumn(columns, 'status')).toThrow(
      'column "status" not found; the columns are: loan_id, loan_status, default_payment_next_month',
    );
  });
});

describe('sniffing', () => {
  it('picks the delimiter that splits every record like the header, ignoring quoted ones', () => {
    expect(sniffDialect('a,b,c\n1,2,3\n', true)).toEqual({ delimiter: ',', newline: '\n' });
    expect(sniffDialect('"a";"b";"c"\r\n"x,y";2;3\r\n"p,q,r,s";5;6\r\n', true)).toEqual({ delimiter: ';', newline: '\r\n' });
    expect(sniffDialect('a\tb\n1\t2\n', true).delimiter).toBe('\t');
    // commas inside the quoted field would suggest 4 columns on the data line
    expect(sniffDialect('name;note\nann;"a, b, c"\nbob;x\n', true).delimiter).toBe(';');
  });
  it('refuses a text without any delimiter', () => {
    expect(() => sniffDialect('just one column\n1\n2\n', true)).toThrow(/no delimiter found/);
  });
});

describe('reading records', () => {
  it('handles quotes, doubled quotes, line breaks in fields, CRLF, a BOM and blank lines, with line numbers', async () => {
    const path = file('quoted.csv', '\ufeffa,b\r\n1,"x, ""y"""\r\n\r\n2,"two\r\nlines"\r\n3,z\r\n');
    const { records, lines, malformed } = await readAll(path, ',', '\r\n');
    expect(records).toEqual([
      ['a', 'b'],
      ['1', 'x, "y"'],
      ['2', 'two\r\nlines'],
      ['3', 'z'],
    ]);
    expect(lines).toEqual([1, 2, 4, 6]);
    expect(malformed).toEqual([]);
  });
  it('keeps ragged records as they are and reports broken quoting with its line', async () => {
    const { records, malformed } = await readAll(file('ragged.csv', 'a,b,c\n1,2\n3,4,5,6\n7,"x"y,9\n'));
    expect(records.slice(0, 3).map((r) => r.length)).toEqual([3, 2, 4]);
    expect(malformed).toEqual([{ line: 4, reason: expect.stringMatching(/stray quote/) }]);
    const unclosed = await readAll(file('unclosed.csv', 'a,b\n1,"open\n2,3\n'));
    expect(unclosed.malformed).toEqual([{ line: 2, reason: 'a quoted field is not closed' }]);
  });
  it('reads a file in many chunks the same as in one', async () => {
    const rows = Array.from({ length: 30_000 }, (_, i) => `${i},"text ${i}, with comma",${i % 7}`);
    const path = file('big.csv', `id,note,k\n${rows.join('\n')}\n`);
    const { records, lines } = await readAll(path);
    expect(records).toHaveLength(30_001);
    expect(records[12_345]).toEqual(['12344', 'text 12344, with comma', String(12344 % 7)]);
    expect(lines[30_000]).toBe(30_001);
  });
});

describe('file checks', () => {
  it('refuses binary and empty files with a reason, and reads text that is not UTF-8 as Windows-1252, saying so', async () => {
    const png = file('image.csv', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]));
    await expect(scanFile(png)).rejects.toThrow(/is not a CSV file: it looks like a PNG image/);
    const gz = file('data.csv.gz', Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0]));
    await expect(scanFile(gz)).rejects.toThrow(/gzip archive: decompress it first/);
    await expect(scanFile(file('nul.csv', 'a,b\n1,\u0000\n'))).rejects.toThrow(/NUL byte at byte 6/);
    await expect(scanFile(file('empty.csv', ''))).rejects.toThrow(/is empty/);
    await expect(scanFile(file('blank.csv', '\n\n  \n'))).rejects.toThrow(/is empty/);
    const latin1 = file('latin1.csv', Buffer.concat([Buffer.from('name,city\nann,'), Buffer.from([0x4d, 0xfc, 0x6e]), Buffer.from('\n')]));
    expect(await scanFile(latin1)).toMatchObject({
      encoding: 'windows-1252',
      head: 'name,city\nann,Mün\n',
      notes: [`${latin1} is not UTF-8 (invalid byte at offset 15, line 2): read as Windows-1252 (Latin-1); pass --encoding if it is another encoding`],
    });
    await expect(scanFile(latin1, 'utf-8')).rejects.toThrow(/not utf-8 text \(invalid byte at offset 15, line 2\): check --encoding/);
    await expect(scanFile(join(dir, 'nope.csv'))).rejects.toThrow(/file not found/);
  });
  it('hashes the bytes', async () => {
    const scan = await scanFile(file('h.csv', 'a,b\n1,2\n'));
    expect(scan.sha256).toBe(createHash('sha256').update('a,b\n1,2\n').digest('hex'));
    expect(scan).toMatchObject({ size: 8, head: 'a,b\n1,2\n', headIsWholeFile: true });
  });
});

describe('type inference', () => {
  function infer(values: string[], rows = values.length, threshold = 0.01) {
    const p = new ColumnProfile();
    for (const v of values) {
      if (isMissing(v)) p.missing++;
      else p.observe(v);
    }
    return decideType(p, rows, threshold);
  }
  it('types numbers, booleans, categories and text from all values', () => {
    expect(infer(['1', '5e+05', '', '35.0', 'NA'])).toBe('integer');
    expect(infer(['1', '2.5'])).toBe('float');
    expect(infer(['1', String(2 ** 60)])).toBe('float'); // not exact as a double
    expect(infer(['true', 'FALSE', ''])).toBe('boolean');
    expect(infer(['yes', 'no', 'yes'])).toBe('categorical');
    expect(infer(Array.from({ length: 200 }, (_, i) => `name ${i}`))).toBe('text');
    expect(infer(Array.from({ length: 2000 }, (_, i) => `level ${i % 80}`))).toBe('categorical'); // 80 <= 5% of 2000
    expect(infer(['', 'NA'])).toBe('text');
  });
  it('keeps a column numeric when its few non-numbers can be rejected, else makes it a string column', () => {
    const numbers = Array.from({ length: 999 }, (_, i) => String(i));
    expect(infer([...numbers, 'oops'], 1000, 0.01)).toBe('integer');
    const late = [...numbers.slice(0, 900), ...Array.from({ length: 100 }, (_, i) => `A${i % 3}`)];
    expect(infer(late, 1000, 0.01)).toBe('text');
  });
});

describe('loan sample', () => {
  it('writes the original schema deterministically, with missing cells and a learnable label', async () => {
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    await writeLoanSample(a, { rows: 4000, seed: 3 });
    await writeLoanSample(b, { rows: 4000, seed: 3 });
    const text = readFileSync(a, 'utf8');
    expect(text).toBe(readFileSync(b, 'utf8'));
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe(LOAN_SAMPLE_HEADER);
    expect(lines).toHaveLength(4001);
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 4000 }, (_, i) => String(i)));
    const missingAge = rows.filter((r) => r[1] === '').length / rows.length;
    expect(missingAge).toBeGreaterThan(0.03);
    expect(missingAge).toBeLessThan(0.07);
    expect(rows.every((r) => r[5] !== '' && r[7] !== '')).toBe(true);
    // The rule the labels come from ranks them with an AUC near 0.87: learnable, not trivial.
    const complete = rows.filter((r) => r.slice(1, 8).every((v) => v !== ''));
    const scored = complete
      .map((r) => ({
        score: loanApprovalLogit({
          age: +r[1],
          annualIncome: +r[2],
          creditScore: +r[3],
          loanAmount: +r[4],
          loanDurationYears: +r[5],
          openAccounts: +r[6],
          pastDefault: +r[7] as 0 | 1,
        }),
        y: +r[8],
      }))
      .sort((p, q) => p.score - q.score);
    const positives = scored.filter((s) => s.y === 1).length;
    const rankSum = scored.reduce((sum, s, i) => sum + (s.y === 1 ? i + 1 : 0), 0);
    const auc = (rankSum - (positives * (positives + 1)) / 2) / (positives * (scored.length - positives));
    expect(auc).toBeGreaterThan(0.84);
    expect(auc).toBeLessThan(0.92);
    expect(positives / scored.length).toBeGreaterThan(0.4);
    expect(positives / scored.length).toBeLessThan(0.6);
  });
});
