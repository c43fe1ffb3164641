import { InvalidInputError, NotFoundError, UnavailableError } from '../src/errors.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { Calls, capturingLogger, gate, silentLogger, until } from './pipeline-fixtures.js';
import { defineDag, type Dag } from '../src/pipeline/dag.js';
import { PipelineRunner } from '../src/pipeline/runner.js';
import { PipelineEngine } from '../src/pipeline/engine.js';
import { InProcessExecutor } from '../src/pipeline/executors/in-process.js';
import type { Executor, TaskAttemptRef } from '../src/pipeline/executors/executor.js';

/** Records submissions and runs nothing: lets a test play the executor (or a second process) by hand. */
class RecordingExecutor implements Executor {
  readonly kind = 'in-process' as const;
  readonly submitted: { attempt: TaskAttemptRef; delayMs: number }[] = [];
  bind(): void {}
  async submit(attempt: TaskAttemptRef, options: { delayMs?: number } = {}): Promise<void> {
    this.submitted.push({ attempt, delayMs: options.delayMs ?? 0 });
  }
  async close(): Promise<void> {}
}

describe.each(backends)('pipeline runner on $name', (backend) => {
  let store: TestStore;
  const open: PipelineRunner[] = [];

  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    await Promise.all(open.map((r) => r.close()));
    await store?.dispose();
  });

  function runner(dags: Dag[], concurrency = 4, logger = silentLogger): PipelineRunner {
    const r = new PipelineRunner({ store, dags, executor: new InProcessExecutor({ concurrency }), logger, pollMs: 20 });
    open.push(r);
    return r;
  }

  it.skipIf(!backend.url)('runs a DAG to success, passing persisted outputs downstream', async () => {
    // a -> (b, c) -> d
    const dag = defineDag({
      id: 'diamond',
      tasks: [
        { id: 'a', run: async (ctx) => ({ rows: Number(ctx.conf.rows) }) },
        { id: 'b', upstream: ['a'], run: async (ctx) => ctx.input<{ rows: number }>('a').rows * 2 },
        { id: 'c', upstream: ['a'], run: async (ctx) => ctx.input<{ rows: number }>('a').rows + 1 },
        {
          id: 'd',
          upstream: ['b', 'c'],
          run: async (ctx) => ({ total: ctx.input<number>('b') + ctx.input<number>('c'), root: ctx.input('a') }),
        },
      ],
    });
    const r = runner([dag]);
    const id = await r.trigger('diamond', { rows: 10 });
    const run = await r.waitFor(id, { timeoutMs: 10_000 });

    expect(run).toMatchObject({ id, dagId: 'diamond', status: 'success', trigger: 'manual', error: null });
    expect(run.conf).toEqual({ rows: 10 });
    expect(run.tasks.map((t) => [t.taskId, t.state, t.tryNumber, t.maxTries])).toEqual([
      ['a', 'success', 1, 3],
      ['b', 'success', 1, 3],
      ['c', 'success', 1, 3],
      ['d', 'success', 1, 3],
    ]);
    expect(run.tasks.map((t) => t.output)).toEqual([{ rows: 10 }, 20, 11, { total: 31, root: { rows: 10 } }]);
    for (const t of run.tasks) {
      expect(t.attempts).toHaveLength(1);
      expect(t.attempts[0]).toMatchObject({ tryNumber: 1, state: 'success', error: null });
      expect(t.startedAt! <= t.endedAt!).toBe(true);
    }
    // d started only after both of its upstream tasks ended.
    const byId = new Map(run.tasks.map((t) => [t.taskId, t]));
    expect(byId.get('d')!.startedAt! >= byId.get('b')!.endedAt!).toBe(true);
    expect(byId.get('d')!.startedAt! >= byId.get('c')!.endedAt!).toBe(true);
    expect(run.startedAt! <= run.endedAt!).toBe(true);

    const listed = await r.listRuns({ dagId: 'diamond' });
    expect(listed.map((x) => [x.id, x.status])).toEqual([[id, 'success']]);
  });

  it.skipIf(!backend.url)('retries a failing task with exponential backoff, keeping each attempt and log', async () => {
    const tries: number[] = [];
    const dag = defineDag({
      id: 'flaky',
      tasks: [
        {
          id: 'fetch',
          retries: 3,
          retryDelayMs: 30,
          run: async (ctx) => {
            tries.push(ctx.tryNumber);
            ctx.log.info(`fetching, try ${ctx.tryNumber}`, { try: ctx.tryNumber });
            if (ctx.tryNumber < 3) throw new Error(`remote said 503 (try ${ctx.tryNumber})`);
            return 'payload';
          },
        },
      ],
    });
    const { logger, lines } = capturingLogger();
    const r = runner([dag], 4, logger);
    const id = await r.trigger('flaky');
    const run = await r.waitFor(id, { timeoutMs: 10_000 });

    expect(tries).toEqual([1, 2, 3]);
    const fetch = run.tasks[0]!;
    expect(fetch).toMatchObject({ state: 'success', tryNumber: 3, maxTries: 4, output: 'payload', error: null });
    expect(fetch.attempts.map((a) => [a.tryNumber, a.state])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'success'],
    ]);
    expect(fetch.attempts[0]!.error).toMatch(/^remote said 503 \(try 1\)\n\s+at .*pipeline-runner\.test\.ts/);
    // Backoff: 30 ms before try 2, 60 ms before try 3 (1 ms slack for clock rounding).
    const gap = (i: number) => Date.parse(fetch.attempts[i + 1]!.startedAt) - Date.parse(fetch.attempts[i]!.endedAt!);
    expect(gap(0)).toBeGreaterThanOrEqual(29);
    expect(gap(1)).toBeGreaterThanOrEqual(59);

    const first = await r.taskLog(id, 'fetch', 1);
    expect(first!.state).toBe('failed');
    expect(first!.log).toContain('INFO  fetching, try 1 {"try":1}');
    expect(first!.log).toContain('ERROR Attempt 1 failed (will retry): remote said 503 (try 1)');
    expect(first!.log).not.toContain('try 2');
    const latest = await r.taskLog(id, 'fetch');
    expect(latest!.tryNumber).toBe(3);
    expect(latest!.log).toContain('fetching, try 3');
    expect(latest!.log).toContain('Attempt 3 succeeded');
    // The same lines went to the process logger, tagged with the attempt.
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'fetching, try 2', dagRunId: id, taskId: 'fetch', tryNumber: 2, try: 2 }),
    );
  });

  it.skipIf(!backend.url)('fails a task after its retries; what depends on it is upstream_failed', async () => {
    const calls = new Calls();
    const dag = defineDag({
      id: 'broken',
      tasks: [
        { id: 'extract', run: async () => calls.hit('extract') },
        {
          id: 'transform',
          upstream: ['extract'],
          retries: 1,
          retryDelayMs: 5,
          run: async () => {
            calls.hit('transform');
            throw new RangeError('column "age" has negative values');
          },
        },
        { id: 'load', upstream: ['transform'], run: async () => calls.hit('load') },
        { id: 'report', upstream: ['load', 'extract'], run: async () => calls.hit('report') },
        { id: 'audit', upstream: ['extract'], run: async () => calls.hit('audit') },
      ],
    });
    const r = runner([dag]);
    const run = await r.waitFor(await r.trigger('broken'), { timeoutMs: 10_000 });

    expect(run.status).toBe('failed');
    expect(run.error).toBe('Task "transform" failed: RangeError: column "age" has negative values');
    expect(Object.fromEntries(run.tasks.map((t) => [t.taskId, [t.state, t.tryNumber]]))).toEqual({
      extract: ['success', 1],
      transform: ['failed', 2],
      load: ['upstream_failed', 0],
      report: ['upstream_failed', 0],
      audit: ['success', 1],
    });
    expect(calls.of('transform')).toBe(2);
    expect(calls.of('load') + calls.of('report')).toBe(0);
    expect(run.tasks[1]!.attempts.map((a) => a.state)).toEqual(['failed', 'failed']);
  });

  it.skipIf(!backend.url)('fails at once, without retries or a stack trace, on an error marked permanent', async () => {
    const calls = new Calls();
    class BadInput extends Error {
      readonly permanent = true;
    }
    const dag = defineDag({
      id: 'bad_input',
      tasks: [
        {
          id: 'load',
          retries: 3,
          retryDelayMs: 10,
          run: async () => {
            calls.hit('load');
            throw new BadInput('line 3: expected 9 fields, found 7');
          },
        },
      ],
    });
    const r = runner([dag]);
    const run = await r.waitFor(await r.trigger('bad_input'), { timeoutMs: 10_000 });
    expect(run.status).toBe('failed');
    expect(calls.of('load')).toBe(1);
    expect(run.tasks[0]).toMatchObject({ state: 'failed', tryNumber: 1, error: 'line 3: expected 9 fields, found 7' });
    expect(run.error).toBe('Task "load" failed: line 3: expected 9 fields, found 7');
    const log = await r.taskLog(run.id, 'load');
    expect(log?.log).not.toMatch(/\bat /);
  });

  it.skipIf(!backend.url)('fails at once on invalid input or a missing thing of the shared hierarchy, retries the unavailable', async () => {
    const calls = new Calls();
    const failing = (id: string, error: () => Error) =>
      defineDag({
        id,
        tasks: [{ id: 'work', retries: 2, retryDelayMs: 5, run: async () => (calls.hit(id), Promise.reject(error())) }],
      });
    const r = runner([
      failing('invalid', () => new InvalidInputError('Invalid dataset name "Bad Name"')),
      failing('missing', () => new NotFoundError('dataset snapshot', 'loans')),
      failing('down', () => new UnavailableError('S3 get of "x" failed: connection reset')),
    ]);
    for (const id of ['invalid', 'missing', 'down']) {
      const run = await r.waitFor(await r.trigger(id), { timeoutMs: 10_000 });
      expect(run.status).toBe('failed');
    }
    expect([calls.of('invalid'), calls.of('missing'), calls.of('down')]).toEqual([1, 1, 3]);
  });

  it.skipIf(!backend.url)('refuses a run whose configuration its DAG rejects, before creating it', async () => {
    const calls = new Calls();
    const dag = defineDag({
      id: 'checked',
      tasks: [{ id: 'work', run: async () => calls.hit('work') }],
      checkConf: (conf) => {
        if (typeof conf.modelName !== 'string' || !/^\w+$/.test(conf.modelName)) {
          throw new InvalidInputError(`--model-name: invalid model name ${JSON.stringify(conf.modelName)}`);
        }
      },
    });
    const r = runner([dag]);
    await expect(r.trigger('checked', { modelName: '<script>' })).rejects.toThrow(InvalidInputError);
    expect(await r.listRuns({ dagId: 'checked' })).toEqual([]);
    const ok = await r.waitFor(await r.trigger('checked', { modelName: 'fine' }), { timeoutMs: 10_000 });
    expect(ok.status).toBe('success');
    expect(calls.of('work')).toBe(1);
  });

  it.skipIf(!backend.url)('retry(dagRunId) resumes from the failed task, not re-running succeeded ones', async () => {
    const calls = new Calls();
    let broken = true;
    const dag = defineDag({
      id: 'resumable',
      tasks: [
        { id: 'load', run: async () => ({ table: `raw_${calls.hit('load')}` }) },
        {
          id: 'train',
          upstream: ['load'],
          retries: 1,
          retryDelayMs: 5,
          run: async (ctx) => {
            calls.hit('train');
            if (broken) throw new Error('out of memory');
            return `model on ${ctx.input<{ table: string }>('load').table}`;
          },
        },
        { id: 'publish', upstream: ['train'], run: async (ctx) => `published ${ctx.input<string>('train')}` },
      ],
    });
    const r = runner([dag]);
    const id = await r.trigger('resumable');
    const failed = await r.waitFor(id, { timeoutMs: 10_000 });
    expect(failed.status).toBe('failed');
    expect(calls.of('train')).toBe(2);
    await expect(r.retry('no-such-run')).rejects.toThrow('Unknown DAG run "no-such-run"');

    broken = false;
    await r.retry(id);
    const done = await r.waitFor(id, { timeoutMs: 10_000 });
    expect(done.status).toBe('success');
    expect(done.error).toBeNull();
    expect(calls.of('load')).toBe(1);
    expect(calls.of('train')).toBe(3);
    const [load, train, publish] = done.tasks;
    expect(load).toMatchObject({ state: 'success', tryNumber: 1, output: { table: 'raw_1' } });
    // Try numbers continue; the retry granted a fresh budget of 1 + retries attempts.
    expect(train).toMatchObject({ state: 'success', tryNumber: 3, maxTries: 4, output: 'model on raw_1' });
    expect(train!.attempts.map((a) => [a.tryNumber, a.state])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'success'],
    ]);
    expect(publish).toMatchObject({ state: 'success', tryNumber: 1, output: 'published model on raw_1' });
    await expect(r.retry(id)).rejects.toThrow(`DAG run "${id}" is success: only failed runs can be retried`);
  });

  it.skipIf(!backend.url)('runs independent tasks in parallel, bounded by the executor concurrency', async () => {
    // Parallel: five tasks that each wait until all five have started can only finish if they run together
    // (run one by one, they would hit their timeout).
    let started = 0;
    const allStarted = gate();
    const together = defineDag({
      id: 'fan_out',
      tasks: [1, 2, 3, 4, 5].map((i) => ({
        id: `t${i}`,
        retries: 0,
        timeoutMs: 5000,
        run: async () => {
          if (++started === 5) allStarted.open();
          await allStarted.promise;
        },
      })),
    });
    const wide = runner([together], 5);
    expect((await wide.waitFor(await wide.trigger('fan_out'), { timeoutMs: 10_000 })).status).toBe('success');

    // Bounded: with two slots, no more than two of them are ever in flight.
    let inFlight = 0;
    let maxInFlight = 0;
    const hold = gate();
    const bounded = defineDag({
      id: 'fan_out_bounded',
      tasks: [1, 2, 3, 4, 5].map((i) => ({
        id: `t${i}`,
        run: async () => {
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          await hold.promise;
          inFlight--;
        },
      })),
    });
    const narrow = runner([bounded], 2);
    const id = await narrow.trigger('fan_out_bounded');
    await until(() => inFlight === 2);
    // All five are queued now; give a wrongly unbounded executor the chance to start a third.
    await until(async () => (await narrow.getRun(id))!.tasks.filter((t) => t.state === 'queued').length === 3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    hold.open();
    expect((await narrow.waitFor(id, { timeoutMs: 10_000 })).status).toBe('success');
    expect(maxInFlight).toBe(2);
  });

  it.skipIf(!backend.url)('fails an attempt at its timeout and aborts its signal', async () => {
    let aborted: unknown;
    const dag = defineDag({
      id: 'slow',
      tasks: [
        {
          id: 'hang',
          retries: 0,
          timeoutMs: 50,
          run: (ctx) =>
            new Promise((resolve) => {
              ctx.signal.addEventListener('abort', () => {
                aborted = ctx.signal.reason;
                resolve('too late');
              });
            }),
        },
      ],
    });
    const r = runner([dag]);
    const run = await r.waitFor(await r.trigger('slow'), { timeoutMs: 10_000 });
    expect(run.status).toBe('failed');
    expect(run.tasks[0]).toMatchObject({
      state: 'failed',
      error: 'TaskTimeoutError: Task "hang" timed out after 50 ms',
    });
    expect(String(aborted)).toContain('timed out after 50 ms');
  });

  it.skipIf(!backend.url)('rejects outputs it cannot store and reads of tasks that are not upstream', async () => {
    const dag = defineDag({
      id: 'misuse',
      tasks: [
        { id: 'big', retries: 0, run: async () => 'x'.repeat(70_000) },
        { id: 'cyclic', retries: 0, run: async () => {
          const o: Record<string, unknown> = {};
          o.self = o;
          return o;
        } },
        { id: 'nosy', retries: 0, run: async (ctx) => ctx.input('big') },
      ],
    });
    const r = runner([dag]);
    const run = await r.waitFor(await r.trigger('misuse'), { timeoutMs: 10_000 });
    const errors = Object.fromEntries(run.tasks.map((t) => [t.taskId, t.error]));
    expect(errors.big).toMatch(
      /^Task "big" returned 70002 bytes of JSON; outputs are stored in the database and limited to 60000 bytes/,
    );
    expect(errors.cyclic).toMatch(/^Task "cyclic" returned a value that is not JSON-serialisable: .*circular/i);
    expect(errors.nosy).toBe('Task "nosy" cannot read the output of "big": it is not upstream of "nosy"');
  });

  it.skipIf(!backend.url)('validates triggers and refuses a second run with the same id', async () => {
    const dag = defineDag({ id: 'tiny', tasks: [{ id: 'only', run: async () => 1 }] });
    const r = runner([dag]);
    await expect(r.trigger('nope')).rejects.toThrow('Unknown DAG "nope" (known: tiny)');
    await expect(r.trigger('tiny', { n: 1n } as never)).rejects.toThrow(/conf\) is not JSON-serialisable/);
    const id = await r.trigger('tiny', {}, 'manual', { runId: 'fixed-id-1' });
    expect(id).toBe('fixed-id-1');
    await expect(r.trigger('tiny', {}, 'manual', { runId: 'fixed-id-1' })).rejects.toThrow(
      'DAG run "fixed-id-1" already exists',
    );
    expect((await r.waitFor(id, { timeoutMs: 10_000 })).status).toBe('success');
    expect(await r.getRun('missing')).toBeUndefined();
  });

  it.skipIf(!backend.url)('keeps a task pending when the executor refuses it, and recovers the run', async () => {
    const dag = defineDag({ id: 'unqueued', tasks: [{ id: 'only', run: async () => 'ran' }] });
    const down: Executor = {
      kind: 'bullmq',
      bind() {},
      submit: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:6379')),
      close: async () => undefined,
    };
    const broken = new PipelineRunner({ store, dags: [dag], executor: down, logger: silentLogger });
    await expect(broken.trigger('unqueued', {}, 'manual', { runId: 'unqueued-1' })).rejects.toThrow(
      'Could not submit task "only" of run unqueued-1: connect ECONNREFUSED 127.0.0.1:6379',
    );
    expect((await broken.getRun('unqueued-1'))!.tasks[0]!.state).toBe('pending');

    const r = runner([dag]);
    expect(await r.recoverStaleRuns({ olderThanMs: 0 })).toEqual(['unqueued-1']);
    await r.retry('unqueued-1');
    const run = await r.waitFor('unqueued-1', { timeoutMs: 10_000 });
    expect(run.status).toBe('success');
    expect(run.tasks[0]).toMatchObject({ tryNumber: 1, output: 'ran' });
  });

  it.skipIf(!backend.url)('starts an attempt once however often it is delivered; retries lost ones', async () => {
    const calls = new Calls();
    const release = gate();
    const dag = defineDag({
      id: 'guarded',
      tasks: [
        {
          id: 'work',
          retryDelayMs: 40,
          run: async () => {
            calls.hit('work');
            await release.promise;
            return 'done';
          },
        },
      ],
    });
    // Two processes: the one that triggers, and another advancing the same run at the same time.
    const first = new RecordingExecutor();
    const r = new PipelineRunner({ store, dags: [dag], executor: first, logger: silentLogger, pollMs: 20 });
    const id = await r.trigger('guarded');
    const second = new RecordingExecutor();
    const other = new PipelineEngine({ store, dags: [dag], executor: second, logger: silentLogger });
    await Promise.all([other.advance(id), other.advance(id), other.advance(id)]);
    expect(first.submitted.map((s) => s.attempt)).toEqual([
      { dagRunId: id, dagId: 'guarded', taskId: 'work', tryNumber: 1 },
    ]);
    expect(second.submitted).toEqual([]);

    // Delivered twice (e.g. a queue redelivery racing the first): the body runs once.
    const ref = first.submitted[0]!.attempt;
    const running = other.runAttempt(ref);
    await until(() => calls.of('work') === 1);
    await other.runAttempt(ref);
    expect(calls.of('work')).toBe(1);

    // Redelivered after its worker died: the attempt is failed as lost and its retry submitted with backoff.
    await other.runAttempt(ref, { redelivered: true });
    const lost = (await r.getRun(id))!.tasks[0]!;
    expect(lost).toMatchObject({ state: 'up_for_retry', tryNumber: 1 });
    expect(lost.error).toMatch(/^Attempt 1 was lost/);
    expect(second.submitted).toEqual([{ attempt: { ...ref, tryNumber: 2 }, delayMs: 40 }]);
    expect((await r.taskLog(id, 'work', 1))!.log).toMatch(/Attempt 1 was lost/);

    // The lost attempt coming back later changes nothing; try 2 then runs normally.
    release.open();
    await running;
    expect((await r.getRun(id))!.tasks[0]!.state).toBe('up_for_retry');
    await other.runAttempt(second.submitted[0]!.attempt);
    const run = await r.waitFor(id, { timeoutMs: 10_000 });
    expect(run.status).toBe('success');
    expect(run.tasks[0]!.attempts.map((a) => [a.tryNumber, a.state])).toEqual([
      [1, 'failed'],
      [2, 'success'],
    ]);
  });
});
