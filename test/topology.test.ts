/**
 * The multi-machine topology as OS processes, in short form (bench/topology.ts; `npm run scenarios:topology` runs it
 * in full, with the scheduler failover and a 1M-row fit, on PostgreSQL and MariaDB): 2 APIs, 2 workers and 2
 * schedulers of the built CLI on PostgreSQL + Redis + s3rver. A worker killed with -9 in the middle of train_model has
 * its task retried on the other and the run succeeds; a promotion reaches both APIs within 2 s; 50 runs queued at
 * once each run exactly once.
 */
import { describe, expect, it } from 'vitest';
import { runTopologyScenario } from '../bench/topology.js';

const postgresUrl = process.env.MLDEPLOY_TEST_POSTGRES_URL;
const redisUrl = process.env.MLDEPLOY_TEST_REDIS_URL;
if ((!postgresUrl || !redisUrl) && process.env.CI === 'true') {
  throw new Error('MLDEPLOY_TEST_POSTGRES_URL and MLDEPLOY_TEST_REDIS_URL must be set in CI (see .ci/run)');
}

describe.skipIf(!postgresUrl || !redisUrl)('the topology on PostgreSQL + Redis + s3rver (short form)', () => {
  it('survives a killed worker, spreads a promotion and runs a burst of 50 runs exactly once', async () => {
    const lines: string[] = [];
    const report = await runTopologyScenario({
      engine: 'postgres',
      adminUrl: postgresUrl!,
      redisUrl: redisUrl!,
      // Enough rows that train_model is still fitting when the worker is killed, even on a quiet machine.
      rows: 60_000,
      say: (line) => lines.push(line),
    });
    expect(report.workerKill.attempts.map(([tryNumber, state]) => [tryNumber, state])).toEqual([
      [1, 'failed'],
      [2, 'success'],
    ]);
    expect(report.workerKill.attempts[0][2]).toMatch(/was lost: the worker running it stopped or lost its queue lock/);
    expect(Math.max(...report.promotion.reachedMs)).toBeLessThan(2000);
    expect(report.burst.attempts).toBe(50);
    expect(report.burst.startsPerWorker.reduce((a, b) => a + b, 0)).toBe(50);
  }, 600_000);
});
