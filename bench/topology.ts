/**
 * The compose topology without containers: 2 API processes, 2 workers and 2 schedulers, each a separate OS process of
 * the built CLI, on PostgreSQL (or MariaDB) + Redis + s3rver, and what must hold when machines fail:
 *   worker-kill  kill -9 the worker running train_model in the middle of it: the task is failed as lost and retried on
 *                the other worker, and the run succeeds;
 *   promotion    a promotion reaches both APIs within 2 s;
 *   burst        50 runs queued at once: each task runs exactly once (one attempt per run, one start line in all the
 *                workers' logs together);
 *   scheduler    kill -9 the scheduler that fired the last tick: the other fires the next tick, exactly once
 *                (waits for two minute boundaries: full form only);
 *   fit          (full form) a 1M-row training on a worker: its heartbeat is never older than 20 s and its job lock
 *                never lost, with production settings (10 s heartbeats, 30 s lock).
 *
 *   npm run scenarios:topology [-- --engine postgres|mysql|all] [--short] [--rows N]
 *
 * Needs MLDEPLOY_TEST_POSTGRES_URL / MLDEPLOY_TEST_MYSQL_URL (an admin URL: each run makes and drops its own database)
 * and MLDEPLOY_TEST_REDIS_URL (each run uses a queue prefix of its own), as the tests do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { openContext, type AppContext } from '../src/context.js';
import { writeLoanSample } from '../src/data/index.js';
import { buildDags } from '../src/pipeline/dags.js';
import { createExecutor, PipelineRunner } from '../src/pipeline/index.js';
import { freePort } from './ports.js';
import { repoPath } from './paths.js';

const CLI = repoPath('dist/cli/main.js');
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
};

export type TopologyEngine = 'postgres' | 'mysql';

export interface TopologyOptions {
  engine: TopologyEngine;
  /** Admin URL of the engine (a database of its own is made and dropped). */
  adminUrl: string;
  redisUrl: string;
  /** Rows of the training file whose train_model is killed mid-way (default 20 000). */
  rows?: number;
  /** Also the scheduler failover (two minute boundaries) and the 1M-row fit check. */
  full?: boolean;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
}

export interface TopologyReport {
  engine: TopologyEngine;
  workerKill: { killedWorker: number; attempts: Array<[number, string, string | null]>; runSeconds: number };
  promotion: { version: number; reachedMs: [number, number] };
  burst: { runs: number; attempts: number; startsPerWorker: number[]; seconds: number };
  scheduler?: { killed: number; firstTick: string; nextTick: string; runsPerTick: number[] };
  fit?: { rows: number; oldestHeartbeatS: number; lostLocks: number; seconds: number };
}

/** One mldeploy process of the topology, its output collected. */
class Proc {
  readonly child: ChildProcess;
  private readonly chunks: string[] = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (c: Buffer) => this.chunks.push(c.toString('utf8')));
    this.child.stderr!.on('data', (c: Buffer) => this.chunks.push(c.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get output(): string {
    return this.chunks.join('');
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

async function until<T>(what: string, timeoutMs: number, check: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`topology: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A fresh database on the engine; returns its URL and how to drop it. */
async function freshDatabase(engine: TopologyEngine, adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mldeploy_topology_${randomBytes(4).toString('hex')}`;
  const url = new URL(adminUrl);
  if (engine === 'postgres') {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    url.pathname = `/${name}`;
    return {
      url: url.href,
      async drop() {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const admin = await mysql.createConnection(adminUrl);
  await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  await admin.end();
  url.pathname = `/${name}`;
  return {
    url: url.href,
    async drop() {
      const client = await mysql.createConnection(adminUrl);
      await client.query(`DROP DATABASE IF EXISTS ${name}`);
      await client.end();
    },
  };
}

async function startS3(): Promise<{ endpoint: string; bucket: string; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'mldeploy-topology-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const bucket = 'mldeploy-topology';
  const admin = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  return {
    endpoint,
    bucket,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

async function servedVersion(port: number): Promise<number | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    const body = (await response.json()) as { models: Array<{ default: boolean; version: number | null }> };
    return body.models.find((m) => m.default)?.version ?? null;
  } catch {
    return null;
  }
}

/** Lines of `text` that say an attempt of `taskId` started (the engine's "Attempt N of M started"). */
function attemptStarts(text: string, taskId: string): number {
  return text.split('\n').filter((line) => line.includes(taskId) && /Attempt \d+ of \d+ started/.test(line)).length;
}

export async function runTopologyScenario(options: TopologyOptions): Promise<TopologyReport> {
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-topology-'));
  const database = await freshDatabase(options.engine, options.adminUrl);
  const s3 = await startS3();
  const procs: Proc[] = [];
  let app: AppContext | undefined;
  let runner: PipelineRunner | undefined;
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MLDEPLOY_') && key !== 'PORT')),
    MLDEPLOY_HOME: dir,
    MLDEPLOY_DATABASE_URL: database.url,
    MLDEPLOY_ARTIFACTS_URL: `s3://${s3.bucket}/artifacts`,
    MLDEPLOY_S3_ENDPOINT: s3.endpoint,
    MLDEPLOY_S3_FORCE_PATH_STYLE: 'true',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
    MLDEPLOY_QUEUE_URL: options.redisUrl,
    MLDEPLOY_QUEUE_PREFIX: `mldeploy-topology-${randomBytes(4).toString('hex')}`,
    // Short locks so a killed worker's task is taken over in seconds (production: 30 s).
    MLDEPLOY_WORKER_LOCK_MS: '3000',
    LOG_LEVEL: 'info',
  };
  const start = (name: string, args: string[]) => {
    const proc = new Proc(name, args, env);
    procs.push(proc);
    return proc;
  };
  const cli = async (args: string[]) => {
    const proc = start(`cli ${args[0]}`, args);
    const code = await proc.exited;
    return { code, output: proc.output };
  };

  try {
    say(`topology on ${options.engine}: 2 workers, 2 schedulers, 2 APIs`);
    const workers = [start('worker-1', ['worker']), start('worker-2', ['worker'])];
    const schedulers = [start('scheduler-1', ['scheduler']), start('scheduler-2', ['scheduler'])];
    const ports = [await freePort(), await freePort()];
    const apis = ports.map((port, i) => start(`api-${i + 1}`, ['serve', '--workers', '1', '--port', String(port)]));
    await until('the workers and schedulers to start', 120_000, () =>
      [...workers, ...schedulers].every((p) => {
        if (!p.alive) throw new Error(`${p.name} exited:\n${p.output}`);
        return /worker listening|scheduler started/.test(p.output);
      }),
    );
    await until('both APIs to answer /health', 120_000, async () => {
      for (const api of apis) if (!api.alive) throw new Error(`${api.name} exited:\n${api.output}`);
      const answers = await Promise.all(ports.map((p) => fetch(`http://127.0.0.1:${p}/health`).then((r) => r.ok, () => false)));
      return answers.every(Boolean);
    });

    // kill -9 the worker running train_model, in the middle of it.
    const csv = join(dir, 'loans.csv');
    await writeLoanSample(csv, { rows: options.rows ?? 20_000, seed: 11 });
    const trainingStarted = Date.now();
    const training = start('cli run training', ['run', 'training', '--data', csv, '--target', 'Loan_Approval', '--json']);
    const busy = await until('a worker to start train_model', 300_000, () => {
      if (!training.alive) throw new Error(`run training exited early:\n${training.output}`);
      return workers.find((w) => attemptStarts(w.output, 'train_model') > 0);
    });
    await new Promise((r) => setTimeout(r, 200));
    const killedWorker = workers.indexOf(busy) + 1;
    say(`  kill -9 worker-${killedWorker} in the middle of train_model`);
    busy.child.kill('SIGKILL');
    const trainingCode = await training.exited;
    if (trainingCode !== 0) throw new Error(`run training failed after the worker was killed:\n${training.output}`);
    const result = JSON.parse(training.output.slice(training.output.indexOf('{'))) as { run_id: string; model: { version: number } };

    const config = loadConfig(env);
    app = await openContext(config, pino({ level: 'silent' }));
    runner = new PipelineRunner({
      store: app.store,
      dags: buildDags(app),
      executor: createExecutor(config.queueUrl, { prefix: config.queuePrefix }),
      logger: app.logger,
    });
    const trained = (await runner.getRun(result.run_id))!;
    const train = trained.tasks.find((t) => t.taskId === 'train_model')!;
    const attempts = train.attempts.map((a): [number, string, string | null] => [a.tryNumber, a.state, a.error]);
    if (trained.status !== 'success' || attempts.length !== 2 || attempts[0][1] !== 'failed' || !/was lost/.test(attempts[0][2] ?? '') || attempts[1][1] !== 'success') {
      throw new Error(`train_model was not retried as expected after the kill: ${JSON.stringify(attempts)}`);
    }
    const survivor = workers.find((w) => w !== busy)!;
    if (attemptStarts(survivor.output, 'train_model') < 1) throw new Error('the surviving worker did not run train_model');
    const workerKill = { killedWorker, attempts, runSeconds: (Date.now() - trainingStarted) / 1000 };
    say(`  train_model: ${JSON.stringify(attempts)}; run succeeded in ${workerKill.runSeconds.toFixed(1)} s`);
    workers[killedWorker - 1] = start(`worker-${killedWorker}-restarted`, ['worker']);
    await until('the restarted worker', 60_000, () => /worker listening/.test(workers[killedWorker - 1].output));

    // A promotion reaches both APIs within 2 s.
    await until(`both APIs to serve v${result.model.version}`, 30_000, async () =>
      (await Promise.all(ports.map(servedVersion))).every((v) => v === result.model.version),
    );
    const second = await cli(['run', 'train_model', '--dataset', 'loans', '--json']);
    if (second.code !== 0) throw new Error(`the second train_model failed:\n${second.output}`);
    const candidate = (JSON.parse(second.output.slice(second.output.indexOf('{'))) as { model: { version: number } }).model.version;
    const promote = await cli(['models', 'promote', 'clients_model', String(candidate), '--force']);
    if (promote.code !== 0) throw new Error(`models promote failed:\n${promote.output}`);
    const promotedAt = performance.now();
    const reachedMs: [number, number] = [NaN, NaN];
    await until(`v${candidate} on both APIs`, 10_000, async () => {
      const versions = await Promise.all(ports.map(servedVersion));
      versions.forEach((v, i) => {
        if (v === candidate && Number.isNaN(reachedMs[i])) reachedMs[i] = performance.now() - promotedAt;
      });
      return reachedMs.every((ms) => !Number.isNaN(ms));
    });
    if (reachedMs.some((ms) => ms > 2000)) throw new Error(`the promotion took ${reachedMs.map(Math.round).join(' and ')} ms to reach the APIs`);
    say(`  promotion of v${candidate} reached the APIs in ${reachedMs.map((ms) => Math.round(ms)).join(' and ')} ms`);

    // 50 runs queued at once: each runs exactly once.
    const burstStarted = Date.now();
    const before = workers.map((w) => attemptStarts(w.output, 'load_raw_data'));
    const files = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const file = join(dir, `burst_${i}.csv`);
        await writeLoanSample(file, { rows: 40, seed: 100 + i });
        return file;
      }),
    );
    const ids = await Promise.all(files.map((file, i) => runner!.trigger('load_raw_data', { data: file, dataset: `burst_${i}` })));
    const runs = await Promise.all(ids.map((id) => runner!.waitFor(id, { timeoutMs: 300_000 })));
    const failed = runs.filter((r) => r.status !== 'success');
    if (failed.length > 0) throw new Error(`${failed.length} of 50 runs failed: ${failed[0].error}`);
    const attemptRows = runs.flatMap((r) => r.tasks.flatMap((t) => t.attempts));
    const startsPerWorker = workers.map((w, i) => attemptStarts(w.output, 'load_raw_data') - before[i]);
    const totalStarts = startsPerWorker.reduce((a, b) => a + b, 0);
    if (attemptRows.length !== 50 || attemptRows.some((a) => a.tryNumber !== 1) || totalStarts !== 50) {
      throw new Error(`50 runs: ${attemptRows.length} attempts recorded, ${totalStarts} started in the workers' logs (expected 50 and 50)`);
    }
    const burst = { runs: 50, attempts: attemptRows.length, startsPerWorker, seconds: (Date.now() - burstStarted) / 1000 };
    say(`  50 runs at once: 50 attempts, started ${startsPerWorker.join(' + ')} by the workers, in ${burst.seconds.toFixed(1)} s`);

    const report: TopologyReport = { engine: options.engine, workerKill, promotion: { version: candidate, reachedMs }, burst };
    if (options.full) {
      report.scheduler = await schedulerFailover({ runner, app, schedulers, csv, cli, say });
      // The fit check runs on a worker of its own with production settings: the short-lock workers step aside.
      await Promise.all(workers.map((w) => w.stop()));
      report.fit = await fitOnWorker({ dir, env, app, say });
    }
    return report;
  } finally {
    await runner?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await Promise.all(procs.map((p) => p.stop()));
    await s3.stop().catch(() => undefined);
    await database.drop().catch((error: unknown) => say(`  could not drop the scenario database: ${(error as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Kill -9 the scheduler that fired a tick; the other must fire the next one, once. */
async function schedulerFailover(context: {
  runner: PipelineRunner;
  app: AppContext;
  schedulers: Proc[];
  csv: string;
  cli: (args: string[]) => Promise<{ code: number | null; output: string }>;
  say: (line: string) => void;
}): Promise<NonNullable<TopologyReport['scheduler']>> {
  const { runner, schedulers, cli, say } = context;
  const set = await cli(['schedule', 'set', 'load_raw_data', '* * * * *', '--data', context.csv, '--dataset', 'scheduled']);
  if (set.code !== 0) throw new Error(`schedule set failed:\n${set.output}`);
  const scheduledRuns = async () => (await runner.listRuns({ dagId: 'load_raw_data', limit: 1000 })).filter((r) => r.trigger === 'schedule');
  const fired = (p: Proc) => p.output.split('\n').filter((line) => /DAG run triggered/.test(line)).length;
  say('  waiting for a scheduled tick (up to 75 s)');
  const first = await until('the first scheduled run', 90_000, async () => (await scheduledRuns())[0]);
  const firing = await until('the scheduler that fired', 10_000, () => schedulers.find((s) => fired(s) > 0));
  const killed = schedulers.indexOf(firing) + 1;
  firing.child.kill('SIGKILL');
  say(`  kill -9 scheduler-${killed}, which fired ${first.id}`);
  const other = schedulers.find((s) => s !== firing)!;
  const firedBefore = fired(other);
  const next = await until('the next tick from the other scheduler', 90_000, async () => (await scheduledRuns()).find((r) => r.id !== first.id));
  await new Promise((r) => setTimeout(r, 2000));
  const all = await scheduledRuns();
  const perTick = [first.id, next.id].map((id) => all.filter((r) => r.id === id).length);
  if (fired(other) - firedBefore !== 1 || all.length !== 2 || perTick.some((n) => n !== 1)) {
    throw new Error(`scheduled runs after the kill: ${all.map((r) => r.id).join(', ')}; the other scheduler fired ${fired(other) - firedBefore}`);
  }
  await cli(['schedule', 'remove', 'load_raw_data']);
  const done = await runner.waitFor(next.id, { timeoutMs: 120_000 });
  if (done.status !== 'success') throw new Error(`the run the surviving scheduler fired failed: ${done.error}`);
  say(`  the other scheduler fired ${next.id}, once`);
  return { killed, firstTick: first.id, nextTick: next.id, runsPerTick: perTick };
}

/** A 1M-row training on a worker with production settings: the heartbeat stays fresh and no lock is lost. */
async function fitOnWorker(context: {
  dir: string;
  env: NodeJS.ProcessEnv;
  app: AppContext;
  say: (line: string) => void;
}): Promise<NonNullable<TopologyReport['fit']>> {
  const { dir, app, say } = context;
  const rows = 1_000_000;
  const csv = join(dir, 'loans_1m.csv');
  await writeLoanSample(csv, { rows, seed: 12 });
  const env = { ...context.env, MLDEPLOY_WORKER_LOCK_MS: '30000' };
  const worker = new Proc('worker-fit', ['worker'], env);
  const started = Date.now();
  try {
    const training = new Proc('cli run training 1M', ['run', 'training', '--data', csv, '--target', 'Loan_Approval', '--json'], env);
    let oldest = 0;
    let runId: string | undefined;
    say(`  1M-row training on a worker (production heartbeat and lock)`);
    while (training.alive) {
      runId ??= /dag run ([0-9a-f-]{36}) \(training\) started/.exec(training.output)?.[1];
      if (runId) {
        const row = await app.store.db
          .selectFrom('task_instances')
          .select(['task_id', 'state', 'heartbeat_at'])
          .where('dag_run_id', '=', runId)
          .where('state', '=', 'running')
          .executeTakeFirst();
        if (row?.heartbeat_at) oldest = Math.max(oldest, (Date.now() - Date.parse(row.heartbeat_at)) / 1000);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    if ((await training.exited) !== 0) throw new Error(`the 1M-row training failed:\n${training.output.slice(-3000)}`);
    const run = JSON.parse(training.output.slice(training.output.indexOf('{'))) as { run_id: string };
    const attempts = await app.store.db.selectFrom('task_attempts').select(['task_id', 'state']).where('dag_run_id', '=', run.run_id).execute();
    const lost = attempts.filter((a) => a.state !== 'success').length;
    if (oldest > 20 || lost > 0) throw new Error(`1M-row training: oldest heartbeat ${oldest.toFixed(1)} s, ${lost} attempts lost`);
    const seconds = (Date.now() - started) / 1000;
    say(`  1M rows: oldest heartbeat ${oldest.toFixed(1)} s, no lock lost, ${seconds.toFixed(0)} s`);
    return { rows, oldestHeartbeatS: oldest, lostLocks: lost, seconds };
  } finally {
    await worker.stop();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const engineArg = value('--engine') ?? 'all';
  const engines: TopologyEngine[] = engineArg === 'all' ? ['postgres', 'mysql'] : [engineArg as TopologyEngine];
  const redisUrl = process.env.MLDEPLOY_TEST_REDIS_URL;
  if (!redisUrl) throw new Error('set MLDEPLOY_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379)');
  for (const engine of engines) {
    const variable = engine === 'postgres' ? 'MLDEPLOY_TEST_POSTGRES_URL' : 'MLDEPLOY_TEST_MYSQL_URL';
    const adminUrl = process.env[variable];
    if (!adminUrl) throw new Error(`set ${variable} for --engine ${engine}`);
    const rows = value('--rows');
    const report = await runTopologyScenario({
      engine,
      adminUrl,
      redisUrl,
      full: !args.includes('--short'),
      ...(rows ? { rows: Number(rows) } : {}),
    });
    process.stdout.write(`${JSON.stringify(report)}\n`);
  }
  process.stderr.write('topology: all checks passed\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`topology: FAILED: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
