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

describe('mldeploy models compare, delete, export, import', () => {
  interface Comparison {
    versions: [number, number];
    testSplit: { rows: number; excluded: number };
    metrics: [{ roc_auc: number }, { roc_auc: number }];
    rocAuc: { auc1: number; auc2: number; difference: number; pValue: number; lower: number; upper: number };
  }

  it('compares two versions on the newer test split, deletes an unaliased version for good, and round-trips a model file', async () => {
    const second = join(home.dir, 'loans-2.csv');
    for (const args of [
      ['sample', second, '--rows', '3000', '--seed', '8'],
      ['run', 'training', '--data', second, '--dataset', 'loans', '--target', 'Loan_Approval', '--estimators', 'hist_gradient_boosting'],
    ]) {
      const result = await home.run(args);
      expect(result.code, describeResult(args, result)).toBe(0);
    }
    const v2 = home.query<{ metrics_json: string }>("select metrics_json from model_versions where name = 'clients_model' and version = 2")[0];
    const registered = JSON.parse(v2.metrics_json) as { test: { roc_auc: number } };

    const compared = await home.json<Comparison>(['models', 'compare', 'clients_model', '2', '1', '--json']);
    expect(compared.versions).toEqual([1, 2]);
    // Scored on v2's own test split, none of which v1 (another sample) trained on: v2's AUC is the one registered.
    expect(compared.testSplit.excluded).toBe(0);
    expect(compared.rocAuc.auc2).toBeCloseTo(registered.test.roc_auc, 12);
    expect(compared.metrics[1].roc_auc).toBeCloseTo(registered.test.roc_auc, 12);
    expect(compared.rocAuc.difference).toBeCloseTo(compared.rocAuc.auc2 - compared.rocAuc.auc1, 12);
    expect(compared.rocAuc.lower).toBeLessThan(compared.rocAuc.upper);

    // Production cannot be deleted; v2 (refused by the gate or not, it is not production unless promoted) can.
    const production = home.query<{ version: number }>("select version from model_aliases where name = 'clients_model' and alias = 'production'")[0];
    const refused = await home.run(['models', 'delete', 'clients_model', String(production.version)]);
    expect(refused.code).not.toBe(0);
    expect(userError(refused)).toMatch(/"production": move the alias/);
    const other = production.version === 1 ? 2 : 1;
    const key = home.query<{ artifact_key: string }>(`select artifact_key from model_versions where version = ${other}`)[0].artifact_key;
    expect(home.artifactFiles().some((f) => f.endsWith(key))).toBe(true);
    const deleted = await home.run(['models', 'delete', 'clients_model', String(other), '--reason', 'superseded']);
    expect(deleted.code, describeResult(['models', 'delete'], deleted)).toBe(0);
    expect(home.artifactFiles().some((f) => f.endsWith(key))).toBe(false);
    expect(home.query(`select action, reason from model_events where version = ${other} and action = 'delete'`)).toEqual([
      { action: 'delete', reason: 'superseded' },
    ]);

    // Export, import under another name, score a file with each: the same predictions.
    const file = join(home.dir, 'exported.json');
    const exported = await home.run(['models', 'export', 'clients_model', String(production.version), '--out', file]);
    expect(exported.code, describeResult(['models', 'export'], exported)).toBe(0);
    const imported = await home.run(['models', 'import', file, '--name', 'copied']);
    expect(imported.code, describeResult(['models', 'import'], imported)).toBe(0);
    expect(imported.stdout).toMatch(/copied v1/);
    const outputs = [join(home.dir, 'a.csv'), join(home.dir, 'b.csv')];
    for (const [model, out] of [[`clients_model:${production.version}`, outputs[0]], ['copied:1', outputs[1]]]) {
      const result = await home.run(['predict', '--data', sample, '--out', out, '--model', model]);
      expect(result.code, describeResult(['predict', model], result)).toBe(0);
    }
    const [a, b] = outputs.map((f) => readCsvFile(f));
    expect(b.map((r) => r.probability)).toEqual(a.map((r) => r.probability));
    expect(readCsvFile(outputs[1])[0].model_version).toBe('1');

    // A new version after a deletion never reuses the deleted number.
    const again = await home.run(['run', 'training', '--data', second, '--dataset', 'loans', '--target', 'Loan_Approval', '--force', '--seed', '5']);
    expect(again.code, describeResult(['run', 'training', '--force'], again)).toBe(0);
    expect(home.query<{ v: number }>("select max(version) as v from model_versions where name = 'clients_model'")[0].v).toBe(3);

    const broken = join(home.dir, 'broken.json');
    writeFileSync(broken, '{"format": "mldeploy-model", "estimator": "code()"}');
    const bad = await home.run(['models', 'import', broken]);
    expect(bad.code).not.toBe(0);
    expect(userError(bad)).toMatch(/model file/);
  }, 180_000);
});
