import { pino, type DestinationStream, type Logger } from 'pino';

/** Structured JSON logs (to stdout unless `destination` is given); credentials in URLs and auth headers never reach them. */
export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'databaseUrl', 'password', '*.password'],
      censor: '***',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
