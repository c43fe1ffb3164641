/** `mldeploy serve` (the API, on one or more processes) and `mldeploy up` (train if needed, then serve: the laptop path). */
import { InvalidInputError } from '../../errors.js';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config.js';
import type { AppContext } from '../../context.js';
import type { AppPlugin } from '../../serve/app.js';
import { addCsvReadFlags, type CsvFlags } from '../csv-flags.js';
import { humanLogger, progressBar } from '../output.js';
import { cliConfig } from '../session.js';
import { PRODUCTION_ALIAS } from '../../tracking/aliases.js';
import { createRunner, runDag, confFromFlags } from './runs.js';

interface ServeFlags {
  port?: string;
  host?: string;
  workers?: string;
}

function configFrom(flags: ServeFlags): Config {
  return cliConfig({ port: flags.port, host: flags.host });
}

/** The API server with the dashboard, mounted in every API process on that process's own services. */
async function loadServer() {
  // The server stack (Fastify, the dashboard, the DAGs they show) loads only for `serve` and `up`.
  const [{ serve }, { buildDags }, { dashboardPlugin }, { monitoringPlugin }] = await Promise.all([
    import('../../serve/cluster.js'),
    import('../../pipeline/dags.js'),
    import('../../ui/index.js'),
    import('../../monitor/plugin.js'),
  ]);
  const dashboard = (app: AppContext): AppPlugin[] => {
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
      { plugin: monitoringPlugin, options: { store: app.store, artifacts: app.artifacts, registry: app.registry } },
    ];
  };
  return { serve, dashboard };
}

/**
 * The dashboard URL, on stdout and never in the logs (they go to aggregators): with no admin keys it carries the admin
 * token the server made, which the dashboard turns into a session cookie and removes from the address bar.
 */
function printDashboardUrl(url: string, adminToken: string | undefined): void {
  if (adminToken !== undefined) {
    process.stdout.write(`dashboard: ${url}/ui?token=${adminToken}\n`);
  } else {
    process.stdout.write(`dashboard: ${url}/ui (needs an admin key: open ${url}/ui?token=YOUR_ADMIN_KEY once)\n`);
  }
}

function workersFrom(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`--workers must be a whole number from 1, got "${text}"`);
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
      const workers = workersFrom(flags.workers);
      const { serve, dashboard } = await loadServer();
      await serve({ config, logger: humanLogger(config.logLevel), workers, plugins: dashboard, onListening: printDashboardUrl });
    });

  const up = program
    .command('up')
    .description('the embedded path: if no production model exists, run `training` (on --data or a built-in sample), then serve')
    .option('--data <file>', 'CSV to train on when there is no production model (default: a generated loan sample)')
    .option('--target <column>', 'target column of --data')
    .option('--positive-label <label>', 'the target value that means 1, when not obvious')
    .option('--port <n>', 'port (env PORT, default 8086)')
    .option('--host <addr>', 'address to bind (env MLDEPLOY_HOST, default 127.0.0.1)');
  addCsvReadFlags(up).action(async (flags: ServeFlags & CsvFlags & { data?: string; target?: string; positiveLabel?: string }) => {
      const config = configFrom(flags);
      const logger = humanLogger(config.logLevel);
      const [{ openContext }, { startScheduler }, { serve, dashboard }] = await Promise.all([
        import('../../context.js'),
        import('../../pipeline/scheduler.js'),
        loadServer(),
      ]);
      const app = await openContext(config, logger);
      app.progress = progressBar;
      try {
        const production = await app.registry.getAlias(config.modelName, PRODUCTION_ALIAS);
        if (production) {
          logger.info(
            `${config.modelName}@${PRODUCTION_ALIAS} is v${production.version}: serving it` +
              (flags.data
                ? ` (--data ${flags.data} is not trained on: a production model exists; ` +
                  `to train on it run \`mldeploy run training --data ${flags.data} --target COLUMN\`)`
                : ''),
          );
        } else {
          let conf;
          if (flags.data) {
            if (!flags.target) throw new InvalidInputError('--target is required with --data');
            const { delimiter, header, columns, naValues, encoding } = flags;
            conf = confFromFlags({ data: flags.data, target: flags.target, positiveLabel: flags.positiveLabel, delimiter, header, columns, naValues, encoding });
          } else {
            const { writeLoanSample } = await import('../../data/sample.js');
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
      // Schedules fire, and runs whose process died are recovered, in this process too: `up` is the whole system.
      const schedulerContext = await openContext(config, logger);
      const runner = await createRunner(schedulerContext);
      const scheduler = startScheduler({ runner, store: schedulerContext.store, logger });
      try {
        await serve({ config, logger, workers: 1, plugins: dashboard, onListening: printDashboardUrl });
      } finally {
        await scheduler.close();
        await runner.close();
        await schedulerContext.close();
      }
    });
}
