/** Workflow commands: run a DAG, look at run history and task logs, retry, schedule, and start workers. */
import { InvalidInputError, NotFoundError } from '../../errors.js';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import type { Command } from 'commander';
import type { AppContext } from '../../context.js';
import { DAG_IDS, checkConf, type TrainingConf } from '../../pipeline/workflows.js';
import { ESTIMATOR_NAMES } from '../../ml/estimator-names.js';
import type { Executor } from '../../pipeline/executors/executor.js';
import type { PipelineRunner } from '../../pipeline/runner.js';
import { addCsvReadFlags, csvReadOptionsFromFlags, type CsvFlags } from '../csv-flags.js';
import { printTable } from '../output.js';
import { cliConfig, openCliContext, withContext } from '../session.js';

// The workflow modules (DAGs, ML, queue, cron) load inside the actions that use them, so every command starts fast.
const dagsModule = () => import('../../pipeline/dags.js');
const schedulerModule = () => import('../../pipeline/scheduler.js');


/** In process unless a queue URL is set: BullMQ and its Redis client load only for a queue. */
async function executorFor(config: AppContext['config']): Promise<Executor> {
  if (!config.queueUrl) return new (await import('../../pipeline/executors/in-process.js')).InProcessExecutor();
  return (await import('../../pipeline/executors/index.js')).createExecutor(config.queueUrl, { prefix: config.queuePrefix });
}

export async function createRunner(app: AppContext): Promise<PipelineRunner> {
  const [{ PipelineRunner }, { buildDags }, executor] = await Promise.all([
    import('../../pipeline/runner.js'),
    dagsModule(),
    executorFor(app.config),
  ]);
  return new PipelineRunner({ store: app.store, dags: buildDags(app), executor, logger: app.logger });
}

/** A runner for one command, closed after it (a queue executor holds Redis connections that keep the process up). */
async function withRunner<T>(app: AppContext, work: (runner: PipelineRunner) => Promise<T>): Promise<T> {
  const runner = await createRunner(app);
  try {
    return await work(runner);
  } finally {
    await runner.close();
  }
}

interface RunFlags extends CsvFlags {
  data?: string;
  dataset?: string;
  target?: string;
  positiveLabel?: string;
  task?: string;
  seed?: string;
  force?: boolean;
  modelName?: string;
  experiment?: string;
  estimators?: string;
  threshold?: 'fixed' | 'f1';
  searchTrials?: string;
  searchFolds?: string;
  searchSeed?: string;
  json?: boolean;
}

/** A whole number from a flag, or an error naming the flag. */
function integerFlag(flag: string, raw: string, min: number): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min) throw new InvalidInputError(`${flag} must be an integer >= ${min}, got "${raw}"`);
  return value;
}

function searchFromFlags(flags: RunFlags): TrainingConf['search'] {
  if (flags.searchTrials === undefined) {
    if (flags.searchFolds !== undefined) throw new InvalidInputError('--search-folds needs --search-trials');
    if (flags.searchSeed !== undefined) throw new InvalidInputError('--search-seed needs --search-trials');
    return undefined;
  }
  return {
    trials: integerFlag('--search-trials', flags.searchTrials, 1),
    folds: flags.searchFolds === undefined ? 5 : integerFlag('--search-folds', flags.searchFolds, 2),
    ...(flags.searchSeed === undefined ? {} : { seed: integerFlag('--search-seed', flags.searchSeed, 0) }),
  };
}

export function confFromFlags(flags: RunFlags): TrainingConf {
  const conf: TrainingConf = {
    data: flags.data,
    dataset: flags.dataset,
    target: flags.target,
    positiveLabel: flags.positiveLabel,
    task: flags.task as TrainingConf['task'],
    force: flags.force,
    modelName: flags.modelName,
    experiment: flags.experiment,
    threshold: flags.threshold,
    search: searchFromFlags(flags),
    csv: csvReadOptionsFromFlags(flags),
  };
  if (flags.seed !== undefined) {
    conf.seed = Number(flags.seed);
    if (!Number.isInteger(conf.seed)) throw new InvalidInputError(`--seed must be an integer, got "${flags.seed}"`);
  }
  if (flags.estimators) {
    const names = flags.estimators.split(',').map((s) => s.trim());
    for (const n of names) {
      if (!(ESTIMATOR_NAMES as readonly string[]).includes(n)) {
        throw new InvalidInputError(`--estimators: unknown "${n}" (${ESTIMATOR_NAMES.join(', ')})`);
      }
    }
    conf.estimators = names as TrainingConf['estimators'];
  }
  return Object.fromEntries(Object.entries(conf).filter(([, v]) => v !== undefined)) as TrainingConf;
}

function addRunFlags(command: Command): Command {
  return addCsvReadFlags(command)
    .option('--data <file>', 'CSV file to load')
    .option('--dataset <name>', 'dataset name (default: from the file name)')
    .option('--target <column>', 'target column, as written in the file or in snake_case')
    .option('--positive-label <label>', 'the target value that means 1 (needed unless obvious: 0/1, yes/no, true/false)')
    .option('--task <task>', 'binary, multiclass or regression (default: detected from the target)')
    .option('--seed <n>', 'seed of the train/val/test split and the models (default 1337)')
    .option('--force', 'reload the file even if the same bytes were loaded before')
    .option('--model-name <name>', 'registered model name (default clients_model, env MLDEPLOY_MODEL_NAME)')
    .option('--experiment <name>', 'experiment to track the runs in (default: the model name)')
    .option('--estimators <list>', `comma-separated candidates (default ${ESTIMATOR_NAMES.join(',')})`)
    .option('--threshold <rule>', "decision threshold: 'fixed' (0.5) or 'f1' (best F1 on validation)")
    .option('--search-trials <n>', 'tune gradient boosting: n random trials scored by k-fold CV ROC AUC on the train split')
    .option('--search-folds <k>', 'folds of the search (default 5)')
    .option('--search-seed <n>', 'seed of the search draws and folds (default: --seed)');
}

/** Triggers a DAG run and waits for it; returns the run detail. Throws with the task's error when it fails. */
export async function runDag(app: AppContext, dagId: string, conf: TrainingConf) {
  checkConf(dagId, conf);
  return withRunner(app, (runner) =>
    driveRun(runner, async () => {
      const runId = await runner.trigger(dagId, conf as Record<string, unknown>);
      app.logger.info(`dag run ${runId} (${dagId}) started`);
      return runId;
    }),
  );
}

/** How often a waiting command checks that some queue worker is alive to take its tasks. */
const WORKER_CHECK_MS = 5000;

/**
 * Says on stderr when the run waits for a queue worker and none is alive (and again if that changes), so a run
 * queued with no worker does not wait without a word. Returns the function that stops watching.
 */
function watchForWorkers(runner: PipelineRunner, runId: string): () => void {
  let said: string | undefined;
  const check = async () => {
    const note = (await runner.waitingForWorkers([runId])).get(runId);
    if (note !== undefined && note !== said) process.stderr.write(`mldeploy: dag run ${runId} is ${note}\n`);
    if (note === undefined && said !== undefined) process.stderr.write(`mldeploy: a worker is alive again\n`);
    said = note;
  };
  const timer = setInterval(() => void check().catch(() => undefined), WORKER_CHECK_MS);
  return () => clearInterval(timer);
}

/**
 * Starts (or resumes) a run and waits for it. SIGINT or SIGTERM meanwhile fails the run's unfinished tasks
 * ("Interrupted by SIGINT") and exits 130 or 143, so `runs retry` can resume it at once instead of finding it
 * "running" until recovery gives up on it. A second signal exits without waiting for the database.
 */
async function driveRun(runner: PipelineRunner, start: () => Promise<string>) {
  let runId: string | undefined;
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(exitCodeOf(signal));
    signalled = signal;
    // Before `start` tells the run id, the interruption waits for it (just below).
    if (runId !== undefined) void interruptAndExit(runner, runId, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    runId = await start();
    if (signalled) await interruptAndExit(runner, runId, signalled);
    const stopWatching = watchForWorkers(runner, runId);
    try {
      return await runner.waitFor(runId);
    } finally {
      stopWatching();
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Fails the run (when this process runs its tasks), says what became of it, and exits: never resolves. */
async function interruptAndExit(runner: PipelineRunner, runId: string, signal: NodeJS.Signals): Promise<never> {
  try {
    const failed = await runner.interrupt(runId, signal);
    process.stderr.write(
      failed
        ? `mldeploy: dag run ${runId} interrupted by ${signal}; resume it with mldeploy runs retry ${runId}\n`
        : `mldeploy: stopped waiting for dag run ${runId} (${signal}); see mldeploy runs show ${runId}\n`,
    );
  } catch (error) {
    process.stderr.write(`mldeploy: could not mark dag run ${runId} interrupted: ${(error as Error).message}\n`);
  }
  process.exit(exitCodeOf(signal));
}

/** 128 + the signal number, as shells report a process a signal stopped. */
function exitCodeOf(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}

/**
 * A data file given on the command line exists and is a file (tasks running here read it; a queue's workers may see
 * another file system, so with a queue the load task is the judge).
 */
function checkDataFile(file: string): void {
  let info;
  try {
    info = statSync(file);
  } catch {
    throw new InvalidInputError(`--data: file not found: ${file}`);
  }
  if (!info.isFile()) throw new InvalidInputError(`--data: ${file} is not a file`);
}

function seconds(start: string | null, end: string | null): number | null {
  return start && end ? (Date.parse(end) - Date.parse(start)) / 1000 : null;
}

export function registerRunCommands(program: Command): void {
  addRunFlags(
    program
      .command('run <dag>')
      .description(`run a workflow now: ${DAG_IDS.join(', ')}`)
      .option('--json', 'print the result as JSON on stdout'),
  ).action(async (dagId: string, flags: RunFlags) => {
    // Every option is checked before the database is opened or anything runs.
    const conf = confFromFlags(flags);
    checkConf(dagId, conf);
    if (conf.data !== undefined && !cliConfig().queueUrl) checkDataFile(conf.data);
    await withContext(async (app) => {
      const run = await runDag(app, dagId, conf);
      const train = run.tasks.find((t) => t.taskId === 'train_model');
      const result = train?.output as Record<string, unknown> | undefined;
      if (flags.json) {
        const payload = result
          ? { ...result, run_id: run.id, status: run.status, train_run_id: result.run_id }
          : {
              run_id: run.id,
              status: run.status,
              error: run.error,
              tasks: run.tasks.map((t) => ({ task: t.taskId, state: t.state, error: t.error, output: t.output })),
            };
        process.stdout.write(`${JSON.stringify(payload, null, 2)}\n`);
      } else {
        printTable(run.tasks.map((t) => ({ task: t.taskId, state: t.state, tries: t.tryNumber, seconds: seconds(t.startedAt, t.endedAt) })));
        if (result) {
          const model = result.model as { name: string; version: number };
          const test = (result.metrics as { test: Record<string, number> }).test;
          const figures =
            result.task === 'regression'
              ? `test RMSE ${Number(test.rmse.toPrecision(5))}, MAE ${Number(test.mae.toPrecision(5))}, R^2 ${test.r2.toFixed(4)}`
              : result.task === 'multiclass'
                ? `test macro ROC AUC ${test.roc_auc.toFixed(4)}, accuracy ${test.accuracy.toFixed(4)}, macro F1 ${test.f1_macro.toFixed(4)}`
                : `test ROC AUC ${test.roc_auc.toFixed(4)}, accuracy ${test.accuracy.toFixed(4)}, F1 ${test.f1.toFixed(4)}`;
          process.stdout.write(`\n${model.name} v${model.version} (${result.task ?? 'binary'}, ${result.estimator}): ${figures}\n${result.reason}\n`);
        }
      }
      if (run.status !== 'success') {
        process.stderr.write(`mldeploy: dag run ${run.id} failed: ${run.error ?? 'see mldeploy runs show ' + run.id}\n`);
        process.exitCode = 1;
      }
    });
  });

  const runs = program.command('runs').description('workflow run history');
  runs
    .command('list')
    .option('--dag <id>', 'only this DAG')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'JSON output')
    .action(async (flags: { dag?: string; limit: string; json?: boolean }) => {
      // Options are checked before anything is opened.
      const limit = integerFlag('--limit', flags.limit, 1);
      await withContext((app) =>
        withRunner(app, async (runner) => {
          const list = await runner.listRuns({ dagId: flags.dag, limit });
          const active = list.filter((r) => r.status === 'queued' || r.status === 'running').map((r) => r.id);
          const waiting = await runner.waitingForWorkers(active);
          if (flags.json) {
            const rows = list.map((r) => (waiting.has(r.id) ? { ...r, waiting: waiting.get(r.id) } : r));
            process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
          } else {
            printTable(
              list.map((r) => ({
                id: r.id,
                dag: r.dagId,
                status: r.status,
                trigger: r.trigger,
                created: r.createdAt,
                error: r.error ?? waiting.get(r.id) ?? null,
              })),
            );
          }
        }),
      );
    });
  runs
    .command('show <runId>')
    .option('--logs', 'print each task attempt log')
    .option('--json', 'JSON output')
    .action(async (runId: string, flags: { logs?: boolean; json?: boolean }) => {
      await withContext((app) => withRunner(app, async (runner) => {
        const run = await runner.getRun(runId);
        if (!run) throw new NotFoundError('DAG run', runId, { message: `No dag run "${runId}" (see mldeploy runs list)` });
        const waiting = (await runner.waitingForWorkers([run.id])).get(run.id);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(waiting ? { ...run, waiting } : run, null, 2)}\n`);
          return;
        }
        const note = run.error ?? waiting;
        process.stdout.write(`${run.dagId} ${run.id}: ${run.status}${note ? ` (${note})` : ''}\n\n`);
        printTable(run.tasks.map((t) => ({ task: t.taskId, state: t.state, tries: t.tryNumber, started: t.startedAt, ended: t.endedAt, error: t.error })));
        if (flags.logs) {
          for (const t of run.tasks) {
            for (const a of t.attempts) {
              const log = await runner.taskLog(run.id, t.taskId, a.tryNumber);
              process.stdout.write(`\n--- ${t.taskId} try ${a.tryNumber} (${a.state}) ---\n${log?.log ?? ''}`);
            }
          }
        }
      }));
    });
  runs
    .command('retry <runId>')
    .description(
      're-run a failed run from its failed task; succeeded tasks keep their outputs. ' +
        'A run left running by a process that died is failed first; a live one is refused',
    )
    .action(async (runId: string) => {
      await withContext((app) =>
        withRunner(app, async (runner) => {
          const run = await driveRun(runner, async () => {
            await runner.retry(runId);
            return runId;
          });
          printTable(run.tasks.map((t) => ({ task: t.taskId, state: t.state, tries: t.tryNumber })));
          if (run.status !== 'success') {
            process.stderr.write(`mldeploy: dag run ${run.id} failed again: ${run.error}\n`);
            process.exitCode = 1;
          }
        }),
      );
    });

  const schedule = program.command('schedule').description('run workflows on a cron schedule (needs `mldeploy scheduler` or `mldeploy up` running)');
  addRunFlags(schedule.command('set <dag> <cron>').description('e.g. schedule set training "0 3 * * *" --data data.csv --target y')).action(
    async (dagId: string, cron: string, flags: RunFlags) => {
      const { setSchedule } = await schedulerModule();
      const conf = confFromFlags(flags);
      checkConf(dagId, conf);
      await withContext(async (app) => {
        await setSchedule(app.store, dagId, cron, conf as Record<string, unknown>);
        process.stdout.write(`scheduled ${dagId} at "${cron}"\n`);
      });
    },
  );
  schedule.command('list').action(async () => {
    const { listSchedules } = await schedulerModule();
    await withContext(async (app) => {
      const list = await listSchedules(app.store);
      printTable(list.map((s) => ({ dag: s.dagId, cron: s.cron, next: s.nextRunAt, enabled: s.enabled, conf: s.conf })));
    });
  });
  schedule.command('remove <dag>').action(async (dagId: string) => {
    const { removeSchedule } = await schedulerModule();
    await withContext(async (app) => {
      await removeSchedule(app.store, dagId);
      process.stdout.write(`removed the schedule of ${dagId}\n`);
    });
  });

  program
    .command('scheduler')
    .description(
      'trigger scheduled workflows (several schedulers may run: each tick fires once) ' +
        'and fail abandoned runs every minute so they can be retried',
    )
    .action(async () => {
      const { startScheduler } = await schedulerModule();
      const app = await openCliContext();
      const runner = await createRunner(app);
      const scheduler = startScheduler({ runner, store: app.store, logger: app.logger });
      app.logger.info('scheduler started: firing schedules and recovering abandoned runs every minute');
      onShutdown(async () => {
        await scheduler.close();
        await runner.close();
        await app.close();
      });
    });

  program
    .command('worker')
    .description('run workflow tasks from the Redis queue (MLDEPLOY_QUEUE_URL)')
    .option('--concurrency <n>', 'tasks this worker runs at once', '1')
    .action(async (flags: { concurrency: string }) => {
      const concurrency = integerFlag('--concurrency', flags.concurrency, 1);
      const [{ buildDags }, { startWorker }] = await Promise.all([dagsModule(), import('../../pipeline/worker.js')]);
      if (!cliConfig().queueUrl) throw new InvalidInputError('worker needs MLDEPLOY_QUEUE_URL=redis://... (or --queue-url)');
      const app = await openCliContext();
      const worker = await startWorker({
        redisUrl: app.config.queueUrl!,
        prefix: app.config.queuePrefix,
        lockDurationMs: app.config.workerLockMs,
        store: app.store,
        dags: buildDags(app),
        concurrency,
        logger: app.logger,
      });
      app.logger.info(`worker listening on ${app.config.queueUrl!.replace(/\/\/[^@]*@/, '//***@')}`);
      onShutdown(async () => {
        await worker.close();
        await app.close();
      });
    });
}

export function onShutdown(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (error) => {
        process.stderr.write(`mldeploy: shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}
