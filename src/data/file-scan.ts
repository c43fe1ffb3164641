/**
 * The first, cheap pass over a file: its size and sha256 (to skip a reload of the same bytes), a check that it is text
 * and not a binary file, its encoding, and its first text for sniffing the delimiter.
 *
 * The encoding is the one given, else UTF-16 when the file starts with its byte order mark, else UTF-8 when every byte
 * sequence is valid UTF-8, else Windows-1252 (the superset of Latin-1 that Excel and most Western tools write), with a
 * note naming the first byte that is not UTF-8 so a user with another encoding knows to pass it.
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
  /** The WHATWG name of the text encoding the file is read with (utf-8, windows-1252, utf-16le...). */
  encoding: string;
  /** Why the encoding is not the UTF-8 default, when it was detected rather than given. */
  notes: string[];
}

/** The encoding a byte order mark announces (UTF-8's is dropped by its decoder). */
function bomEncoding(head: Uint8Array): string | undefined {
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return undefined;
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

export async function scanFile(file: string, givenEncoding?: string): Promise<FileScan> {
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
  let encoding = givenEncoding ?? 'utf-8';
  let decoder = new TextDecoder(encoding, { fatal: true });
  const notes: string[] = [];
  let headBytes: Buffer | undefined;
  let offset = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    if (offset === 0) {
      headBytes = chunk;
      const bom = bomEncoding(chunk);
      if (!givenEncoding && bom) {
        encoding = bom;
        decoder = new TextDecoder(encoding, { fatal: true });
      }
      // UTF-16 text is full of NUL bytes; other encodings never hold them in text.
      const reason = encoding.startsWith('utf-16') ? undefined : binaryReason(chunk);
      if (reason) throw new DataError(`${file} is not a CSV file: ${reason}`);
    }
    hash.update(chunk);
    try {
      decoder.decode(chunk, { stream: true });
    } catch {
      const at = offset + (encoding === 'utf-8' ? Math.max(0, firstInvalidUtf8(chunk)) : 0);
      const where = encoding === 'utf-8' ? `invalid byte at offset ${at}, line ${await lineAt(file, at)}` : `near offset ${at}`;
      if (givenEncoding) throw new DataError(`${file} is not ${encoding} text (${where}): check --encoding`);
      // Not UTF-8: a single-byte Western encoding decodes any byte, so the rest of the scan cannot fail.
      encoding = 'windows-1252';
      decoder = new TextDecoder(encoding);
      notes.push(
        `${file} is not UTF-8 (${where}): read as Windows-1252 (Latin-1); pass --encoding if it is another encoding`,
      );
    }
    offset += chunk.length;
  }
  try {
    decoder.decode();
  } catch {
    if (givenEncoding || encoding !== 'utf-8') throw new DataError(`${file} is not ${encoding} text (it ends inside a character)`);
    encoding = 'windows-1252';
    notes.push(`${file} is not UTF-8 (it ends inside a character): read as Windows-1252 (Latin-1); pass --encoding if it is another encoding`);
  }
  const head = headBytes ? new TextDecoder(encoding).decode(headBytes, { stream: true }) : '';
  if (head.trim() === '') throw new DataError(`${file} is empty`);
  return { size, sha256: hash.digest('hex'), head, headIsWholeFile: size <= CHUNK_BYTES, encoding, notes };
}
