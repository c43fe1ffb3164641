import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArtifactNotFoundError,
  ConflictError,
  FileArtifactRepository,
  InvalidArtifactKeyError,
  InvalidInputError,
  NotFoundError,
  TrackingStore,
} from '../src/tracking/index.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

describe.each(backends)('tracking store on $name', (backend) => {
  let store: TestStore;
  let artifactsDir: string;
  let tracking: TrackingStore;

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    artifactsDir = mkdtempSync(join(tmpdir(), 'mldeploy-tracking-'));
    tracking = new TrackingStore(store, new FileArtifactRepository(artifactsDir));
  });
  afterAll(async () => {
    await store?.dispose();
    if (artifactsDir) rmSync(artifactsDir, { recursive: true, force: true });
  });

  it.skipIf(!backend.url)('creates an experiment once, even when asked concurrently', async () => {
    const created = await Promise.all(Array.from({ length: 5 }, () => tracking.getOrCreateExperiment('loan approval')));
    expect(new Set(created.map((e) => e.id)).size).toBe(1);
    expect(created[0].name).toBe('loan approval');
    expect((await tracking.getOrCreateExperiment('loan approval')).id).toBe(created[0].id);
    await expect(tracking.getOrCreateExperiment('')).rejects.toThrow(/invalid experiment name ""/);
  });

  it.skipIf(!backend.url)('starts runs with tags and parents, and ends them', async () => {
    const parent = await tracking.startRun({
      experiment: 'runs-exp',
      name: 'tuning',
      datasetSnapshotId: 'snap-1',
      dagRunId: 'dag-1',
      tags: { trigger: 'manual', 'mldeploy.git': 'abc123' },
    });
    expect(parent).toMatchObject({
      experimentName: 'runs-exp',
      name: 'tuning',
      status: 'RUNNING',
      parentRunId: null,
      datasetSnapshotId: 'snap-1',
      dagRunId: 'dag-1',
      endTime: null,
    });
    const child = await tracking.startRun({ experiment: 'runs-exp', name: 'trial 1', parentRunId: parent.id });
    expect(child.parentRunId).toBe(parent.id);
    await expect(tracking.startRun({ experiment: 'runs-exp', name: 'orphan', parentRunId: 'nope' })).rejects.toThrow(
      'parent run not found: nope',
    );
    await expect(tracking.startRun({ experiment: 'runs-exp', name: 'x', tags: { 'bad key!': 'v' } })).rejects.toThrow(
      /invalid tag key "bad key!"/,
    );

    const ended = await tracking.endRun(child.id, 'FAILED');
    expect(ended.status).toBe('FAILED');
    expect(ended.endTime! >= ended.startTime).toBe(true);
    await expect(tracking.endRun(child.id, 'RUNNING' as 'FINISHED')).rejects.toThrow(/invalid run status "RUNNING"/);
    await expect(tracking.endRun('missing', 'FINISHED')).rejects.toThrow(NotFoundError);

    const detail = await tracking.getRun(parent.id);
    expect(detail.tags).toEqual({ trigger: 'manual', 'mldeploy.git': 'abc123' });
    expect(detail.childRunIds).toEqual([child.id]);
    expect((await tracking.getRun(child.id)).status).toBe('FAILED');
    await expect(tracking.getRun('missing')).rejects.toThrow('run not found: missing');
  });

  it.skipIf(!backend.url)('stores params as strings and keeps them immutable, all or nothing', async () => {
    const run = await tracking.startRun({ experiment: 'params-exp', name: 'p' });
    await tracking.logParams(run.id, { learning_rate: 0.1, max_depth: 6, balanced: true, solver: 'lbfgs' });
    await tracking.logParams(run.id, { learning_rate: 0.1 }); // same value again: fine
    await expect(tracking.logParams(run.id, { solver: 'saga', new_key: 'x' })).rejects.toThrow(ConflictError);
    await expect(tracking.logParams(run.id, { solver: 'saga' })).rejects.toThrow(
      `param "solver" of run ${run.id} is already "lbfgs"; params cannot change (tried "saga")`,
    );
    await expect(tracking.logParams(run.id, { 'a;drop': 1 })).rejects.toThrow(/invalid param key "a;drop"/);
    await expect(tracking.logParams(run.id, { obj: {} as unknown as string })).rejects.toThrow(/param "obj" is a object/);
    await expect(tracking.logParams('missing', { a: 1 })).rejects.toThrow('run not found: missing');
    // The failed call wrote nothing, not even its valid key.
    expect((await tracking.getRun(run.id)).params).toEqual({
      learning_rate: '0.1',
      max_depth: '6',
      balanced: 'true',
      solver: 'lbfgs',
    });
  });

  it.skipIf(!backend.url)('keeps metric history by step and reports the highest step as latest', async () => {
    const run = await tracking.startRun({ experiment: 'metrics-exp', name: 'm' });
    await tracking.logMetrics(run.id, { loss: 0.5, 'val/roc_auc': 0.81 }, 2);
    await tracking.logMetrics(run.id, { loss: 0.9 }, 1);
    await tracking.logMetrics(run.id, { loss: 0.7, 'val/roc_auc': 0.8 }, 0);
    await tracking.logMetrics(run.id, { loss: 0.45 }, 2); // same step again: replaced
    await tracking.logMetrics(run.id, { 'test.roc_auc': 0.9512345678901234 });

    const plain = await tracking.getRun(run.id);
    expect(plain.metrics).toEqual({ loss: 0.45, 'val/roc_auc': 0.81, 'test.roc_auc': 0.9512345678901234 });
    expect(plain.metricHistory).toBeUndefined();
    const detail = await tracking.getRun(run.id, { metricHistory: true });
    expect(detail.metricHistory!.loss.map((p) => [p.step, p.value])).toEqual([
      [0, 0.7],
      [1, 0.9],
      [2, 0.45],
    ]);
    expect(typeof detail.metricHistory!.loss[0].timestamp).toBe('string');
  });

  it.skipIf(!backend.url)('refuses NaN and Infinity metrics with the key named, writing nothing', async () => {
    const run = await tracking.startRun({ experiment: 'metrics-exp', name: 'nan' });
    await expect(tracking.logMetrics(run.id, { ok: 1, val_loss: Number.NaN })).rejects.toThrow(
      'metric "val_loss" is NaN: metric values must be finite numbers',
    );
    await expect(tracking.logMetrics(run.id, { big: Number.POSITIVE_INFINITY })).rejects.toThrow(/metric "big" is Infinity/);
    await expect(tracking.logMetrics(run.id, { ok: 1 }, 1.5)).rejects.toThrow(/invalid metric step 1.5/);
    expect((await tracking.getRun(run.id)).metrics).toEqual({});
  });

  it.skipIf(!backend.url)('writes large batches in one call', async () => {
    const run = await tracking.startRun({ experiment: 'metrics-exp', name: 'batch' });
    const metrics = Object.fromEntries(Array.from({ length: 1203 }, (_, i) => [`feature_importance.f${i}`, i / 1000]));
    const params = Object.fromEntries(Array.from({ length: 1203 }, (_, i) => [`p${i}`, i]));
    await tracking.logMetrics(run.id, metrics);
    await tracking.logParams(run.id, params);
    await tracking.setTags(run.id, Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`t${i}`, `v${i}`])));
    const detail = await tracking.getRun(run.id);
    expect(Object.keys(detail.metrics)).toHaveLength(1203);
    expect(detail.metrics['feature_importance.f1202']).toBe(1.202);
    expect(detail.params.p1202).toBe('1202');
    expect(Object.keys(detail.tags)).toHaveLength(600);
  });

  it.skipIf(!backend.url)('replaces tag values', async () => {
    const run = await tracking.startRun({ experiment: 'tags-exp', name: 't', tags: { stage: 'train' } });
    await tracking.setTags(run.id, { stage: 'evaluate', owner: 'ml-team' });
    expect((await tracking.getRun(run.id)).tags).toEqual({ stage: 'evaluate', owner: 'ml-team' });
    await expect(tracking.setTags('missing', { a: 'b' })).rejects.toThrow(NotFoundError);
  });

  it.skipIf(!backend.url)('stores run artifacts under runs/<id>/artifacts/', async () => {
    const run = await tracking.startRun({ experiment: 'artifacts-exp', name: 'a' });
    const key = await tracking.logArtifact(run.id, 'model/model.json', '{"kind":"logistic"}', 'application/json');
    expect(key).toBe(`runs/${run.id}/artifacts/model/model.json`);
    await tracking.logArtifact(run.id, 'plots/roc.svg', '<svg/>');
    expect((await tracking.readArtifact(run.id, 'model/model.json')).toString()).toBe('{"kind":"logistic"}');
    expect(await tracking.listArtifacts(run.id)).toEqual(['model/model.json', 'plots/roc.svg']);
    expect(await tracking.listArtifacts(run.id, 'plots/')).toEqual(['plots/roc.svg']);
    expect(await tracking.artifacts.exists(key)).toBe(true);
    await expect(tracking.readArtifact(run.id, 'nope.bin')).rejects.toThrow(ArtifactNotFoundError);
    await expect(tracking.logArtifact(run.id, '../../escape.txt', 'x')).rejects.toThrow(InvalidArtifactKeyError);
    await expect(tracking.logArtifact('missing', 'a.txt', 'x')).rejects.toThrow('run not found: missing');
    expect(await tracking.artifacts.list('runs/missing/')).toEqual([]);
  });

  it.skipIf(!backend.url)('lists runs newest first with filters, paging and their data', async () => {
    const experiment = 'list-exp';
    const parent = await tracking.startRun({ experiment, name: 'parent', dagRunId: 'dag-7' });
    const children = [];
    for (let i = 0; i < 3; i++) {
      const child = await tracking.startRun({ experiment, name: `child ${i}`, parentRunId: parent.id, dagRunId: 'dag-7' });
      await tracking.logMetrics(child.id, { roc_auc: [0.8, 0.81, 0.82][i] });
      children.push(child);
    }
    await tracking.endRun(children[0].id, 'FINISHED');
    await tracking.startRun({ experiment: 'other-exp', name: 'elsewhere' });

    const all = await tracking.listRuns({ experiment });
    expect(all.map((r) => r.name)).toEqual(['child 2', 'child 1', 'child 0', 'parent']);
    expect(all[0].metrics).toEqual({ roc_auc: 0.82 });
    expect(all[0].experimentName).toBe(experiment);
    expect((await tracking.listRuns({ experiment, parentRunId: null })).map((r) => r.id)).toEqual([parent.id]);
    expect((await tracking.listRuns({ parentRunId: parent.id, limit: 2 })).map((r) => r.name)).toEqual(['child 2', 'child 1']);
    expect((await tracking.listRuns({ parentRunId: parent.id, limit: 2, offset: 2 })).map((r) => r.name)).toEqual(['child 0']);
    expect((await tracking.listRuns({ experiment, status: 'FINISHED' })).map((r) => r.id)).toEqual([children[0].id]);
    expect(await tracking.listRuns({ dagRunId: 'dag-7' })).toHaveLength(4);
    expect(await tracking.listRuns({ experiment: 'no such experiment' })).toEqual([]);
    await expect(tracking.listRuns({ limit: 0 })).rejects.toThrow(InvalidInputError);
    await expect(tracking.listRuns({ offset: -1 })).rejects.toThrow(/invalid offset -1/);

    const experiments = await tracking.listExperiments();
    const listed = experiments.find((e) => e.name === experiment)!;
    expect(listed.runCount).toBe(4);
    expect(listed.lastRunTime).toBe(all[0].startTime);
    const names = experiments.map((e) => e.name);
    expect(names).toEqual([...names].sort());
  });
});
