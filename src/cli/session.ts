/** The configuration of one CLI command, and the services it opens and closes after, whatever happens. */
import { InvalidInputError } from '../errors.js';
import { loadConfig, type Config, type ConfigFlags } from '../config.js';
import type { AppContext } from '../context.js';
import { humanLogger, progressBar } from './output.js';

let globalFlags: ConfigFlags = {};

/** Called once the command line is parsed, with the global flags (--home, --database-url, ...). */
export function setGlobalFlags(flags: ConfigFlags): void {
  globalFlags = Object.fromEntries(Object.entries(flags).filter(([, value]) => value !== undefined));
}

/** The environment and the flags (the command's own, e.g. --port, over the global ones), validated. */
export function cliConfig(commandFlags: ConfigFlags = {}): Config {
  const flags = { ...globalFlags, ...Object.fromEntries(Object.entries(commandFlags).filter(([, value]) => value !== undefined)) };
  return loadConfig(process.env, flags);
}

/** The services with human log lines and progress bars, for a command that runs until stopped. */
export async function openCliContext(): Promise<AppContext> {
  const config = cliConfig();
  // Loaded when a command runs, not when the CLI starts: `--help` and `--version` need no database layer.
  const { openContext } = await import('../context.js');
  const app = await openContext(config, humanLogger(config.logLevel));
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
