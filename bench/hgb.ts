/**
 * Gradient boosting benchmark: mldeploy's HistGradientBoostingClassifier against scikit-learn's, side by side in one
 * run, on the synthetic set of /work/shared/reference/sklearn_speed.py (make_classification(1e6, 20, n_informative=10,
 * random_state=0), first 80% of rows train, last 20% test), 100 iterations, early stopping off.
 *
 *   node build/bench/hgb.js                 all sizes (100k and 1M rows), ours on all cores and on 1 thread, sklearn
 *                                          with OMP_NUM_THREADS unset and = 1
 *   node build/bench/hgb.js --rows 100000   one size
 *   node build/bench/hgb.js --repeat 3      run each measurement 3 times (interleaved) and keep each one's best
 *   node build/bench/hgb.js --child ts --rows N [--threads T]   one measurement (what the parent runs)
 *
 * Every measurement runs in its own child process, so peak RSS (process.resourceUsage().maxRSS, Python's
 * ru_maxrss) belongs to it alone; it includes loading the CSV. The CSV is /tmp/synth_1m.csv (HGB_BENCH_CSV to change),
 * made by the Python script when missing.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { repoPath } from './paths.js';
import { usableCpus } from '../src/cpus.js';
import { HistGradientBoostingClassifier, setHgbScoringThreads } from '../src/ml/hgb/index.js';
import { rocAuc } from '../src/ml/metrics.js';
import type { Frame } from '../src/ml/types.js';

const CSV = process.env.HGB_BENCH_CSV ?? '/tmp/synth_1m.csv';
const PYTHON = '/usr/bin/python3';
const SKLEARN_SCRIPT = repoPath('bench/sklearn/hgb_bench.py');
const SIZES = [100_000, 1_000_000];

interface Measurement {
  fit_s: number;
  /** CPU seconds of all the process's threads during the fit (ours only): steadier than fit_s on a shared machine. */
  fit_cpu_s?: number;
  auc: number;
  predict_1row_us: number;
  batch_rows_per_s: number;
  peak_rss_mb: number;
  leaves_per_tree: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The first `rows` rows of the numeric CSV (header f0..f19,label) as train/test Frames (80/20), read in chunks. */
function loadCsv(path: string, rows: number): { train: Frame; yTrain: Float64Array; test: Frame; yTest: Float64Array } {
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(1 << 24);
  let columns: Float64Array[] = [];
  const labels = new Float64Array(rows);
  let carry = '';
  let n = 0;
  let header = true;
  try {
    while (n < rows) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      const lines = (carry + chunk.toString('latin1', 0, read)).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) {
        if (header) {
          header = false;
          columns = Array.from({ length: line.split(',').length - 1 }, () => new Float64Array(rows));
          continue;
        }
        if (n === rows || line.trim() === '') continue;
        const fields = line.split(',');
        for (let j = 0; j < columns.length; j++) columns[j][n] = Number(fields[j]);
        labels[n++] = Number(fields[columns.length]);
      }
    }
  } finally {
    closeSync(fd);
  }
  const cut = Math.floor(n * 0.8);
  const part = (a: number, b: number): Frame => ({ nRows: b - a, columns: columns.map((c) => c.slice(a, b)) });
  return { train: part(0, cut), yTrain: labels.slice(0, cut), test: part(cut, n), yTest: labels.slice(cut, n) };
}

/** Best (smallest) time in ms of `repeats` runs of fn, after one warm-up run. */
function bestOf(repeats: number, fn: () => void): number {
  fn();
  let best = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function measureOurs(rows: number, nThreads: number): Measurement {
  const { train, yTrain, test, yTest } = loadCsv(CSV, rows);
  // One thread means one for scoring too; otherwise big batches are shared with the scoring pool.
  if (nThreads === 1) setHgbScoringThreads(0);
  const model = new HistGradientBoostingClassifier({ maxIter: 100, earlyStopping: false, nThreads, randomState: 0 });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  model.fit(train, yTrain);
  const fitS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const proba = model.predictProba(test); // also starts the scoring pool
  const batchMs = bestOf(3, () => model.predictProba(test));
  // Single rows as an API request gives them: one number[] per call.
  const sample = Array.from({ length: 1000 }, (_, i) => test.columns.map((c) => c[i]));
  const calls = 10_000;
  const singleMs = bestOf(5, () => {
    for (let i = 0; i < calls; i++) model.predictProba([sample[i % sample.length]]);
  });
  const singleUs = (singleMs * 1000) / calls;
  const batchS = batchMs / 1000;
  const trees = model.toJSON().trees;
  return {
    fit_s: round(fitS, 3),
    fit_cpu_s: round((cpu.user + cpu.system) / 1e6, 3),
    auc: round(rocAuc(yTest, proba), 5),
    predict_1row_us: round(singleUs, 2),
    batch_rows_per_s: Math.round(test.nRows / batchS),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    leaves_per_tree: trees.reduce((s, t) => s + t.feature.filter((f) => f < 0).length, 0) / trees.length,
  };
}

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

function runChild(command: string, args: string[], env: NodeJS.ProcessEnv): Measurement {
  const result = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.error}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Measurement;
}

function main(): void {
  if (arg('child') === 'ts') {
    const threads = Number(arg('threads') ?? usableCpus());
    process.stdout.write(`${JSON.stringify(measureOurs(Number(arg('rows')), threads))}\n`);
    return;
  }
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} not found: apt-get install -y python3-sklearn python3-pandas`);
  const sizes = arg('rows') ? [Number(arg('rows'))] : SIZES;
  const self = fileURLToPath(import.meta.url);
  const cores = usableCpus();
  const { OMP_NUM_THREADS: _omp, ...envNoOmp } = process.env;
  process.stdout.write(`machine: ${cores} cores, ${cpus()[0]?.model ?? 'unknown CPU'}; ${new Date().toISOString()}\n`);
  if (!existsSync(CSV)) {
    process.stdout.write(`making ${CSV} ...\n`);
    runChild(PYTHON, [SKLEARN_SCRIPT, CSV, '1000'], envNoOmp);
  }
  const header = 'rows (train) | model | fit s | test AUC | 1-row predict us | batch rows/s | peak RSS MB';
  process.stdout.write(`${header}\n`);
  for (const rows of sizes) {
    const runs: [string, () => Measurement][] = [
      [`mldeploy, ${cores} threads`, () => runChild(process.execPath, [self, '--child', 'ts', '--rows', String(rows), '--threads', String(cores)], process.env)],
      ['mldeploy, 1 thread', () => runChild(process.execPath, [self, '--child', 'ts', '--rows', String(rows), '--threads', '1'], process.env)],
      ['scikit-learn, OMP_NUM_THREADS unset', () => runChild(PYTHON, [SKLEARN_SCRIPT, CSV, String(rows)], envNoOmp)],
      ['scikit-learn, OMP_NUM_THREADS=1', () => runChild(PYTHON, [SKLEARN_SCRIPT, CSV, String(rows)], { ...envNoOmp, OMP_NUM_THREADS: '1' })],
    ];
    const repeats = Number(arg('repeat') ?? 1);
    const results: Measurement[] = [];
    for (let r = 0; r < repeats; r++) {
      runs.forEach(([, run], i) => {
        const m = run();
        const best = results[i];
        // Keep the best of each figure: on a shared machine, slower runs measure the neighbours.
        results[i] = best
          ? {
              ...m,
              fit_s: Math.min(best.fit_s, m.fit_s),
              predict_1row_us: Math.min(best.predict_1row_us, m.predict_1row_us),
              batch_rows_per_s: Math.max(best.batch_rows_per_s, m.batch_rows_per_s),
              peak_rss_mb: Math.max(best.peak_rss_mb, m.peak_rss_mb),
            }
          : m;
      });
    }
    runs.forEach(([label], i) => {
      const m = results[i];
      const train = Math.floor(rows * 0.8).toLocaleString('en-US');
      process.stdout.write(`${train} | ${label} | ${m.fit_s} | ${m.auc} | ${m.predict_1row_us} | ${m.batch_rows_per_s} | ${m.peak_rss_mb}\n`);
    });
    const [ours, ours1, sk, sk1] = results;
    process.stdout.write(
      `ratios at ${rows.toLocaleString('en-US')} rows: fit time ours/sklearn ${round(ours.fit_s / sk.fit_s, 2)} (all cores), ` +
        `${round(ours1.fit_s / sk1.fit_s, 2)} (1 thread); AUC difference ${round(ours.auc - sk.auc, 4)}; ` +
        `1-row predict sklearn/ours ${round(sk.predict_1row_us / ours.predict_1row_us, 0)}x; ` +
        `batch ours/sklearn ${round(ours.batch_rows_per_s / sk.batch_rows_per_s, 1)}x\n`,
    );
  }
}

main();
