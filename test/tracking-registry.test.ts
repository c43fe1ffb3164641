import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConflictError,
  FileArtifactRepository,
  InvalidArtifactKeyError,
  InvalidInputError,
  ModelRegistry,
  NotFoundError,
  TrackingStore,
  aliasStack,
} from '../src/tracking/index.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';

const metrics = { test: { roc_auc: 0.95, roc_auc_ci: [0.93, 0.97] }, val: { roc_auc: 0.94 } };

describe('alias history', () => {
  it('replays promotions as pushes and rollbacks as pops', () => {
    const promote = (version: number) => ({ version, action: 'promote' as const });
    const rollback = (version: number) => ({ version, action: 'rollback' as const });
    expect(aliasStack([promote(1), promote(2), promote(3)])).toEqual([1, 2, 3]);
    expect(aliasStack([promote(1), promote(2), promote(3), rollback(2)])).toEqual([1, 2]);
    expect(aliasStack([promote(1), promote(2), rollback(1), promote(3)])).toEqual([1, 3]);
    expect(aliasStack([promote(1), promote(1), { version: 2, action: 'force_promote' }])).toEqual([1, 2]);
    // A rollback to a version the history never held (manual repair) still becomes the top.
    expect(aliasStack([promote(2), rollback(1)])).toEqual([2, 1]);
  });
});

describe.each(backends)('model registry on $name', (backend) => {
  let store: TestStore;
  let registry: ModelRegistry;
  let tracking: TrackingStore;
  let artifactsDir: string;

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    registry = new ModelRegistry(store);
    artifactsDir = mkdtempSync(join(tmpdir(), 'mldeploy-registry-'));
    tracking = new TrackingStore(store, new FileArtifactRepository(artifactsDir));
  });
  afterAll(async () => {
    await store?.dispose();
    if (artifactsDir) rmSync(artifactsDir, { recursive: true, force: true });
  });

  it.skipIf(!backend.url)('registers numbered versions linked to their run and data', async () => {
    const run = await tracking.startRun({ experiment: 'registry', name: 'train' });
    const v1 = await registry.registerVersion({
      name: 'loan_model',
      runId: run.id,
      artifactKey: `runs/${run.id}/artifacts/model/model.json`,
      datasetSnapshotId: 'snap-1',
      metrics,
    });
    expect(v1).toMatchObject({
      name: 'loan_model',
      version: 1,
      runId: run.id,
      datasetSnapshotId: 'snap-1',
      metrics,
      aliases: [],
    });
    const v2 = await registry.registerVersion({ name: 'loan_model', artifactKey: 'models/v2.json', metrics: {} });
    expect(v2.version).toBe(2);
    expect(v2.runId).toBeNull();
    expect(await registry.getVersion('loan_model', 1)).toEqual(v1);
    expect((await registry.listVersions('loan_model')).map((v) => v.version)).toEqual([2, 1]);
    const events = await registry.events('loan_model');
    expect(events.map((e) => [e.action, e.version, e.reason])).toEqual([
      ['register', 2, 'registered'],
      ['register', 1, `registered from run ${run.id}`],
    ]);

    await expect(registry.getVersion('loan_model', 9)).rejects.toThrow('model version not found: loan_model v9');
    await expect(registry.listVersions('unknown_model')).rejects.toThrow('model not found: unknown_model');
    await expect(
      registry.registerVersion({ name: 'loan_model', runId: 'missing', artifactKey: 'x.json', metrics: {} }),
    ).rejects.toThrow('run not found: missing');
    await expect(registry.registerVersion({ name: 'bad name!', artifactKey: 'x', metrics: {} })).rejects.toThrow(
      /invalid model name "bad name!"/,
    );
    await expect(registry.registerVersion({ name: '..', artifactKey: 'x', metrics: {} })).rejects.toThrow(InvalidInputError);
    await expect(registry.registerVersion({ name: 'ok', artifactKey: '../x', metrics: {} })).rejects.toThrow(
      InvalidArtifactKeyError,
    );
    // None of the refused registrations left a version behind.
    expect((await registry.listVersions('loan_model')).length).toBe(2);
  });

  it.skipIf(!backend.url)('gives concurrent registrations distinct, gapless versions', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        registry.registerVersion({ name: 'race_model', artifactKey: `race/${i}.json`, metrics: { i } }),
      ),
    );
    expect(results.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    // Each version kept its own payload.
    for (const v of results) expect((await registry.getVersion('race_model', v.version)).artifactKey).toBe(v.artifactKey);
    expect((await registry.events('race_model')).filter((e) => e.action === 'register')).toHaveLength(6);
  });

  it.skipIf(!backend.url)('moves aliases with an audit event and reports them per model', async () => {
    for (let i = 0; i < 3; i++) await registry.registerVersion({ name: 'alias_model', artifactKey: `a/${i}`, metrics: {} });
    const promoted = await registry.setAlias('alias_model', 'production', 1, { action: 'promote', reason: 'first model' });
    expect(promoted.aliases).toEqual(['production']);
    await registry.setAlias('alias_model', 'staging', 3, { action: 'promote', reason: 'try it' });
    await registry.setAlias('alias_model', 'production', 2, { action: 'force_promote', reason: 'hotfix by operator' });
    expect((await registry.getAlias('alias_model', 'production'))?.version).toBe(2);
    expect(await registry.getAlias('alias_model', 'champion')).toBeUndefined();
    expect((await registry.getVersion('alias_model', 1)).aliases).toEqual([]);

    const [model] = (await registry.listModels()).filter((m) => m.name === 'alias_model');
    expect(model.latestVersion?.version).toBe(3);
    expect(model.latestVersion?.aliases).toEqual(['staging']);
    expect(model.aliases).toEqual({ production: 2, staging: 3 });
    expect((await registry.listVersions('alias_model')).map((v) => v.aliases)).toEqual([['staging'], ['production'], []]);

    const events = await registry.events('alias_model', { limit: 3 });
    expect(events.map((e) => [e.action, e.alias, e.version, e.reason])).toEqual([
      ['force_promote', 'production', 2, 'hotfix by operator'],
      ['promote', 'staging', 3, 'try it'],
      ['promote', 'production', 1, 'first model'],
    ]);

    await expect(registry.setAlias('alias_model', 'production', 7, { action: 'promote', reason: 'x' })).rejects.toThrow(
      NotFoundError,
    );
    for (const bad of ['latest', 'v2', '1st', 'prod uction']) {
      await expect(registry.setAlias('alias_model', bad, 1, { action: 'promote', reason: 'x' })).rejects.toThrow(
        `invalid alias "${bad}"`,
      );
    }
    await expect(registry.setAlias('alias_model', 'production', 1, { action: 'promote', reason: ' ' })).rejects.toThrow(
      /a reason is required/,
    );
    await expect(
      registry.setAlias('alias_model', 'production', 1, { action: 'register' as 'promote', reason: 'x' }),
    ).rejects.toThrow(/invalid alias action "register"/);
    expect((await registry.getAlias('alias_model', 'production'))?.version).toBe(2);
    expect(await registry.events('alias_model')).toHaveLength(6);
  });

  it.skipIf(!backend.url)('rolls back through the promotion history, refusals aside', async () => {
    for (let i = 0; i < 3; i++) await registry.registerVersion({ name: 'rb_model', artifactKey: `rb/${i}`, metrics: {} });
    await expect(registry.rollback('rb_model')).rejects.toThrow('nothing to roll back: model "rb_model" has no "production" alias');
    await registry.setAlias('rb_model', 'production', 1, { action: 'promote', reason: 'v1' });
    await expect(registry.rollback('rb_model')).rejects.toThrow(ConflictError);
    await registry.setAlias('rb_model', 'production', 2, { action: 'promote', reason: 'v2' });
    await registry.setAlias('rb_model', 'production', 3, { action: 'force_promote', reason: 'v3' });
    const refused = await registry.recordEvent('rb_model', 1, 'refuse', 'not promoted: test ROC AUC 0.49', 'production');
    expect(refused).toMatchObject({ action: 'refuse', version: 1, alias: 'production' });
    // Another alias's history does not interfere.
    await registry.setAlias('rb_model', 'staging', 1, { action: 'promote', reason: 'staging' });

    const back = await registry.rollback('rb_model');
    expect(back.version).toBe(2);
    expect((await registry.getAlias('rb_model', 'production'))?.version).toBe(2);
    expect((await registry.events('rb_model', { limit: 1 }))[0]).toMatchObject({
      action: 'rollback',
      alias: 'production',
      version: 2,
      reason: 'rolled back from v3 to v2',
    });
    expect((await registry.rollback('rb_model', 'production', 'v2 drifts')).version).toBe(1);
    expect((await registry.events('rb_model', { limit: 1 }))[0].reason).toBe('v2 drifts');
    await expect(registry.rollback('rb_model')).rejects.toThrow(
      'nothing to roll back to: "production" of model "rb_model" has not pointed at any version before v1',
    );
    // After a new promotion, rollback returns to the version it replaced.
    await registry.setAlias('rb_model', 'production', 3, { action: 'promote', reason: 'v3 fixed' });
    expect((await registry.rollback('rb_model')).version).toBe(1);

    await expect(registry.recordEvent('rb_model', 1, 'promote' as 'refuse', 'x')).rejects.toThrow(/use setAlias/);
    await expect(registry.recordEvent('rb_model', 99, 'refuse', 'x')).rejects.toThrow(NotFoundError);
  });

  it.skipIf(!backend.url)('writes an alias and its event in one transaction', async () => {
    const isolated = await freshStore(backend);
    try {
      const reg = new ModelRegistry(isolated);
      await reg.registerVersion({ name: 'tx_model', artifactKey: 'tx/1', metrics: {} });
      await reg.registerVersion({ name: 'tx_model', artifactKey: 'tx/2', metrics: {} });
      await reg.setAlias('tx_model', 'production', 1, { action: 'promote', reason: 'v1' });
      // Without the events table the second statement fails; the alias change before it must be undone.
      await sql`drop table model_events`.execute(isolated.db);
      await expect(reg.setAlias('tx_model', 'production', 2, { action: 'promote', reason: 'v2' })).rejects.toThrow();
      expect((await reg.getAlias('tx_model', 'production'))?.version).toBe(1);
    } finally {
      await isolated.dispose();
    }
  });
});
