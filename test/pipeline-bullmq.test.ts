import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { Calls, silentLogger } from './pipeline-fixtures.js';
import { defineDag } from '../src/pipeline/dag.js';
import { PipelineRunner } from '../src/pipeline/runner.js';
import { startWorker, type PipelineWorker } from '../src/pipeline/worker.js';
import { BullMQExecutor, createExecutor } from '../src/pipeline/executors/index.js';

const redisUrl = process.env.MLDEPLOY_TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('MLDEPLOY_TEST_REDIS_URL must be set in CI (see .ci/run)');
const prefix = 'mldeploy-test';

describe.each(backends)('BullMQ executor with $name', (backend) => {
  const enabled = Boolean(redisUrl && backend.url);
  const queueName = `tasks-${backend.name}-${randomBytes(4).toString('hex')}`;
  const calls = new Calls();
  let flakyFailures = 0;
  const dags = [
    defineDag({
      id: 'queued_etl',
      tasks: [
        { id: 'extract', run: async (ctx) => ({ rows: Number(ctx.conf.rows), by: calls.hit('extract') }) },
        { id: 'double', upstream: ['extract'], run: async (ctx) => ctx.input<{ rows: number }>('extract').rows * 2 },
        { id: 'square', upstream: ['extract'], run: async (ctx) => ctx.input<{ rows: number }>('extract').rows ** 2 },
        {
          id: 'sum',
          upstream: ['double', 'square'],
          run: async (ctx) => ctx.input<number>('double') + ctx.input<number>('square'),
        },
      ],
    }),
    defineDag({
      id: 'queued_flaky',
      tasks: [
        {
          id: 'call_api',
          retries: 2,
          retryDelayMs: 20,
          run: async (ctx) => {
            ctx.log.info(`calling, try ${ctx.tryNumber}`);
            if (ctx.tryNumber <= flakyFailures) throw new Error(`timeout on try ${ctx.tryNumber}`);
            return ctx.tryNumber;
          },
        },
        { id: 'after', upstream: ['call_api'], run: async (ctx) => `after ${ctx.input<number>('call_api')}` },
      ],
    }),
  ];
  let store: TestStore;
  let runner: PipelineRunner;
  let executor: BullMQExecutor;
  let worker: PipelineWorker;

  beforeAll(async () => {
    if (!enabled) return;
    store = await freshStore(backend);
    executor = createExecutor(redisUrl, { queueName, prefix }) as BullMQExecutor;
    runner = new PipelineRunner({ store, dags, executor, logger: silentLogger, pollMs: 25 });
    // The worker shares the database with the runner, as a `mldeploy worker` process would.
    worker = await startWorker({
      redisUrl: redisUrl!,
      store,
      dags,
      concurrency: 2,
      logger: silentLogger,
      queueName,
      prefix,
    });
  });
  afterAll(async () => {
    if (!enabled) return;
    await worker.close();
    await executor.queue.obliterate({ force: true });
    await runner.close();
    await store.dispose();
  });

  it.skipIf(!enabled)('runs a DAG on queue workers, passing outputs downstream', async () => {
    expect(executor.kind).toBe('bullmq');
    const id = await runner.trigger('queued_etl', { rows: 7 });
    const run = await runner.waitFor(id, { timeoutMs: 15_000 });
    expect(run.status).toBe('success');
    expect(run.tasks.map((t) => [t.taskId, t.state, t.tryNumber, t.output])).toEqual([
      ['extract', 'success', 1, { rows: 7, by: 1 }],
      ['double', 'success', 1, 14],
      ['square', 'success', 1, 49],
      ['sum', 'success', 1, 63],
    ]);
    // One job per attempt, named by its deterministic id.
    const job = await executor.queue.getJob(`${id}/sum/1`);
    expect(job?.data).toEqual({ dagRunId: id, dagId: 'queued_etl', taskId: 'sum', tryNumber: 1 });
  });

  it.skipIf(!enabled)('retries through delayed jobs with the same semantics as in process', async () => {
    flakyFailures = 2;
    const id = await runner.trigger('queued_flaky');
    const run = await runner.waitFor(id, { timeoutMs: 15_000 });
    expect(run.status).toBe('success');
    const [api, after] = run.tasks;
    expect(api).toMatchObject({ state: 'success', tryNumber: 3, maxTries: 3, output: 3 });
    expect(api!.attempts.map((a) => [a.tryNumber, a.state])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'success'],
    ]);
    expect(api!.attempts[1]!.error).toMatch(/^timeout on try 2/);
    expect(Date.parse(api!.attempts[2]!.startedAt) - Date.parse(api!.attempts[1]!.endedAt!)).toBeGreaterThanOrEqual(39);
    expect((await runner.taskLog(id, 'call_api', 2))!.log).toContain('calling, try 2');
    expect(after).toMatchObject({ state: 'success', output: 'after 3' });
  });

  it.skipIf(!enabled)('fails the run after the retries and resumes it with retry(dagRunId)', async () => {
    flakyFailures = 3;
    const id = await runner.trigger('queued_flaky');
    const failed = await runner.waitFor(id, { timeoutMs: 15_000 });
    expect(failed.status).toBe('failed');
    expect(failed.error).toBe('Task "call_api" failed: timeout on try 3');
    expect(failed.tasks.map((t) => t.state)).toEqual(['failed', 'upstream_failed']);

    flakyFailures = 0;
    await runner.retry(id);
    const done = await runner.waitFor(id, { timeoutMs: 15_000 });
    expect(done.status).toBe('success');
    expect(done.tasks.map((t) => [t.taskId, t.tryNumber, t.output])).toEqual([
      ['call_api', 4, 4],
      ['after', 1, 'after 4'],
    ]);
  });

  it.skipIf(!enabled)('enqueues an attempt once however often it is submitted', async () => {
    const before = calls.of('extract');
    const id = await runner.trigger('queued_etl', { rows: 1 });
    const attempt = { dagRunId: id, dagId: 'queued_etl', taskId: 'extract', tryNumber: 1 };
    await Promise.all([executor.submit(attempt), executor.submit(attempt)]);
    const run = await runner.waitFor(id, { timeoutMs: 15_000 });
    expect(run.status).toBe('success');
    expect(calls.of('extract')).toBe(before + 1);
    const jobs = await executor.queue.getJobs(['completed', 'waiting', 'active', 'delayed', 'failed']);
    expect(jobs.filter((j) => j.data.dagRunId === id && j.data.taskId === 'extract')).toHaveLength(1);
  });
});
