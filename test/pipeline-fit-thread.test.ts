/**
 * train_model's fits run off the worker's event loop: while a queue worker trains on 250,000 rows, its event loop
 * keeps turning (heartbeats and BullMQ lock renewals go on), so a short job lock is never lost and the task's
 * heartbeat in the database never goes stale. Scaled down from production's 10 s heartbeat / 30 s lock to 0.5 s /
 * 2 s so that a fit of a few seconds on this thread would break both (bounds leave room for a busy machine). The full-size check (1M rows, production
 * settings) is `npm run scenarios:topology -- fit`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { openContext, type AppContext } from '../src/context.js';
import { loadRawData, preprocessData, writeLoanSample } from '../src/data/index.js';
import { buildDags } from '../src/pipeline/dags.js';
import { createExecutor, PipelineRunner, startWorker, type PipelineWorker } from '../src/pipeline/index.js';

const redisUrl = process.env.MLDEPLOY_TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('MLDEPLOY_TEST_REDIS_URL must be set in CI (see .ci/run)');

const HEARTBEAT_MS = 500;
const LOCK_MS = 2000;

describe.skipIf(!redisUrl)('train_model on a queue worker keeps its event loop free', () => {
  let dir: string;
  let app: AppContext;
  let worker: PipelineWorker;
  let runner: PipelineRunner;
  const queue = { queueName: `fit-${randomBytes(4).toString('hex')}`, prefix: 'mldeploy-test' };
  const workerProblems: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mldeploy-fit-thread-'));
    app = await openContext(loadConfig({ MLDEPLOY_HOME: dir }), pino({ level: 'silent' }));
    const logger = pino({ level: 'warn' }, { write: (line: string) => workerProblems.push(line) });
    worker = await startWorker({
      redisUrl: redisUrl!,
      ...queue,
      store: app.store,
      dags: buildDags(app),
      logger,
      lockDurationMs: LOCK_MS,
      heartbeatMs: HEARTBEAT_MS,
    });
    runner = new PipelineRunner({ store: app.store, dags: buildDags(app), executor: createExecutor(redisUrl, queue), logger: app.logger });
  });

  afterAll(async () => {
    await runner?.close();
    await worker?.close();
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('beats and renews its lock through a 250k-row fit; the attempt is never lost', async () => {
    const csv = join(dir, 'loans.csv');
    await writeLoanSample(csv, { rows: 250_000, seed: 5 });
    await loadRawData(app.store, { file: csv, dataset: 'loans' });
    const snapshot = await preprocessData(app.store, { dataset: 'loans', target: 'Loan_Approval' });

    const delay = monitorEventLoopDelay({ resolution: 20 });
    let staleMs = 0;
    let samples = 0;
    let stop = false;
    const runId = await runner.trigger('train_model', { snapshotId: snapshot.id, dataset: 'loans' });
    const watch = (async () => {
      while (!stop) {
        const row = await app.store.db
          .selectFrom('task_instances')
          .select(['state', 'heartbeat_at'])
          .where('dag_run_id', '=', runId)
          .executeTakeFirst();
        if (row?.state === 'running' && row.heartbeat_at) {
          if (samples === 0) delay.enable();
          samples++;
          staleMs = Math.max(staleMs, Date.now() - Date.parse(row.heartbeat_at));
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const run = await runner.waitFor(runId, { timeoutMs: 180_000 });
    stop = true;
    await watch;
    delay.disable();

    const train = run.tasks[0];
    expect(run.status, JSON.stringify(run.tasks.map((t) => [t.taskId, t.state, t.error]))).toBe('success');
    expect(train.attempts.map((a) => [a.tryNumber, a.state])).toEqual([[1, 'success']]);
    expect((train.output as { model: { version: number } }).model.version).toBe(1);
    // Long enough to matter: a fit on this thread would have stopped the loop for longer than the lock lasts.
    expect(Date.parse(train.endedAt!) - Date.parse(train.startedAt!)).toBeGreaterThan(LOCK_MS);
    expect(samples).toBeGreaterThan(5);
    expect(delay.max / 1e6, 'longest event-loop stall during the fit (ms)').toBeLessThan(LOCK_MS / 2);
    expect(staleMs, 'oldest heartbeat seen while running (ms)').toBeLessThan(6 * HEARTBEAT_MS);
    expect(workerProblems.filter((line) => /lock|stalled|lost/i.test(line))).toEqual([]);
  }, 240_000);
});
