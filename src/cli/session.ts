/** Opens the services for one CLI command and closes them after, whatever happens. */
import { InvalidInputError } from '../errors.js';
import { loadConfig } from '../config.js';
import type { AppContext } from '../context.js';
import { humanLogger, progressBar } from './output.js';

/** The services with human log lines and progress bars, for a command that runs until stopped. */
export async function openCliContext(): Promise<AppContext> {
  // Loaded when a command runs, not when the CLI starts: `--help` and `--version` need no database layer.
  const { openContext } = await import('../context.js');
  const app = await openContext(loadConfig(), humanLogger());
  app.progress = progressBar;
  return app;
}

export async function withContext<T>(work: (app: AppContext) => Promise<T>): Promise<T> {
  const app = await openCliContext();
  try {
    return await work(app);
  } finally {
    await app.close();
  }
}

export function parseVersion(text: string): number {
  const version = Number(text);
  if (!Number.isInteger(version) || version < 1) throw new InvalidInputError(`Invalid version "${text}": expected 1, 2, ...`);
  return version;
}
