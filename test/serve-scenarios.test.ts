/**
 * Issue 4's serving scenarios (bench/serve-scenarios.ts) in short form, against the built command line under
 * 16 connections of load: a promotion and a rollback (SQLite, PostgreSQL), PostgreSQL and MariaDB each stopped and
 * restarted (a private throwaway server, never the shared one), SIGTERM to `mldeploy serve --workers 2` (SQLite,
 * PostgreSQL) and SIGKILL to it (PostgreSQL). In the outage and SIGKILL runs clients retry with the same x-request-id, and answered requests
 * are sent again after the load: each must get its first answer, and no request may have a second row.
 * `npm test` builds first; with CI=true nothing here is skipped.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  PrivateMariadb,
  PrivatePostgres,
  runDbOutageScenario,
  runSigkillScenario,
  runSigtermScenario,
  runSwapScenario,
} from '../bench/serve-scenarios.js';
import { backends } from './helpers/stores.js';

const ci = process.env.CI === 'true';
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const built = existsSync(cli);
if (!built && ci) throw new Error(`${cli} is missing: run npm run build first`);
const postgresBinaries = PrivatePostgres.binDir() !== undefined;
if (!postgresBinaries && ci) throw new Error('the database outage scenario needs initdb and pg_ctl (/usr/lib/postgresql/N/bin) in CI');
const mariadbBinaries = PrivateMariadb.binaries() !== undefined;
if (!mariadbBinaries && ci) {
  throw new Error('the MariaDB outage scenario needs mariadb-install-db and mariadbd (on PATH or in /usr/sbin) in CI');
}

/** SQLite on a temporary file, PostgreSQL on a scratch database of the test server. */
const stores = backends.filter((b) => b.name !== 'mysql').map((b) => ({ name: b.name, url: b.url, databaseUrl: b.name === 'sqlite' ? undefined : b.url }));

describe.skipIf(!built)('serving scenarios of issue 4', () => {
  for (const store of stores) it.skipIf(!store.url)(`swap on ${store.name}: a promotion and a rollback under load fail nothing, and each answer is stored as made`, async () => {
    const report = await runSwapScenario({ seconds: 6, databaseUrl: store.databaseUrl });
    expect(report.failures).toEqual([]);
    expect(report.statuses).toEqual({ 200: report.answered200 });
    expect(report.answered200).toBeGreaterThan(200);
    const [before, promoted, rolledBack] = report.phases.map((p) => p.versions);
    expect(Object.keys(before)).toEqual(['1']);
    expect(promoted[2]).toBeGreaterThan(0);
    expect(rolledBack[1]).toBeGreaterThan(0);
    // One row per 200; beyond that only rows of requests cut off when the load stopped.
    expect(report.rowsStored - report.answered200).toBe(report.rowsWithout200);
    expect(report.rowsWithout200).toBeLessThanOrEqual(report.cutOff);
  });

  const outages = [
    { engine: 'postgres' as const, name: 'PostgreSQL', binaries: postgresBinaries },
    { engine: 'mysql' as const, name: 'MariaDB', binaries: mariadbBinaries },
  ];
  for (const outage of outages) it.skipIf(!outage.binaries)(`db outage: ${outage.name} stopped under load gives 503s, never an unstored 200, and 200s soon after it is back`, async () => {
    const report = await runDbOutageScenario({ seconds: 3, warmupSeconds: 2, afterSeconds: 2, engine: outage.engine });
    expect(report.failures).toEqual([]);
    expect(Object.keys(report.statuses).sort()).toEqual(['200', '503']);
    expect(report.answered503DuringOutage).toBeGreaterThan(0);
    expect(report.recoveryMs).toBeLessThan(5000);
    expect(report.non2xxAfterRecovery).toBe(0);
    expect(report.serverExitCode).toBe(0);
    expect(report.retried).toBeGreaterThan(0);
    expect(report.resent).toBeGreaterThan(50);
    expect(report.resentMismatches).toBe(0);
  });

  for (const store of stores) it.skipIf(!store.url)(`sigterm on ${store.name}: mldeploy serve --workers 2 drains, exits 0, and every 200 is stored`, async () => {
    const report = await runSigtermScenario({ seconds: 2, databaseUrl: store.databaseUrl });
    expect(report.failures).toEqual([]);
    expect(report.exitCode).toBe(0);
    expect(report.answered200).toBeGreaterThan(50);
    expect(report.rowsStored).toBe(report.answered200 + report.rowsWithout200);
  });

  // On PostgreSQL only, to keep the suite short: two server processes and then a new one write to one server database.
  const postgres = stores.find((b) => b.name === 'postgres')!;
  for (const store of [postgres]) it.skipIf(!store.url)(`sigkill on ${store.name}: clients retrying with the same id get their answer from the new server, never a second row`, async () => {
    const report = await runSigkillScenario({ seconds: 2, databaseUrl: store.databaseUrl });
    expect(report.failures).toEqual([]);
    expect(report.unanswered).toBe(0);
    expect(report.retried).toBeGreaterThan(0);
    expect(report.resent).toBeGreaterThan(50);
    expect(report.resentMismatches).toBe(0);
    // One row per request: those answered, and those cut off when the load stopped.
    expect(report.rowsStored).toBeLessThanOrEqual(report.answered200 + report.cutOff);
  });
});
