#!/usr/bin/env node
/** The `mldeploy` command line. Each command opens the services from env (MLDEPLOY_*) and flags, does one thing, exits. */
import { Command, CommanderError } from 'commander';
import { registerModelCommands } from './commands/models.js';
import { registerRunCommands } from './commands/runs.js';
import { registerServeCommands } from './commands/serve.js';
import { registerDataCommands } from './commands/data.js';
import { setGlobalFlags } from './session.js';

const program = new Command()
  .name('mldeploy')
  .description('From a CSV file to a production REST endpoint, and keep it there.')
  .version('0.1.0')
  .option('--home <dir>', 'state folder for the embedded defaults (env MLDEPLOY_HOME, default ./.mldeploy)')
  .option('--database-url <url>', 'sqlite:<file>, postgres://... or mysql://... (env MLDEPLOY_DATABASE_URL)')
  .option('--artifacts-url <url>', 'file:<dir> or s3://bucket/prefix (env MLDEPLOY_ARTIFACTS_URL)')
  .option('--queue-url <url>', 'redis://... to run tasks on BullMQ workers (env MLDEPLOY_QUEUE_URL)')
  .showHelpAfterError();

// The global flags join the environment in the one configuration object each command loads (session.ts).
program.hook('preAction', () => {
  const { home, databaseUrl, artifactsUrl, queueUrl } = program.opts<Record<string, string | undefined>>();
  setGlobalFlags({ home, databaseUrl, artifactsUrl, queueUrl });
});

registerServeCommands(program);
registerRunCommands(program);
registerModelCommands(program);
registerDataCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) process.exit(error.exitCode);
  process.stderr.write(`mldeploy: ${(error as Error).message ?? String(error)}\n`);
  if (process.env.MLDEPLOY_DEBUG) process.stderr.write(`${(error as Error).stack}\n`);
  process.exit(1);
});
