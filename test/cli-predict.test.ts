/**
 * `mldeploy predict`: a CSV file scored by the built CLI must match what POST /predict answers for the same rows (the
 * API is the reference), with bad rows set aside with their line and reason, and no output at all when it fails.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { openContext } from '../src/context.js';
import { buildApp } from '../src/serve/app.js';
import { RegistryModelSource } from '../src/serve/registry-source.js';
import { describeResult, makeHome, userError, type CliHome } from './helpers/cli.js';

let home: CliHome;
let sample: string;

beforeAll(async () => {
  home = makeHome('mldeploy-predict-');
  sample = join(home.dir, 'loans.csv');
  for (const args of [
    ['sample', sample, '--rows', '3000', '--seed', '7'],
    ['run', 'training', '--data', sample, '--target', 'Loan_Approval'],
  ]) {
    const result = await home.run(args);
    expect(result.code, describeResult(args, result)).toBe(0);
  }
}, 180_000);

afterAll(() => home?.remove());

/** Rows of a CSV file as objects keyed by the header. */
function readCsvFile(file: string): Record<string, string>[] {
  return parse(readFileSync(file), { columns: true }) as Record<string, string>[];
}

describe('mldeploy predict', () => {
  it('scores every row as POST /predict does, and sets bad rows aside with their line and reason', async () => {
    const lines = readFileSync(sample, 'utf8').trimEnd().split('\n');
    const header = lines[0];
    const good = lines.slice(1, 401);
    // Columns: "",Age,Annual_Income,Credit_Score,Loan_Amount,Loan_Duration_Years,Number_of_Open_Accounts,Had_Past_Default,Loan_Approval
    const bad = [
      '9001,abc,50000.0,600.0,10000.0,5,3.0,0,1', // age is not a number
      '9002,40.0,50000.0,600.0,10000.0,5.5,3.0,0,1', // an integer feature with a fraction
      '9003,40.0,50000.0,600.0,10000.0,5,3.0,maybe,1', // not a boolean
      '9004,40.0,50000.0', // too few fields
    ];
    const input = join(home.dir, 'later.csv');
    writeFileSync(input, [header, ...good.slice(0, 200), ...bad, ...good.slice(200)].join('\n') + '\n');
    const out = join(home.dir, 'scored.csv');
    const args = ['predict', '--data', input, '--out', out, '--json'];
    const result = await home.run(args);
    expect(result.code, describeResult(args, result)).toBe(0);
    const summary = JSON.parse(result.stdout) as { rows: number; rejected: number; rejects: string; model: { version: number } };
    expect(summary).toMatchObject({ rows: 400, rejected: 4, model: { version: 1 } });

    const rejects = readCsvFile(summary.rejects);
    expect(rejects.map((r) => Number(r.line))).toEqual([202, 203, 204, 205]);
    expect(rejects[0].reason).toMatch(/age.*"abc" is not a number/);
    expect(rejects[1].reason).toMatch(/loan_duration_years.*not an integer/);
    expect(rejects[2].reason).toMatch(/had_past_default.*"maybe"/);
    expect(rejects[3].reason).toMatch(/3 fields.*header has 9/);

    const scored = readCsvFile(out);
    expect(scored).toHaveLength(400);
    const context = await openContext(loadConfig({ MLDEPLOY_HOME: home.dir }), pino({ level: 'silent' }));
    const api = await buildApp({
      store: context.store,
      modelSource: new RegistryModelSource({ registry: context.registry, artifacts: context.artifacts }),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
      logRequests: false,
    });
    try {
      await api.ready();
      // The JSON a client sends for each line: numbers, null for an empty cell (the sample leaves some out).
      const names = header.split(',');
      const features = ['age', 'annual_income', 'credit_score', 'loan_amount', 'loan_duration_years', 'number_of_open_accounts', 'had_past_default'];
      const body = good.map((line) => {
        const cells = line.split(',');
        const row: Record<string, number | null> = { id: Number(cells[0]) };
        features.forEach((name, j) => (row[name] = cells[j + 1] === '' ? null : Number(cells[j + 1])));
        return row;
      });
      expect(names).toHaveLength(9);
      const answers: { row_id: string; probability: number; prediction: number; label: string; model: { version: number } }[] = [];
      for (let i = 0; i < body.length; i += 100) {
        const response = await api.inject({ method: 'POST', url: '/predict', payload: body.slice(i, i + 100) });
        expect(response.statusCode, response.body).toBe(200);
        answers.push(...response.json());
      }
      // The sample's index column has an empty header: the model knows it as a row id, and the output names it so.
      expect(Object.keys(scored[0])[0]).toBe('unnamed_0');
      expect(scored.map((r) => r.unnamed_0)).toEqual(answers.map((a) => a.row_id));
      scored.forEach((row, i) => {
        expect(Number(row.probability)).toBe(answers[i].probability);
        expect(Number(row.prediction)).toBe(answers[i].prediction);
        expect(row.label).toBe(answers[i].label);
        expect(Number(row.model_version)).toBe(answers[i].model.version);
      });
    } finally {
      await api.close();
      await context.close();
    }
  }, 120_000);

  it('fails with a clear message and leaves no output for an unknown model, a missing column or an empty file', async () => {
    const out = join(home.dir, 'never.csv');
    const empty = join(home.dir, 'empty.csv');
    writeFileSync(empty, '');
    const noAge = join(home.dir, 'no-age.csv');
    writeFileSync(noAge, 'id,income\n1,2\n');
    const cases: [string[], RegExp][] = [
      [['predict', '--data', sample, '--out', out, '--model', 'nosuch'], /nosuch@production/],
      [['predict', '--data', sample, '--out', out, '--model', 'clients_model:9'], /version.*not found|not found.*9/i],
      [['predict', '--data', sample, '--out', out, '--model', 'bad name!'], /invalid model reference/],
      [['predict', '--data', noAge, '--out', out], /feature "age" is not in the file/],
      [['predict', '--data', empty, '--out', out], /empty/],
      [['predict', '--data', join(home.dir, 'missing.csv'), '--out', out], /no such file/],
      [['predict', '--data', sample, '--out', out, '--id-column', 'nope'], /--id-column column "nope" is not in the file/],
    ];
    const results = await Promise.all(cases.map(([args]) => home.run(args)));
    for (const [k, [args, message]] of cases.entries()) {
      const result = results[k];
      expect(result.code, describeResult(args, result)).not.toBe(0);
      expect(userError(result), describeResult(args, result)).toMatch(message);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
    expect(existsSync(out)).toBe(false);
  }, 120_000);
});
