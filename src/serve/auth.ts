/**
 * Who may call which route, checked in a global onRequest hook. Routes fall in four classes (deny by default: a route
 * not listed is admin):
 * - public: the liveness and readiness probes, always open;
 * - docs: the API documentation (/openapi.json, /docs), which lists the model's fields and categorical levels;
 * - client: predict, the served models, feedback, metrics;
 * - admin: everything else, notably the dashboard (/ui pages, /api JSON, which show stored predictions).
 *
 * Credentials: client keys (MLDEPLOY_API_KEYS) open client and docs routes; admin keys (MLDEPLOY_ADMIN_KEYS) open
 * everything. With no admin keys the server makes a random admin token at start, printed by the CLI as the dashboard
 * URL (as JupyterLab does with its token). With no key of either kind the client and docs routes are open; configure
 * any key and they need one. A browser logs in with `/ui?token=ADMIN_CREDENTIAL`, which starts a server-side session
 * (sessions.ts) held in an HttpOnly cookie; the cookie opens admin routes and reads the docs, never client routes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { InvalidInputError } from '../errors.js';

/** Shorter keys are refused: they could be guessed. */
export const MIN_API_KEY_LENGTH = 16;

/** The configured keys (Config.clientKeys and Config.adminKeys, read from the environment by loadConfig). */
export interface Keys {
  /** Open client and docs routes. */
  clientKeys: string[];
  /** Open every route, the dashboard included. */
  adminKeys: string[];
}

export type RouteClass = 'public' | 'docs' | 'client' | 'admin';

const PUBLIC_ROUTES = new Set(['/health', '/ready']);
const DOCS_ROUTES = new Set(['/openapi.json', '/docs']);
/** Exact route patterns, so that a route added later (say /models/:name/promote) is admin until listed here. */
const CLIENT_ROUTES = new Set(['/predict', '/models', '/models/:name/predict', '/feedback', '/metrics']);

/** The class of a route pattern (`request.routeOptions.url`); undefined (no route matched) is admin. */
export function routeClass(routeUrl: string | undefined): RouteClass {
  if (routeUrl === undefined) return 'admin';
  if (PUBLIC_ROUTES.has(routeUrl)) return 'public';
  if (DOCS_ROUTES.has(routeUrl) || routeUrl.startsWith('/docs/')) return 'docs';
  if (CLIENT_ROUTES.has(routeUrl)) return 'client';
  return 'admin';
}

export function isPublicRoute(routeUrl: string | undefined): boolean {
  return routeClass(routeUrl) === 'public';
}

/** A fresh admin token: 24 random bytes, URL-safe so it can go in `?token=` unescaped. */
export function newAdminToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The key a request presents in a header: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
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

/** A key's fingerprint for logs and the session list: never the key, enough to tell keys apart. */
export function keyFingerprint(key: string): string {
  return digest(`mldeploy key fingerprint\0${key}`).toString('hex').slice(0, 8);
}

export type Role = 'client' | 'admin';

/**
 * The configured credentials. Every lookup compares the presented key with every known one in constant time
 * (digests have equal length), so the time taken tells nothing about which matched.
 */
export class AccessControl {
  /** Set only when no admin keys are configured. */
  readonly adminToken: string | undefined;
  private readonly known: Array<{ digest: Buffer; role: Role; label: string }>;
  private readonly anyKey: boolean;

  constructor(keys: Partial<Keys>, adminToken?: string) {
    const clientKeys = keys.clientKeys ?? [];
    const adminKeys = keys.adminKeys ?? [];
    for (const [kind, list] of [['API', clientKeys], ['admin', adminKeys]] as const) {
      list.forEach((key, i) => {
        if (key.length < MIN_API_KEY_LENGTH) {
          throw new InvalidInputError(`${kind} key #${i + 1} is too short: use at least ${MIN_API_KEY_LENGTH} random characters`);
        }
      });
    }
    const shared = clientKeys.filter((key) => adminKeys.includes(key));
    if (shared.length > 0) throw new InvalidInputError('a key is configured both as an API (client) key and as an admin key: use distinct keys');
    this.anyKey = clientKeys.length + adminKeys.length > 0;
    this.adminToken = adminKeys.length > 0 ? undefined : (adminToken ?? newAdminToken());
    if (this.adminToken !== undefined && this.adminToken.length < MIN_API_KEY_LENGTH) {
      throw new InvalidInputError(`the admin token is too short: use at least ${MIN_API_KEY_LENGTH} random characters`);
    }
    this.known = [
      ...clientKeys.map((key) => ({ digest: digest(key), role: 'client' as const, label: `API key ${keyFingerprint(key)}` })),
      ...adminKeys.map((key) => ({ digest: digest(key), role: 'admin' as const, label: `admin key ${keyFingerprint(key)}` })),
      ...(this.adminToken === undefined ? [] : [{ digest: digest(this.adminToken), role: 'admin' as const, label: 'admin token' }]),
    ];
  }

  /** Keys are configured: client and docs routes need one. */
  get keysConfigured(): boolean {
    return this.anyKey;
  }

  /** Routes of this class take no credential. */
  isOpen(kind: RouteClass): boolean {
    return kind === 'public' || ((kind === 'client' || kind === 'docs') && !this.anyKey);
  }

  /** What a presented key opens, and how to name it in the session list; undefined for an unknown key. */
  identify(key: string): { role: Role; label: string } | undefined {
    const presented = digest(key);
    let found: { role: Role; label: string } | undefined;
    for (const candidate of this.known) if (timingSafeEqual(presented, candidate.digest)) found ??= candidate;
    return found && { role: found.role, label: found.label };
  }
}

/** Whether a credential of this role opens a route of this class. */
export function roleOpens(role: Role, kind: RouteClass): boolean {
  return role === 'admin' || kind !== 'admin';
}

/**
 * The session cookie's name. Browsers share cookies between ports of one host, so the name carries the server's port:
 * two servers on one machine do not overwrite each other's login.
 */
export function sessionCookieName(localPort: number | undefined): string {
  return localPort ? `mldeploy_session_${localPort}` : 'mldeploy_session';
}
