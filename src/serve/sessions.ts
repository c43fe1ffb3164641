/**
 * Dashboard sessions, stored in the database so every server process and host shares them: a login (`/ui?token=`
 * with an admin credential) makes a random session id, sent to the browser in an HttpOnly cookie; only its SHA-256
 * is stored. A session ends at a fixed time after the login (absolute expiry: activity does not extend it, so a
 * stolen cookie is worth a bounded time), at logout, or when revoked (`mldeploy sessions revoke`).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { InvalidInputError, NotFoundError } from '../errors.js';

/** Default session lifetime: a working day. */
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export interface SessionInfo {
  /** The first 16 hex digits of the stored hash: enough to name a session, useless to forge one. */
  id: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  /** Which credential logged in: 'admin token' or 'admin key ' + the key's fingerprint. */
  createdBy: string;
  active: boolean;
}

/** The stored form of a session id. */
export function sessionHash(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex');
}

export class SessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs = DEFAULT_SESSION_TTL_MS,
  ) {
    if (!(ttlMs > 0)) throw new Error(`the session lifetime must be positive, got ${ttlMs} ms`);
  }

  /** A new session; returns the id for the cookie (never stored) and its expiry. */
  async create(createdBy: string, now = new Date()): Promise<{ sessionId: string; expiresAt: Date }> {
    const sessionId = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await this.db
      .insertInto('sessions')
      .values({
        id_hash: sessionHash(sessionId),
        created_at: now.toISOString(),
        expires_at: expiresAt.toISOString(),
        revoked_at: null,
        created_by: createdBy,
      })
      .execute();
    return { sessionId, expiresAt };
  }

  /** Whether a presented session id is a live session (exists, not expired, not revoked). */
  async isActive(sessionId: string, now = new Date()): Promise<boolean> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return false;
    const row = await this.db
      .selectFrom('sessions')
      .select(['expires_at', 'revoked_at'])
      .where('id_hash', '=', sessionHash(sessionId))
      .executeTakeFirst();
    return row !== undefined && row.revoked_at === null && row.expires_at > now.toISOString();
  }

  /** Ends the session with this id (logout). */
  async revokeSession(sessionId: string, now = new Date()): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: now.toISOString() })
      .where('id_hash', '=', sessionHash(sessionId))
      .where('revoked_at', 'is', null)
      .execute();
  }

  /**
   * Revokes the live sessions whose listed id starts with `prefix` (at least 8 hex digits; it must name one session),
   * or every live session with `all`. Returns how many were revoked.
   */
  async revoke(target: { prefix: string } | { all: true }, now = new Date()): Promise<number> {
    let query = this.db
      .updateTable('sessions')
      .set({ revoked_at: now.toISOString() })
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now.toISOString());
    if ('prefix' in target) {
      const prefix = target.prefix.toLowerCase();
      if (!/^[0-9a-f]{8,64}$/.test(prefix)) throw new InvalidInputError(`"${target.prefix}" is not a session id (8 or more hex digits, see: mldeploy sessions list)`);
      const matches = await this.db.selectFrom('sessions').select('id_hash').where('id_hash', 'like', `${prefix}%`).execute();
      if (matches.length === 0) {
        throw new NotFoundError('session', target.prefix, { message: `no session ${target.prefix} (see: mldeploy sessions list)` });
      }
      if (matches.length > 1) throw new InvalidInputError(`${target.prefix} names ${matches.length} sessions: give more digits`);
      query = query.where('id_hash', '=', matches[0].id_hash);
    }
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Sessions, newest first; expired and revoked ones only with `all`. */
  async list(options: { all?: boolean } = {}, now = new Date()): Promise<SessionInfo[]> {
    let query = this.db.selectFrom('sessions').selectAll().orderBy('created_at', 'desc');
    if (!options.all) query = query.where('revoked_at', 'is', null).where('expires_at', '>', now.toISOString());
    const rows = await query.execute();
    return rows.map((row) => ({
      id: row.id_hash.slice(0, 16),
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      createdBy: row.created_by,
      active: row.revoked_at === null && row.expires_at > now.toISOString(),
    }));
  }

  /** Deletes sessions that ended more than a day ago, so the table stays small. */
  async prune(now = new Date()): Promise<void> {
    const dayAgo = new Date(now.getTime() - 24 * 60 * 60 * 1000).toISOString();
    await this.db.deleteFrom('sessions').where('expires_at', '<', dayAgo).execute();
  }
}
