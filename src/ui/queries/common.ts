/** Shared pieces of the dashboard's read queries: paging limits, JSON columns, durations, numeric aggregates. */

/** The largest page any list returns, whatever the caller asks for. */
export const MAX_PAGE_SIZE = 500;

export interface PageRequest {
  limit: number;
  offset: number;
}

/** A page of a list, with the total so a client can page through it. */
export interface Paged<T> {
  total: number;
  limit: number;
  offset: number;
  items: T[];
}

/** The largest offset sent to the database: every driver takes it as an exact integer. */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;

/** Clamps a requested page to 1..MAX_PAGE_SIZE rows from offset 0..MAX_OFFSET (far past the end: an empty page). */
export function pageRequest(limit: number | undefined, offset: number | undefined, defaultLimit = 50): PageRequest {
  const wanted = limit === undefined || !Number.isFinite(limit) ? defaultLimit : Math.floor(limit);
  const from = offset === undefined || !Number.isFinite(offset) ? 0 : Math.floor(offset);
  return { limit: Math.min(Math.max(wanted, 1), MAX_PAGE_SIZE), offset: Math.min(Math.max(from, 0), MAX_OFFSET) };
}

/** A JSON text column as a value; a corrupt or empty column reads as null rather than failing the whole page. */
export function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Milliseconds between two ISO times, or null when either is missing or unparsable. */
export function durationMs(start: string | null, end: string | null): number | null {
  if (!start || !end) return null;
  const ms = Date.parse(end) - Date.parse(start);
  return Number.isFinite(ms) ? ms : null;
}

/** Aggregates come back as strings on some drivers (MySQL DECIMAL, PostgreSQL numeric); null stays null. */
export function numberOrNull(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

export function count(value: unknown): number {
  return numberOrNull(value) ?? 0;
}
