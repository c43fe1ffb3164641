/**
 * `mldeploy monitor` and the reference profile in `mldeploy models show`, as a user runs them: train on a loan sample,
 * ask before any traffic, log predictions, ask again.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timeOrderedUuid } from '../src/serve/ids.js';
import { describeResult, makeHome, type CliHome } from './helpers/cli.js';

interface Report {
  model: { name: string; version: number };
  window: { rows: number; from: string | null; to: string | null };
  status: string;
  message: string | null;
  features: Array<{ name: string; kind: string; test: string | null; statistic: number | null; threshold: number | null; drifted: boolean }>;
  dataset_drift: boolean;
  prediction: { test: string; statistic: number; drifted: boolean } | null;
  live: { labels: number; roc_auc: number | null };
  estimated: { roc_auc: number | null };
}

describe('mldeploy monitor', () => {
  let h: CliHome;

  beforeAll(async () => {
    h = makeHome();
    const loans = join(h.dir, 'loans.csv');
    const sample = await h.run(['sample', loans, '--rows', '1500', '--seed', '3']);
    expect(sample.code, describeResult(['sample'], sample)).toBe(0);
    const trained = await h.run(['run', 'training', '--data', loans, '--target', 'Loan_Approval', '--json']);
    expect(trained.code, describeResult(['run', 'training'], trained)).toBe(0);
  }, 240_000);

  afterAll(() => h?.remove());

  it('shows the reference profile stored at training with the model version', async () => {
    const detail = await h.json<{ referenceProfile: { version: number; rows: number; features: Array<{ name: string; kind: string; rows: number }>; prediction: { name: string } } }>(
      ['models', 'show', 'clients_model', '--json'],
    );
    const trainRows = h.query<{ counts_json: string }>('SELECT counts_json FROM dataset_snapshots')[0];
    expect(detail.referenceProfile.version).toBe(1);
    expect(detail.referenceProfile.rows).toBe(JSON.parse(trainRows.counts_json).train);
    expect(detail.referenceProfile.features.map((f) => f.name)).toContain('credit_score');
    expect(detail.referenceProfile.prediction.name).toBe('probability');
    const text = await h.run(['models', 'show', 'clients_model']);
    expect(text.stdout).toMatch(/reference profile of v1 \(\d+ training rows/);
  });

  it('says "no live data yet" before any traffic, then reports drift and quality over the newest predictions', async () => {
    const empty = await h.json<Report>(['monitor', '--json']);
    expect(empty).toMatchObject({ model: { name: 'clients_model', version: 1 }, status: 'no_live_data', message: 'no live data yet' });
    expect(empty.live.roc_auc).toBeNull();
    expect((await h.run(['monitor'])).stdout).toContain('no live data yet');

    // Traffic as the server logs it: the training file's own rows, so nothing drifts.
    const csv = (await import('node:fs')).readFileSync(join(h.dir, 'loans.csv'), 'utf8').trimEnd().split('\n');
    const header = csv[0].split(',');
    const db = new Database(join(h.dir, 'mldeploy.db'));
    const insert = db.prepare(
      `INSERT INTO predictions (id, request_id, created_at, model_name, model_version, row_id, inputs_json, probability, prediction, threshold, label, label_at)
       VALUES (?, 'r', ?, 'clients_model', 1, NULL, ?, ?, ?, 0.5, ?, ?)`,
    );
    let clock = Date.now() - 60_000;
    db.transaction(() => {
      for (const line of csv.slice(1, 801)) {
        const cells = line.split(',');
        const inputs: Record<string, unknown> = {};
        header.forEach((column, j) => {
          const key = column.trim().toLowerCase().replace(/\s+/g, '_');
          if (key === 'loan_approval' || key === '') return;
          inputs[key] = cells[j] === '' ? null : Number(cells[j]);
        });
        const p = Number(cells.at(-1)) === 1 ? 0.7 : 0.3;
        clock += 5;
        const at = new Date(clock).toISOString();
        insert.run(timeOrderedUuid(clock), at, JSON.stringify(inputs), p, p >= 0.5 ? 1 : 0, Number(cells.at(-1)), at);
      }
    })();
    db.close();

    const report = await h.json<Report>(['monitor', 'clients_model', '--window', '500', '--json']);
    expect(report.status).toBe('ok');
    expect(report.window.rows).toBe(500);
    expect(report.features.length).toBeGreaterThan(3);
    for (const f of report.features) {
      expect(f.test, f.name).not.toBeNull();
      expect(typeof f.statistic).toBe('number');
    }
    expect(report.dataset_drift).toBe(false);
    expect(report.live.labels).toBe(500);
    expect(report.live.roc_auc).toBe(1);
    expect(report.estimated.roc_auc).not.toBeNull();
    const text = await h.run(['monitor', '--window', '500']);
    expect(text.stdout).toContain('dataset drift: no');
    expect(text.stdout).toContain('live ROC AUC: 1.0000');

    // Failures exit non-zero with the reason (the exit code's value is the CLI's error mapping, not monitoring's).
    const bad = await h.run(['monitor', '--window', 'lots']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--window must be a whole number');
    const unknown = await h.run(['monitor', 'nope']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/not found/);
  }, 120_000);
});
