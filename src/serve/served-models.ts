/**
 * The models the API serves, kept in step with the registry by polling: each name follows what the ModelSource
 * resolves (NAME@production). A new version is loaded, given its request contract and a trial prediction before
 * the pointer moves, so a swap is atomic and never fails a request; a request takes one ServedModel and uses it to the
 * end. Polling the database makes it work across processes and machines without any message bus.
 */
import type { Logger } from '../logger.js';
import type { FeatureSpec } from '../ml/types.js';
import { NotFoundError, UnavailableError } from '../errors.js';
import { RowContract, type RowContractOptions } from './row-contract.js';
import type { ModelSource, ServableModel } from './types.js';
import { trialTaskPrediction } from './task-answers.js';

/** One model version ready to serve: a request holds on to it for its whole life. */
export interface ServedModel {
  name: string;
  version: number;
  model: ServableModel;
  contract: RowContract;
  loadedAt: string;
}

/** What GET /models and /health report for one name. */
export interface ModelStatus {
  name: string;
  isDefault: boolean;
  state: 'serving' | 'unavailable';
  served?: ServedModel;
  /** Why nothing is served (state 'unavailable'). */
  reason?: string;
  /** The last problem met while following the registry (kept while the previous version goes on serving). */
  lastError?: string;
}

export interface ServedModelsOptions {
  source: ModelSource;
  /** The model `POST /predict` serves. */
  defaultModel: string;
  /** How often the source is polled; 500 ms by default. */
  pollIntervalMs?: number;
  contract?: RowContractOptions;
  logger?: Logger;
  /** Called after a name starts serving another version (or stops serving). */
  onChange?: (name: string, previous: ServedModel | undefined, next: ServedModel | undefined) => void;
}

interface Entry {
  served?: ServedModel;
  reason?: string;
  lastError?: string;
  /** A version that failed to load: not retried until the source points elsewhere. */
  rejectedVersion?: number;
}

export class ServedModels {
  readonly defaultModel: string;
  private readonly entries = new Map<string, Entry>();
  private readonly pollIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ServedModelsOptions) {
    this.defaultModel = options.defaultModel;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.entries.set(this.defaultModel, { reason: 'the model source has not been read yet' });
  }

  /** The version to serve `name` with now; throws 404 for a name not served, 503 (with the reason) when none. */
  lookup(name: string): ServedModel {
    const entry = this.entries.get(name);
    if (!entry) throw new NotFoundError('model', name, { code: 'unknown_model', message: `No model named "${name}" is served (see GET /models)` });
    if (!entry.served) {
      throw new UnavailableError(entry.reason ?? `No production model for ${name}`, { code: 'model_unavailable' });
    }
    return entry.served;
  }

  statuses(): ModelStatus[] {
    return [...this.entries].map(([name, entry]) => ({
      name,
      isDefault: name === this.defaultModel,
      state: entry.served ? 'serving' : 'unavailable',
      served: entry.served,
      reason: entry.served ? undefined : entry.reason,
      lastError: entry.lastError,
    }));
  }

  /** Polls the source once for every name (the first call is awaited at start-up). */
  async refresh(): Promise<void> {
    const names = new Set([this.defaultModel, ...this.entries.keys()]);
    if (this.options.source.names) {
      try {
        for (const name of await this.options.source.names()) names.add(name);
      } catch (error) {
        this.options.logger?.warn({ err: error }, 'could not list the models to serve');
      }
    }
    await Promise.all([...names].map((name) => this.refreshOne(name)));
  }

  /** Starts polling every pollIntervalMs (one poll at a time). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.refresh().finally(() => {
        this.polling = undefined;
        this.schedule();
      });
    }, this.pollIntervalMs);
    this.timer.unref();
  }

  private async refreshOne(name: string): Promise<void> {
    const entry = this.entries.get(name) ?? {};
    this.entries.set(name, entry);
    let resolution;
    try {
      resolution = await this.options.source.resolve(name);
    } catch (error) {
      // The source cannot tell (database or artifact store down, a file that does not load): keep serving what we have.
      const message = error instanceof Error ? error.message : String(error);
      if (entry.lastError !== message) this.options.logger?.warn({ model: name, err: error }, 'model source failed');
      entry.lastError = message;
      if (!entry.served) entry.reason = `No production model loaded for ${name} yet: ${message}`;
      return;
    }
    if ('unavailable' in resolution) {
      entry.lastError = undefined;
      entry.reason = resolution.unavailable;
      if (entry.served) this.swap(name, entry, undefined);
      return;
    }
    const { version, model } = resolution;
    if (entry.rejectedVersion === version) return;
    entry.lastError = undefined;
    if (entry.served?.version === version) return;
    let next: ServedModel;
    try {
      next = prepare(name, version, model, this.options.contract);
    } catch (error) {
      const message = `version ${version} was not loaded: ${error instanceof Error ? error.message : String(error)}`;
      this.options.logger?.error({ model: name, version, err: error }, 'model version rejected');
      entry.rejectedVersion = version;
      entry.lastError = message;
      if (!entry.served) entry.reason = `No servable model for ${name}: ${message}`;
      return;
    }
    entry.rejectedVersion = undefined;
    this.swap(name, entry, next);
  }

  private swap(name: string, entry: Entry, next: ServedModel | undefined): void {
    const previous = entry.served;
    entry.served = next;
    this.options.logger?.info(
      { model: name, version: next?.version ?? null, previousVersion: previous?.version ?? null },
      next ? `serving ${name} version ${next.version}` : `stopped serving ${name}: ${entry.reason}`,
    );
    this.options.onChange?.(name, previous, next);
  }
}

/** Builds the request contract and makes one trial prediction: a version that cannot score is never swapped in. */
function prepare(name: string, version: number, model: ServableModel, options?: RowContractOptions): ServedModel {
  if (!(model.threshold >= 0 && model.threshold <= 1)) throw new Error(`its threshold ${model.threshold} is not in [0, 1]`);
  const contract = new RowContract(model.signature, options);
  const trialRow = Object.fromEntries(model.signature.features.map((f) => [f.name, trialValue(f)]));
  if (model.task !== undefined && model.task !== 'binary') {
    trialTaskPrediction(model, trialRow);
    return { name, version, model, contract, loadedAt: new Date().toISOString() };
  }
  const { probability, prediction } = model.predictRecords([trialRow]);
  if (probability.length !== 1 || !(probability[0] >= 0 && probability[0] <= 1) || prediction.length !== 1) {
    throw new Error(`its trial prediction gave probability ${probability[0]} for ${probability.length} rows`);
  }
  return { name, version, model, contract, loadedAt: new Date().toISOString() };
}

function trialValue(feature: FeatureSpec): unknown {
  return feature.type === 'categorical' ? (feature.categories?.[0] ?? '') : 0;
}
