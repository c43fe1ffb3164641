/** `mldeploy serve` (the API, on one or more processes) and `mldeploy up` (train if needed, then serve: the laptop path). */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type Config } from '../../config.js';
import { openContext, type AppContext } from '../../context.js';
import { buildDags } from '../../pipeline/dags.js';
import { startScheduler } from '../../pipeline/index.js';
import { PRODUCTION } from '../../pipeline/promotion.js';
import { serve } from '../../serve/cluster.js';
import type { AppPlugin } from '../../serve/app.js';
import { dashboardPlugin } from '../../ui/index.js';
import { writeLoanSample } from '../../data/index.js';
import { humanLogger, progressBar } from '../output.js';
import { createRunner, runDag, confFromFlags } from './runs.js';

interface ServeFlags {
  port?: string;
  host?: string;
  workers?: string;
}

function configFrom(flags: ServeFlags): Config {
  if (flags.port !== undefined) process.env.PORT = flags.port;
  if (flags.host !== undefined) process.env.MLDEPLOY_HOST = flags.host;
  return loadConfig();
}

/** The dashboard, mounted in every API process on that process's own services. */
export function dashboard(app: AppContext): AppPlugin[] {
  const dags = buildDags(app);
  return [
    {
      plugin: dashboardPlugin,
      options: {
        store: app.store,
        readArtifact: (key: string) => app.artifacts.get(key),
        listArtifacts: (prefix: string) => app.artifacts.list(prefix),
        dagShape: (dagId: string) => dags.find((d) => d.id === dagId)?.tasks,
      },
    },
  ];
}

function workersFrom(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--workers must be a whole number from 1, got "${text}"`);
  return n;
}

export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description('serve NAME@production over HTTP: POST /predict, /docs, /ui, /metrics')
    .option('--port <n>', 'port (env PORT, default 8086)')
    .option('--host <addr>', 'address to bind (env MLDEPLOY_HOST, default 127.0.0.1)')
    .option('--workers <n>', 'server processes sharing the port (default: one per core)')
    .action(async (flags: ServeFlags) => {
      const config = configFrom(flags);
      await serve({ config, logger: humanLogger(config.logLevel), workers: workersFrom(flags.workers), plugins: dashboard });
    });

  program
    .command('up')
    .description('the embedded path: if no production model exists, run `training` (on --data or a built-in sample), then serve')
    .option('--data <file>', 'CSV to train on when there is no production model (default: a generated loan sample)')
    .option('--target <column>', 'target column of --data')
    .option('--positive-label <label>', 'the target value that means 1, when not obvious')
    .option('--port <n>', 'port (env PORT, default 8086)')
    .option('--host <addr>', 'address to bind (env MLDEPLOY_HOST, default 127.0.0.1)')
    .action(async (flags: ServeFlags & { data?: string; target?: string; positiveLabel?: string }) => {
      const config = configFrom(flags);
      const logger = humanLogger(config.logLevel);
      const app = await openContext(config, logger);
      app.progress = progressBar;
      try {
        const production = await app.registry.getAlias(config.modelName, PRODUCTION);
        if (production) {
          logger.info(`${config.modelName}@${PRODUCTION} is v${production.version}: serving it`);
        } else {
          let conf;
          if (flags.data) {
            if (!flags.target) throw new Error('--target is required with --data');
            conf = confFromFlags({ data: flags.data, target: flags.target, positiveLabel: flags.positiveLabel });
          } else {
            const sample = join(config.home, 'loan_sample.csv');
            await writeLoanSample(sample, { rows: 5000, seed: 42 });
            logger.info(`no production model yet: training on a generated loan sample (${sample})`);
            conf = confFromFlags({ data: sample, target: 'Loan_Approval' });
          }
          const run = await runDag(app, 'training', conf);
          if (run.status !== 'success') throw new Error(`training failed: ${run.error} (see mldeploy runs show ${run.id} --logs)`);
        }
      } finally {
        await app.close();
      }
      // Schedules fire in this process too: `up` is the whole system in one process.
      const schedulerContext = await openContext(config, logger);
      const runner = createRunner(schedulerContext);
      const scheduler = startScheduler({ runner, store: schedulerContext.store, logger });
      try {
        await serve({ config, logger, workers: 1, plugins: dashboard });
      } finally {
        await scheduler.close();
        await runner.close();
        await schedulerContext.close();
      }
    });
}
