/**
 * The published package, as a new user gets it: `npm pack` holds the compiled product only (no sources, tests,
 * benchmarks or build state), and `npx ./mldeploy-*.tgz up` in an empty folder installs it, trains on the built-in
 * sample and serves a prediction. Dependencies come from the local npm cache (the registry only for what it lacks);
 * better-sqlite3's native binary is offered as a local prebuild made from this clone's, where a user would download
 * one, so the test does not spend minutes compiling SQLite. Also: `npm start` on a current dist/ does not recompile.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../bench/ports.js';
import { ORIGINAL_REQUEST } from '../bench/original.js';
import { REPO_ROOT } from './helpers/cli.js';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

interface Server {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Starts a command in its own process group (npm and npx start children), collecting its output. */
function startGroup(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Server {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout!.on('data', (c: Buffer) => chunks.push(c));
  child.stderr!.on('data', (c: Buffer) => chunks.push(c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => Buffer.concat(chunks).toString('utf8'), exited };
}

async function stopGroup(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.pid === undefined) return;
  try {
    process.kill(-server.child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const killer = setTimeout(() => {
    try {
      process.kill(-server.child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await server.exited;
  clearTimeout(killer);
}

async function untilHealthy(url: string, server: Server, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (server.child.exitCode !== null) throw new Error(`the server exited (${server.child.exitCode}):\n${server.output().slice(-3000)}`);
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no answer on ${url}/health within ${timeoutMs} ms:\n${server.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The environment of a child: the caller's without mldeploy settings, plus `extra`. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('MLDEPLOY_') && key !== 'PORT' && !key.startsWith('npm_')) env[key] = value;
  }
  return { ...env, ...extra };
}

describe('the npm package', () => {
  let dir: string;
  let tarball: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mldeploy-pack-'));
    // dist/ is current (`npm test` builds first), so the prepare script is not needed here.
    execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: REPO_ROOT, stdio: 'pipe' });
    tarball = join(dir, `${pkg.name}-${pkg.version}.tgz`);
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('ships the compiled product only', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    expect(files).toContain('package/dist/cli/main.js');
    expect(files).toContain('package/dist/index.js');
    expect(files).toContain('package/dist/ml/hgb/worker.js');
    expect(files).toContain('package/dist/pipeline/tasks/train-model-thread.js');
    expect(files).toContain('package/README.md');
    const stray = files.filter((f) => !/^package\/(dist\/|README\.md$|package\.json$|LICENSE$)/.test(f) || /tsbuildinfo/.test(f));
    expect(stray).toEqual([]);
    expect(files.filter((f) => /^package\/dist\/bench\//.test(f))).toEqual([]);
    // No compiled module loads a dev dependency.
    const devOnly = ['autocannon', 's3rver', 'vitest', 'csv-parse', 'yaml'];
    const sources = files.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(REPO_ROOT, f.slice('package/'.length)), 'utf8'));
    for (const name of devOnly) {
      expect(sources.some((text) => new RegExp(`from ['"]${name}['"]|require\\(['"]${name}['"]\\)`).test(text)), name).toBe(false);
    }
  });

  it('runs as `npx ./mldeploy-*.tgz up` in an empty folder: installs, trains, serves', async () => {
    const folder = join(dir, 'empty');
    mkdirSync(folder);
    // A local prebuild of better-sqlite3, made from this clone's compiled binary, where prebuild-install looks first.
    const sqlite = JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules/better-sqlite3/package.json'), 'utf8')) as { version: string };
    const prebuilds = join(dir, 'prebuilds');
    mkdirSync(prebuilds);
    const name = `better-sqlite3-v${sqlite.version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    execFileSync('tar', ['-czf', join(prebuilds, name), '-C', join(REPO_ROOT, 'node_modules/better-sqlite3'), 'build/Release/better_sqlite3.node']);

    execFileSync('cp', [tarball, folder]);
    const port = await freePort();
    const server = startGroup('npx', ['--yes', `./${pkg.name}-${pkg.version}.tgz`, 'up'], folder, cleanEnv({
      PORT: String(port),
      npm_config_better_sqlite3_local_prebuilds: prebuilds,
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      npm_config_update_notifier: 'false',
    }));
    try {
      const url = `http://127.0.0.1:${port}`;
      await untilHealthy(url, server, 240_000);
      const response = await fetch(`${url}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(ORIGINAL_REQUEST),
      });
      const body = (await response.json()) as { prediction: unknown; model_version?: unknown };
      expect(response.status, JSON.stringify(body)).toBe(200);
      expect(body.prediction).toBeDefined();
      // The state went where the defaults say: ./.mldeploy in the folder it ran in.
      expect(existsSync(join(folder, '.mldeploy', 'mldeploy.db'))).toBe(true);
    } finally {
      await stopGroup(server);
      removeNpxInstall(tarball);
    }
  }, 300_000);

  it('npm start does not recompile a current dist/, and serves', async () => {
    const main = join(REPO_ROOT, 'dist/cli/main.js');
    const before = statSync(main).mtimeMs;
    const home = join(dir, 'start-home');
    const port = await freePort();
    const server = startGroup('npm', ['start', '--silent'], REPO_ROOT, cleanEnv({ PORT: String(port), MLDEPLOY_HOME: home }));
    try {
      await untilHealthy(`http://127.0.0.1:${port}`, server, 120_000);
      expect(statSync(main).mtimeMs).toBe(before);
    } finally {
      await stopGroup(server);
    }
  }, 150_000);
});

/** npx keeps what it installed under the npm cache's _npx folder: remove the install of this test's tarball. */
function removeNpxInstall(tarballPath: string): void {
  const root = join(process.env.npm_config_cache ?? join(homedir(), '.npm'), '_npx');
  if (!existsSync(root)) return;
  const tarballName = tarballPath.split('/').pop()!;
  for (const entry of readdirSync(root)) {
    const manifest = join(root, entry, 'package.json');
    if (existsSync(manifest) && readFileSync(manifest, 'utf8').includes(join(dir(tarballPath), 'empty', tarballName))) {
      rmSync(join(root, entry), { recursive: true, force: true });
    }
  }
}

function dir(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}
