/**
 * The CSV reading flags (`--delimiter`, `--no-header`, `--columns`, `--na-values`, `--encoding`), the same on every
 * command that reads a CSV file, turned into the data layer's CsvReadOptions.
 */
import type { Command } from 'commander';
import { checkCsvReadOptions, type CsvReadOptions } from '../data/read-options.js';

export interface CsvFlags {
  delimiter?: string;
  /** False with --no-header (commander's negatable flag). */
  header?: boolean;
  columns?: string;
  naValues?: string;
  encoding?: string;
}

export function addCsvReadFlags(command: Command): Command {
  return command
    .option('--delimiter <char>', "field delimiter: one character, '\\t' for a tab, '\\s+' for space-aligned columns (default: sniffed)")
    .option('--no-header', 'the first line is data, not column names (name them with --columns; default c1..cN)')
    .option('--columns <names>', 'comma-separated column names of a file without a header (with --no-header)')
    .option('--na-values <list>', 'comma-separated values that mean missing, besides empty, NA, N/A, null, NaN and ?')
    .option('--encoding <name>', 'text encoding, e.g. utf-8, windows-1252, latin1, utf-16le (default: UTF-8, else Windows-1252)');
}

function list(text: string): string[] {
  return text.split(',').map((item) => item.trim());
}

/** The options the flags give (undefined when none), checked: a bad flag fails before any work starts. */
export function csvReadOptionsFromFlags(flags: CsvFlags): CsvReadOptions | undefined {
  const options = checkCsvReadOptions({
    ...(flags.delimiter !== undefined ? { delimiter: flags.delimiter } : {}),
    ...(flags.header === false ? { header: false } : {}),
    ...(flags.columns !== undefined ? { columns: list(flags.columns) } : {}),
    ...(flags.naValues !== undefined ? { naValues: list(flags.naValues) } : {}),
    ...(flags.encoding !== undefined ? { encoding: flags.encoding } : {}),
  });
  return Object.keys(options).length ? options : undefined;
}
