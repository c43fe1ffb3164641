/**
 * Streaming CSV records from a file, chunk by chunk, with the line each record starts on. Parsing is Papa Parse's
 * core parser (RFC 4180 quoting: quoted fields may hold delimiters, line breaks and doubled quotes); this module feeds
 * it the file in pieces, carries the unfinished last record over to the next piece and keeps line numbers.
 */
import { createReadStream } from 'node:fs';
import type { Hash } from 'node:crypto';
import Papa from 'papaparse';
import type { CsvDialect } from './csv-sniff.js';
import { DataError } from './errors.js';
/** Bytes per read: parsed records of a small chunk die young (cheap GC); 64 KiB measured fastest on 1M rows. */
export const READ_BYTES = 64 << 10;

/** A record longer than this means an unclosed quote swallowed the rest of the file, or the file is not a table. */
export const MAX_RECORD_CHARS = 8 << 20;

export interface CsvBatch {
  /** Records as written (cells untrimmed); blank lines are left out. */
  records: string[][];
  /** The line each record starts on (1-based). */
  lines: number[];
  /** Record index -> why its quoting is broken. */
  malformed: Map<number, string>;
  /** Bytes of the file read so far. */
  bytesRead: number;
}

export interface CsvReadOptions extends CsvDialect {
  /** Fed every byte read, to check the file did not change between passes. */
  hash?: Hash;
}

interface PapaResult {
  data: string[][];
  errors: { code: string; row: number }[];
  meta: { cursor: number };
}

const QUOTE_PROBLEMS: Record<string, string> = {
  MissingQuotes: 'a quoted field is not closed',
  InvalidQuotes: 'a quoted field has a stray quote (write a quote inside a quoted field as "")',
};

/** Yields the file's records in batches, one batch per chunk read. */
export async function* readCsv(file: string, options: CsvReadOptions): AsyncGenerator<CsvBatch> {
  const config = { delimiter: options.delimiter, newline: options.newline, quoteChar: '"' };
  const lineBreak = options.newline === '\r' ? '\r' : '\n';
  // TextDecoder drops a UTF-8 byte order mark and joins characters split between chunks.
  const decoder = new TextDecoder('utf-8');
  let line = 1;
  let carry = '';
  let bytesRead = 0;

  const batch = (result: PapaResult, mayHoldLineBreaks: boolean): CsvBatch => {
    const records: string[][] = [];
    const lines: number[] = [];
    const malformed = new Map<number, string>();
    const problems = new Map<number, string>();
    for (const e of result.errors) {
      if (!problems.has(e.row)) problems.set(e.row, QUOTE_PROBLEMS[e.code] ?? `unreadable record (${e.code})`);
    }
    result.data.forEach((record, i) => {
      const start = line;
      line++;
      if (mayHoldLineBreaks) {
        for (const cell of record) {
          for (let at = cell.indexOf(lineBreak); at !== -1; at = cell.indexOf(lineBreak, at + 1)) line++;
        }
      }
      if (record.length === 1 && record[0].trim() === '' && !problems.has(i)) return; // a blank line
      if (problems.has(i)) malformed.set(records.length, problems.get(i)!);
      records.push(record);
      lines.push(start);
    });
    return { records, lines, malformed, bytesRead };
  };

  for await (const chunk of createReadStream(file, { highWaterMark: READ_BYTES }) as AsyncIterable<Buffer>) {
    bytesRead += chunk.length;
    options.hash?.update(chunk);
    const text = carry + decoder.decode(chunk, { stream: true });
    const result = new Papa.Parser(config).parse(text, 0, true) as PapaResult;
    carry = text.slice(result.meta.cursor);
    const records = batch(result, text.includes('"'));
    if (carry.length > MAX_RECORD_CHARS) {
      throw new DataError(
        `line ${line}: a record longer than ${MAX_RECORD_CHARS >> 20} MiB: a quoted field is probably not closed`,
      );
    }
    yield records;
  }
  const rest = carry + decoder.decode();
  if (rest !== '') yield batch(new Papa.Parser(config).parse(rest, 0, false) as PapaResult, rest.includes('"'));
}

/** A record written back as one CSV line (for the rejects table), cut to `max` characters. */
export function formatRecord(record: readonly string[], delimiter: string, max = 2000): string {
  const text = record
    .map((cell) => (/[",\n\r;\t]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell))
    .join(delimiter);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
