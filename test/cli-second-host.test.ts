/**
 * A second host pointed at the first one's database but left on its default (local) artifact folder: the API starts,
 * says it is degraded, and the reason names the folder it looked in, so the misconfiguration is plain. A wrong bucket
 * stops every command at start, naming the bucket, before any task runs.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../bench/ports.js';
import { CLI_MAIN, describeResult, makeHome, userError, type CliHome } from './helpers/cli.js';

describe('a second host on the same database', () => {
  let first: CliHome;
  let second: CliHome;

  beforeAll(() => {
    first = makeHome('mldeploy-host1-');
    second = makeHome('mldeploy-host2-');
  });
  afterAll(() => {
    first?.remove();
    second?.remove();
  });

  it('reports the artifact folder it looked in when the model file is not there', async () => {
    const sample = join(first.dir, 'loans.csv');
    expect((await first.run(['sample', sample, '--rows', '600'])).code).toBe(0);
    const trained = await first.run(['run', 'training', '--data', sample, '--target', 'Loan_Approval']);
    expect(trained.code, describeResult(['run', 'training'], trained)).toBe(0);

    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, MLDEPLOY_HOME: second.dir, MLDEPLOY_DATABASE_URL: `sqlite:${join(first.dir, 'mldeploy.db')}`, PORT: String(port) };
    delete env.MLDEPLOY_ARTIFACTS_URL;
    const server = spawn(process.execPath, [CLI_MAIN, 'serve', '--workers', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const deadline = Date.now() + 60_000;
      let health: { status: string; models: Array<{ reason?: string }> } | undefined;
      while (Date.now() < deadline) {
        try {
          const response = await fetch(`http://127.0.0.1:${port}/health`);
          health = (await response.json()) as typeof health;
          if (health?.models[0]?.reason?.includes('artifact')) break;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(health?.status).toBe('degraded');
      expect(health?.models[0].reason).toMatch(
        new RegExp(`artifact not found: runs/[^ ]+/model\\.json in ${join(second.dir, 'artifacts').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
    } finally {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.on('exit', resolve));
    }
  }, 120_000);

  it('stops at start on an artifact bucket that does not answer, naming it', async () => {
    const port = await freePort();
    const result = await second.run(['runs', 'list'], {
      env: {
        MLDEPLOY_ARTIFACTS_URL: 's3://no-such-bucket/models',
        MLDEPLOY_S3_ENDPOINT: `http://127.0.0.1:${port}`,
        MLDEPLOY_S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
      },
    });
    expect(result.code).toBe(5);
    expect(userError(result)).toMatch(
      new RegExp(`^mldeploy: artifact store s3://no-such-bucket/models/ \\(MLDEPLOY_ARTIFACTS_URL\\): S3 bucket "no-such-bucket" at http://127\\.0\\.0\\.1:${port} does not answer`),
    );
  }, 60_000);
});
