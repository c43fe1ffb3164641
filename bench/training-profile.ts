/**
 * Where the time of `mldeploy run training` goes: a loan sample (default 1,000,000 rows) trained by the CLI in a child
 * process with V8's CPU profiler on, against SQLite (or `--database-url`). Prints the wall time of each task, the
 * child's CPU time and peak RSS, and the main thread's time per phase (parse, type, database, split, read back,
 * encode, fit, evaluate, register) from the profile's samples by source file. The samples count wall time on the
 * main thread, so on a busy machine they include time spent waiting for a core: compare phases within one run. Gradient boosting fits on worker
 * threads, whose time shows in the task's wall time and the fit seconds of its log, not in the main-thread profile.
 * `npm run build:bench && node build/bench/training-profile.js [--rows N] [--database-url URL] [--estimators a,b]`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLoanSample } from '../src/data/sample.js';
import { repoPath } from './paths.js';

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Phases by the source file a sample's innermost frame is in; the first match wins. */
const PHASES: [string, RegExp][] = [
  ['parse (Papa Parse, decoding)', /papaparse|csv-read|file-scan|csv-sniff/],
  ['type and check (profiles, values)', /raw-load|infer\.js|values\.js|raw-loads/],
  ['database: inserts and reads (Kysely, drivers)', /bulk-insert|better-sqlite3|kysely|node_modules\/(pg|pg-protocol|mysql2)\//],
  ['split and clean (preprocess)', /preprocess|split\.js|target\.js|row-ids|raw-read|snapshots/],
  ['read back splits', /read-split/],
  ['encode (preprocessing)', /ml\/preprocessing|tabular-model/],
  ['fit (main thread)', /ml\/hgb|ml\/logistic|ml\/search/],
  ['evaluate (metrics)', /ml\/metrics|promotion/],
  ['register and track', /tracking\//],
  ['pipeline, CLI, logging', /pipeline\/|cli\/|pino|commander|context/],
  ['garbage collection', /^\(garbage collector\)$/],
];

function ownPhase(node: ProfileNode): string | undefined {
  const key = node.callFrame.url || node.callFrame.functionName;
  for (const [phase, pattern] of PHASES) if (pattern.test(key)) return phase;
  if (node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(program)') return 'idle, waiting';
  return undefined;
}

/** Each sample goes to the phase of its innermost frame that has one (native and Node frames count for their caller). */
function summarise(profile: CpuProfile): Map<string, number> {
  const parent = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const phaseOf = new Map<number, string>();
  const resolve = (node: ProfileNode): string => {
    let phase = phaseOf.get(node.id);
    if (phase === undefined) {
      const up = parent.get(node.id);
      phase = ownPhase(node) ?? (up ? resolve(up) : 'other (Node, V8)');
      phaseOf.set(node.id, phase);
    }
    return phase;
  };
  const seconds = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const phase = resolve(byId.get(id)!);
    seconds.set(phase, (seconds.get(phase) ?? 0) + profile.timeDeltas[i] / 1e6);
  });
  return seconds;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

async function main(): Promise<void> {
  const rows = Number(flag('--rows') ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'mldeploy-profile-'));
  try {
    const file = join(dir, 'loans.csv');
    await writeLoanSample(file, { rows, seed: 42 });
    const cli = repoPath('dist/cli/main.js');
    const env: NodeJS.ProcessEnv = { ...process.env, MLDEPLOY_HOME: join(dir, 'home'), LOG_LEVEL: 'warn' };
    if (flag('--database-url')) env.MLDEPLOY_DATABASE_URL = flag('--database-url');
    const args = ['run', 'training', '--data', file, '--target', 'Loan_Approval', '--json'];
    if (flag('--estimators')) args.push('--estimators', flag('--estimators')!);
    const profiles = join(dir, 'profiles');
    const started = performance.now();
    // /usr/bin/time -f reports the child's peak RSS and CPU time.
    const run = spawnSync('/usr/bin/time', ['-f', '%M %U %S', process.execPath, '--cpu-prof', `--cpu-prof-dir=${profiles}`, cli, ...args], {
      env,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const wall = (performance.now() - started) / 1000;
    if (run.status !== 0) throw new Error(`training failed (exit ${run.status}):\n${run.stderr.slice(-3000)}`);
    const [rssKb, user, system] = run.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    const result = JSON.parse(run.stdout) as { run_id: string; metrics: { test: { roc_auc: number } } };
    const show = spawnSync(process.execPath, [cli, 'runs', 'show', result.run_id, '--json'], { env, encoding: 'utf8' });
    const detail = JSON.parse(show.stdout) as { tasks: { taskId: string; startedAt: string; endedAt: string }[] };

    const profile = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile'))!;
    const phases = summarise(JSON.parse(readFileSync(join(profiles, profile), 'utf8')) as CpuProfile);

    process.stdout.write(
      `rows ${rows}, ${cpus().length} CPUs, Node ${process.version}, ${new Date().toISOString()}\n` +
        `wall ${wall.toFixed(1)} s, child CPU ${(user + system).toFixed(1)} s, peak RSS ${(rssKb / 1024).toFixed(0)} MB, ` +
        `test ROC AUC ${result.metrics.test.roc_auc.toFixed(4)}\n\nper task (wall s):\n`,
    );
    for (const t of detail.tasks) {
      process.stdout.write(`  ${t.taskId.padEnd(16)} ${((Date.parse(t.endedAt) - Date.parse(t.startedAt)) / 1000).toFixed(1)}\n`);
    }
    process.stdout.write('\nmain thread by phase (profile samples, s):\n');
    for (const [phase, s] of [...phases].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${phase.padEnd(36)} ${s.toFixed(1)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
