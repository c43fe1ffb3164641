/**
 * Reading data through the command line as a user does: what a careless file gets (a clear message, one try, no stack
 * trace) and what the task log says about the data.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, makeHome, userError, type CliHome } from './helpers/cli.js';

interface RunDetail {
  id: string;
  status: string;
  tasks: { taskId: string; state: string; tryNumber: number; attempts: { tryNumber: number; error: string | null }[] }[];
}

describe('data through the CLI', () => {
  let home: CliHome;
  beforeAll(() => {
    home = makeHome('mldeploy-data-cli-');
  });
  afterAll(() => home.remove());

  const write = (name: string, content: string | Uint8Array) => {
    const path = join(home.dir, name);
    writeFileSync(path, content);
    return path;
  };
  const lastRun = async (): Promise<RunDetail> => {
    const [run] = await home.json<{ id: string }[]>(['runs', 'list', '--limit', '1', '--json']);
    return home.json<RunDetail>(['runs', 'show', run.id, '--json']);
  };

  it('a 2-row file fails once with "too few rows to split", no stack trace', async () => {
    const args = ['run', 'training', '--data', write('two.csv', 'a,b,y\n1,2,0\n3,4,1\n'), '--target', 'y'];
    const result = await home.run(args);
    expect(result.code, describeResult(args, result)).toBe(1);
    expect(userError(result)).toMatch(/too few rows to split: 2 labelled rows \(1 positive, 1 negative\)/);
    expect(result.stderr).not.toMatch(/RangeError|\n\s+at /);
    const run = await lastRun();
    const preprocess = run.tasks.find((t) => t.taskId === 'preprocess_data')!;
    expect(preprocess.state).toBe('failed');
    expect(preprocess.attempts).toHaveLength(1); // a DataError is not retried
  });

  it('the task log says which columns are empty or hold infinite values', async () => {
    const lines = ['x,empty,score,y'];
    for (let i = 0; i < 60; i++) lines.push(`${(i * 37) % 11},,${i === 7 ? 'inf' : i / 3},${i % 2}`);
    const args = ['run', 'training', '--data', write('notes.csv', `${lines.join('\n')}\n`), '--target', 'y', '--estimators', 'logistic_regression'];
    const result = await home.run(args);
    expect(result.code, describeResult(args, result)).toBe(0);
    const run = await lastRun();
    const log = await home.run(['runs', 'show', run.id, '--logs']);
    expect(log.stdout).toContain('column "empty" is empty (no value in any of the 60 rows)');
    expect(log.stdout).toContain('column "score": 1 infinite value (first on line 9) stored as missing');
    expect(log.stdout).toContain('column "empty" is not a feature: empty (no value in any of the 60 rows)');
  });
});
