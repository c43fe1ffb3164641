/**
 * `npm run bench`: every benchmark, one after another, each in its own process so their timings and peak memory do
 * not mix. `npm run bench -- load` (or hgb, serve, training-profile) runs one. Results print as tables; docs/BENCHMARKS.md records them.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const suites = ['load', 'hgb', 'serve', 'training-profile'] as const;
const wanted = process.argv.slice(2);
const selected = wanted.length ? suites.filter((s) => wanted.includes(s)) : suites;
if (wanted.length && selected.length !== wanted.length) {
  process.stderr.write(`unknown benchmark in ${wanted.join(', ')}: choose from ${suites.join(', ')}\n`);
  process.exit(2);
}

let failed = false;
for (const suite of selected) {
  process.stdout.write(`\n=== ${suite} ===\n`);
  const script = fileURLToPath(new URL(`./${suite}.js`, import.meta.url));
  const result = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`benchmark ${suite} failed (exit ${result.status ?? result.signal})\n`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
