/**
 * Batch scoring: a CSV file in, a CSV file of predictions out, streamed in constant memory. Each cell is read as the
 * API reads the same value in JSON (the model's own feature types), so a row scores here exactly as it does at
 * POST /predict. Rows that break the model's contract go to a rejects file with the reason; the output appears under
 * its name only when the whole input was read (written to a temporary file, then renamed).
 */
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { normaliseHeader, resolveColumn } from '../data/columns.js';
import { formatRecord, readCsv } from '../data/csv-read.js';
import { binaryReason, sniffDialect, type CsvDialect } from '../data/csv-sniff.js';
import { DataError } from '../data/errors.js';
import { InvalidInputError } from '../errors.js';
import { booleanValue, isExactInteger, isMissing, parseNumber } from '../data/values.js';
import type { TabularColumns } from '../ml/preprocessing.js';
import type { TabularModel } from '../ml/tabular-model.js';
import type { FeatureSpec } from '../ml/types.js';
import { rowIdFields } from './row-contract.js';

export interface ScoreFileOptions {
  model: TabularModel;
  /** Written into every output row. */
  modelName: string;
  modelVersion: number;
  input: string;
  output: string;
  /** Where rejected rows go; default `<output>.rejects.csv`. Written only when a row is rejected. */
  rejects?: string;
  /** The input column copied to the output to identify each row; default the model's row-id column if the file has it. */
  idColumn?: string;
  /** Called as the input is read (bytes read, file size, rows scored so far). */
  onProgress?: (bytesRead: number, totalBytes: number, rows: number) => void;
}

export interface ScoreFileResult {
  rows: number;
  rejected: number;
  output: string;
  rejects: string | null;
  /** The input column written first in the output, or null when rows are identified by their line. */
  idColumn: string | null;
}

/** Rows scored together: large enough that per-call costs vanish, small enough to keep memory flat. */
const SCORE_ROWS = 8192;
const HEAD_BYTES = 1 << 20;

interface FeatureReader {
  spec: FeatureSpec;
  /** Index of the feature's column in the input. */
  index: number;
}

export async function scoreCsvFile(options: ScoreFileOptions): Promise<ScoreFileResult> {
  const { model } = options;
  if (model.task !== 'binary') throw new InvalidInputError(`batch scoring covers binary models for now; this one is ${model.task}`);
  const size = await fileSize(options.input);
  const dialect = await sniffInput(options.input, size);
  const rejectsPath = options.rejects ?? `${options.output}.rejects.csv`;
  const tempOutput = join(dirname(options.output), `.${basename(options.output)}.${process.pid}.tmp`);
  const tempRejects = join(dirname(rejectsPath), `.${basename(rejectsPath)}.${process.pid}.tmp`);

  const out = createWriteStream(tempOutput);
  let rejectsOut: WriteStream | undefined;
  let rows = 0;
  let rejected = 0;
  let idColumn: string | null = null;
  try {
    let readers: FeatureReader[] | undefined;
    let idIndex = -1;
    let width = 0;
    const pending = new PendingRows(model.signature.features);

    const flush = async (): Promise<void> => {
      if (pending.count === 0) return;
      rows += pending.count;
      await write(out, pending.take(model, options.modelVersion));
    };
    const reject = async (line: number, reason: string, record: readonly string[]): Promise<void> => {
      rejected++;
      if (!rejectsOut) {
        rejectsOut = createWriteStream(tempRejects);
        await write(rejectsOut, 'line,reason,record\n');
      }
      await write(rejectsOut, `${line},${csvCell(reason)},${csvCell(formatRecord(record, dialect.delimiter))}\n`);
    };

    for await (const batch of readCsv(options.input, dialect)) {
      for (let r = 0; r < batch.records.length; r++) {
        const record = batch.records[r];
        const line = batch.lines[r];
        if (!readers) {
          const header = normaliseHeader(record);
          width = header.length;
          readers = model.signature.features.map((spec) => ({ spec, index: header.indexOf(findColumn(header, spec.name)) }));
          const id = options.idColumn ?? rowIdFields(model.signature).find((name) => tryColumn(header, name));
          if (id !== undefined) {
            const column = findColumn(header, id, '--id-column');
            idIndex = header.indexOf(column);
            idColumn = column.original.trim() || column.name;
          }
          await write(out, `${csvCell(idColumn ?? 'line')},prediction,label,probability,model_version\n`);
          continue;
        }
        const malformed = batch.malformed.get(r);
        if (malformed) {
          await reject(line, malformed, record);
          continue;
        }
        if (record.length !== width) {
          await reject(line, `has ${record.length} fields, the header has ${width}`, record);
          continue;
        }
        const problem = pending.add(readers, record, idIndex >= 0 ? record[idIndex].trim() : String(line));
        if (problem) await reject(line, problem, record);
        if (pending.count >= SCORE_ROWS) await flush();
      }
      options.onProgress?.(batch.bytesRead, size, rows + pending.count);
    }
    if (!readers) throw new DataError(`${options.input} is empty: it has no header line`);
    await flush();
    await close(out);
    if (rejectsOut) await close(rejectsOut);
    await rename(tempOutput, options.output);
    if (rejectsOut) await rename(tempRejects, rejectsPath);
    else await rm(rejectsPath, { force: true }); // a rejects file from an earlier run would describe another output
    return { rows, rejected, output: options.output, rejects: rejectsOut ? rejectsPath : null, idColumn };
  } catch (error) {
    out.destroy();
    rejectsOut?.destroy();
    await rm(tempOutput, { force: true });
    await rm(tempRejects, { force: true });
    throw error;
  }
}

/** Rows read and checked, waiting to be scored together, column by column in arrays reused from batch to batch. */
class PendingRows {
  count = 0;
  private readonly ids: string[] = new Array(SCORE_ROWS);
  private readonly numeric: Float64Array[];
  private readonly text: (string | null)[][];
  private readonly columns: TabularColumns = {};

  constructor(private readonly features: FeatureSpec[]) {
    this.numeric = features.map((f) => new Float64Array(f.type === 'categorical' ? 0 : SCORE_ROWS));
    this.text = features.map((f) => (f.type === 'categorical' ? new Array<string | null>(SCORE_ROWS) : []));
  }

  /** Reads one record's features; returns why it cannot be scored, or undefined once it is queued. */
  add(readers: FeatureReader[], record: readonly string[], id: string): string | undefined {
    const i = this.count;
    for (let j = 0; j < readers.length; j++) {
      const { spec, index } = readers[j];
      const value = readCell(spec, record[index].trim());
      if (typeof value === 'object' && value !== null) return `${spec.name}: ${value.problem}`;
      if (spec.type === 'categorical') this.text[j][i] = value as string | null;
      else this.numeric[j][i] = value === null ? NaN : (value as number);
    }
    this.ids[i] = id;
    this.count++;
    return undefined;
  }

  /** The output lines of the queued rows; empties the queue. */
  take(model: TabularModel, version: number): string {
    const n = this.count;
    this.features.forEach((f, j) => {
      this.columns[f.name] = f.type === 'categorical' ? this.text[j].slice(0, n) : this.numeric[j].subarray(0, n);
    });
    const { probability, prediction } = model.predictColumns(this.columns);
    const positiveLabel = model.signature.target.positiveLabel ?? '1';
    const labels = [csvCell(model.signature.target.negativeLabel ?? `not ${positiveLabel}`), csvCell(positiveLabel)];
    const suffix = `,${version}\n`;
    const lines = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const p = prediction[i];
      lines[i] = `${csvCell(this.ids[i])},${p},${labels[p]},${probability[i]}${suffix}`;
    }
    this.count = 0;
    return lines.join('');
  }
}

/**
 * A cell as the value /predict would receive for this feature, or why it cannot be one. Missing markers are null;
 * numbers must be decimal numbers (integers for integer features); booleans true/false or 1/0; categories any text.
 */
function readCell(spec: FeatureSpec, cell: string): number | string | null | { problem: string } {
  if (isMissing(cell)) return spec.nullable ? null : { problem: 'is required (the model was trained without missing values here)' };
  switch (spec.type) {
    case 'categorical':
      return cell;
    case 'boolean': {
      const value = booleanValue(cell) ?? (cell === '1' ? 1 : cell === '0' ? 0 : undefined);
      return value ?? { problem: `"${cell}" is not true, false, 1 or 0` };
    }
    case 'integer': {
      const n = parseNumber(cell);
      if (Number.isNaN(n)) return { problem: `"${cell}" is not a number` };
      return isExactInteger(n) ? n : { problem: `"${cell}" is not an integer` };
    }
    case 'float': {
      const n = parseNumber(cell);
      return Number.isNaN(n) ? { problem: `"${cell}" is not a number` } : n;
    }
  }
}

function tryColumn(header: ReturnType<typeof normaliseHeader>, name: string) {
  try {
    return resolveColumn(header, name);
  } catch {
    return undefined;
  }
}

function findColumn(header: ReturnType<typeof normaliseHeader>, name: string, option?: string) {
  const found = tryColumn(header, name);
  if (found) return found;
  const what = option ? `${option} column "${name}"` : `the model's feature "${name}"`;
  throw new DataError(`${what} is not in the file; its columns are: ${header.map((c) => c.original.trim() || c.name).join(', ')}`);
}

/** A CSV cell, quoted when it must be. */
function csvCell(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function write(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

async function close(stream: WriteStream): Promise<void> {
  await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new DataError(`${file} is not a file`);
    return info.size;
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
}

async function sniffInput(file: string, size: number): Promise<CsvDialect> {
  if (size === 0) throw new DataError(`${file} is empty: it has no header line`);
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const bytes = head.subarray(0, bytesRead);
    const binary = binaryReason(bytes);
    if (binary) throw new DataError(`${file} is not a CSV file: ${binary}`);
    return sniffDialect(new TextDecoder('utf-8').decode(bytes), bytesRead === size);
  } finally {
    await handle.close();
  }
}
