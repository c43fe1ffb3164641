/**
 * Benchmark of `load_raw_data`: a 1,000,000-row loan sample CSV into SQLite, and into PostgreSQL and MySQL/MariaDB
 * when their URLs are set (MLDEPLOY_BENCH_POSTGRES_URL / MLDEPLOY_BENCH_MYSQL_URL, else the MLDEPLOY_TEST_* ones).
 * Each load runs in a fresh child process so its peak RSS is its own. `node build/bench/load.js [--rows N]`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { loadRawData, preprocessData, writeLoanSample } from '../src/data/index.js';
import { migrateToLatest, openStore } from '../src/db/index.js';

interface Measurement {
  backend: string;
  rows: number;
  seconds: number;
  cpuSeconds: number;
  maxRssMb: number;
  /** preprocess_data on the loaded table (split 70/10/20 into a clean table). */
  preprocessSeconds: number;
}

/** In the child: one load into a fresh store, printed as JSON. */
async function child(backend: string, file: string, url: string): Promise<void> {
  const store = openStore(url);
  await migrateToLatest(store.db);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await loadRawData(store, { file, dataset: 'bench' });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  const t1 = performance.now();
  await preprocessData(store, { dataset: 'bench', target: 'Loan_Approval' });
  const preprocessSeconds = (performance.now() - t1) / 1000;
  await store.close();
  const m: Measurement = {
    backend,
    rows: result.rows,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMb,
    preprocessSeconds,
  };
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** A scratch database on a server, dropped after use. */
async function scratchDatabase(kind: 'postgres' | 'mysql', url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mldeploy_bench_${randomBytes(4).toString('hex')}`;
  const scratch = new URL(url);
  scratch.pathname = `/${name}`;
  if (kind === 'postgres') {
    const run = async (statement: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(statement);
      await client.end();
    };
    await run(`CREATE DATABASE ${name}`);
    return { url: scratch.href, drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
  }
  const run = async (statement: string) => {
    const connection = await mysql.createConnection(url);
    await connection.query(statement);
    await connection.end();
  };
  await run(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  return { url: scratch.href, drop: () => run(`DROP DATABASE IF EXISTS ${name}`) };
}

function measure(backend: string, file: string, url: string): Measurement {
  const script = fileURLToPath(import.meta.url);
  const out = spawnSync(process.execPath, [script, '--child', backend, file, url], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`${backend} load failed:\n${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Measurement;
}

function machine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const line = execFileSync('lscpu', { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('Model name:'));
    if (line) model = line.slice('Model name:'.length).trim();
  } catch {
    // lscpu is optional
  }
  return `${cpus().length} cores (${model}), Node ${process.version}`;
}

async function main(): Promise<void> {
  const rowsFlag = process.argv.indexOf('--rows');
  const rows = rowsFlag === -1 ? 1_000_000 : Number(process.argv[rowsFlag + 1]);
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-bench-load-'));
  try {
    const file = join(dir, 'loans.csv');
    const t0 = performance.now();
    await writeLoanSample(file, { rows, seed: 42 });
    const mb = statSync(file).size / 2 ** 20;
    process.stdout.write(
      `loan sample: ${rows.toLocaleString('en')} rows, ${mb.toFixed(1)} MiB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s\n` +
        `machine: ${machine()}, ${new Date().toISOString().slice(0, 10)}\n\n`,
    );
    const results: Measurement[] = [measure('sqlite', file, `sqlite:${join(dir, 'bench.db')}`)];
    const servers = [
      ['postgres', process.env.MLDEPLOY_BENCH_POSTGRES_URL ?? process.env.MLDEPLOY_TEST_POSTGRES_URL],
      ['mysql', process.env.MLDEPLOY_BENCH_MYSQL_URL ?? process.env.MLDEPLOY_TEST_MYSQL_URL],
    ] as const;
    for (const [kind, url] of servers) {
      if (!url) {
        process.stdout.write(`${kind}: skipped (set MLDEPLOY_BENCH_${kind.toUpperCase()}_URL)\n`);
        continue;
      }
      const scratch = await scratchDatabase(kind, url);
      try {
        results.push(measure(kind, file, scratch.url));
      } finally {
        await scratch.drop();
      }
    }
    process.stdout.write(
      '| backend | rows | load s | rows/s | loader CPU s | loader peak RSS | preprocess s |\n|---|---|---|---|---|---|---|\n',
    );
    for (const m of results) {
      process.stdout.write(
        `| ${m.backend} | ${m.rows.toLocaleString('en')} | ${m.seconds.toFixed(1)} | ${Math.round(m.rows / m.seconds).toLocaleString('en')} | ${m.cpuSeconds.toFixed(1)} | ${Math.round(m.maxRssMb)} MB | ${m.preprocessSeconds.toFixed(1)} |\n`,
      );
    }
    process.stdout.write('\nthe original (pandas read_csv + one executemany into MariaDB): 23,400 rows/s\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  const [backend, file, url] = process.argv.slice(3);
  await child(backend, file, url);
} else {
  await main();
}
