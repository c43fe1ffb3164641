/**
 * Who may call which route, checked in a global onRequest hook. Routes fall in three classes (deny by default: a
 * route not listed is admin):
 * - public: liveness/readiness probes and the API documentation, always open;
 * - client: predict, the served models, feedback, metrics: need an API key when keys are configured;
 * - admin: everything else, notably the dashboard (/ui pages, /api JSON, which show stored predictions): always need
 *   a credential. With no keys configured the server makes a random admin token at start, printed by the CLI as the
 *   dashboard URL (as JupyterLab does with its token); `/ui?token=T` turns it into an HttpOnly cookie.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Shorter keys are refused: they could be guessed. */
export const MIN_API_KEY_LENGTH = 16;

export type RouteClass = 'public' | 'client' | 'admin';

const PUBLIC_ROUTES = new Set(['/health', '/ready', '/openapi.json', '/docs']);
/** Exact route patterns, so that a route added later (say /models/:name/promote) is admin until listed here. */
const CLIENT_ROUTES = new Set(['/predict', '/models', '/models/:name/predict', '/feedback', '/metrics']);

/** The class of a route pattern (`request.routeOptions.url`); undefined (no route matched) is admin. */
export function routeClass(routeUrl: string | undefined): RouteClass {
  if (routeUrl === undefined) return 'admin';
  if (PUBLIC_ROUTES.has(routeUrl) || routeUrl.startsWith('/docs/')) return 'public';
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

/**
 * What a request presents: a key (or the admin token) in a header, or the session cookie a dashboard login set. The
 * cookie holds a digest of the credential, never the credential itself.
 */
export type Credential = { key: string } | { session: string } | undefined;

/** The session cookie's value for a credential. */
export function sessionValue(credential: string): string {
  return createHash('sha256').update(`mldeploy session\0${credential}`).digest('base64url');
}

/** Compares a presented credential with every configured key in constant time (digests have equal length). */
export class ApiKeys {
  private readonly digests: Buffer[];
  private readonly sessionDigests: Buffer[];

  constructor(keys: readonly string[]) {
    keys.forEach((key, i) => {
      if (key.length < MIN_API_KEY_LENGTH) {
        throw new Error(`API key #${i + 1} is too short: use at least ${MIN_API_KEY_LENGTH} random characters`);
      }
    });
    this.digests = keys.map(digest);
    this.sessionDigests = keys.map((key) => digest(sessionValue(key)));
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  accepts(credential: Credential): boolean {
    if (credential === undefined) return false;
    const [presented, known] =
      'key' in credential ? [digest(credential.key), this.digests] : [digest(credential.session), this.sessionDigests];
    let match = false;
    for (const candidate of known) match = timingSafeEqual(presented, candidate) || match;
    return match;
  }
}

/**
 * The session cookie's name. Browsers share cookies between ports of one host, so the name carries the server's port:
 * two servers on one machine do not overwrite each other's login.
 */
export function sessionCookieName(localPort: number | undefined): string {
  return localPort ? `mldeploy_token_${localPort}` : 'mldeploy_token';
}

/** The `set-cookie` value that logs a browser in: HttpOnly (no script reads it), SameSite=Strict (no cross-site use). */
export function sessionCookie(name: string, credential: string, secure: boolean): string {
  return `${name}=${sessionValue(credential)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** A key from a header, else the session cookie. */
export function presentedCredential(headers: IncomingHttpHeaders, cookieName: string): Credential {
  const key = presentedKey(headers);
  if (key !== undefined) return { key };
  for (const pair of (headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === cookieName) return { session: pair.slice(eq + 1).trim() };
  }
  return undefined;
}

/**
 * Configured API keys and, when there are none, the admin token. A key opens client and admin routes; the admin token
 * opens admin routes (client routes are open then).
 */
export class AccessControl {
  readonly keys: ApiKeys;
  /** Set only when no keys are configured. */
  readonly adminToken: string | undefined;
  private readonly token: ApiKeys;

  constructor(apiKeys: readonly string[], adminToken: string | undefined) {
    this.keys = new ApiKeys(apiKeys);
    this.adminToken = this.keys.enabled ? undefined : (adminToken ?? newAdminToken());
    if (this.adminToken !== undefined && this.adminToken.length < MIN_API_KEY_LENGTH) {
      throw new Error(`the admin token is too short: use at least ${MIN_API_KEY_LENGTH} random characters`);
    }
    this.token = new ApiKeys(this.adminToken === undefined ? [] : [this.adminToken]);
  }

  /** Routes of this class take no credential. */
  isOpen(kind: RouteClass): boolean {
    return kind === 'public' || (kind === 'client' && !this.keys.enabled);
  }

  allows(kind: RouteClass, credential: Credential): boolean {
    if (this.isOpen(kind)) return true;
    // Both comparisons always run: the time taken does not tell which one matched.
    const key = this.keys.accepts(credential);
    const token = this.token.accepts(credential);
    return key || token;
  }
}
