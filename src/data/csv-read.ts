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
import { WHITESPACE } from './read-options.js';
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

export interface CsvParseOptions extends CsvDialect {
  /** The file's text encoding (WHATWG name); UTF-8 by default. */
  encoding?: string;
  /** Fed every byte read, to check the file did not change between passes. */
  hash?: Hash;
}

/**
 * Space-aligned text -> tab-separated text, as it streams: runs of spaces and tabs outside quotes become one tab, and
 * those at the start or end of a line go. Line breaks are kept, so line numbers stay right.
 */
class WhitespaceFields {
  private inQuotes = false;
  private lineStart = true;
  private gap = false;

  transform(text: string): string {
    let out = '';
    let from = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (this.inQuotes) {
        if (ch === '"') this.inQuotes = false; // a doubled quote closes and reopens: the same text
        continue;
      }
      if (ch === ' ' || ch === '\t') {
        out += text.slice(from, i);
        from = i + 1;
        if (!this.lineStart) this.gap = true;
        continue;
      }
      if (ch === '\n' || ch === '\r') {
        this.lineStart = true;
        this.gap = false; // trailing blanks go
        continue;
      }
      if (this.gap) {
        out += text.slice(from, i) + '\t';
        from = i;
        this.gap = false;
      }
      this.lineStart = false;
      if (ch === '"') this.inQuotes = true;
    }
    return out + text.slice(from);
  }
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
export async function* readCsv(file: string, options: CsvParseOptions): AsyncGenerator<CsvBatch> {
  const whitespace = options.delimiter === WHITESPACE ? new WhitespaceFields() : undefined;
  const delimiter = whitespace ? '\t' : options.delimiter;
  const config = { delimiter, newline: options.newline, quoteChar: '"' };
  const lineBreak = options.newline === '\r' ? '\r' : '\n';
  // TextDecoder drops a byte order mark and joins characters split between chunks.
  const decoder = new TextDecoder(options.encoding ?? 'utf-8');
  let line = 1;
  let carry = '';
  /** True while the carried record is known to end inside an open quoted field. */
  let carryInQuotes = false;
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
    const chunkText = decoder.decode(chunk, { stream: true });
    const decoded = whitespace ? whitespace.transform(chunkText) : chunkText;
    // No record can end in this chunk (no line break, or a long record's quoted field stays open): keep the chunk
    // for the next instead of parsing the long record again.
    const lineEnds = decoded.includes(lineBreak);
    if (decoded.includes('"')) carryInQuotes = false;
    else if (lineEnds && !carryInQuotes && carry.length > READ_BYTES) {
      carryInQuotes = scanRecord(carry, delimiter).openQuote !== undefined;
    }
    if (carry !== '' && (carryInQuotes || !lineEnds)) {
      carry += decoded;
      if (carry.length > MAX_RECORD_CHARS) throw new DataError(`line ${line}: ${tooLong(carry, delimiter)}`);
      continue;
    }
    const text = carry + decoded;
    const result = new Papa.Parser(config).parse(text, 0, true) as PapaResult;
    carry = text.slice(result.meta.cursor);
    carryInQuotes = false;
    const records = batch(result, text.includes('"'));
    if (carry.length > MAX_RECORD_CHARS) throw new DataError(`line ${line}: ${tooLong(carry, delimiter)}`);
    yield records;
  }
  const tail = decoder.decode();
  const rest = carry + (whitespace ? whitespace.transform(tail) : tail);
  if (rest !== '') yield batch(new Papa.Parser(config).parse(rest, 0, false) as PapaResult, rest.includes('"'));
}

/**
 * The fields of an unfinished record as the parser sees them: a quote opens a quoted field only at a field's start.
 * `openQuote` is the field whose quote is still open at the end, if any.
 */
function scanRecord(record: string, delimiter: string): { openQuote?: number; field: number; lastFieldStart: number } {
  let fieldStart = 0;
  let field = 1;
  while (fieldStart < record.length) {
    if (record[fieldStart] === '"') {
      let close = fieldStart + 1;
      for (;;) {
        close = record.indexOf('"', close);
        if (close === -1) return { openQuote: field, field, lastFieldStart: fieldStart };
        if (record[close + 1] !== '"') break;
        close += 2;
      }
      fieldStart = close + 1;
    }
    const next = record.indexOf(delimiter, fieldStart);
    if (next === -1) break;
    fieldStart = next + delimiter.length;
    field++;
  }
  return { field, lastFieldStart: fieldStart };
}

/**
 * Why an unfinished record grew past MAX_RECORD_CHARS: a quoted field that is never closed (it swallows the rest of
 * the file), or really a field or line that long (no line break where one was expected).
 */
function tooLong(record: string, delimiter: string): string {
  const limit = `${MAX_RECORD_CHARS >> 20} MiB`;
  const { openQuote, field, lastFieldStart } = scanRecord(record, delimiter);
  if (openQuote !== undefined) {
    return `a quoted field (field ${openQuote}) opens here and is not closed within ${limit}: close its quote, or write a quote inside a quoted field as ""`;
  }
  const lastField = record.length - lastFieldStart;
  return lastField > MAX_RECORD_CHARS / 2
    ? `field ${field} is longer than ${limit} (no line break or delimiter after it): a table cell that long is not tabular data; is it the right file?`
    : `the line is longer than ${limit} (${field} fields so far, no line break): is the delimiter or the line ending wrong?`;
}

/** A record written back as one CSV line (for the rejects table), cut to `max` characters. */
export function formatRecord(record: readonly string[], delimiter: string, max = 2000): string {
  const separator = delimiter === WHITESPACE ? ' ' : delimiter;
  const text = record
    .map((cell) => (/[",\n\r;\t]/.test(cell) || cell.includes(separator) ? `"${cell.replace(/"/g, '""')}"` : cell))
    .join(separator);
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
