/**
 * Recognising a CSV file from its first bytes: binary files by their signature, then the delimiter and line break from
 * the first records (quotes respected, so a delimiter inside a quoted field does not count). Files whose columns are
 * aligned with spaces get the WHITESPACE delimiter.
 */
import { DataError } from './errors.js';
import { WHITESPACE } from './read-options.js';

/** One character, or WHITESPACE (runs of spaces and tabs). */
export type Delimiter = string;
export type Newline = '\n' | '\r\n' | '\r';

export interface CsvDialect {
  delimiter: Delimiter;
  newline: Newline;
}

/** Sniffed candidates, in order of preference when two fit equally well. */
export const DELIMITERS: readonly Delimiter[] = [',', ';', '\t', '|'];

const SIGNATURES: { bytes: number[]; kind: string; hint: string }[] = [
  { bytes: [0x1f, 0x8b], kind: 'a gzip archive', hint: 'decompress it first (gunzip)' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], kind: 'a ZIP archive or an Excel workbook', hint: 'unzip it or export it as CSV' },
  { bytes: [0x89, 0x50, 0x4e, 0x47], kind: 'a PNG image', hint: 'pass a CSV file' },
  { bytes: [0xff, 0xd8, 0xff], kind: 'a JPEG image', hint: 'pass a CSV file' },
  { bytes: [0x25, 0x50, 0x44, 0x46], kind: 'a PDF document', hint: 'pass a CSV file' },
  { bytes: [0x42, 0x5a, 0x68], kind: 'a bzip2 archive', hint: 'decompress it first (bunzip2)' },
  { bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], kind: 'an xz archive', hint: 'decompress it first (unxz)' },
  { bytes: [0x50, 0x41, 0x52, 0x31], kind: 'a Parquet file', hint: 'export it as CSV' },
  { bytes: [0xd0, 0xcf, 0x11, 0xe0], kind: 'an old Excel (.xls) workbook', hint: 'export it as CSV' },
  { bytes: [0xff, 0xfe], kind: 'UTF-16 text', hint: 'save it as UTF-8' },
  { bytes: [0xfe, 0xff], kind: 'UTF-16 text', hint: 'save it as UTF-8' },
];

/** Why these first bytes are not CSV text, or undefined when they may be. */
export function binaryReason(head: Uint8Array): string | undefined {
  for (const { bytes, kind, hint } of SIGNATURES) {
    if (head.length >= bytes.length && bytes.every((b, i) => head[i] === b)) return `it looks like ${kind}: ${hint}`;
  }
  const nul = head.indexOf(0);
  if (nul !== -1) return `it holds binary data (a NUL byte at byte ${nul}): pass a CSV text file`;
  return undefined;
}

interface SampleRecords {
  /** Per candidate delimiter, its count outside quotes in each non-blank record. */
  counts: Map<Delimiter, number[]>;
  /** Per non-blank record, its runs of spaces and tabs between other characters, outside quotes. */
  gaps: number[];
  newline: Newline | undefined;
}

/** Reads up to `max` records from the start of the text; the last one is dropped when the text was cut off. */
function sampleRecords(text: string, complete: boolean, max: number): SampleRecords {
  const counts = new Map<Delimiter, number[]>(DELIMITERS.map((d) => [d, []]));
  const current = new Map<Delimiter, number>(DELIMITERS.map((d) => [d, 0]));
  const gaps: number[] = [];
  let gap = 0;
  let inGap = false;
  let newline: Newline | undefined;
  let inQuotes = false;
  let blank = true;
  let records = 0;
  const endRecord = (): void => {
    if (!blank) {
      for (const d of DELIMITERS) counts.get(d)!.push(current.get(d)!);
      gaps.push(gap);
      records++;
    }
    for (const d of DELIMITERS) current.set(d, 0);
    blank = true;
    gap = 0;
    inGap = false;
  };
  /** A space or tab after a non-blank character opens a gap; it counts once something other than blanks follows. */
  const visible = (): void => {
    if (inGap) gap++;
    inGap = false;
    blank = false;
  };
  for (let i = 0; i < text.length && records < max; i++) {
    const ch = text[i];
    if (ch === '"') {
      if (!inQuotes) visible();
      inQuotes = !inQuotes; // an escaped quote ("") toggles twice
    } else if (inQuotes) {
      continue;
    } else if (ch === '\n' || ch === '\r') {
      const crlf = ch === '\r' && text[i + 1] === '\n';
      newline ??= crlf ? '\r\n' : ch;
      if (crlf) i++;
      endRecord();
    } else if (ch === ' ' || ch === '\t') {
      if (ch === '\t') current.set(ch, current.get(ch)! + 1);
      if (!blank) inGap = true;
    } else {
      if (current.has(ch)) current.set(ch, current.get(ch)! + 1);
      visible();
    }
  }
  if (complete && records < max) endRecord();
  return { counts, gaps, newline };
}

/** Share of the data records split into as many fields as the header (1 when there is no data record). */
function consistency(perRecord: readonly number[]): number {
  const header = perRecord[0] ?? 0;
  const data = perRecord.slice(1);
  return data.length === 0 ? 1 : data.filter((n) => n === header).length / data.length;
}

/** Space-aligned columns: a header with gaps, and nearly every record with as many. */
const WHITESPACE_CONSISTENCY = 0.9;

/**
 * The delimiter and line break of a CSV file, from its first text (`complete` when that is the whole file). The
 * delimiter is the candidate that splits the header into most fields while splitting the most data records into as
 * many fields as the header.
 */
export function sniffDialect(text: string, complete: boolean, given?: Delimiter): CsvDialect {
  const { counts, gaps, newline } = sampleRecords(text, complete, 50);
  if (given !== undefined) return { delimiter: given, newline: newline ?? '\n' };
  let best: { delimiter: Delimiter; consistency: number; fields: number } | undefined;
  for (const delimiter of DELIMITERS) {
    const perRecord = counts.get(delimiter)!;
    const header = perRecord[0] ?? 0;
    if (header === 0) continue;
    const share = consistency(perRecord);
    if (!best || share > best.consistency || (share === best.consistency && header > best.fields)) {
      best = { delimiter, consistency: share, fields: header };
    }
  }
  // Runs of spaces only when no character splits the lines better (a tab-separated file has gaps too).
  const aligned = (gaps[0] ?? 0) > 0 ? consistency(gaps) : 0;
  if (aligned >= WHITESPACE_CONSISTENCY && (!best || aligned > best.consistency)) {
    return { delimiter: WHITESPACE, newline: newline ?? '\n' };
  }
  if (!best) {
    throw new DataError(
      'no delimiter found: the header has no comma, semicolon, tab or pipe outside quotes, nor space-aligned columns ' +
        '(a data set needs at least two columns; pass --delimiter if the file uses another character)',
    );
  }
  return { delimiter: best.delimiter, newline: newline ?? '\n' };
}
