/**
 * `serve({ workers: 2 })` as real processes: two workers share one port, a killed worker is replaced, both accept the
 * admin token the primary made, and SIGTERM drains: every request that got a 200 has its prediction stored. node:cluster re-runs the entry script in each
 * worker, which needs JavaScript, so this runs against the build (`npm test` builds first) and is skipped without it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileArtifactRepository } from '../src/tracking/artifacts/index.js';
import { ModelRegistry } from '../src/tracking/registry.js';
import type { TabularModel } from '../src/ml/tabular-model.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, ORIGINAL_REQUEST } from './serve-fixtures.js';

const dist = fileURLToPath(new URL('../dist/serve/cluster.js', import.meta.url));
const built = existsSync(dist);
if (!built && process.env.CI === 'true') throw new Error(`${dist} is missing: run npm run build first`);

/** What the server processes printed, shown when a wait times out. */
let output = '';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}; the server said:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!built)('serve with workers', () => {
  let store: TestStore;
  let dir: string;
  let primary: ChildProcess;
  let base: string;

  beforeAll(async () => {
    store = await freshStore(backends[0]);
    dir = mkdtempSync(join(tmpdir(), 'mldeploy-cluster-'));
    const artifacts = new FileArtifactRepository(join(dir, 'artifacts'));
    await artifacts.put('m/v1/model.json', JSON.stringify((loanModel(0) as TabularModel).toJSON()));
    const registry = new ModelRegistry(store);
    const { version } = await registry.registerVersion({ name: 'clients_model', artifactKey: 'm/v1/model.json', metrics: {} });
    await registry.setAlias('clients_model', 'production', version, { action: 'force_promote', reason: 'test' });

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const script = join(dir, 'serve.mjs');
    writeFileSync(
      script,
      `import { serve } from ${JSON.stringify(pathToFileURL(dist).href)};\n` +
        `import { loadConfig } from ${JSON.stringify(pathToFileURL(join(dist, '../../config.js')).href)};\n` +
        // An admin route that says which worker answered, and the token printed as the CLI prints its dashboard URL.
        `const whoami = async (app) => { app.get('/api/whoami', async () => ({ pid: process.pid })); };\n` +
        `await serve({ workers: 2, config: loadConfig(), keys: {}, app: { logRequests: false }, plugins: () => [{ plugin: whoami }],\n` +
        `  onListening: (url, token) => console.log('admin token: ' + token) });\n`,
    );
    primary = spawn(process.execPath, [script], {
      env: {
        ...process.env,
        MLDEPLOY_DATABASE_URL: store.url,
        MLDEPLOY_ARTIFACTS_URL: pathToFileURL(join(dir, 'artifacts')).href,
        MLDEPLOY_PORT: String(port),
        MLDEPLOY_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    primary.stdout!.on('data', (chunk) => (output += chunk));
    primary.stderr!.on('data', (chunk) => (output += chunk));
  });
  afterAll(async () => {
    if (primary && primary.exitCode === null) primary.kill('SIGKILL');
    await store?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const healthPid = async () => {
    // A connection handed to a worker just as it is killed may never be answered: do not wait on it.
    const response = await fetch(`${base}/health`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(2000) });
    return ((await response.json()) as { pid: number }).pid;
  };
  const pidsSeen = async (n: number) => {
    const pids = new Set<number>();
    for (let i = 0; i < n; i++) pids.add(await healthPid());
    return pids;
  };

  it('shares one port between two workers and replaces a killed one', async () => {
    const first = await until(
      async () => ((await pidsSeen(6)).size === 2 ? pidsSeen(6) : undefined),
      'two workers answer',
    );
    expect(first.has(primary.pid!)).toBe(false);

    // Any worker answers /metrics for the whole server.
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ ...ORIGINAL_REQUEST, id: `metrics-${i}` }),
      });
      expect(response.status).toBe(200);
    }
    for (let i = 0; i < 4; i++) {
      const text = await (await fetch(`${base}/metrics`, { headers: { connection: 'close' } })).text();
      expect(text).toMatch(/^mldeploy_prediction_log_rows_total 20$/m);
      expect(text).toMatch(/^mldeploy_served_model_info\{model="clients_model",version="1"\} 1$/m);
    }

    const [victim] = first;
    process.kill(victim, 'SIGKILL');
    const replaced = await until(async () => {
      const pids = await pidsSeen(6);
      return pids.size === 2 && !pids.has(victim) ? pids : undefined;
    }, 'a new worker replaces the killed one');
    expect(replaced.size).toBe(2);
    expect(output).toMatch(/worker died: starting another/);
  });

  it('has every worker accept the admin token the primary made, and nothing else', async () => {
    const token = await until(async () => /^admin token: (\S+)$/m.exec(output)?.[1], 'the primary prints the token');
    expect(token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const whoami = async (authorization?: string) => {
      const headers: Record<string, string> = { connection: 'close', ...(authorization ? { authorization } : {}) };
      const response = await fetch(`${base}/api/whoami`, { headers, signal: AbortSignal.timeout(2000) });
      return { status: response.status, pid: response.status === 200 ? ((await response.json()) as { pid: number }).pid : 0 };
    };
    const pids = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const answer = await whoami(`Bearer ${token}`);
      expect(answer.status).toBe(200);
      pids.add(answer.pid);
      expect((await whoami()).status).toBe(401);
      expect((await whoami(`Bearer ${token.slice(1)}`)).status).toBe(401);
    }
    expect(pids.size).toBe(2);
    // The workers' logs (info level) never carry it.
    expect(output.split('\n').filter((line) => line.includes(token))).toEqual([`admin token: ${token}`]);
  });

  it('drains on SIGTERM: every 200 has its stored prediction and the primary exits cleanly', async () => {
    const send = (i: number) =>
      fetch(`${base}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...ORIGINAL_REQUEST, id: `drain-${i}` }),
      }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { prediction_id?: string } }),
        () => ({ status: 0, body: {} as { prediction_id?: string } }),
      );
    // Eight clients send one request after another; SIGTERM lands while requests are in flight.
    const results: Array<{ status: number; body: { prediction_id?: string } }> = [];
    let sent = 0;
    const client = async () => {
      for (;;) {
        const result = await send(sent++);
        results.push(result);
        if (result.status !== 200) return;
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await until(async () => (results.length >= 40 ? true : undefined), 'forty answers');
    const exited = new Promise<number | null>((resolve) => primary.on('exit', (code) => resolve(code)));
    primary.kill('SIGTERM');
    await Promise.all(clients);
    expect(await exited).toBe(0);

    const ok = results.filter((r) => r.status === 200);
    expect(ok.length).toBeGreaterThanOrEqual(40);
    // Refused connections (status 0) or 503 while closing are fine; a 200 must be stored.
    expect(results.every((r) => [0, 200, 503].includes(r.status))).toBe(true);
    const stored = new Set(
      (await store.db.selectFrom('predictions').select('id').where('row_id', 'like', 'drain-%').execute()).map((r) => r.id),
    );
    for (const r of ok) expect(stored.has(r.body.prediction_id!)).toBe(true);
    expect(output).toMatch(/all workers stopped/);
  });
});
