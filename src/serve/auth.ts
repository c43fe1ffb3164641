/**
 * API keys. When keys are configured every route needs one (deny by default, checked in a global onRequest hook),
 * except the public allow-list: liveness/readiness probes and the API documentation.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';

/** Shorter keys are refused: they could be guessed. */
export const MIN_API_KEY_LENGTH = 16;

/**
 * Keys from MLDEPLOY_API_KEYS (comma separated) and MLDEPLOY_API_KEYS_FILE (one per line, # comments).
 * No keys means the API is open (fine on 127.0.0.1; the server warns when it listens elsewhere).
 */
export function loadApiKeys(env: NodeJS.ProcessEnv = process.env): string[] {
  const keys: string[] = [];
  if (env.MLDEPLOY_API_KEYS) keys.push(...env.MLDEPLOY_API_KEYS.split(','));
  if (env.MLDEPLOY_API_KEYS_FILE) {
    const text = readFileSync(env.MLDEPLOY_API_KEYS_FILE, 'utf8');
    keys.push(...text.split(/\r?\n/).filter((line) => !line.trim().startsWith('#')));
  }
  return [...new Set(keys.map((k) => k.trim()).filter((k) => k !== ''))];
}

/** Route patterns anyone may call: probes and documentation. */
export function isPublicRoute(routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return false;
  return (
    routeUrl === '/health' ||
    routeUrl === '/ready' ||
    routeUrl === '/openapi.json' ||
    routeUrl === '/docs' ||
    routeUrl.startsWith('/docs/')
  );
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  const header = headers['x-api-key'];
  return typeof header === 'string' && header !== '' ? header : undefined;
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** Compares a presented key with every configured key in constant time (digests have equal length). */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    keys.forEach((key, i) => {
      if (key.length < MIN_API_KEY_LENGTH) {
        throw new Error(`API key #${i + 1} is too short: use at least ${MIN_API_KEY_LENGTH} random characters`);
      }
    });
    this.digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  accepts(candidate: string | undefined): boolean {
    if (candidate === undefined) return false;
    const presented = digest(candidate);
    let match = false;
    for (const known of this.digests) match = timingSafeEqual(presented, known) || match;
    return match;
  }
}
