/**
 * Zombie detection: running attempts write a heartbeat; recovery fails runs whose process is gone (stale heartbeat,
 * task past its timeout, or no activity at all) so `retry` can resume them, and leaves live runs alone. `up` and
 * `scheduler` recover through the scheduler; `mldeploy run` fails its own run when interrupted.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { CLI_MAIN, makeHome, type CliHome } from './helpers/cli.js';
import { gate, silentLogger, until } from './pipeline-fixtures.js';
import { defineDag, type Dag } from '../src/pipeline/dag.js';
import { PipelineRunner, type PipelineRunnerOptions } from '../src/pipeline/runner.js';
import { RunRepository } from '../src/pipeline/repository.js';
import { startScheduler } from '../src/pipeline/scheduler.js';
import { InProcessExecutor } from '../src/pipeline/executors/in-process.js';
import type { Executor, TaskAttemptRef } from '../src/pipeline/executors/executor.js';

const sixMinutesAgo = () => new Date(Date.now() - 6 * 60_000).toISOString();

/** Records submissions and runs nothing: a queue nobody takes tasks from. */
class RecordingExecutor implements Executor {
  readonly submitted: TaskAttemptRef[] = [];
  constructor(readonly kind: 'in-process' | 'bullmq' = 'in-process') {}
  bind(): void {}
  async submit(attempt: TaskAttemptRef): Promise<void> {
    this.submitted.push(attempt);
  }
  async close(): Promise<void> {}
}

describe.each(backends)('pipeline recovery on $name', (backend) => {
  let store: TestStore;
  const open: PipelineRunner[] = [];

  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    await Promise.all(open.map((r) => r.close()));
    await store?.dispose();
  });

  function runner(dags: Dag[], options: Partial<PipelineRunnerOptions> = {}): PipelineRunner {
    const r = new PipelineRunner({
      store,
      dags,
      executor: new InProcessExecutor(),
      logger: silentLogger,
      pollMs: 20,
      ...options,
    });
    open.push(r);
    return r;
  }

  async function taskRow(dagRunId: string, taskId: string) {
    return store.db
      .selectFrom('task_instances')
      .selectAll()
      .where('dag_run_id', '=', dagRunId)
      .where('task_id', '=', taskId)
      .executeTakeFirstOrThrow();
  }

  async function setHeartbeat(dagRunId: string, taskId: string, at: string): Promise<void> {
    await store.db
      .updateTable('task_instances')
      .set({ heartbeat_at: at })
      .where('dag_run_id', '=', dagRunId)
      .where('task_id', '=', taskId)
      .execute();
  }

  /** prepare -> train, where train hangs until `release` (its result then comes too late to count). */
  /** When each crashy DAG's first train attempt is inside its task body (so a later heal() cannot reach it). */
  const hanging = new Map<string, Promise<void>>();

  function crashyDag(id: string) {
    const release = gate<string>();
    const entered = gate();
    hanging.set(id, entered.promise);
    let hang = true;
    const dag = defineDag({
      id,
      tasks: [
        { id: 'prepare', run: async () => 'ready' },
        {
          id: 'train',
          upstream: ['prepare'],
          run: async () => {
            if (!hang) return 'trained';
            entered.open();
            return release.promise;
          },
        },
      ],
    });
    return { dag, release: () => release.open('late result'), heal: () => (hang = false) };
  }

  /** A "process" that started the run and died in train: it wrote the first heartbeat and no other. */
  async function deadProcessRun(dag: Dag): Promise<{ dead: PipelineRunner; id: string; lastBeat: string }> {
    const dead = runner([dag], { heartbeatMs: 3_600_000 });
    const id = await dead.trigger(dag.id);
    await until(async () => (await taskRow(id, 'train')).state === 'running');
    await hanging.get(dag.id);
    const lastBeat = sixMinutesAgo();
    await setHeartbeat(id, 'train', lastBeat);
    return { dead, id, lastBeat };
  }

  it.skipIf(!backend.url)('writes a heartbeat when an attempt starts and while it runs, with the log', async () => {
    const release = gate();
    const dag = defineDag({
      id: 'beating',
      tasks: [
        {
          id: 'work',
          run: async (ctx) => {
            ctx.log.info('halfway');
            await release.promise;
          },
        },
      ],
    });
    // One timer: it ticks every 20 ms and saves the log each tick, the heartbeat every second tick.
    const r = runner([dag], { heartbeatMs: 40, logFlushMs: 20 });
    const id = await r.trigger('beating');
    await until(async () => (await taskRow(id, 'work')).state === 'running');
    const first = await taskRow(id, 'work');
    expect(first.heartbeat_at).toBe(first.started_at);
    await until(async () => (await taskRow(id, 'work')).heartbeat_at! > first.heartbeat_at!);
    const second = (await taskRow(id, 'work')).heartbeat_at!;
    await until(async () => (await taskRow(id, 'work')).heartbeat_at! > second);
    await until(async () => (await r.taskLog(id, 'work'))!.log.includes('halfway'));
    expect((await r.taskLog(id, 'work'))!.state).toBe('running');

    release.open();
    expect((await r.waitFor(id, { timeoutMs: 10_000 })).status).toBe('success');
    const done = await taskRow(id, 'work');
    expect(done.heartbeat_at! <= done.ended_at!).toBe(true);
  });

  it.skipIf(!backend.url)('fails a run whose process stopped beating, then retries it to success', async () => {
    const { dag, release, heal } = crashyDag('zombie');
    const { dead, id, lastBeat } = await deadProcessRun(dag);

    const alive = runner([dag]);
    expect(await alive.recoverStaleRuns({ zombieAfterMs: 7 * 60_000 })).toEqual([]);
    expect(await alive.recoverStaleRuns()).toEqual([id]);
    const recovered = (await alive.getRun(id))!;
    const reason = `Abandoned: task "train" sent no heartbeat since ${lastBeat} (process gone?)`;
    expect(recovered).toMatchObject({ status: 'failed', error: reason });
    expect(recovered.tasks.map((t) => [t.taskId, t.state, t.error])).toEqual([
      ['prepare', 'success', null],
      ['train', 'failed', reason],
    ]);
    expect(recovered.tasks[1]!.attempts.map((a) => [a.state, a.error])).toEqual([['failed', reason]]);
    expect(await alive.recoverStaleRuns()).toEqual([]);

    heal();
    await alive.retry(id);
    const done = await alive.waitFor(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('success');
    expect(done.tasks[1]).toMatchObject({ state: 'success', tryNumber: 2, output: 'trained' });

    // The dead process coming back with a result changes nothing.
    release();
    await dead.close();
    const after = (await alive.getRun(id))!;
    expect(after.tasks[1]).toMatchObject({ state: 'success', tryNumber: 2, output: 'trained' });
    expect(after.tasks[1]!.attempts.map((a) => a.state)).toEqual(['failed', 'success']);
  });

  it.skipIf(!backend.url)('retry recovers a running run first when it is abandoned', async () => {
    const { dag, release, heal } = crashyDag('zombie_retried');
    const { dead, id, lastBeat } = await deadProcessRun(dag);

    heal();
    const alive = runner([dag]);
    await alive.retry(id);
    const done = await alive.waitFor(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('success');
    expect(done.tasks.map((t) => [t.taskId, t.tryNumber])).toEqual([
      ['prepare', 1],
      ['train', 2],
    ]);
    expect(done.tasks[1]!.attempts.map((a) => [a.state, a.error])).toEqual([
      ['failed', `Abandoned: task "train" sent no heartbeat since ${lastBeat} (process gone?)`],
      ['success', null],
    ]);
    release();
    await dead.close();
  });

  it.skipIf(!backend.url)('leaves a run with a fresh heartbeat alone and refuses to retry it', async () => {
    const release = gate();
    const dag = defineDag({ id: 'alive', tasks: [{ id: 'work', run: async () => release.promise }] });
    const r = runner([dag], { heartbeatMs: 20 });
    const id = await r.trigger('alive');
    await until(async () => (await taskRow(id, 'work')).state === 'running');
    const started = (await taskRow(id, 'work')).started_at!;
    await until(async () => (await taskRow(id, 'work')).heartbeat_at! > started);

    // Idle by the no-activity rule, but a running task beats: it is alive.
    expect(await r.recoverStaleRuns({ olderThanMs: 0 })).toEqual([]);
    await expect(r.retry(id)).rejects.toThrow(
      new RegExp(
        `^DAG run "${id}" is running and may be alive: task "work" sent a heartbeat \\d+ s ago; ` +
          'it counts as abandoned after 300 s without one. Wait for it to finish',
      ),
    );
    expect((await r.getRun(id))!.status).toBe('running');

    release.open();
    const done = await r.waitFor(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('success');
    expect(done.tasks[0]!.attempts.map((a) => a.state)).toEqual(['success']);
  });

  it.skipIf(!backend.url)('judges a run with no running task by its last activity', async () => {
    // The task is queued on a queue nobody reads (its worker and the runner are gone): no heartbeat ever.
    const dag = defineDag({ id: 'lost_queue', tasks: [{ id: 'only', run: async () => 'ran' }] });
    const lost = new PipelineRunner({ store, dags: [dag], executor: new RecordingExecutor(), logger: silentLogger });
    const id = await lost.trigger('lost_queue');
    expect((await taskRow(id, 'only')).state).toBe('queued');

    const r = runner([dag]);
    expect(await r.recoverStaleRuns()).toEqual([]);
    await expect(r.retry(id)).rejects.toThrow(
      new RegExp(
        `^DAG run "${id}" is running and may be alive: a task started or ended \\d+ s ago and no running task ` +
          'sends heartbeats; it counts as abandoned after 3600 s without activity',
      ),
    );
    await r.retry(id, { olderThanMs: 0 });
    const done = await r.waitFor(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('success');
    expect(done.tasks[0]).toMatchObject({ state: 'success', tryNumber: 1, output: 'ran' });
    expect(done.tasks[0]!.error).toBeNull();
  });

  it.skipIf(!backend.url)('fails a task past its timeout plus grace whatever its heartbeat', async () => {
    const dag = defineDag({ id: 'overdue', tasks: [{ id: 'slow', timeoutMs: 50, run: async () => 'never' }] });
    const executor = new RecordingExecutor();
    const r = new PipelineRunner({ store, dags: [dag], executor, logger: silentLogger });
    const id = await r.trigger('overdue');
    // The process that took the attempt started it 30 s ago and died; a fresh heartbeat cannot save it past the grace.
    const repository = new RunRepository(store.db);
    await repository.startAttempt(executor.submitted[0]!, new Date(Date.now() - 30_000).toISOString());
    await setHeartbeat(id, 'slow', new Date().toISOString());

    expect(await r.recoverStaleRuns()).toEqual([]); // inside 50 ms + the default 1 min grace
    expect(await r.recoverStaleRuns({ timeoutGraceMs: 1000 })).toEqual([id]);
    const run = (await r.getRun(id))!;
    expect(run.error).toBe('Abandoned: task "slow" ran past its 50 ms timeout (process gone?)');
    expect(run.tasks[0]!.attempts.map((a) => a.state)).toEqual(['failed']);
  });

  it.skipIf(!backend.url)('interrupt fails the run this process drives, so it can be retried at once', async () => {
    const { dag, release, heal } = crashyDag('interrupted');
    const r = runner([dag]);
    const id = await r.trigger('interrupted');
    await until(async () => (await taskRow(id, 'train')).state === 'running');

    expect(await r.interrupt(id, 'SIGINT')).toBe(true);
    const reason = 'Interrupted by SIGINT: the process running it stopped before it finished';
    const stopped = (await r.getRun(id))!;
    expect(stopped).toMatchObject({ status: 'failed', error: reason });
    expect(stopped.tasks.map((t) => [t.state, t.error])).toEqual([
      ['success', null],
      ['failed', reason],
    ]);
    expect(stopped.tasks[1]!.attempts.map((a) => [a.state, a.error])).toEqual([['failed', reason]]);
    expect(await r.interrupt(id, 'SIGINT')).toBe(false); // finished already

    heal();
    release();
    await r.retry(id);
    const done = await r.waitFor(id, { timeoutMs: 10_000 });
    expect(done.tasks[1]).toMatchObject({ state: 'success', tryNumber: 2, output: 'trained' });
    expect(done.tasks[1]!.attempts.map((a) => a.state)).toEqual(['failed', 'success']);

    // With a queue, the attempts belong to the workers: stopping the process that waits fails nothing.
    const queue = new PipelineRunner({
      store,
      dags: [dag],
      executor: new RecordingExecutor('bullmq'),
      logger: silentLogger,
    });
    const queued = await queue.trigger('interrupted');
    expect(await queue.interrupt(queued, 'SIGTERM')).toBe(false);
    expect((await queue.getRun(queued))!.status).toBe('running');
  });

  it.skipIf(!backend.url)('the scheduler recovers abandoned runs when it starts and then periodically', async () => {
    const before = crashyDag('zombie_before_start');
    const { id: early } = await deadProcessRun(before.dag);
    const after = crashyDag('zombie_after_start');
    const live = runner([before.dag, after.dag]);
    const scheduler = startScheduler({ runner: live, store, tickMs: 3_600_000, recoverEveryMs: 50 });
    try {
      await until(async () => (await live.getRun(early))!.status === 'failed');
      const { id: late } = await deadProcessRun(after.dag);
      await until(async () => (await live.getRun(late))!.status === 'failed');
      expect((await live.getRun(late))!.error).toMatch(/^Abandoned: task "train" sent no heartbeat since /);
    } finally {
      await scheduler.close();
      before.release();
      after.release();
    }
  });
});

/** A CLI child the test can signal. */
function startCli(home: CliHome, args: string[], databaseUrl: string) {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    cwd: home.dir,
    env: { PATH: process.env.PATH, MLDEPLOY_HOME: home.dir, MLDEPLOY_DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout.resume();
  const exited = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stderr })),
  );
  return { child, exited };
}

describe.each(backends)('mldeploy run interrupted, on $name', (backend) => {
  let store: TestStore;
  let home: CliHome;

  beforeAll(async () => {
    if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npm run build\` first`);
    if (backend.url) store = await freshStore(backend);
    home = makeHome();
  });
  afterAll(async () => {
    await store?.dispose();
    home?.remove();
  });

  async function train(runId: string) {
    const rows = await store.db
      .selectFrom('task_instances')
      .select(['task_id', 'state', 'try_number'])
      .where('dag_run_id', '=', runId)
      .execute();
    return rows.find((r) => r.task_id === 'train_model');
  }

  it.skipIf(!backend.url)('fails its run on SIGINT or SIGTERM; runs retry resumes it at once', async () => {
    const sample = `${home.dir}/loans.csv`;
    expect((await home.run(['sample', sample, '--rows', '2000'])).code).toBe(0);
    // A search of 500 trials keeps train_model busy far longer than the test waits.
    const run = startCli(
      home,
      ['run', 'training', '--data', sample, '--target', 'Loan_Approval', '--search-trials', '500'],
      store.url,
    );
    let runId = '';
    await until(async () => {
      const row = await store.db.selectFrom('dag_runs').select('id').executeTakeFirst();
      runId = row?.id ?? '';
      return row !== undefined && (await train(row.id))?.state === 'running';
    }, 60_000);
    run.child.kill('SIGINT');
    const interrupted = await run.exited;
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toContain(
      `mldeploy: dag run ${runId} interrupted by SIGINT; resume it with mldeploy runs retry ${runId}`,
    );
    const stopped = await store.db.selectFrom('dag_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toBe('Interrupted by SIGINT: the process running it stopped before it finished');

    // No waiting for recovery: the retry starts train_model's second try right away (then it is stopped too).
    const retry = startCli(home, ['runs', 'retry', runId], store.url);
    await until(async () => {
      const row = await train(runId);
      return row?.state === 'running' && Number(row.try_number) === 2;
    }, 60_000);
    retry.child.kill('SIGTERM');
    expect((await retry.exited).code).toBe(143);
    const attempts = await store.db
      .selectFrom('task_attempts')
      .select(['task_id', 'try_number', 'state', 'error'])
      .where('dag_run_id', '=', runId)
      .orderBy('task_id')
      .orderBy('try_number')
      .execute();
    expect(attempts.map((a) => [a.task_id, Number(a.try_number), a.state, a.error])).toEqual([
      ['load_raw_data', 1, 'success', null],
      ['preprocess_data', 1, 'success', null],
      ['train_model', 1, 'failed', 'Interrupted by SIGINT: the process running it stopped before it finished'],
      ['train_model', 2, 'failed', 'Interrupted by SIGTERM: the process running it stopped before it finished'],
    ]);
  }, 180_000);

  it.skipIf(!backend.url)('kill -9 during train_model: the scheduler\'s recovery ends its tracking runs FAILED', async () => {
    const sample = `${home.dir}/killed.csv`;
    expect((await home.run(['sample', sample, '--rows', '2000'])).code).toBe(0);
    const run = startCli(
      home,
      ['run', 'training', '--data', sample, '--target', 'Loan_Approval', '--search-trials', '500', '--model-name', 'killed_model'],
      store.url,
    );
    let runId = '';
    const trackingRuns = () =>
      store.db.selectFrom('runs').select(['id', 'status', 'end_time']).where('dag_run_id', '=', runId).execute();
    await until(async () => {
      const row = await store.db.selectFrom('dag_runs').select('id').where('conf_json', 'like', '%killed.csv%').executeTakeFirst();
      runId = row?.id ?? '';
      return row !== undefined && (await train(row.id))?.state === 'running' && (await trackingRuns()).length > 0;
    }, 60_000);
    run.child.kill('SIGKILL');
    expect((await run.exited).code).toBe(null);
    expect((await trackingRuns()).some((r) => r.status === 'RUNNING')).toBe(true);

    // Time passes: the dead process's last heartbeat is older than recovery's 5 minutes.
    await store.db
      .updateTable('task_instances')
      .set({ heartbeat_at: new Date(Date.now() - 6 * 60_000).toISOString() })
      .where('dag_run_id', '=', runId)
      .where('state', '=', 'running')
      .execute();
    const scheduler = startCli(home, ['scheduler'], store.url);
    try {
      await until(async () => {
        const row = await store.db.selectFrom('dag_runs').select('status').where('id', '=', runId).executeTakeFirstOrThrow();
        return row.status === 'failed';
      }, 60_000);
    } finally {
      scheduler.child.kill('SIGTERM');
      await scheduler.exited;
    }
    const ended = await trackingRuns();
    expect(ended.length).toBeGreaterThan(0);
    for (const r of ended) {
      expect(r.status).toBe('FAILED');
      expect(Date.parse(r.end_time!)).toBeGreaterThan(Date.now() - 120_000);
    }
  }, 180_000);
});
