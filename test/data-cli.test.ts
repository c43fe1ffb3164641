/**
 * Reading data through the command line as a user does: what a careless file gets (a clear message, one try, no stack
 * trace) and what the task log says about the data.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, describeResult, makeHome, userError, type CliHome } from './helpers/cli.js';

const LOANS = resolve(REPO_ROOT, '../shared/data/loan_approval.csv');
const lacksShared = !existsSync(LOANS) && process.env.CI !== 'true';

interface RunDetail {
  id: string;
  status: string;
  tasks: { taskId: string; state: string; tryNumber: number; attempts: { tryNumber: number; error: string | null }[] }[];
}

/** Each test runs the CLI several times; on a busy machine one training takes tens of seconds. */
const CLI_TIMEOUT = 240_000;

describe('data through the CLI', { timeout: CLI_TIMEOUT }, () => {
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

  it.skipIf(lacksShared)('a header-less copy of loan_approval.csv trains with --no-header --columns, as the original does', async () => {
    const [header, ...rest] = readFileSync(LOANS, 'utf8').split('\r\n');
    const copy = write('loans_noheader.csv', rest.join('\r\n'));
    const common = ['--positive-label', 'Approved', '--estimators', 'logistic_regression', '--json'];
    type Payload = { status: string; metrics: { test: { roc_auc: number; accuracy: number } } };
    const original = await home.json<Payload>(['run', 'training', '--data', LOANS, '--target', ' loan_status', ...common]);
    const headerless = await home.json<Payload>([
      'run', 'training', '--data', copy, '--no-header', '--columns', header, '--target', 'loan_status', ...common,
    ]);
    expect(headerless.status).toBe('success');
    expect(headerless.metrics.test.roc_auc).toBeGreaterThan(0.9);
    expect(headerless.metrics.test).toEqual(original.metrics.test);
    // Without --no-header the first row is taken for names: the target is not found, and the error says why.
    const args = ['run', 'training', '--data', copy, '--target', 'loan_status'];
    const guessed = await home.run(args);
    expect(guessed.code, describeResult(args, guessed)).toBe(1);
    expect(userError(guessed)).toMatch(/column "loan_status" not found.*Some column names are numbers.*--no-header --columns/);
  });

  it('reading flags are checked before any work, and stored with a schedule', async () => {
    const bad = ['run', 'training', '--data', 'x.csv', '--target', 'y', '--columns', 'a,b'];
    const refused = await home.run(bad);
    expect(refused.code, describeResult(bad, refused)).toBeGreaterThan(0);
    expect(userError(refused)).toBe('mldeploy: --columns names the columns of a file without a header: add --no-header (a header line is used as is)');
    const delimiter = await home.run(['run', 'load_raw_data', '--data', 'x.csv', '--delimiter', '::']);
    expect(userError(delimiter)).toMatch(/--delimiter must be one character/);
    const runs = await home.json<unknown[]>(['runs', 'list', '--json']);

    const lines = ['age|city|income|y'];
    for (let i = 0; i < 30; i++) lines.push(`${20 + i}|${['Köln', 'Sète'][i % 2]}|${i % 5 ? i * 1000 : -999}|${i % 2}`);
    const pipe = write('pipe.txt', Buffer.from(`${lines.join('\r')}\r`, 'latin1'));
    const load = ['run', 'load_raw_data', '--data', pipe, '--na-values', '-999', '--json'];
    const loaded = await home.json<{ tasks: { output: { rows: number; delimiter: string; encoding: string } }[] }>(load);
    expect(loaded.tasks[0].output).toMatchObject({ rows: 30, delimiter: '|', encoding: 'windows-1252' });
    expect(home.query<{ missing: number }>("select json_extract(columns_json, '$[2].missing') as missing from raw_loads where dataset = 'pipe'")).toEqual([
      { missing: 6 },
    ]);
    expect(await home.json<unknown[]>(['runs', 'list', '--json'])).toHaveLength(runs.length + 1);

    const schedule = ['schedule', 'set', 'training', '0 3 * * *', '--data', pipe, '--target', 'y', '--delimiter', '|', '--no-header', '--columns', 'a,b,c,d'];
    expect((await home.run(schedule)).code).toBe(0);
    const [stored] = home.query<{ conf_json: string }>('select conf_json from schedules');
    expect(JSON.parse(stored.conf_json).csv).toEqual({ delimiter: '|', header: false, columns: ['a', 'b', 'c', 'd'] });
  });
});
