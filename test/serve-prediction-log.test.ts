/**
 * The group-commit prediction log on every backend: batching of concurrent rows, big requests in one transaction,
 * back-pressure, draining on close, and failure modes (closed store, refused connection, a database that never
 * answers) with recovery.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/db/index.js';
import { PredictionLog, PredictionLogUnavailable, PredictionRowRejected, type PredictionRecord } from '../src/serve/prediction-log.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { DatabaseProxy } from './serve-fixtures.js';

function record(requestId: string, i: number): PredictionRecord {
  return {
    id: randomUUID(),
    request_id: requestId,
    created_at: new Date().toISOString(),
    model_name: 'clients_model',
    model_version: 1,
    row_id: String(i),
    inputs_json: JSON.stringify({ age: i }),
    probability: i / 1000,
    prediction: i % 2,
    threshold: 0.5,
  };
}

describe.each(backends)('prediction log on $name', (backend) => {
  let store: TestStore;

  beforeAll(async () => {
    if (backend.url) store = await freshStore(backend);
  });
  afterAll(async () => {
    await store?.dispose();
  });

  const countOf = async (requestId: string) =>
    Number(
      (
        await store.db
          .selectFrom('predictions')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('request_id', '=', requestId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it.skipIf(!backend.url)('writes concurrent rows in as few writes as the batch size allows', async () => {
    const writes: number[] = [];
    const log = new PredictionLog(store.db, { maxBatchRows: 50, onWrite: ({ rows, ok }) => ok && writes.push(rows) });
    const requestId = randomUUID();
    // 200 requests arrive in one turn of the event loop: they are written in batches of 50.
    await Promise.all(Array.from({ length: 200 }, (_, i) => log.append([record(requestId, i)])));
    expect(writes).toEqual([50, 50, 50, 50]);
    expect(await countOf(requestId)).toBe(200);
    expect(log.queuedRows).toBe(0);
    await log.close();
  });

  it.skipIf(!backend.url)('keeps up to maxConcurrentWrites writes in flight', async () => {
    // Counts the INSERTs running at once on the real database.
    let running = 0;
    let most = 0;
    const db = new Proxy(store.db, {
      get(target, property) {
        if (property !== 'executeQuery') {
          const value = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        }
        return async (...args: Parameters<typeof target.executeQuery>) => {
          most = Math.max(most, ++running);
          try {
            return await target.executeQuery(...args);
          } finally {
            running--;
          }
        };
      },
    });
    const log = new PredictionLog(db, { maxBatchRows: 20, maxConcurrentWrites: 3 });
    const requestId = randomUUID();
    await Promise.all(Array.from({ length: 100 }, (_, i) => log.append([record(requestId, i)])));
    await log.close();
    expect(await countOf(requestId)).toBe(100);
    expect(most).toBe(3);
  });

  it.skipIf(!backend.url)('commits a request larger than one statement all together', async () => {
    const log = new PredictionLog(store.db);
    const requestId = randomUUID();
    await log.append(Array.from({ length: 1200 }, (_, i) => record(requestId, i)));
    expect(await countOf(requestId)).toBe(1200);
    await log.close();
  });

  it.skipIf(!backend.url)('refuses rows beyond the queue limit at once, and drains accepted rows on close', async () => {
    const log = new PredictionLog(store.db, { maxQueuedRows: 10 });
    const requestId = randomUUID();
    const results = Array.from({ length: 20 }, (_, i) => log.append([record(requestId, i)]).then(() => 'ok', (e: Error) => e));
    const closing = log.close();
    const late = await log.append([record(requestId, 99)]).catch((e: Error) => e);
    await closing;
    const settled = await Promise.all(results);
    // Ten rows queue; the other ten are refused without waiting.
    expect(settled.filter((r) => r === 'ok')).toHaveLength(10);
    expect(settled.filter((r) => r instanceof PredictionLogUnavailable && /saturated/.test(r.message))).toHaveLength(10);
    expect(late).toBeInstanceOf(PredictionLogUnavailable);
    expect(await countOf(requestId)).toBe(10);
  });

  /** Appends 20 one-row requests in one turn (one group commit), the 8th with `poison` applied; the outcomes. */
  const groupWithOnePoisoned = async (poison: (r: PredictionRecord) => PredictionRecord) => {
    const writes: Array<{ rows: number; ok: boolean }> = [];
    const log = new PredictionLog(store.db, { onWrite: ({ rows, ok }) => writes.push({ rows, ok }) });
    const requestId = randomUUID();
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const r = record(requestId, i);
        return log.append([i === 7 ? poison(r) : r]).catch((e: Error) => e);
      }),
    );
    await log.close();
    return { outcomes, writes, stored: await countOf(requestId), log };
  };

  it.skipIf(!backend.url)("commits a group's other requests when the database refuses one request's rows", async () => {
    // A NOT NULL column left null: refused by every backend.
    const { outcomes, writes, stored, log } = await groupWithOnePoisoned((r) => ({ ...r, inputs_json: null as unknown as string }));
    expect(writes[0]).toEqual({ rows: 20, ok: false });
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(19);
    const rejected = outcomes[7];
    expect(rejected).toBeInstanceOf(PredictionRowRejected);
    // The database's own words stay in the server log.
    expect((rejected as Error).message).toBe('The database cannot store the values of this request (see the server log)');
    expect(stored).toBe(19);
    // A refused row says nothing about the database's health.
    expect(log.health.ok).toBe(true);
  });

  it.skipIf(!backend.url || backend.name === 'sqlite')('isolates a row id longer than predictions.row_id holds', async () => {
    const { outcomes, stored } = await groupWithOnePoisoned((r) => ({ ...r, row_id: 'x'.repeat(256) }));
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(19);
    expect(outcomes[7]).toBeInstanceOf(PredictionRowRejected);
    expect(stored).toBe(19);
  });

  it.skipIf(!backend.url || backend.name !== 'postgres')('isolates a NUL character, which PostgreSQL text cannot hold', async () => {
    const { outcomes, stored } = await groupWithOnePoisoned((r) => ({ ...r, row_id: 'a\u0000b' }));
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(19);
    expect(outcomes[7]).toBeInstanceOf(PredictionRowRejected);
    expect(stored).toBe(19);
  });

  it.skipIf(!backend.url)('fails with PredictionLogUnavailable when the database is gone, storing nothing', async () => {
    const own = openStore(store.url);
    const log = new PredictionLog(own.db);
    const requestId = randomUUID();
    await log.append([record(requestId, 1)]);
    await own.close();
    await expect(log.append([record(requestId, 2)])).rejects.toBeInstanceOf(PredictionLogUnavailable);
    expect(log.health.ok).toBe(false);
    expect(await countOf(requestId)).toBe(1);
  });

  it.skipIf(!backend.url || backend.name === 'sqlite')(
    'fails fast while the database refuses connections and recovers by itself when it is back',
    async () => {
      const proxy = await DatabaseProxy.create(store.url);
      const own = openStore(proxy.urlFor(store.url));
      const log = new PredictionLog(own.db, { commitTimeoutMs: 5000 });
      const requestId = randomUUID();
      try {
        const started = Date.now();
        const refused = await log.append([record(requestId, 1)]).catch((e: Error) => e);
        expect(refused).toBeInstanceOf(PredictionLogUnavailable);
        // What a client is told names no host, port or driver message.
        expect((refused as Error).message).toBe('The prediction could not be stored: the database write failed (see the server log)');
        expect(Date.now() - started).toBeLessThan(5000);
        await proxy.set('forward');
        await log.append([record(requestId, 2)]);
        expect(log.health.ok).toBe(true);
        expect(await countOf(requestId)).toBe(1);
      } finally {
        await log.close();
        await own.close();
        await proxy.close();
      }
    },
  );

  it.skipIf(!backend.url || backend.name === 'sqlite')('gives up after the commit timeout when the database never answers', async () => {
    const proxy = await DatabaseProxy.create(store.url);
    await proxy.set('silent');
    const own = openStore(proxy.urlFor(store.url));
    const log = new PredictionLog(own.db, { commitTimeoutMs: 300 });
    try {
      const started = Date.now();
      await expect(log.append([record(randomUUID(), 1)])).rejects.toThrow(/did not commit the prediction within 300 ms/);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(log.queuedRows).toBe(0);
    } finally {
      await proxy.close();
      await log.close();
      await own.close().catch(() => {});
    }
  });
});
