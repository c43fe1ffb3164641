import { pino, type Logger } from 'pino';

/** Structured JSON logs; credentials in URLs and auth headers never reach them. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'databaseUrl', 'password', '*.password'],
      censor: '***',
    },
  });
}

export type { Logger };
