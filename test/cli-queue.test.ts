/**
 * The command line with a queue configured (MLDEPLOY_QUEUE_URL), as a user on a multi-machine setup runs it: every
 * command exits within 1 s of its last output (no Redis connection left open), a run queued with no worker alive
 * says so and `runs list` shows it, a worker started later takes it, and the long-running commands stop promptly on
 * SIGTERM. The built CLI runs in child processes on a SQLite home, with a queue prefix of its own.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_MAIN, describeResult, makeHome, type CliHome } from './helpers/cli.js';

const redisUrl = process.env.MLDEPLOY_TEST_REDIS_URL;
if (!redisUrl && process.env.CI === 'true') throw new Error('MLDEPLOY_TEST_REDIS_URL must be set in CI (see .ci/run)');

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** A finished command: its output, and how long after its last output it exited. */
interface Timed {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from the last byte written (or from the start, if none) to the exit. */
  lingerMs: number;
}

interface Started {
  child: ReturnType<typeof spawn>;
  output(): string;
  exited: Promise<Timed>;
}

function start(home: CliHome, env: Record<string, string>, args: string[]): Started {
  const childEnv: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MLDEPLOY_')) childEnv[key] = value;
  Object.assign(childEnv, { MLDEPLOY_HOME: home.dir, LOG_LEVEL: 'info' }, env);
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: home.dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let last = performance.now();
  child.stdout!.on('data', (chunk: Buffer) => ((last = performance.now()), out.push(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => ((last = performance.now()), err.push(chunk)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  const exited = new Promise<Timed>((resolve) =>
    child.on('exit', (code) => {
      const at = performance.now();
      clearTimeout(killer);
      // 'exit' can come before the last 'data' events are read: wait for the pipes to close.
      child.on('close', () =>
        resolve({
          args,
          code,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          lingerMs: Math.max(0, at - last),
        }),
      );
    }),
  );
  return { child, output: () => Buffer.concat([...out, ...err]).toString('utf8'), exited };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(!redisUrl)('the command line with a queue configured', () => {
  let home: CliHome;
  let env: Record<string, string>;
  const run = async (args: string[]) => start(home, env, args).exited;

  beforeAll(() => {
    home = makeHome('mldeploy-cli-queue-');
    env = { MLDEPLOY_QUEUE_URL: redisUrl!, MLDEPLOY_QUEUE_PREFIX: `mldeploy-cli-${randomBytes(4).toString('hex')}` };
  });
  afterAll(() => home?.remove());

  it('exits within 1 s of its output, every command; a run with no worker says so until one comes', async () => {
    const sample = `${home.dir}/loans.csv`;
    const finished: Timed[] = [];
    const expectOk = (result: Timed) => {
      expect(result.code, describeResult(result.args, { ...result, signal: null })).toBe(0);
      finished.push(result);
      return result;
    };
    await Promise.all([run(['--version']), run(['--help']), run(['sample', sample, '--rows', '600'])].map(async (p) => expectOk(await p)));

    // Queued with no worker alive: the command says so while it waits, and `runs list` / `runs show` show it.
    const waiting = start(home, env, ['run', 'load_raw_data', '--data', sample]);
    await until(() => /waiting for a worker: none has ever been seen on this queue/.test(waiting.output()), 30_000, 'the waiting note');
    const listed = expectOk(await run(['runs', 'list']));
    expect(listed.stdout).toMatch(/waiting for a worker: none has ever been seen/);
    const [runId] = UUID.exec(listed.stdout)!;
    const shown = expectOk(await run(['runs', 'show', runId, '--json']));
    expect(JSON.parse(shown.stdout).waiting).toMatch(/^waiting for a worker/);

    // A worker comes: it takes the queued task, and the waiting command finishes.
    const worker = start(home, env, ['worker', '--concurrency', '2']);
    try {
      const loaded = await waiting.exited;
      expectOk(loaded);
      expect(loaded.stdout).toMatch(/load_raw_data\s+success/);

      const trained = expectOk(await run(['run', 'training', '--data', sample, '--target', 'Loan_Approval', '--json']));
      const result = JSON.parse(trained.stdout) as { run_id: string; status: string };
      expect(result.status).toBe('success');
      // Commands that only read run side by side; a failed run and its retry (fails again, exit 1) beside them.
      const failedRun = (async () => {
        const failed = await run(['run', 'preprocess_data', '--dataset', 'loans', '--target', 'no_such_column']);
        expect(failed.code).toBe(1);
        finished.push(failed);
        const failedId = new RegExp(`dag run (${UUID.source}) failed`).exec(failed.stderr)![1];
        const retried = await run(['runs', 'retry', failedId]);
        expect(retried.code).toBe(1);
        finished.push(retried);
      })();
      const scheduled = (async () => {
        expectOk(await run(['schedule', 'set', 'training', '0 3 * * *', '--data', sample, '--target', 'Loan_Approval']));
        expectOk(await run(['schedule', 'list']));
        expectOk(await run(['schedule', 'remove', 'training']));
      })();
      const reads = [
        ['runs', 'list', '--json'],
        ['runs', 'show', result.run_id, '--logs'],
        ['models', 'list'],
        ['models', 'show', 'clients_model'],
      ].map(async (args) => expectOk(await run(args)));
      await Promise.all([failedRun, scheduled, ...reads]);
      // A bad option fails before any work, and exits promptly as well.
      const refused = await run(['runs', 'list', '--limit', 'x']);
      expect(refused.stderr).toContain('--limit must be an integer >= 1, got "x"');
      finished.push(refused);
    } finally {
      worker.child.kill('SIGTERM');
    }
    const stopped = await worker.exited;
    expect(stopped.code, stopped.stderr).toBe(0);

    for (const result of finished) {
      expect(result.lingerMs, `mldeploy ${result.args.join(' ')} exited ${Math.round(result.lingerMs)} ms after its output`).toBeLessThan(1000);
    }
  }, 240_000);

  it('stops the scheduler and a worker promptly on SIGTERM, and refuses a worker concurrency that is not a count', async () => {
    for (const args of [['scheduler'], ['worker']]) {
      const started = start(home, env, args);
      await until(() => /started|listening/i.test(started.output()), 30_000, `${args[0]} to start`);
      const signalledAt = performance.now();
      started.child.kill('SIGTERM');
      const result = await started.exited;
      expect(result.code, result.stderr).toBe(0);
      expect(performance.now() - signalledAt, `${args[0]} stopped within 5 s of SIGTERM`).toBeLessThan(5000);
    }
    const bad = await run(['worker', '--concurrency', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--concurrency must be an integer >= 1, got "0"');
  }, 90_000);
});
