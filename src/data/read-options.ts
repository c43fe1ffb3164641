/**
 * How to read a CSV file when sniffing is not enough: one type that every entry point takes (load_raw_data, training,
 * schedules, watched folders, batch scoring) and one check of it, with errors that name the command-line flag.
 */
import { DataError } from './errors.js';

/** `--delimiter '\s+'`: fields separated by runs of spaces and tabs (space-aligned files), as pandas' `sep='\s+'`. */
export const WHITESPACE = '\\s+';

export interface CsvReadOptions {
  /** One character (`,` `;` `|` `\t` ...) or WHITESPACE; sniffed from the file when absent. */
  delimiter?: string;
  /** False when the first line is data, not column names (default true). */
  header?: boolean;
  /** Column names of a file without a header (default c1..cN); needs `header: false`. */
  columns?: string[];
  /** Cell values that mean "missing" besides the empty cell and NA, N/A, null, NaN, ? (compared after trimming). */
  naValues?: string[];
  /** A WHATWG encoding label (utf-8, windows-1252, latin1, iso-8859-15, utf-16le, shift_jis...); detected when absent. */
  encoding?: string;
}

/** The command-line flag of each option, for error messages. */
export const CSV_READ_FLAGS: Record<keyof CsvReadOptions, string> = {
  delimiter: '--delimiter',
  header: '--no-header',
  columns: '--columns',
  naValues: '--na-values',
  encoding: '--encoding',
};

const ESCAPES: Record<string, string> = { '\\t': '\t', tab: '\t', '\\s+': WHITESPACE, whitespace: WHITESPACE };

/** A delimiter as typed on a command line: `\t` or `tab` for a tab, `\s+` for runs of whitespace, else one character. */
export function parseDelimiter(text: string): string {
  const delimiter = ESCAPES[text.toLowerCase()] ?? text;
  if (delimiter === WHITESPACE) return delimiter;
  if ([...delimiter].length !== 1) {
    throw new DataError(`--delimiter must be one character (or \\t for a tab, \\s+ for runs of spaces), got "${text}"`);
  }
  if (delimiter === '"' || delimiter === '\n' || delimiter === '\r') {
    throw new DataError(`--delimiter cannot be a quote or a line break, got ${JSON.stringify(delimiter)}`);
  }
  return delimiter;
}

/** A delimiter as a person reads it: `","`, `tab`, `runs of spaces`. */
export function describeDelimiter(delimiter: string): string {
  return delimiter === WHITESPACE ? 'runs of spaces' : delimiter === '\t' ? 'tab' : JSON.stringify(delimiter);
}

/** The encoding's canonical name, or a DataError naming --encoding. */
export function canonicalEncoding(label: string): string {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    throw new DataError(`--encoding: unknown encoding "${label}" (e.g. utf-8, windows-1252, latin1, iso-8859-15, utf-16le)`);
  }
}

function strings(value: unknown, key: keyof CsvReadOptions): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new DataError(`${CSV_READ_FLAGS[key]} must be a list of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

/**
 * Checks read options from anywhere (flags, a stored schedule's conf, an API body) and returns them normalised: the
 * delimiter unescaped, the encoding by its canonical name, empty lists left out. Throws a DataError naming the flag.
 */
export function checkCsvReadOptions(raw: unknown): CsvReadOptions {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new DataError(`CSV read options must be an object, got ${JSON.stringify(raw)}`);
  const given = raw as Record<string, unknown>;
  const unknown = Object.keys(given).filter((k) => !(k in CSV_READ_FLAGS));
  if (unknown.length) throw new DataError(`unknown CSV read option ${unknown.join(', ')} (known: ${Object.keys(CSV_READ_FLAGS).join(', ')})`);
  const options: CsvReadOptions = {};
  if (given.delimiter !== undefined) {
    if (typeof given.delimiter !== 'string') throw new DataError(`--delimiter must be a string, got ${JSON.stringify(given.delimiter)}`);
    options.delimiter = parseDelimiter(given.delimiter);
  }
  if (given.header !== undefined) {
    if (typeof given.header !== 'boolean') throw new DataError(`header must be true or false, got ${JSON.stringify(given.header)}`);
    if (!given.header) options.header = false;
  }
  if (given.columns !== undefined) {
    const columns = strings(given.columns, 'columns').map((c) => c.trim());
    if (options.header !== false) {
      throw new DataError('--columns names the columns of a file without a header: add --no-header (a header line is used as is)');
    }
    if (columns.length < 2) throw new DataError(`--columns needs at least two names (the features and the target), got ${columns.length}`);
    const empty = columns.findIndex((c) => c === '');
    if (empty !== -1) throw new DataError(`--columns: name ${empty + 1} is empty`);
    const seen = new Set<string>();
    for (const c of columns) {
      if (seen.has(c)) throw new DataError(`--columns: "${c}" is given twice`);
      seen.add(c);
    }
    options.columns = columns;
  }
  if (given.naValues !== undefined) {
    const values = strings(given.naValues, 'naValues').map((v) => v.trim());
    if (values.some((v) => v === '')) throw new DataError('--na-values: an empty value is always missing; list other values');
    if (values.length) options.naValues = [...new Set(values)];
  }
  if (given.encoding !== undefined) {
    if (typeof given.encoding !== 'string') throw new DataError(`--encoding must be a string, got ${JSON.stringify(given.encoding)}`);
    options.encoding = canonicalEncoding(given.encoding);
  }
  return options;
}

/** A stable text of the options that change what a load produces (stored with the load; '' for the defaults). */
export function readOptionsKey(options: CsvReadOptions): string {
  const { delimiter, header, columns, naValues, encoding } = options;
  const parts = { delimiter, header, columns, naValues: naValues && [...naValues].sort(), encoding };
  const defined = Object.fromEntries(Object.entries(parts).filter(([, v]) => v !== undefined));
  return Object.keys(defined).length ? JSON.stringify(defined) : '';
}
