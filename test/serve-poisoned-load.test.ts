/**
 * One client's bad input never fails another's: 16 concurrent clients over loopback, 1% of their requests poisoned.
 * Half of the poison is caught by the request schema (a row id longer than predictions.row_id holds, NUL, 12.5 for an
 * integer feature; test/serve-row-contract.test.ts has each rule); the other half passes the schema and is refused by the database itself (a
 * CHECK constraint or trigger added for the test), so the group commits carrying it fail and must be retried request
 * by request. Every good request must get its 200 and its row; every poisoned one a 422 and no row.
 */
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/serve/app.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const CLIENTS = 16;
const REQUESTS_PER_CLIENT = 25;
/** Every 100th request is poisoned (1%), cycling through these bodies. */
const POISON: Array<(i: number) => string> = [
  (i) => JSON.stringify({ ...ORIGINAL_REQUEST, id: `refused-by-the-database-${i}` }),
  (i) => JSON.stringify({ ...ORIGINAL_REQUEST, id: `${i}-${'x'.repeat(256)}` }),
  (i) => JSON.stringify({ ...ORIGINAL_REQUEST, id: `refused-by-the-database-${i}` }),
  (i) => JSON.stringify({ ...ORIGINAL_REQUEST, id: `nul-${i}-\u0000`, loan_duration_years: 12.5 }),
];

/** Makes the database itself refuse rows whose row id starts with "refused-": a value only the database objects to. */
async function refuseMarkedRows(store: TestStore): Promise<void> {
  if (store.dialect === 'sqlite') {
    await sql`create trigger refuse_marked before insert on predictions when new.row_id like 'refused-%'
      begin select raise(abort, 'marked row refused'); end`.execute(store.db);
  } else {
    await sql`alter table predictions add constraint refuse_marked check (row_id is null or row_id not like 'refused-%')`.execute(
      store.db,
    );
  }
}

describe.each(backends)('1% poisoned requests among 16 clients on $name', (backend) => {
  let store: TestStore;
  let app: FastifyInstance;
  let base: string;

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    await refuseMarkedRows(store);
    const source = new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() });
    app = await buildApp({
      store,
      modelSource: source,
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
      // The test is about whose data fails, not speed: the suite's other files share the 2 cores, and a commit slower
      // than the default 2 s must not count as a failure here.
      predictionLog: { commitTimeoutMs: 15_000 },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  it.skipIf(!backend.url)('answers every good request 2xx and every poisoned one 422, storing only the good rows', async () => {
    const results: Array<{ poisoned: boolean; status: number; body: string }> = [];
    const client = async (c: number) => {
      for (let k = 0; k < REQUESTS_PER_CLIENT; k++) {
        const i = k * CLIENTS + c;
        const poisoned = i % 100 === 99;
        const body = poisoned ? POISON[Math.floor(i / 100) % POISON.length](i) : JSON.stringify({ ...ORIGINAL_REQUEST, id: `good-${i}` });
        const response = await fetch(`${base}/predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        results.push({ poisoned, status: response.status, body: await response.text() });
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    const good = results.filter((r) => !r.poisoned);
    const poisoned = results.filter((r) => r.poisoned);
    expect(poisoned).toHaveLength((CLIENTS * REQUESTS_PER_CLIENT) / 100);
    expect(good.filter((r) => r.status !== 200)).toEqual([]);
    expect(poisoned.map((r) => r.status)).toEqual(poisoned.map(() => 422));
    // No answer carries the database's own words.
    for (const r of poisoned) expect(r.body).not.toMatch(/refuse_marked|marked row|constraint|violat|SQL/i);

    const rows = await store.db.selectFrom('predictions').select('row_id').execute();
    expect(rows.filter((r) => !r.row_id?.startsWith('good-'))).toEqual([]);
    expect(new Set(rows.map((r) => r.row_id)).size).toBe(good.length);
    expect(rows).toHaveLength(good.length);
  });
});
