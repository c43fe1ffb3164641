/**
 * Time-ordered UUIDs (version 7, RFC 9562): 48 bits of Unix milliseconds, then random bits. Prediction rows are
 * inserted in key order, so the primary-key index grows at its end instead of splitting pages at random places
 * (about twice the insert speed on SQLite; InnoDB clusters rows by primary key), and ids sort by time.
 */
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 16 * 256;
const pool = Buffer.alloc(POOL_SIZE);
let offset = POOL_SIZE;
const bytes = Buffer.alloc(16);

export function timeOrderedUuid(now = Date.now()): string {
  // Random bytes drawn in bulk: one syscall per 256 ids.
  if (offset === POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  pool.copy(bytes, 6, offset + 6, offset + 16);
  offset += 16;
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * What a caller's request id (x-request-id or Idempotency-Key) may be: it is stored with predictions (varchar(64)) and
 * echoed in a header, so it is short and plain.
 */
export const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
