/**
 * `node build/bench/monitor.js` (after `npm run build:bench`): the cost of a drift refresh. A SQLite prediction log
 * of 1,000,000 rows of a loan model (7 features, one categorical) with a reference profile of 5,000 training rows; then, each a full report (read,
 * parse, drift of every feature and of the predictions, realised and estimated quality):
 * - the first refresh of the default window (the newest 5,000) in a process that has read nothing yet,
 * - the first refresh of a window of the newest 100,000 (how the cost grows with the window, not the log),
 * - the incremental refresh of a 10,000-row window after 10,000 new predictions were logged (cost of the new rows).
 * `--rows N` changes the log size. Each figure is the median of 3 runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateToLatest, openStore, type Store } from '../src/db/index.js';
import { createRng, type Rng } from '../src/ml/random.js';
import { buildReferenceProfile } from '../src/monitor/profile.js';
import { REFERENCE_PROFILE_PATH, computeMonitoringReport } from '../src/monitor/report.js';
import { timeOrderedUuid } from '../src/serve/ids.js';
import { ModelRegistry, TrackingStore, openArtifacts } from '../src/tracking/index.js';

const args = process.argv.slice(2);
const rowsArg = args.indexOf('--rows');
const LOG_ROWS = rowsArg >= 0 ? Number(args[rowsArg + 1]) : 1_000_000;
const MODEL = 'bench_model';
const REGIONS = ['north', 'south', 'east', 'west', 'centre'];

function applicant(rng: Rng, t: number): Record<string, unknown> {
  return {
    age: 20 + rng.int(50),
    annual_income: Math.round(30_000 + rng.next() * 120_000 + t * 5_000),
    credit_score: 300 + rng.int(550),
    loan_amount: Math.round(1_000 + rng.next() * 49_000),
    loan_duration_years: 1 + rng.int(30),
    number_of_open_accounts: rng.int(20),
    region: REGIONS[rng.int(REGIONS.length)],
  };
}

const probability = (row: Record<string, unknown>) => 1 / (1 + Math.exp(-((row.credit_score as number) - 575) / 100));

async function fillLog(store: Store, rows: number, start: number, rng: Rng, shift: number): Promise<number> {
  let clock = start;
  const batch = 500;
  for (let done = 0; done < rows; done += batch) {
    const values = Array.from({ length: Math.min(batch, rows - done) }, () => {
      const inputs = applicant(rng, shift);
      const p = probability(inputs);
      clock += 1;
      return {
        id: timeOrderedUuid(clock),
        request_id: 'bench',
        created_at: new Date(clock).toISOString(),
        model_name: MODEL,
        model_version: 1,
        row_id: null,
        inputs_json: JSON.stringify(inputs),
        probability: p,
        prediction: p >= 0.5 ? 1 : 0,
        threshold: 0.5,
        label: null,
        label_at: null,
      };
    });
    await store.db.insertInto('predictions').values(values).execute();
    if (done % 100_000 === 0) process.stderr.write(`\rlogging predictions: ${done.toLocaleString('en-US')}`);
  }
  process.stderr.write('\n');
  return clock;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall and CPU milliseconds of one piece of work: on a shared machine the CPU time is the steadier figure. */
async function timed(work: () => Promise<void>): Promise<Timing> {
  const started = performance.now();
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - started, cpu: (used.user + used.system) / 1000 };
}

async function runs(count: number, work: () => Promise<void>): Promise<Timing[]> {
  const out: Timing[] = [];
  for (let i = 0; i < count; i++) out.push(await timed(work));
  return out;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-bench-monitor-'));
  const store = openStore(`sqlite:${join(dir, 'bench.db')}`);
  try {
    await migrateToLatest(store.db);
    const artifacts = openArtifacts(`file:${join(dir, 'artifacts')}`);
    const registry = new ModelRegistry(store);
    const tracking = new TrackingStore(store, artifacts);
    const rng = createRng(7);
    const train = Array.from({ length: 5000 }, () => applicant(rng, 0));
    const test = Array.from({ length: 1250 }, () => applicant(rng, 0)).map(probability);
    const names = Object.keys(train[0]);
    const profile = buildReferenceProfile({
      features: names.map((name) =>
        name === 'region'
          ? { name, type: 'categorical' as const, values: train.map((r) => r[name] as string) }
          : { name, type: 'float' as const, values: Float64Array.from(train, (r) => r[name] as number) },
      ),
      prediction: { name: 'probability', type: 'float', values: test },
      testLabels: test.map((p) => (rng.next() < p ? 1 : 0)),
      seed: 1,
    });
    const run = await tracking.startRun({ experiment: MODEL, name: 'bench' });
    await tracking.logArtifact(run.id, REFERENCE_PROFILE_PATH, JSON.stringify(profile));
    await registry.registerVersion({ name: MODEL, runId: run.id, artifactKey: 'runs/bench/artifacts/model.json', metrics: {} });
    await registry.setAlias(MODEL, 'production', 1, { action: 'promote', reason: 'bench' });
    const stores = { store, artifacts, registry };

    const fillStarted = performance.now();
    let clock = await fillLog(store, LOG_ROWS, Date.parse('2026-01-01T00:00:00Z'), rng, 0);
    process.stdout.write(`logged ${LOG_ROWS.toLocaleString('en-US')} predictions in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s\n`);

    const results: Array<[string, Timing[], string]> = [];
    // A new store object per run: the kept windows belong to a store, so each run starts cold.
    const cold = async (window: number) => {
      const fresh = openStore(`sqlite:${join(dir, 'bench.db')}`);
      try {
        const report = await computeMonitoringReport({ store: fresh, artifacts, registry }, MODEL, { window });
        if (report.window.rows !== Math.min(window, LOG_ROWS)) throw new Error(`window of ${report.window.rows} rows`);
      } finally {
        await fresh.close();
      }
    };
    const log = LOG_ROWS.toLocaleString('en-US');
    results.push([`first refresh (cold) on a log of ${log}: the newest 5,000 (default window)`, await runs(3, () => cold(5000)), 'under 2 s']);
    const wide = Math.min(LOG_ROWS, 100_000);
    results.push([`first refresh (cold) on a log of ${log}: the newest ${wide.toLocaleString('en-US')}`, await runs(3, () => cold(wide)), '']);

    const incremental: Timing[] = [];
    for (let i = 0; i < 3; i++) {
      await computeMonitoringReport(stores, MODEL, { window: 10_000 });
      clock = await fillLog(store, 10_000, clock, rng, 1);
      incremental.push(
        await timed(async () => {
          const report = await computeMonitoringReport(stores, MODEL, { window: 10_000 });
          if (report.window.rows !== 10_000) throw new Error(`window of ${report.window.rows} rows`);
        }),
      );
    }
    results.push(['incremental refresh after 10,000 new predictions (window 10,000)', incremental, 'under 100 ms']);

    const median = (values: number[]) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];
    process.stdout.write('\n| refresh | median wall ms | median CPU ms | runs (wall / CPU ms) | target |\n|---|---|---|---|---|\n');
    for (const [label, times, target] of results) {
      const cells = times.map((t) => `${t.wall.toFixed(0)} / ${t.cpu.toFixed(0)}`).join(', ');
      process.stdout.write(
        `| ${label} | ${median(times.map((t) => t.wall)).toFixed(0)} | ${median(times.map((t) => t.cpu)).toFixed(0)} | ${cells} | ${target} |\n`,
      );
    }
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
