/** preprocess_data and readSplit on every backend: target mapping, row ids, the stratified seeded split, round trips. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getSnapshot, latestSnapshot, loadRawData, preprocessData, readSplit } from '../src/data/index.js';
import { createRng } from '../src/ml/random.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'mldeploy-prep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * 1000 applicants: `id` 1..n, `row_no` a shuffled 0..n-1, `income` (5% missing), `grade` A-D, `comment` free text,
 * `flag` true/false, `status` " Approved"/" Rejected" (30% approved, 10 missing).
 */
function applicants(n = 1000): string {
  const rng = createRng(9);
  const order = Array.from({ length: n }, (_, i) => (i * 7919) % n); // 7919 is prime: a permutation of 0..n-1
  const lines = ['id,row_no,income,grade,comment,flag,status'];
  for (let i = 0; i < n; i++) {
    const income = rng.next() < 0.05 ? '' : String(20_000 + rng.int(80_000));
    const status = i % 100 === 50 ? '' : rng.next() < 0.3 ? ' Approved' : ' Rejected';
    lines.push([i + 1, order[i], income, 'ABCD'[rng.int(4)], `comment number ${i}`, rng.next() < 0.5, status].join(','));
  }
  return `${lines.join('\n')}\n`;
}

describe.each(backends)('preprocessing on $name', (backend) => {
  let store: TestStore;
  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    const path = join(dir, 'applicants.csv');
    writeFileSync(path, applicants());
    await loadRawData(store, { file: path, dataset: 'applicants' });
  });
  afterAll(async () => {
    if (backend.url) await store.dispose();
  });

  async function load(dataset: string, content: string): Promise<void> {
    const path = join(dir, `${dataset}.csv`);
    writeFileSync(path, content);
    await loadRawData(store, { file: path, dataset });
  }

  it.skipIf(!backend.url)('needs a positive label for a non-obvious target, and says which values there are', async () => {
    await expect(preprocessData(store, { dataset: 'applicants', target: ' status' })).rejects.toThrow(
      /^target "status" has values "Rejected" \(\d+\), "Approved" \(\d+\): pass --positive-label with one of them$/,
    );
    await expect(preprocessData(store, { dataset: 'applicants', target: 'status', positiveLabel: 'Accepted' })).rejects.toThrow(
      /positive label "Accepted" is not a value of target "status"; its values: "Rejected" \(\d+\), "Approved" \(\d+\)/,
    );
    await expect(preprocessData(store, { dataset: 'applicants', target: 'outcome' })).rejects.toThrow(
      'column "outcome" not found; the columns are: id, row_no, income, grade, comment, flag, status',
    );
    await expect(preprocessData(store, { dataset: 'nothing', target: 'y' })).rejects.toThrow(/no loaded raw data/);
  });

  it.skipIf(!backend.url)('drops row ids and text, maps the target, and splits 70/10/20 stratified', async () => {
    const s = await preprocessData(store, { dataset: 'applicants', target: 'status', positiveLabel: 'approved' });
    expect(s.positiveLabel).toBe('Approved');
    expect(s.rowIdColumns).toEqual(['id', 'row_no']);
    expect(s.features).toEqual([
      { name: 'income', type: 'integer', nullable: true },
      { name: 'grade', type: 'categorical', nullable: false, categories: ['A', 'B', 'C', 'D'] },
      { name: 'flag', type: 'boolean', nullable: false },
    ]);
    expect(s.table).toBe(`clean_applicants_${s.contentHash.slice(0, 12)}`);
    const { train, val, test, positives, droppedMissingTarget } = s.counts;
    expect(droppedMissingTarget).toBe(10);
    expect(train + val + test).toBe(990);
    expect(val).toBeGreaterThanOrEqual(98);
    expect(val).toBeLessThanOrEqual(100);
    expect(test).toBeGreaterThanOrEqual(197);
    expect(test).toBeLessThanOrEqual(199);
    const total = positives.train + positives.val + positives.test;
    for (const split of ['train', 'val', 'test'] as const) {
      const expected = (total / 990) * s.counts[split];
      expect(Math.abs(positives[split] - expected), split).toBeLessThanOrEqual(1);
    }
    expect(await getSnapshot(store, s.id)).toEqual(s);
    expect((await latestSnapshot(store, 'applicants'))?.id).toBe(s.id);
  });

  it.skipIf(!backend.url)('is deterministic by seed and reuses the snapshot of the same inputs', async () => {
    const options = { dataset: 'applicants', target: 'status', positiveLabel: 'Approved' };
    const a = await preprocessData(store, { ...options, seed: 5 });
    const again = await preprocessData(store, { ...options, seed: 5 });
    expect(again.id).toBe(a.id);
    const b = await preprocessData(store, { ...options, seed: 6 });
    expect(b.id).not.toBe(a.id);
    expect(b.table).not.toBe(a.table);
    const [trainA, trainB] = await Promise.all([readSplit(store, a.id, 'train'), readSplit(store, b.id, 'train')]);
    expect(trainA.nRows).toBe(a.counts.train);
    expect([...(trainA.columns.income as Float64Array)]).not.toEqual([...(trainB.columns.income as Float64Array)]);
    const dropped = await preprocessData(store, { ...options, seed: 5, dropColumns: ['grade'] });
    expect(dropped.features.map((f) => f.name)).toEqual(['income', 'flag']);
  });

  it.skipIf(!backend.url)('reads splits back as columns: numbers with NaN, categories as strings, y as 0/1', async () => {
    await load('tiny', 'Unnamed: 0,age,city,member,label\n0,30,Paris,true,yes\n1,,Lyon,false,no\n2,41,,TRUE,No\n3,52,Paris,false,YES\n4,23,Nice,true,no\n5,37,Lyon,,yes\n6,45,Paris,false,no\n7,29,Nice,true,yes\n8,33,Lyon,false,no\n9,61,Paris,true,no\n');
    const s = await preprocessData(store, { dataset: 'tiny', target: 'label' });
    expect(s.positiveLabel).toBe('yes');
    expect(s.rowIdColumns).toEqual(['unnamed_0']);
    expect(s.counts).toMatchObject({ train: 6, val: 2, test: 2, positives: { train: 2, val: 1, test: 1 } });
    const seen = new Map<number, [number, string | null, number, number]>();
    for (const split of ['train', 'val', 'test'] as const) {
      const data = await readSplit(store, s.id, split);
      expect(data.nRows).toBe(s.counts[split]);
      expect(Object.keys(data.columns)).toEqual(['age', 'city', 'member']);
      for (let i = 0; i < data.nRows; i++) {
        const age = (data.columns.age as Float64Array)[i];
        seen.set(Number.isNaN(age) ? -1 : age, [age, (data.columns.city as (string | null)[])[i], (data.columns.member as Float64Array)[i], data.y[i]]);
      }
    }
    expect(seen.size).toBe(10);
    expect(seen.get(30)).toEqual([30, 'Paris', 1, 1]);
    expect(seen.get(-1)).toEqual([NaN, 'Lyon', 0, 0]);
    expect(seen.get(41)).toEqual([41, null, 1, 0]);
    expect(seen.get(37)).toEqual([37, 'Lyon', NaN, 1]);
  });

  it.skipIf(!backend.url)('maps obvious targets itself and refuses a single class', async () => {
    await load('flags', 'x,target\n3,TRUE\n1,false\n4,true\n1,False\n5,true\n9,false\n');
    expect((await preprocessData(store, { dataset: 'flags', target: 'target' })).positiveLabel).toBe('true');
    await load('codes', 'x,target\n3,1\n1,0\n4,1\n1,0\n5,1\n9,0\n');
    expect((await preprocessData(store, { dataset: 'codes', target: 'target' })).positiveLabel).toBe('1');
    await load('one_class', 'x,target\n3,y\n3,Y\n4,y\n');
    await expect(preprocessData(store, { dataset: 'one_class', target: 'target' })).rejects.toThrow(
      /has values "y" \(2\), "Y" \(1\): pass --positive-label/,
    );
    await expect(preprocessData(store, { dataset: 'one_class', target: 'target', positiveLabel: 'y' })).rejects.toThrow(
      /only the value "y" .*needs two classes/,
    );
  });
});
