/**
 * Files of the repository, found from wherever this module runs: bench/ (TypeScript, under vitest) or build/bench/
 * (compiled by bench/tsconfig.json). The repository root is the nearest folder up with a package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('bench: cannot find the repository root (no package.json above this file)');
    dir = parent;
  }
  return dir;
}

export const REPO_ROOT = findRoot();

/** A path inside the repository, e.g. repoPath('dist/cli/main.js'). */
export function repoPath(relative: string): string {
  return join(REPO_ROOT, relative);
}
