/**
 * The first, cheap pass over a file: its size and sha256 (to skip a reload of the same bytes), a check that it is UTF-8
 * text and not a binary file, and its first text for sniffing the delimiter.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { binaryReason } from './csv-sniff.js';
import { DataError } from './errors.js';

/** Bytes per read; also the amount of text the delimiter is sniffed from. */
export const CHUNK_BYTES = 1 << 20;

export interface FileScan {
  size: number;
  sha256: string;
  /** The first CHUNK_BYTES decoded (BOM removed), for sniffing. */
  head: string;
  /** True when `head` is the whole file. */
  headIsWholeFile: boolean;
}

/** Offset of the first byte that breaks UTF-8 in `bytes`, ignoring a sequence cut off at the end. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const len = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (len === 0) return i;
    if (i + len > bytes.length) return -1;
    for (let k = 1; k < len; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += len;
  }
  return -1;
}

async function lineAt(file: string, offset: number): Promise<number> {
  let line = 1;
  if (offset === 0) return line;
  for await (const chunk of createReadStream(file, { end: offset - 1 }) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) line++;
  }
  return line;
}

export async function scanFile(file: string): Promise<FileScan> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new DataError(`${file} is not a file`);
    size = info.size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DataError(`file not found: ${file}`);
    throw error;
  }
  const hash = createHash('sha256');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let head: string | undefined;
  let offset = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    if (offset === 0) {
      const reason = binaryReason(chunk);
      if (reason) throw new DataError(`${file} is not a CSV file: ${reason}`);
    }
    hash.update(chunk);
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      const at = offset + Math.max(0, firstInvalidUtf8(chunk));
      throw new DataError(
        `${file} is not UTF-8 text (invalid byte at offset ${at}, line ${await lineAt(file, at)}): save it as UTF-8`,
      );
    }
    head ??= text;
    offset += chunk.length;
  }
  try {
    decoder.decode();
  } catch {
    throw new DataError(`${file} is not UTF-8 text (it ends inside a character): save it as UTF-8`);
  }
  head ??= '';
  if (head.trim() === '') throw new DataError(`${file} is empty`);
  return { size, sha256: hash.digest('hex'), head, headIsWholeFile: size <= CHUNK_BYTES };
}
