#!/usr/bin/env node
/** The `mldeploy` command line. Each command opens the services from env (MLDEPLOY_*) and flags, does one thing, exits. */
import { Command, CommanderError } from 'commander';
import { ConflictError, InvalidInputError, MldeployError, NotFoundError, TimeoutError, UnavailableError } from '../errors.js';
import { registerModelCommands } from './commands/models.js';
import { registerRunCommands } from './commands/runs.js';
import { registerMonitorCommands } from './commands/monitor.js';
import { registerServeCommands } from './commands/serve.js';
import { registerDataCommands } from './commands/data.js';
import { registerPredictCommand } from './commands/predict.js';
import { setGlobalFlags } from './session.js';
import { registerSessionCommands } from './commands/sessions.js';

const program = new Command()
  .name('mldeploy')
  .description('From a CSV file to a production REST endpoint, and keep it there.')
  .version('0.1.0')
  .option('--home <dir>', 'state folder for the embedded defaults (env MLDEPLOY_HOME, default ./.mldeploy)')
  .option('--database-url <url>', 'sqlite:<file>, postgres://... or mysql://... (env MLDEPLOY_DATABASE_URL)')
  .option('--artifacts-url <url>', 'file:<dir> or s3://bucket/prefix (env MLDEPLOY_ARTIFACTS_URL)')
  .option('--queue-url <url>', 'redis://... to run tasks on BullMQ workers (env MLDEPLOY_QUEUE_URL)')
  .showHelpAfterError()
  // Usage errors throw (inherited by the subcommands) so that they exit through exitCodeOf below.
  .exitOverride();

// The global flags join the environment in the one configuration object each command loads (session.ts).
program.hook('preAction', () => {
  const { home, databaseUrl, artifactsUrl, queueUrl } = program.opts<Record<string, string | undefined>>();
  setGlobalFlags({ home, databaseUrl, artifactsUrl, queueUrl });
});

registerServeCommands(program);
registerRunCommands(program);
registerMonitorCommands(program);
registerModelCommands(program);
registerDataCommands(program);
registerPredictCommand(program);
registerSessionCommands(program);

// Output piped into a reader that quit early (`mldeploy runs list | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/**
 * The exit code of each category of error (src/errors.ts), the one place errors become exit codes; README lists them.
 * Anything else (a failed run, a bug) exits 1. A subclass is listed before its parent.
 */
const EXIT_CODES: Array<[abstract new (...args: never[]) => MldeployError, number]> = [
  [InvalidInputError, 2],
  [NotFoundError, 3],
  [ConflictError, 4],
  [UnavailableError, 5],
  [TimeoutError, 5],
];

function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
  return EXIT_CODES.find(([type]) => error instanceof type)?.[1] ?? 1;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  // Commander has printed its own message (usage errors) or the help.
  if (!(error instanceof CommanderError)) {
    process.stderr.write(`mldeploy: ${(error as Error).message ?? String(error)}\n`);
    // A bug or an unexpected failure gets its stack on request; the user's own mistakes never do.
    if (process.env.MLDEPLOY_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  }
  process.exit(exitCodeOf(error));
});
