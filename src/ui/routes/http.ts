/** Small reply helpers shared by the API and page routes. */
import type { FastifyReply } from 'fastify';

/** Pages run no script and load nothing from elsewhere; the policy says so to the browser. */
export const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
} as const;

export function sendPage(reply: FastifyReply, markup: string, statusCode = 200) {
  return reply.code(statusCode).headers(PAGE_HEADERS).send(markup);
}
