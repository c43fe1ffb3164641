import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { Calls, silentLogger } from './pipeline-fixtures.js';
import { defineDag } from '../src/pipeline/dag.js';
import { PipelineRunner } from '../src/pipeline/runner.js';
import { InProcessExecutor } from '../src/pipeline/executors/in-process.js';
import {
  listSchedules,
  removeSchedule,
  scheduledRunId,
  setSchedule,
  startScheduler,
  type Scheduler,
} from '../src/pipeline/scheduler.js';

const at = (iso: string) => new Date(iso);

describe.each(backends)('scheduler on $name', (backend) => {
  let store: TestStore;
  let runner: PipelineRunner;
  const schedulers: Scheduler[] = [];
  const calls = new Calls();
  const dags = [
    defineDag({ id: 'nightly', tasks: [{ id: 'train', run: async (ctx) => calls.hit(`nightly ${ctx.conf.target}`) }] }),
    defineDag({ id: 'hourly', tasks: [{ id: 'refresh', run: async () => calls.hit('hourly') }] }),
  ];

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    runner = new PipelineRunner({ store, dags, executor: new InProcessExecutor(), logger: silentLogger, pollMs: 20 });
  });
  afterAll(async () => {
    if (!backend.url) return;
    await Promise.all(schedulers.map((s) => s.close()));
    await runner.close();
    await store.dispose();
  });

  /** A scheduler process started at `startedAt`, ticked by hand (its own timer is far away). */
  function scheduler(startedAt: string): Scheduler {
    const s = startScheduler({ runner, store, logger: silentLogger, tickMs: 3_600_000, now: () => at(startedAt) });
    schedulers.push(s);
    return s;
  }

  it.skipIf(!backend.url)('stores, replaces, lists and removes schedules with their next fire time', async () => {
    await setSchedule(store, 'nightly', '0 2 * * *', { target: 'old' });
    const replaced = await setSchedule(store, 'nightly', ' 30 2 * * * ', { target: 'loan_status' });
    expect(replaced.cron).toBe('30 2 * * *');
    await setSchedule(store, 'hourly', '@hourly', {}, { enabled: false });
    await expect(setSchedule(store, 'hourly', '0 25 * * *')).rejects.toThrow(
      /Invalid cron expression "0 25 \* \* \*": .*hour/,
    );

    const list = await listSchedules(store, { now: at('2024-05-01T03:00:00Z') });
    expect(list.map(({ updatedAt: _, ...rest }) => rest)).toEqual([
      { dagId: 'hourly', cron: '@hourly', conf: {}, enabled: false, nextRunAt: null },
      {
        dagId: 'nightly',
        cron: '30 2 * * *',
        conf: { target: 'loan_status' },
        enabled: true,
        nextRunAt: '2024-05-02T02:30:00.000Z',
      },
    ]);
    expect(await removeSchedule(store, 'hourly')).toBe(true);
    expect(await removeSchedule(store, 'hourly')).toBe(false);
    expect((await listSchedules(store)).map((s) => s.dagId)).toEqual(['nightly']);
  });

  it.skipIf(!backend.url)('fires a due schedule once across several scheduler processes', async () => {
    await setSchedule(store, 'nightly', '30 2 * * *', { target: 'loan_status' });
    // Two scheduler processes, started at different moments before the fire time.
    const a = scheduler('2024-05-01T02:00:05Z');
    const b = scheduler('2024-05-01T02:10:40Z');
    expect(await a.tick(at('2024-05-01T02:29:59Z'))).toEqual([]);

    const fireAt = at('2024-05-01T02:30:00Z');
    const runId = scheduledRunId('nightly', fireAt);
    const [fromA, fromB] = await Promise.all([a.tick(at('2024-05-01T02:30:04Z')), b.tick(at('2024-05-01T02:30:09Z'))]);
    const fires = [...fromA, ...fromB];
    expect(fires.map((f) => [f.dagId, f.runId, f.fireAt])).toEqual([
      ['nightly', runId, fireAt.toISOString()],
      ['nightly', runId, fireAt.toISOString()],
    ]);
    expect(fires.filter((f) => f.created)).toHaveLength(1);

    const run = await runner.waitFor(runId, { timeoutMs: 10_000 });
    expect(run).toMatchObject({ dagId: 'nightly', trigger: 'schedule', status: 'success' });
    expect(run.conf).toEqual({ target: 'loan_status' });
    expect((await runner.listRuns({ dagId: 'nightly' })).map((r) => r.id)).toEqual([runId]);
    expect(calls.of('nightly loan_status')).toBe(1);

    // Already handled: a later tick in the same period fires nothing; the next day fires again.
    expect(await a.tick(at('2024-05-01T02:45:00Z'))).toEqual([]);
    const nextDay = await b.tick(at('2024-05-02T02:30:01Z'));
    const tomorrow = scheduledRunId('nightly', at('2024-05-02T02:30:00Z'));
    expect(nextDay.map((f) => [f.runId, f.created])).toEqual([[tomorrow, true]]);
    await runner.waitFor(nextDay[0]!.runId, { timeoutMs: 10_000 });
  });

  it.skipIf(!backend.url)('skips disabled schedules and missed fire times older than the scheduler', async () => {
    await setSchedule(store, 'hourly', '0 * * * *', {}, { enabled: false });
    const s = scheduler('2024-06-01T10:20:00Z');
    // nightly's 02:30 is long past at start: no catch-up; hourly is disabled.
    expect(await s.tick(at('2024-06-01T11:00:30Z'))).toEqual([]);
    await setSchedule(store, 'hourly', '0 * * * *');
    const fires = await s.tick(at('2024-06-01T12:00:30Z'));
    expect(fires.map((f) => [f.dagId, f.created])).toEqual([['hourly', true]]);
    await runner.waitFor(fires[0]!.runId, { timeoutMs: 10_000 });
    expect(calls.of('hourly')).toBe(1);
  });
});
