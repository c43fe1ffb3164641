/**
 * The shared real data sets load and preprocess with the documented row counts, row ids and target rates
 * (../shared/data/README.md). All four on SQLite; loan_approval.csv on PostgreSQL and MySQL to keep time down.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRawData, preprocessData } from '../src/data/index.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const DATA = resolve(__dirname, '../../shared/data');
const haveShared = existsSync(DATA) || process.env.CI === 'true';

const SETS = [
  {
    file: 'loan_approval.csv',
    target: ' loan_status',
    positiveLabel: 'Approved',
    rows: 4269,
    positives: 2656,
    delimiter: ',',
    rowIds: ['loan_id'],
    features: 11,
  },
  {
    file: 'credit_default.csv',
    target: 'default.payment.next.month',
    rows: 30_000,
    positives: 6636,
    delimiter: ',',
    rowIds: ['id'],
    features: 23,
  },
  { file: 'bank_marketing.csv', target: 'y', rows: 45_211, positives: 5289, delimiter: ';', rowIds: [], features: 16 },
  { file: 'seed_dataset.csv', target: 'Loan_Approval', rows: 1000, positives: 514, delimiter: ',', rowIds: ['unnamed_0'], features: 7 },
];

describe.each(backends)('shared data sets on $name', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    if (backend.url && haveShared) store = await freshStore(backend);
  });
  afterAll(async () => {
    if (backend.url && haveShared) await store.dispose();
  });

  const sets = backend.name === 'sqlite' ? SETS : SETS.slice(0, 1);
  it.skipIf(!backend.url || !haveShared).each(sets)('$file', async (set) => {
    const loaded = await loadRawData(store, { file: resolve(DATA, set.file) });
    expect(loaded).toMatchObject({ rows: set.rows, rejects: 0, delimiter: set.delimiter });
    const s = await preprocessData(store, { dataset: loaded.dataset, target: set.target, positiveLabel: set.positiveLabel });
    const { train, val, test, positives, droppedMissingTarget } = s.counts;
    expect(train + val + test).toBe(set.rows);
    expect(droppedMissingTarget).toBe(0);
    expect(positives.train + positives.val + positives.test).toBe(set.positives);
    expect(s.rowIdColumns).toEqual(set.rowIds);
    expect(s.features).toHaveLength(set.features);
    const rate = set.positives / set.rows;
    expect(Math.abs(positives.test / test - rate)).toBeLessThan(0.005);
    expect(Math.abs(test / set.rows - 0.2)).toBeLessThan(0.001);
  });
});
