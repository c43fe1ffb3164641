/**
 * Serving benchmark: autocannon against a real `serve()` server in its own process(es), the original's request body,
 * one row per request and batches of 100, 16 connections, every prediction logged (group commit) to SQLite and, when
 * MLDEPLOY_BENCH_POSTGRES_URL (or MLDEPLOY_TEST_POSTGRES_URL) is set, to a fresh PostgreSQL database. After each run
 * the stored rows are counted: every answered prediction must be in the database. A bare Fastify route (JSON in,
 * constant JSON out, nothing stored) is measured the same way, as the ceiling this machine allows. The machine is
 * shared and noisy: each case runs --repeat times and the run with the median requests/s is reported.
 *
 *   node build/bench/serve.js                                    the full matrix (workers 1 and 2), prints a table
 *   node build/bench/serve.js --duration 5 --repeat 1 --workers 1  shorter / fewer runs
 *   node build/bench/serve.js --write-docs                       also records the results in docs/BENCHMARKS.md
 *   node build/bench/serve.js --server [ceiling]                 (internal) the server process the parent starts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { repoPath } from './paths.js';
import autocannon from 'autocannon';
import { fastify } from 'fastify';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { migrateToLatest, openStore, type Store } from '../src/db/index.js';
import { serve } from '../src/serve/cluster.js';
import { FileArtifactRepository } from '../src/tracking/artifacts/index.js';
import { ModelRegistry } from '../src/tracking/registry.js';
import { fitSyntheticLoanModel } from './loan-model.js';
import { freePort } from './ports.js';
import { ORIGINAL_REQUEST, ORIGINAL_SERVING } from './original.js';

const MODEL = 'clients_model';
const CONNECTIONS = 16;

interface Scenario {
  database: 'sqlite' | 'postgres' | 'none (bare route)';
  workers: number;
  rowsPerRequest: 1 | 100;
}

interface Outcome extends Scenario {
  requestsPerSecond: number;
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  answered: number;
  failed: number;
  stored: number;
  /** requests/s of every run of the case, in order. */
  runs: number[];
  /** From the server's own metrics over the case: group commits and their mean rows and duration. */
  commits?: { count: number; meanRows: number; meanMs: number };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A logistic model on the original's features, fitted on synthetic applications, registered and promoted. */
async function publishModel(store: Store, artifactsDir: string): Promise<void> {
  const model = fitSyntheticLoanModel({ rows: 2000, seed: 7, variant: 0.5 });
  await new FileArtifactRepository(artifactsDir).put('bench/model.json', JSON.stringify(model.toJSON()));
  const registry = new ModelRegistry(store);
  const { version } = await registry.registerVersion({ name: MODEL, artifactKey: 'bench/model.json', metrics: {} });
  await registry.setAlias(MODEL, 'production', version, { action: 'force_promote', reason: 'benchmark' });
}

async function storedRows(store: Store): Promise<number> {
  const row = await store.db.selectFrom('predictions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function startServer(
  env: Record<string, string>,
  workers: number,
  mode: 'api' | 'ceiling',
): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--server', mode], {
    env: {
      ...process.env,
      ...env,
      MLDEPLOY_PORT: String(port),
      MLDEPLOY_HOST: '127.0.0.1',
      MLDEPLOY_BENCH_WORKERS: String(workers),
      MLDEPLOY_API_KEYS: '',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (child.exitCode !== null) throw new Error(`the benchmark server exited with code ${child.exitCode} before it was ready`);
    if (Date.now() > deadline) throw new Error('the benchmark server did not become ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, child };
}

/** The ceiling: the same Fastify, JSON body parsed, a constant answer, nothing validated, scored or stored. */
async function serveBareRoute(workers: number): Promise<void> {
  const untilTerm = () => new Promise((resolve) => process.once('SIGTERM', resolve));
  if (workers > 1 && cluster.isPrimary) {
    for (let i = 0; i < workers; i++) cluster.fork();
    await untilTerm();
    const exits = Object.values(cluster.workers ?? {}).map((w) => new Promise((resolve) => w!.once('exit', resolve)));
    for (const worker of Object.values(cluster.workers ?? {})) worker!.process.kill('SIGTERM');
    await Promise.all(exits);
    return;
  }
  const config = loadConfig();
  const app = fastify();
  const answer = { prediction: 0, probability: 0.5, threshold: 0.5, label: '0', model: { name: MODEL, version: 1 } };
  app.post('/predict', async (request) => ({ ...answer, row_id: String((request.body as { id?: unknown }).id) }));
  app.get('/ready', async () => ({ ready: true }));
  await app.listen({ port: config.port, host: config.host });
  await untilTerm();
  await app.close();
  process.exit(0);
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

function body(rowsPerRequest: number): string {
  if (rowsPerRequest === 1) return JSON.stringify(ORIGINAL_REQUEST);
  return JSON.stringify(Array.from({ length: rowsPerRequest }, (_, i) => ({ ...ORIGINAL_REQUEST, id: i })));
}

async function load(url: string, rowsPerRequest: number, duration: number) {
  return autocannon({
    url: `${url}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: body(rowsPerRequest),
    connections: CONNECTIONS,
    duration,
  });
}

/** Runs the load `repeat` times and keeps the run with the median requests/s; counts stored rows over all runs. */
async function measure(
  scenario: Scenario,
  url: string,
  options: { duration: number; repeat: number; store?: Store },
): Promise<Outcome> {
  const runs: autocannon.Result[] = [];
  const before = options.store ? await storedRows(options.store) : 0;
  const writesBefore = options.store ? await writeMetrics(url) : undefined;
  for (let i = 0; i < options.repeat; i++) runs.push(await load(url, scenario.rowsPerRequest, options.duration));
  // Let requests cut off at the end of a run finish before counting.
  await new Promise((r) => setTimeout(r, 500));
  const stored = options.store ? (await storedRows(options.store)) - before : 0;
  const writesAfter = options.store ? await writeMetrics(url) : undefined;
  let commits: Outcome['commits'];
  if (writesBefore && writesAfter) {
    const count = writesAfter.count - writesBefore.count;
    commits = {
      count,
      meanRows: (writesAfter.rows - writesBefore.rows) / count,
      meanMs: ((writesAfter.seconds - writesBefore.seconds) / count) * 1000,
    };
  }
  const median = [...runs].sort((a, b) => a.requests.average - b.requests.average)[Math.floor(runs.length / 2)];
  process.stdout.write(
    `  ${scenario.database}, ${scenario.workers} worker(s), ${scenario.rowsPerRequest} row(s)/request: ` +
      `${runs.map((r) => Math.round(r.requests.average)).join(', ')} requests/s\n`,
  );
  return {
    ...scenario,
    requestsPerSecond: median.requests.average,
    runs: runs.map((r) => r.requests.average),
    rowsPerSecond: median.requests.average * scenario.rowsPerRequest,
    p50Ms: median.latency.p50,
    p99Ms: median.latency.p99,
    answered: runs.reduce((n, r) => n + r['2xx'], 0),
    failed: runs.reduce((n, r) => n + r.non2xx + r.errors, 0),
    stored,
    commits,
  };
}

/** The prediction log's counters from the server's /metrics (summed over its workers). */
async function writeMetrics(url: string): Promise<{ count: number; rows: number; seconds: number }> {
  const lines = (await (await fetch(`${url}/metrics`)).text()).split('\n');
  const value = (series: string) => Number(lines.find((l) => l.startsWith(`${series} `))?.slice(series.length + 1) ?? 0);
  return {
    count: value('mldeploy_prediction_log_write_duration_seconds_count'),
    rows: value('mldeploy_prediction_log_rows_total'),
    seconds: value('mldeploy_prediction_log_write_duration_seconds_sum'),
  };
}

/** Median time of a one-row INSERT committed on its own: the floor under every request's wait for its commit. */
async function commitLatencyMs(store: Store): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 101; i++) {
    const started = performance.now();
    await store.db
      .insertInto('predictions')
      .values({
        id: `commit-probe-${i}`,
        request_id: 'commit-probe',
        created_at: new Date().toISOString(),
        model_name: MODEL,
        model_version: 0,
        row_id: null,
        inputs_json: '{}',
        probability: 0,
        prediction: 0,
        threshold: 0.5,
      })
      .execute();
    times.push(performance.now() - started);
  }
  await store.db.deleteFrom('predictions').where('request_id', '=', 'commit-probe').execute();
  return times.sort((a, b) => a - b)[50];
}

async function runScenarios(
  database: 'sqlite' | 'postgres',
  databaseUrl: string,
  workerCounts: number[],
  options: { duration: number; repeat: number; commitMs: Map<string, number> },
): Promise<Outcome[]> {
  const store = openStore(databaseUrl);
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-bench-serve-'));
  const outcomes: Outcome[] = [];
  try {
    await migrateToLatest(store.db);
    await publishModel(store, join(dir, 'artifacts'));
    options.commitMs.set(database, await commitLatencyMs(store));
    const env = { MLDEPLOY_DATABASE_URL: databaseUrl, MLDEPLOY_ARTIFACTS_URL: pathToFileURL(join(dir, 'artifacts')).href };
    for (const workers of workerCounts) {
      const { url, child } = await startServer(env, workers, 'api');
      try {
        await load(url, 1, 2); // warm-up: JIT, connection pools, SQLite pages
        for (const rowsPerRequest of [1, 100] as const) {
          outcomes.push(await measure({ database, workers, rowsPerRequest }, url, { ...options, store }));
        }
      } finally {
        await stopServer(child);
      }
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return outcomes;
}

async function runCeiling(workerCounts: number[], options: { duration: number; repeat: number }): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const workers of workerCounts) {
    const { url, child } = await startServer({}, workers, 'ceiling');
    try {
      await load(url, 1, 2);
      outcomes.push(await measure({ database: 'none (bare route)', workers, rowsPerRequest: 1 }, url, options));
    } finally {
      await stopServer(child);
    }
  }
  return outcomes;
}

/** A fresh PostgreSQL database next to the configured one, dropped afterwards. */
async function withPostgres<T>(adminUrl: string, run: (url: string) => Promise<T>): Promise<T> {
  const name = `mldeploy_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await run(url.href);
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

function table(outcomes: Outcome[]): string {
  const lines = [
    '| stored to | workers | rows/request | requests/s (median run) | all runs | predictions/s | p50 ms | p99 ms | answered | stored | failed | rows/commit | commit ms | vs original (predictions/s) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const n = (value: number) => Math.round(value).toLocaleString('en-US');
  for (const o of outcomes) {
    const bare = o.database === 'none (bare route)';
    lines.push(
      `| ${o.database} | ${o.workers} | ${o.rowsPerRequest} | ${n(o.requestsPerSecond)} | ${o.runs.map(n).join(', ')} | ` +
        `${bare ? '-' : n(o.rowsPerSecond)} | ` +
        `${o.p50Ms} | ${o.p99Ms} | ${n(o.answered)} | ${bare ? '-' : n(o.stored)} | ${o.failed} | ` +
        `${o.commits ? o.commits.meanRows.toFixed(1) : '-'} | ${o.commits ? o.commits.meanMs.toFixed(2) : '-'} | ` +
        `${bare ? '-' : `${(o.rowsPerSecond / ORIGINAL_SERVING.requestsPerSecond).toFixed(0)}x`} |`,
    );
  }
  return lines.join('\n');
}

function docsSection(
  outcomes: Outcome[],
  command: string,
  options: { duration: number; repeat: number; loadBefore: number; loadAfter: number; commitMs: Map<string, number> },
): string {
  const cpu = cpus();
  const machine = `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`;
  return [
    '## Serving',
    '',
    `\`${command}\` (\`npm run bench -- serve\`), ${new Date().toISOString().slice(0, 10)}, on ${machine}, Node`,
    `${process.version}; load average ${options.loadBefore.toFixed(1)} before and ${options.loadAfter.toFixed(1)} after (other work shares the machine).`,
    '',
    `autocannon with ${CONNECTIONS} connections posts the original's request body (or 100 copies of it) to \`serve()\` running in`,
    `its own process(es); each case runs ${options.repeat} x ${options.duration} s after a 2 s warm-up and the run with the median`,
    'requests/s is shown. autocannon shares the 2 cores with the server (and PostgreSQL); its latency has 1 ms resolution.',
    '"stored" counts the rows committed to `predictions` over all runs of a case: at least "answered" x rows/request',
    '(requests cut off when a run stops may be committed too), so no prediction was answered before it was stored.',
    'The bare route is the same Fastify parsing the same body and answering a constant: the ceiling of this machine and',
    'load generator.',
    '',
    table(outcomes),
    '',
    `The original (FastAPI + scikit-learn + one MariaDB insert per request, ${CONNECTIONS} connections, from`,
    `/work/shared/reference/README.md): about ${ORIGINAL_SERVING.requestsPerSecond} requests/s, p99 about ${ORIGINAL_SERVING.p99Ms} ms.`,
    '',
    ...notes(outcomes, options.commitMs),
    '',
  ].join('\n');
}

/** What the figures of this run say, computed from them. */
function notes(outcomes: Outcome[], commitMs: Map<string, number>): string[] {
  const find = (database: Scenario['database'], workers = 1, rowsPerRequest = 1) =>
    outcomes.find((o) => o.database === database && o.workers === workers && o.rowsPerRequest === rowsPerRequest);
  const lines = ['Reading the table ("rows/commit" and "commit ms" are the group commits of the case, from the server\'s metrics):'];
  const bare = find('none (bare route)');
  const sqlite = find('sqlite');
  const postgres = find('postgres');
  if (bare && sqlite) {
    const percent = Math.round((100 * sqlite.requestsPerSecond) / bare.requestsPerSecond);
    lines.push(
      `- On SQLite, one row per request ran at ${percent}% of the bare route's rate${percent > 100 ? ' (runs vary by more than that)' : ''}:`,
      percent >= 80
        ? '  validating, scoring and storing each prediction costs little next to HTTP and the load generator.'
        : '  the difference is what validating, scoring and storing each prediction costs.',
    );
  }
  if (postgres?.commits) {
    const probe = commitMs.get('postgres');
    lines.push(
      `- Every answer waits for its commit. On PostgreSQL a group commit took ${postgres.commits.meanMs.toFixed(1)} ms on average under this`,
      `  load and carried ${postgres.commits.meanRows.toFixed(1)} rows${probe === undefined ? '' : ` (a lone one-row commit on the idle database: ${probe.toFixed(2)} ms)`}:`,
      '  PostgreSQL flushes its WAL to disk at each commit and shares the 2 cores with the API and autocannon, and 16',
      '  connections never have more than 16 rows waiting, so the commit time bounds the single-row rate. Up to 4 group',
      '  commits are in flight at once. Batches amortise the flush.',
    );
  }
  if (sqlite?.commits) {
    lines.push(
      `- SQLite (WAL, synchronous=NORMAL, better-sqlite3's default) does not flush at commit: ${sqlite.commits.meanMs.toFixed(2)} ms per group`,
      `  commit of ${sqlite.commits.meanRows.toFixed(1)} rows. A committed row survives a crash of the process, not of the machine.`,
      '  Its checkpoints run on their own thread (src/serve/sqlite-checkpointer.ts), so no request waits for one.',
      '- SQLite has one writer: worker processes take turns on its write lock, and better-sqlite3 waits for it',
      "  synchronously, stalling that worker's event loop; so `serve()` runs one process with SQLite unless told",
      '  otherwise. Compare the 1- and 2-worker rows on your machine before raising it.',
    );
  }
  return lines;
}

/** Replaces (or appends) the "## Serving" section of docs/BENCHMARKS.md, leaving the other sections as they are. */
function writeDocs(section: string): void {
  const file = repoPath('docs/BENCHMARKS.md');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const start = text.search(/^## Serving\s*$/m);
  let next = -1;
  if (start >= 0) {
    const after = text.slice(start + 1).search(/^## /m);
    next = after >= 0 ? start + 1 + after : -1;
  }
  const updated =
    start >= 0
      ? text.slice(0, start) + section + (next >= 0 ? '\n' + text.slice(next) : '')
      : `${text.trimEnd()}\n\n${section}`;
  writeFileSync(file, updated.replace(/\n{3,}/g, '\n\n'));
}

async function main(): Promise<void> {
  if (process.argv.includes('--server')) {
    const workers = Number(process.env.MLDEPLOY_BENCH_WORKERS ?? 1);
    if (process.argv.includes('ceiling')) {
      await serveBareRoute(workers);
    } else {
      await serve({ workers, config: loadConfig(), keys: {}, app: { logRequests: false } });
    }
    return;
  }
  const options = { duration: Number(arg('duration') ?? 10), repeat: Number(arg('repeat') ?? 3), commitMs: new Map<string, number>() };
  const loadBefore = loadavg()[0];
  const workerCounts = (arg('workers') ?? '1,2').split(',').map(Number);
  const outcomes = await runCeiling(workerCounts, options);
  const sqliteDir = mkdtempSync(join(tmpdir(), 'mldeploy-bench-db-'));
  try {
    outcomes.push(...(await runScenarios('sqlite', `sqlite:${join(sqliteDir, 'bench.db')}`, workerCounts, options)));
  } finally {
    rmSync(sqliteDir, { recursive: true, force: true });
  }
  const postgres = process.env.MLDEPLOY_BENCH_POSTGRES_URL ?? process.env.MLDEPLOY_TEST_POSTGRES_URL;
  if (postgres) outcomes.push(...(await withPostgres(postgres, (url) => runScenarios('postgres', url, workerCounts, options))));
  else process.stdout.write('PostgreSQL skipped: set MLDEPLOY_BENCH_POSTGRES_URL to include it\n');

  process.stdout.write(`\n${table(outcomes)}\n`);
  const unstored = outcomes.filter((o) => o.database !== 'none (bare route)' && (o.stored < o.answered * o.rowsPerRequest || o.failed > 0));
  if (unstored.length > 0) {
    process.stderr.write('FAILED: some runs had failed requests or answered predictions that were not stored\n');
    process.exitCode = 1;
  }
  if (process.argv.includes('--write-docs')) {
    const command = `node build/bench/serve.js ${process.argv.slice(2).join(' ')}`.trim();
    writeDocs(docsSection(outcomes, command, { ...options, loadBefore, loadAfter: loadavg()[0] }));
    process.stdout.write('recorded in docs/BENCHMARKS.md (Serving)\n');
  }
}

await main();
