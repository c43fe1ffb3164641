import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { defineDag, retryDelayMs, type TaskDef } from '../src/pipeline/dag.js';
import { AttemptLog } from '../src/pipeline/attempt-log.js';
import { errorDetail, errorMessage } from '../src/pipeline/errors.js';
import { createExecutor, InProcessExecutor } from '../src/pipeline/executors/index.js';
import { parseCron, scheduledRunId, setSchedule } from '../src/pipeline/scheduler.js';

const noop = async () => undefined;
const task = (id: string, upstream: string[] = [], extra: Partial<TaskDef> = {}): TaskDef => ({
  id,
  upstream,
  run: noop,
  ...extra,
});

describe('defineDag', () => {
  it('orders tasks so every task comes after its upstream, keeping definition order otherwise', () => {
    const dag = defineDag({
      id: 'etl',
      tasks: [task('report', ['train', 'clean']), task('load'), task('clean', ['load']), task('train', ['clean'])],
    });
    expect(dag.tasks.map((t) => t.id)).toEqual(['load', 'clean', 'train', 'report']);
    expect([...dag.taskById.get('report')!.ancestors].sort()).toEqual(['clean', 'load', 'train']);
    expect(dag.taskById.get('load')!.downstream).toEqual(['clean']);
  });

  it('applies the documented defaults', () => {
    const t = defineDag({ id: 'd', tasks: [task('a')] }).tasks[0]!;
    expect(t).toMatchObject({ retries: 2, retryDelayMs: 1000, maxRetryDelayMs: 300_000, timeoutMs: undefined });
  });

  it('rejects duplicate ids, unknown upstream tasks and bad settings with messages naming the task', () => {
    expect(() => defineDag({ id: 'd', tasks: [task('a'), task('a')] })).toThrow('DAG "d": duplicate task id "a"');
    expect(() => defineDag({ id: 'd', tasks: [task('a', ['nope'])] })).toThrow(
      'DAG "d": task "a" lists unknown upstream task "nope"',
    );
    expect(() => defineDag({ id: 'd', tasks: [] })).toThrow('DAG "d" has no tasks');
    expect(() => defineDag({ id: 'd', tasks: [task('a', [], { retries: -1 })] })).toThrow(
      'DAG "d": task "a" retries must be a non-negative integer, got -1',
    );
    expect(() => defineDag({ id: 'd', tasks: [task('a', [], { timeoutMs: 0 })] })).toThrow(/task "a" timeoutMs/);
    expect(() => defineDag({ id: 'bad id', tasks: [task('a')] })).toThrow(/DAG id "bad id" is invalid/);
    expect(() => defineDag({ id: 'd', tasks: [task('a:b')] })).toThrow(/task id "a:b" is invalid/);
    expect(() => defineDag({ id: 'x'.repeat(49), tasks: [task('a')] })).toThrow(/at most 48 characters/);
  });

  it('detects cycles and names one in execution order', () => {
    expect(() =>
      defineDag({ id: 'd', tasks: [task('start'), task('a', ['start', 'c']), task('b', ['a']), task('c', ['b'])] }),
    ).toThrow('DAG "d" has a cycle: a -> b -> c -> a');
    expect(() => defineDag({ id: 'd', tasks: [task('a', ['a'])] })).toThrow('DAG "d" has a cycle: a -> a');
  });
});

describe('retry backoff', () => {
  it('doubles from the base delay and stops at the cap', () => {
    const policy = { retryDelayMs: 1000, maxRetryDelayMs: 5000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });
});

describe('attempt log', () => {
  it('keeps the first and last lines within its budget and says how many it dropped', () => {
    const log = new AttemptLog(pino({ level: 'silent' }), 2000);
    for (let i = 0; i < 200; i++) log.info(`line ${i}`);
    const text = log.text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(2100);
    expect(text).toMatch(/INFO  line 0$/m);
    expect(text).toMatch(/INFO  line 199$/m);
    const omitted = Number(/\.\.\. (\d+) lines omitted \.\.\./.exec(text)![1]);
    const kept = text.split('\n').length - 1;
    expect(omitted + kept).toBe(200);
  });

  it('appends structured data as JSON', () => {
    const log = new AttemptLog(pino({ level: 'silent' }));
    log.warn('rows rejected', { count: 3 });
    expect(log.text()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z WARN  rows rejected \{"count":3\}$/);
  });
});

describe('stored errors', () => {
  it('keep the message and a trimmed stack without Node internals', () => {
    const error = new TypeError('bad column', { cause: new Error('root cause') });
    const detail = errorDetail(error);
    expect(errorMessage(error)).toBe('TypeError: bad column');
    expect(detail.split('\n')[0]).toBe('TypeError: bad column');
    expect(detail).toContain('pipeline-dag.test.ts');
    expect(detail).not.toContain('node:internal');
    expect(detail).toContain('Caused by: root cause');
    expect(detail.split('\n').filter((l) => l.trim().startsWith('at ')).length).toBeLessThanOrEqual(16);
  });
});

describe('createExecutor', () => {
  // The redis:// case is covered in pipeline-bullmq.test.ts, against a real Redis.
  it('runs in process without a queue URL and rejects unknown schemes', async () => {
    const local = createExecutor(undefined, { concurrency: 2 });
    expect(local).toBeInstanceOf(InProcessExecutor);
    await local.close();
    expect(() => createExecutor('amqp://user:secret@host')).toThrow(
      'Unsupported queue URL "amqp://user:***@host": use redis://host:port (BullMQ workers) or leave it unset',
    );
    expect(() => new InProcessExecutor({ concurrency: 0 })).toThrow(/positive integer/);
  });
});

describe('cron expressions', () => {
  it('are validated with a message saying what is wrong', async () => {
    expect(() => parseCron('61 * * * *')).toThrow(/Invalid cron expression "61 \* \* \* \*": .*minute/);
    expect(() => parseCron('0 0 * * * *')).toThrow(/requires exactly 5 parts/);
    expect(() => parseCron('every day')).toThrow(/Invalid cron expression "every day"/);
    // Rejected before the store is touched.
    await expect(setSchedule(undefined as never, 'd', '0 0 31 2 *')).rejects.toThrow(
      'Cron expression "0 0 31 2 *" never fires',
    );
  });

  it('fire at the expected UTC times', () => {
    const cron = parseCron('30 2 * * 1-5');
    expect(cron.nextRuns(2, new Date('2024-03-01T12:00:00Z')).map((d) => d.toISOString())).toEqual([
      '2024-03-04T02:30:00.000Z',
      '2024-03-05T02:30:00.000Z',
    ]);
    expect(scheduledRunId('training', new Date('2024-03-04T02:30:00Z'))).toBe(`sched-training-${1709519400 / 60}`);
  });
});
