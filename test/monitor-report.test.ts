/**
 * The monitoring report over a real prediction log on every backend: no traffic, in-distribution traffic, two shifted
 * features, the newest-N window refreshed incrementally, labels arriving later, a time range, unknown names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitoringPlugin } from '../src/monitor/plugin.js';
import { buildApp } from '../src/serve/app.js';
import { dashboardPlugin } from '../src/ui/index.js';
import { loanModel, MemoryModelSource } from './serve-fixtures.js';
import { createRng } from '../src/ml/random.js';
import { rocAuc } from '../src/ml/metrics.js';
import { buildReferenceProfile } from '../src/monitor/profile.js';
import { REFERENCE_PROFILE_PATH, computeMonitoringReport, computeMonitoringTimeline, featureDistributions } from '../src/monitor/report.js';
import { timeOrderedUuid } from '../src/serve/ids.js';
import { ModelRegistry, NotFoundError, TrackingStore, openArtifacts, type ArtifactRepository } from '../src/tracking/index.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const MODEL = 'loans';
const REGIONS = ['north', 'south', 'east', 'west'];

/** One synthetic applicant; `shift` moves income by one standard deviation and re-weights the region. */
function applicant(rng: ReturnType<typeof createRng>, shift: boolean): Record<string, unknown> {
  const u = rng.next();
  const regionWeights = shift ? [0.1, 0.1, 0.2, 0.6] : [0.4, 0.3, 0.2, 0.1];
  let region = 0;
  for (let acc = regionWeights[0]; u > acc && region < 3; acc += regionWeights[++region]);
  return {
    age: 20 + Math.floor(rng.next() * 50),
    annual_income: 50_000 + gaussian(rng) * 15_000 + (shift ? 15_000 : 0),
    credit_score: 300 + Math.floor(rng.next() * 550),
    had_past_default: rng.next() < 0.2,
    region: REGIONS[region],
  };
}

function gaussian(rng: ReturnType<typeof createRng>): number {
  return Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
}

function probabilityOf(row: Record<string, unknown>): number {
  return 1 / (1 + Math.exp(-((row.credit_score as number) - 575) / 100));
}

describe.each(backends)('monitoring report on $name', (backend) => {
  let store: TestStore;
  let artifacts: ArtifactRepository;
  let dir: string;
  let stores: { store: TestStore; artifacts: ArtifactRepository; registry: ModelRegistry };
  let clock = Date.parse('2026-01-01T00:00:00Z');

  async function log(rows: number, seed: number, options: { shift?: boolean; labelled?: boolean; version?: number } = {}) {
    const rng = createRng(seed);
    const records = Array.from({ length: rows }, () => {
      const inputs = applicant(rng, options.shift ?? false);
      const probability = probabilityOf(inputs);
      clock += 10;
      return {
        id: timeOrderedUuid(clock),
        request_id: 'test',
        created_at: new Date(clock).toISOString(),
        model_name: MODEL,
        model_version: options.version ?? 1,
        row_id: null,
        inputs_json: JSON.stringify(inputs),
        probability,
        prediction: probability >= 0.5 ? 1 : 0,
        threshold: 0.5,
        label: options.labelled ? (rng.next() < probability ? 1 : 0) : null,
        label_at: options.labelled ? new Date(clock).toISOString() : null,
      };
    });
    for (let i = 0; i < records.length; i += 200) await store.db.insertInto('predictions').values(records.slice(i, i + 200)).execute();
    return records;
  }

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    dir = mkdtempSync(join(tmpdir(), 'mldeploy-monitor-'));
    artifacts = openArtifacts(`file:${dir}`);
    const registry = new ModelRegistry(store);
    stores = { store, artifacts, registry };
    const tracking = new TrackingStore(store, artifacts);
    // The reference: 3,000 training rows (distances) and 800 test predictions.
    const rng = createRng(1);
    const train = Array.from({ length: 3000 }, () => applicant(rng, false));
    const test = Array.from({ length: 800 }, () => applicant(rng, false));
    const testP = test.map(probabilityOf);
    const profile = buildReferenceProfile({
      features: [
        { name: 'age', type: 'integer', values: Float64Array.from(train, (r) => r.age as number) },
        { name: 'annual_income', type: 'float', values: Float64Array.from(train, (r) => r.annual_income as number) },
        { name: 'credit_score', type: 'float', values: Float64Array.from(train, (r) => r.credit_score as number) },
        { name: 'had_past_default', type: 'boolean', values: Float64Array.from(train, (r) => (r.had_past_default ? 1 : 0)) },
        { name: 'region', type: 'categorical', values: train.map((r) => r.region as string) },
      ],
      prediction: { name: 'probability', type: 'float', values: testP },
      testLabels: testP.map((p) => (rng.next() < p ? 1 : 0)),
      seed: 42,
    });
    const run = await tracking.startRun({ experiment: MODEL, name: 'train' });
    await tracking.logArtifact(run.id, REFERENCE_PROFILE_PATH, JSON.stringify(profile));
    await registry.registerVersion({ name: MODEL, runId: run.id, artifactKey: 'runs/x/artifacts/model.json', metrics: { test: { roc_auc: 0.8, roc_auc_ci_lower: 0.75, roc_auc_ci_upper: 0.85 } } });
    await registry.setAlias(MODEL, 'production', 1, { action: 'promote', reason: 'test' });
  }, 60_000);

  afterAll(async () => {
    if (!backend.url) return;
    await store.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!backend.url)('says "no live data yet" before any traffic', async () => {
    const report = await computeMonitoringReport(stores, MODEL);
    expect(report).toMatchObject({ model: { name: MODEL, version: 1, alias: 'production' }, status: 'no_live_data', message: 'no live data yet', window: { rows: 0 } });
    expect(report.dataset_drift).toBe(false);
    expect(report.live.roc_auc).toBeNull();
    expect(report.estimated.roc_auc).toBeNull();
    expect(report.test.roc_auc).toBe(0.8);
  });

  it.skipIf(!backend.url)('flags nothing on in-distribution traffic, then exactly the two shifted features', async () => {
    const calm = await log(2000, 2);
    let report = await computeMonitoringReport(stores, MODEL, { window: 2000 });
    expect(report.status).toBe('ok');
    expect(report.window).toEqual({ rows: 2000, size: 2000, from: calm[0].created_at, to: calm[1999].created_at });
    expect(report.features.map((f) => [f.name, f.test])).toEqual([
      ['age', 'wasserstein'],
      ['annual_income', 'wasserstein'],
      ['credit_score', 'wasserstein'],
      ['had_past_default', 'jensen_shannon'],
      ['region', 'jensen_shannon'],
    ]);
    expect(report.features.filter((f) => f.drifted)).toEqual([]);
    expect(report.dataset_drift).toBe(false);
    expect(report.prediction).toMatchObject({ column: 'probability', test: 'ks', drifted: false });

    // The next 2,000 rows are shifted: the refresh reads only them and the window holds nothing else.
    const shifted = await log(2000, 3, { shift: true });
    report = await computeMonitoringReport(stores, MODEL, { window: 2000 });
    expect(report.window).toMatchObject({ rows: 2000, from: shifted[0].created_at, to: shifted[1999].created_at });
    expect(report.features.filter((f) => f.drifted).map((f) => f.name)).toEqual(['annual_income', 'region']);
    expect(report.drift).toEqual({ share: 2 / 5, drifted: 2, tested: 5, threshold: 0.5 });
    expect(report.dataset_drift).toBe(false);
    const strict = await computeMonitoringReport(stores, MODEL, { window: 2000, driftShare: 0.4 });
    expect(strict.dataset_drift).toBe(true);

    // A time range over the calm rows only.
    const range = await computeMonitoringReport(stores, MODEL, { from: calm[0].created_at, to: calm[1999].created_at });
    expect(range.window).toMatchObject({ rows: 2000, size: null, from: calm[0].created_at, to: calm[1999].created_at });
    expect(range.features.filter((f) => f.drifted)).toEqual([]);
  });

  it.skipIf(!backend.url)('realised quality from labels that arrive after the rows were read; estimated quality without them', async () => {
    const rows = await log(1000, 4);
    let report = await computeMonitoringReport(stores, MODEL, { window: 1000 });
    expect(report.live.labels).toBe(0);
    expect(report.estimated.roc_auc).not.toBeNull();
    // Feedback for every other row, given after the window was read.
    const rng = createRng(9);
    const labelled = rows.filter((_, i) => i % 2 === 0).map((r) => ({ ...r, label: rng.next() < r.probability ? 1 : 0 }));
    const labelAt = new Date().toISOString();
    for (const r of labelled) {
      await store.db.updateTable('predictions').set({ label: r.label, label_at: labelAt }).where('id', '=', r.id).execute();
    }
    report = await computeMonitoringReport(stores, MODEL, { window: 1000 });
    expect(report.live.labels).toBe(labelled.length);
    expect(report.live.roc_auc).toBeCloseTo(rocAuc(labelled.map((r) => r.label), labelled.map((r) => r.probability)), 12);
    expect(report.live.roc_auc_ci!.lower).toBeLessThan(report.live.roc_auc!);
    expect(report.live.accuracy).toBeCloseTo(labelled.filter((r) => r.prediction === r.label).length / labelled.length, 12);
    // Labels drawn from the served probabilities: the estimate without labels lands near the realised value.
    expect(Math.abs(report.estimated.roc_auc! - report.live.roc_auc!)).toBeLessThan(0.06);
  });

  it.skipIf(!backend.url)('answers concurrent requests from one window without reading a row twice', async () => {
    const newest = await store.db.selectFrom('predictions').select('created_at').orderBy('created_at', 'desc').limit(2345).execute();
    const reports = await Promise.all([1, 2, 3].map(() => computeMonitoringReport(stores, MODEL, { window: 2345 })));
    for (const report of reports) expect(report.window).toMatchObject({ rows: 2345, from: newest[2344].created_at, to: newest[0].created_at });
  });

  it.skipIf(!backend.url)('gives distributions and a timeline for the dashboard', async () => {
    const distributions = await featureDistributions(stores, MODEL, { window: 1000 });
    expect(distributions.map((d) => d.name)).toEqual(['age', 'annual_income', 'credit_score', 'had_past_default', 'region', 'probability']);
    for (const d of distributions) {
      expect(d.reference.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
      expect(d.live.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
    }
    const timeline = await computeMonitoringTimeline(stores, MODEL, { chunks: 5, chunkRows: 1000 });
    expect(timeline.map((p) => p.rows), JSON.stringify(timeline.map((p) => [p.from, p.to]))).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(timeline.map((p) => p.drift_share)).toEqual([0, 0, 0.4, 0.4, 0]);
  });

  it.skipIf(backend.name !== 'sqlite')('serves the report at GET /monitoring/{name} to admins, and the dashboard page', async () => {
    const key = 'monitoring-test-key-0123456789';
    const app = await buildApp({
      store,
      modelSource: new MemoryModelSource().set(MODEL, { version: 1, model: loanModel() }),
      config: { modelName: MODEL },
      logger: pino({ level: 'silent' }),
      keys: { adminKeys: [key] },
      plugins: [
        { plugin: monitoringPlugin, options: stores },
        { plugin: dashboardPlugin, options: { store, readArtifact: (k: string) => artifacts.get(k) } },
      ],
    });
    try {
      const auth = { authorization: `Bearer ${key}` };
      expect((await app.inject({ method: 'GET', url: `/monitoring/${MODEL}` })).statusCode).toBe(401);
      const answer = await app.inject({ method: 'GET', url: `/monitoring/${MODEL}?window=1000`, headers: auth });
      expect(answer.statusCode).toBe(200);
      const { computed_at: _at, ...body } = answer.json();
      const { computed_at: _also, ...direct } = await computeMonitoringReport(stores, MODEL, { window: 1000 });
      expect(body).toEqual(JSON.parse(JSON.stringify(direct)));
      expect(body).toMatchObject({ model: { name: MODEL, version: 1 }, window: { rows: 1000 }, dataset_drift: false });
      expect((await app.inject({ method: 'GET', url: '/monitoring/nope', headers: auth })).statusCode).toBe(404);
      const bad = await app.inject({ method: 'GET', url: `/monitoring/${MODEL}?window=0`, headers: auth });
      expect(bad.statusCode).toBeGreaterThanOrEqual(400);
      expect(bad.statusCode).toBeLessThan(500);
      expect(bad.body).toContain('window');
      const page = await app.inject({ method: 'GET', url: `/ui/models/${MODEL}/monitoring?window=1000`, headers: auth });
      expect(page.statusCode).toBe(200);
      expect(page.body).toContain('Training vs live distributions');
      expect(page.body).toContain('Drift over time');
      expect(page.body).toContain('Realised and estimated ROC AUC');
      for (const name of ['age', 'annual_income', 'region', 'probability']) expect(page.body).toContain(`<h3>${name}</h3>`);
      expect((await app.inject({ method: 'GET', url: '/ui/models/nope/monitoring', headers: auth })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it.skipIf(!backend.url)('names an unknown model, version or window', async () => {
    await expect(computeMonitoringReport(stores, 'nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(computeMonitoringReport(stores, MODEL, { version: 7 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(computeMonitoringReport(stores, MODEL, { window: 0 })).rejects.toThrow(/window must be a whole number/);
    await expect(computeMonitoringReport(stores, MODEL, { from: 'yesterday' })).rejects.toThrow(/from is not a date/);
    await expect(computeMonitoringReport(stores, MODEL, { window: 10, from: '2026-01-01' })).rejects.toThrow(/not both/);
  });
});
