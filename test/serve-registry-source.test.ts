/**
 * Serving from the real registry and artifact store: NAME@production is loaded from its model file, the gate's refusal
 * becomes the 503 reason, promotions and rollbacks made through the database reach a running app, and a model file
 * that does not load is never served.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/serve/app.js';
import { RegistryModelSource } from '../src/serve/registry-source.js';
import { FileArtifactRepository } from '../src/tracking/artifacts/index.js';
import { ModelRegistry } from '../src/tracking/registry.js';
import type { TabularModel } from '../src/ml/tabular-model.js';
import { backends, freshStore, type TestStore } from './helpers/stores.js';
import { loanModel, ORIGINAL_REQUEST } from './serve-fixtures.js';

const { id: _id, ...FEATURES } = ORIGINAL_REQUEST;

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(backends)('registry model source on $name', (backend) => {
  let store: TestStore;
  let dir: string;
  let artifacts: FileArtifactRepository;
  let registry: ModelRegistry;
  let downloads = 0;

  beforeAll(async () => {
    if (!backend.url) return;
    store = await freshStore(backend);
    dir = mkdtempSync(join(tmpdir(), 'mldeploy-serve-artifacts-'));
    artifacts = new FileArtifactRepository(dir);
    registry = new ModelRegistry(store);
  });
  afterAll(async () => {
    await store?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const counting = () => ({
    get: (key: string) => {
      downloads++;
      return artifacts.get(key);
    },
  });

  async function register(model: TabularModel | string, key: string): Promise<number> {
    await artifacts.put(key, typeof model === 'string' ? model : JSON.stringify(model.toJSON()));
    return (await registry.registerVersion({ name: 'clients_model', artifactKey: key, metrics: {} })).version;
  }

  it.skipIf(!backend.url)('explains why nothing is served, then loads the promoted version once', async () => {
    const source = new RegistryModelSource({ registry, artifacts: counting() });
    expect(await source.resolve('clients_model')).toEqual({
      unavailable: 'No production model for clients_model: no version is registered (run the training pipeline)',
    });

    const v1 = await register(loanModel(0) as TabularModel, 'models/v1/model.json');
    expect(await source.resolve('clients_model')).toEqual({
      unavailable: 'No production model for clients_model: no version has been promoted to production (mldeploy models promote clients_model VERSION)',
    });
    await registry.recordEvent('clients_model', v1, 'refuse', 'not promoted: test ROC AUC 0.490 (0.45-0.53) is not better than chance', 'production');
    expect(await source.resolve('clients_model')).toEqual({
      unavailable:
        'No production model for clients_model: version 1 was not promoted: test ROC AUC 0.490 (0.45-0.53) is not better than chance',
    });
    expect(await source.names()).toEqual([]);

    await registry.setAlias('clients_model', 'production', v1, { action: 'force_promote', reason: 'test' });
    const resolved = await source.resolve('clients_model');
    if (!('model' in resolved)) throw new Error(resolved.unavailable);
    expect(resolved.version).toBe(1);
    expect(resolved.model.predictRecords([FEATURES]).probability[0]).toBe(loanModel(0).predictRecords([FEATURES]).probability[0]);
    const again = await source.resolve('clients_model');
    expect(again).toBe(resolved);
    expect(downloads).toBe(1);
    expect(await source.names()).toEqual(['clients_model']);
  });

  it.skipIf(!backend.url)('lets a running app follow promotions and rollbacks made in the database', async () => {
    const app = await buildApp({
      store,
      modelSource: new RegistryModelSource({ registry, artifacts }),
      config: { modelName: 'clients_model' },
      logger: pino({ level: 'silent' }),
      pollIntervalMs: 20,
    });
    const served = async () => (await app.inject({ method: 'POST', url: '/predict', payload: ORIGINAL_REQUEST })).json();
    try {
      await app.ready();
      const first = await served();
      expect(first.model).toEqual({ name: 'clients_model', version: 1 });
      expect(first.probability).toBe(loanModel(0).predictRecords([FEATURES]).probability[0]);

      const v2 = await register(loanModel(1) as TabularModel, 'models/v2/model.json');
      await registry.setAlias('clients_model', 'production', v2, { action: 'promote', reason: 'better' });
      await until(async () => (await served()).model.version === 2, 'version 2 is served');
      expect((await served()).probability).toBe(loanModel(1).predictRecords([FEATURES]).probability[0]);

      const v3 = await register('{"format": "mldeploy-model", "formatVersion": 1}', 'models/v3/model.json');
      await registry.setAlias('clients_model', 'production', v3, { action: 'force_promote', reason: 'broken on purpose' });
      await until(async () => {
        const models = (await app.inject({ method: 'GET', url: '/models' })).json();
        return /cannot load clients_model version 3 .*model file: createdAt/.test(models.models[0].last_error ?? '');
      }, 'the broken file is reported');
      expect((await served()).model.version).toBe(2);

      await registry.rollback('clients_model');
      await until(async () => {
        const models = (await app.inject({ method: 'GET', url: '/models' })).json();
        return models.models[0].version === 2 && models.models[0].last_error === undefined;
      }, 'the rollback to version 2 is seen');
      await registry.rollback('clients_model');
      await until(async () => (await served()).model.version === 1, 'version 1 is served again');
    } finally {
      await app.close();
    }
  });
});
