/**
 * The production ModelSource: NAME@production from the model registry, the model file from the artifact store,
 * rebuilt by parseModelFile. A loaded version is cached, so a poll that finds the alias unchanged costs one registry
 * query and no download; a version that fails to load is not fetched again for a while.
 */
import { parseModelFile } from '../ml/model-format.js';
import type { ArtifactRepository } from '../tracking/artifacts/index.js';
import type { ModelRegistry } from '../tracking/registry.js';
import { PRODUCTION_ALIAS } from '../tracking/aliases.js';
import type { ModelResolution, ModelSource, ServableModel } from './types.js';

export interface RegistryModelSourceOptions {
  registry: Pick<ModelRegistry, 'getAlias' | 'listModels' | 'events'>;
  artifacts: Pick<ArtifactRepository, 'get'>;
  /** The alias served; default 'production'. */
  alias?: string;
  /** How long a version that failed to load is left alone before it is tried again; default 30 s. */
  retryFailedAfterMs?: number;
}

export class RegistryModelSource implements ModelSource {
  private readonly alias: string;
  private readonly retryFailedAfterMs: number;
  private readonly loaded = new Map<string, { version: number; model: ServableModel }>();
  private readonly failed = new Map<string, { version: number; error: Error; at: number }>();

  constructor(private readonly options: RegistryModelSourceOptions) {
    this.alias = options.alias ?? PRODUCTION_ALIAS;
    this.retryFailedAfterMs = options.retryFailedAfterMs ?? 30_000;
  }

  async resolve(name: string): Promise<ModelResolution> {
    const target = await this.options.registry.getAlias(name, this.alias);
    if (!target) return { unavailable: await this.whyUnavailable(name) };
    const cached = this.loaded.get(name);
    if (cached?.version === target.version) return cached;

    const failure = this.failed.get(name);
    if (failure?.version === target.version && Date.now() - failure.at < this.retryFailedAfterMs) throw failure.error;
    try {
      const bytes = await this.options.artifacts.get(target.artifactKey);
      const model = parseModelFile(bytes.toString('utf8'));
      const entry = { version: target.version, model };
      this.loaded.set(name, entry);
      this.failed.delete(name);
      return entry;
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      const error = new Error(`cannot load ${name} version ${target.version} (${target.artifactKey}): ${message}`, { cause });
      this.failed.set(name, { version: target.version, error, at: Date.now() });
      throw error;
    }
  }

  /** Every registered model that has the alias. */
  async names(): Promise<string[]> {
    const models = await this.options.registry.listModels();
    return models.filter((m) => this.alias in m.aliases).map((m) => m.name);
  }

  /** The reason shown in 503 answers: the gate's last refusal, or what is missing. */
  private async whyUnavailable(name: string): Promise<string> {
    const events = await this.options.registry.events(name, { limit: 100 });
    const prefix = `No ${this.alias} model for ${name}`;
    if (events.length === 0) return `${prefix}: no version is registered (run the training pipeline)`;
    const refusal = events.find((e) => e.action === 'refuse' && (e.alias === null || e.alias === this.alias));
    if (refusal) return `${prefix}: version ${refusal.version} was not promoted: ${refusal.reason.replace(/^not promoted:\s*/, '')}`;
    return `${prefix}: no version has been promoted to ${this.alias} (mldeploy models promote ${name} VERSION)`;
  }
}
