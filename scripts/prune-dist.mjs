// After `tsc -b`: removes compiled files in dist/ whose TypeScript source is gone (a module deleted or moved), which
// tsc leaves behind, so that `npm pack` never publishes a stale module (dist/bench before benchmarks left src/).
import { existsSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const OUTPUT = /(\.d\.ts\.map|\.d\.ts|\.js\.map|\.js)$/;

function prune(dir) {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      prune(path);
      if (readdirSync(path).length === 0) rmdirSync(path);
      continue;
    }
    const source = join(root, 'src', relative(dist, path).replace(OUTPUT, '.ts'));
    if (!existsSync(source)) rmSync(path);
  }
}

prune(dist);
