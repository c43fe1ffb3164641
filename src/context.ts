/**
 * The services one mldeploy process works with, opened from configuration: the store, the artifact repository,
 * the tracking store and the model registry. The CLI, the API server and the workers all start here.
 */
import { UnavailableError } from './errors.js';
import type { Config } from './config.js';
import { migrateToLatest, openStore, type Store } from './db/index.js';
import { createLogger, type Logger } from './logger.js';
import { ModelRegistry, TrackingStore, openArtifacts, type ArtifactRepository } from './tracking/index.js';

/** Live progress of long work (a CSV load); the CLI draws it as a bar, servers and workers leave it unset. */
export interface ProgressBar {
  update(done: number, total: number, rows?: number): void;
  stop(): void;
}

export interface AppContext {
  config: Config;
  store: Store;
  artifacts: ArtifactRepository;
  tracking: TrackingStore;
  registry: ModelRegistry;
  logger: Logger;
  progress?: (label: string) => ProgressBar;
  close(): Promise<void>;
}

export async function openContext(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<AppContext> {
  const store = openStore(config.databaseUrl);
  try {
    await migrateToLatest(store.db);
  } catch (error) {
    await store.close();
    throw new UnavailableError(`Cannot open the database ${store.displayUrl}: ${(error as Error).message}`, { cause: error });
  }
  const artifacts = openArtifacts(config.artifactsUrl);
  return {
    config,
    store,
    artifacts,
    tracking: new TrackingStore(store, artifacts),
    registry: new ModelRegistry(store),
    logger,
    async close() {
      await artifacts.close?.();
      await store.close();
    },
  };
}
