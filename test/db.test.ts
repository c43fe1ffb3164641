import { describe, expect, it } from 'vitest';
import { backends, freshStore } from './helpers/stores.js';
import { migrateToLatest, redactUrl, dialectOf } from '../src/db/index.js';
import { assertIdentifier, datasetNameFromFile, toSnakeCase } from '../src/db/identifiers.js';

describe('store URLs', () => {
  it('picks the dialect from the scheme and rejects unknown ones', () => {
    expect(dialectOf('sqlite:/tmp/x.db')).toBe('sqlite');
    expect(dialectOf('postgresql://u@h/db')).toBe('postgres');
    expect(dialectOf('mariadb://root@h/db')).toBe('mysql');
    expect(() => dialectOf('oracle://x')).toThrow(/Unsupported database URL scheme "oracle:"/);
  });
  it('never shows a password', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
  });
});

describe('identifiers', () => {
  it('normalises headers and file names to lower snake_case', () => {
    expect(toSnakeCase(' loan_status')).toBe('loan_status');
    expect(toSnakeCase('Annual_Income')).toBe('annual_income');
    expect(toSnakeCase('LoanAmount')).toBe('loan_amount');
    expect(datasetNameFromFile('/x/Loan Approval.csv')).toBe('loan_approval');
    expect(datasetNameFromFile('2024-data.csv')).toBe('d_2024_data');
  });
  it('rejects anything that could break out of an identifier', () => {
    for (const bad of ['a;drop table x', 'A', '1abc', 'a"b', 'a'.repeat(49), '']) {
      expect(() => assertIdentifier(bad)).toThrow(/Invalid name/);
    }
  });
});

describe.each(backends)('migrations on $name', (backend) => {
  it.skipIf(!backend.url)('create every table and are idempotent', async () => {
    const store = await freshStore(backend);
    try {
      await migrateToLatest(store.db); // second run is a no-op
      const tables = (await store.db.introspection.getTables()).map((t) => t.name);
      for (const t of ['raw_loads', 'runs', 'model_versions', 'model_aliases', 'dag_runs', 'task_instances', 'predictions']) {
        expect(tables).toContain(t);
      }
      await store.db
        .insertInto('experiments')
        .values({ id: 'e1', name: 'default', created_at: new Date().toISOString() })
        .execute();
      await expect(
        store.db.insertInto('experiments').values({ id: 'e2', name: 'default', created_at: '' }).execute(),
      ).rejects.toThrow();
    } finally {
      await store.dispose();
    }
  });
});
