/**
 * The model registry (MLflow's): named models, numbered versions, aliases such as "production", and an audit
 * trail of every registration, promotion, refusal and rollback in model_events.
 */
import type { Kysely, Selectable } from 'kysely';
import type { Database, ModelVersionsTable, Store } from '../db/index.js';
import { assertArtifactKey } from './artifacts/keys.js';
import { ConflictError, InvalidInputError, NotFoundError } from './errors.js';
import { newId, nowIso } from './ids.js';
import { retryOnWriteConflict, upsert } from './sql.js';
import type {
  AliasAction,
  ModelEvent,
  ModelEventAction,
  ModelVersion,
  RegisterVersionOptions,
  RegisteredModel,
  SetAliasOptions,
} from './types.js';
import { assertAliasName, assertModelName, assertVersion } from './validate.js';

const ALIAS_ACTIONS: readonly AliasAction[] = ['promote', 'force_promote', 'rollback'];

type VersionRow = Selectable<ModelVersionsTable>;

export class ModelRegistry {
  constructor(private readonly store: Store) {}

  private get db(): Kysely<Database> {
    return this.store.db;
  }

  /**
   * Adds the next version of a model (creating the model on first use) and logs a 'register' event. Versions are
   * max + 1 inside a transaction; when two registrations race for the same number, the loser's transaction hits
   * the primary key and runs again, so concurrent callers always get distinct versions.
   */
  async registerVersion(options: RegisterVersionOptions): Promise<ModelVersion> {
    const name = assertModelName(options.name);
    const artifactKey = assertArtifactKey(options.artifactKey);
    const metricsJson = metricsToJson(options.metrics);
    const row = await retryOnWriteConflict(() =>
      this.db.transaction().execute(async (trx) => {
        if (options.runId !== undefined) {
          const run = await trx.selectFrom('runs').select('id').where('id', '=', options.runId).executeTakeFirst();
          if (!run) throw new NotFoundError('run', options.runId);
        }
        const createdAt = nowIso();
        const model = await trx.selectFrom('registered_models').select('name').where('name', '=', name).executeTakeFirst();
        if (!model) await trx.insertInto('registered_models').values({ name, description: null, created_at: createdAt }).execute();
        // Numbers of deleted versions are never given again (their history stays): the newest ever registered counts.
        const [{ latest }, { registered }] = await Promise.all([
          trx
            .selectFrom('model_versions')
            .select((eb) => eb.fn.max('version').as('latest'))
            .where('name', '=', name)
            .executeTakeFirstOrThrow(),
          trx
            .selectFrom('model_events')
            .select((eb) => eb.fn.max('version').as('registered'))
            .where('name', '=', name)
            .where('action', '=', 'register')
            .executeTakeFirstOrThrow(),
        ]);
        const versionRow: VersionRow = {
          name,
          version: Math.max(Number(latest ?? 0), Number(registered ?? 0)) + 1,
          run_id: options.runId ?? null,
          artifact_key: artifactKey,
          dataset_snapshot_id: options.datasetSnapshotId ?? null,
          metrics_json: metricsJson,
          created_at: createdAt,
        };
        await trx.insertInto('model_versions').values(versionRow).execute();
        await trx
          .insertInto('model_events')
          .values(eventRow(name, versionRow.version, null, 'register', options.runId ? `registered from run ${options.runId}` : 'registered'))
          .execute();
        return versionRow;
      }),
    );
    return toModelVersion(row, []);
  }

  /** Throws NotFoundError when the model or version does not exist. */
  async getVersion(name: string, version: number): Promise<ModelVersion> {
    assertModelName(name);
    assertVersion(version);
    const row = await this.requireVersion(this.db, name, version);
    return toModelVersion(row, await this.aliasesOf(this.db, name, version));
  }

  /** Versions newest first; throws NotFoundError for an unknown model. */
  async listVersions(name: string): Promise<ModelVersion[]> {
    await this.requireModel(name);
    const [rows, aliases] = await Promise.all([
      this.db.selectFrom('model_versions').selectAll().where('name', '=', name).orderBy('version', 'desc').execute(),
      this.db.selectFrom('model_aliases').select(['alias', 'version']).where('name', '=', name).execute(),
    ]);
    return rows.map((row) =>
      toModelVersion(
        row,
        aliases.filter((a) => Number(a.version) === Number(row.version)).map((a) => a.alias),
      ),
    );
  }

  /** Every registered model by name, with its latest version and its aliases. */
  async listModels(): Promise<RegisteredModel[]> {
    const [models, latest, aliases] = await Promise.all([
      this.db.selectFrom('registered_models').selectAll().orderBy('name').execute(),
      this.db
        .selectFrom('model_versions')
        .innerJoin(
          (eb) =>
            eb
              .selectFrom('model_versions')
              .select((inner) => ['name', inner.fn.max('version').as('max_version')])
              .groupBy('name')
              .as('newest'),
          (join) =>
            join.onRef('newest.name', '=', 'model_versions.name').onRef('newest.max_version', '=', 'model_versions.version'),
        )
        .selectAll('model_versions')
        .execute(),
      this.db.selectFrom('model_aliases').select(['name', 'alias', 'version']).orderBy('alias').execute(),
    ]);
    return models.map((model) => {
      const own = aliases.filter((a) => a.name === model.name);
      const newest = latest.find((v) => v.name === model.name);
      return {
        name: model.name,
        description: model.description,
        createdAt: model.created_at,
        latestVersion: newest
          ? toModelVersion(newest, own.filter((a) => Number(a.version) === Number(newest.version)).map((a) => a.alias))
          : null,
        aliases: Object.fromEntries(own.map((a) => [a.alias, Number(a.version)])),
      };
    });
  }

  /** The version an alias points at, or undefined when the alias is not set. */
  async getAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    assertModelName(name);
    assertAliasName(alias);
    const row = await this.db
      .selectFrom('model_aliases')
      .innerJoin('model_versions', (join) =>
        join.onRef('model_versions.name', '=', 'model_aliases.name').onRef('model_versions.version', '=', 'model_aliases.version'),
      )
      .selectAll('model_versions')
      .where('model_aliases.name', '=', name)
      .where('model_aliases.alias', '=', alias)
      .executeTakeFirst();
    return row && toModelVersion(row, await this.aliasesOf(this.db, name, Number(row.version)));
  }

  /** Points the alias at the version and records why, in one transaction. */
  async setAlias(name: string, alias: string, version: number, options: SetAliasOptions): Promise<ModelVersion> {
    assertModelName(name);
    assertAliasName(alias);
    assertVersion(version);
    if (!ALIAS_ACTIONS.includes(options.action)) {
      throw new InvalidInputError(`invalid alias action ${JSON.stringify(options.action)}: use ${ALIAS_ACTIONS.join(', ')}`);
    }
    const reason = assertReason(options.reason);
    // Retried on write conflicts: two moves of one alias at once can deadlock (MySQL) or collide on the alias row.
    return retryOnWriteConflict(() =>
      this.db.transaction().execute(async (trx) => {
        const row = await this.requireVersion(trx, name, version);
        await this.moveAlias(trx, name, alias, version, options.action, reason);
        return toModelVersion(row, await this.aliasesOf(trx, name, version));
      }),
    );
  }

  /**
   * Records a decision that moves no alias, e.g. 'refuse' when the promotion gate says no (with the alias it was
   * refused for).
   */
  async recordEvent(
    name: string,
    version: number,
    action: Exclude<ModelEventAction, AliasAction>,
    reason: string,
    alias?: string,
  ): Promise<ModelEvent> {
    assertModelName(name);
    assertVersion(version);
    if (alias !== undefined) assertAliasName(alias);
    if (action !== 'refuse' && action !== 'register') {
      throw new InvalidInputError(
        `invalid event action ${JSON.stringify(action)}: recordEvent takes refuse or register; use setAlias to move an alias`,
      );
    }
    const row = eventRow(name, version, alias ?? null, action, assertReason(reason));
    await this.requireVersion(this.db, name, version);
    await this.db.insertInto('model_events').values(row).execute();
    return toModelEvent(row);
  }

  /** The model's audit trail, newest first. */
  async events(name: string, options: { limit?: number } = {}): Promise<ModelEvent[]> {
    assertModelName(name);
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw new InvalidInputError(`invalid limit ${limit}: use a whole number from 1`);
    const rows = await this.db
      .selectFrom('model_events')
      .selectAll()
      .where('name', '=', name)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toModelEvent);
  }

  /**
   * Removes a version from the registry and returns it (the caller removes its model file). A version an alias points
   * to is refused: move or remove the alias first. Its history stays, with a 'delete' event, and its number is never
   * given to another version.
   */
  async deleteVersion(name: string, version: number, reason = 'deleted'): Promise<ModelVersion> {
    assertModelName(name);
    assertVersion(version);
    return retryOnWriteConflict(() =>
      this.db.transaction().execute(async (trx) => {
        const row = await this.requireVersion(trx, name, version);
        const aliases = await this.aliasesOf(trx, name, version);
        if (aliases.length > 0) {
          throw new ConflictError(
            `${name} v${version} is ${aliases.map((a) => `"${a}"`).join(' and ')}: move the alias to another version ` +
              `(mldeploy models promote / rollback) before deleting it`,
          );
        }
        await trx.deleteFrom('model_versions').where('name', '=', name).where('version', '=', version).execute();
        await trx.insertInto('model_events').values(eventRow(name, version, null, 'delete', assertReason(reason))).execute();
        return toModelVersion(row, []);
      }),
    );
  }

  /** Versions whose model file is this artifact (an imported file may back one version only, a run's model several). */
  async versionsWithArtifact(artifactKey: string): Promise<Array<{ name: string; version: number }>> {
    const rows = await this.db
      .selectFrom('model_versions')
      .select(['name', 'version'])
      .where('artifact_key', '=', artifactKey)
      .execute();
    return rows.map((r) => ({ name: r.name, version: Number(r.version) }));
  }

  /**
   * Moves the alias back to the version it pointed at before the current one. The history is read from the events
   * as a stack: promotions push, a rollback pops, so rolling back twice after v1 -> v2 -> v3 lands on v1, not v3.
   * Throws ConflictError when the alias is unset or has had no earlier version.
   */
  async rollback(name: string, alias = 'production', reason?: string): Promise<ModelVersion> {
    assertModelName(name);
    assertAliasName(alias);
    // Retried on write conflicts, like setAlias.
    return retryOnWriteConflict(() =>
      this.db.transaction().execute(async (trx) => {
        const current = await trx
          .selectFrom('model_aliases')
          .select('version')
          .where('name', '=', name)
          .where('alias', '=', alias)
          .executeTakeFirst();
        if (!current) throw new ConflictError(`nothing to roll back: model "${name}" has no "${alias}" alias`);
        const currentVersion = Number(current.version);
        const history = await trx
          .selectFrom('model_events')
          .select(['version', 'action'])
          .where('name', '=', name)
          .where('alias', '=', alias)
          .where('action', 'in', ALIAS_ACTIONS)
          .orderBy('created_at')
          .orderBy('id')
          .execute();
        const stack = aliasStack(history.map((e) => ({ version: Number(e.version), action: e.action as AliasAction })));
        if (stack[stack.length - 1] !== currentVersion) stack.push(currentVersion);
        const target = stack[stack.length - 2];
        if (target === undefined) {
          throw new ConflictError(
            `nothing to roll back to: "${alias}" of model "${name}" has not pointed at any version before v${currentVersion}`,
          );
        }
        const row = await this.requireVersion(trx, name, target);
        await this.moveAlias(trx, name, alias, target, 'rollback', reason ?? `rolled back from v${currentVersion} to v${target}`);
        return toModelVersion(row, await this.aliasesOf(trx, name, target));
      }),
    );
  }

  private async moveAlias(
    trx: Kysely<Database>,
    name: string,
    alias: string,
    version: number,
    action: AliasAction,
    reason: string,
  ): Promise<void> {
    const insert = trx.insertInto('model_aliases').values({ name, alias, version, updated_at: nowIso() });
    await upsert(this.store.dialect, insert, ['name', 'alias'], ['version', 'updated_at']).execute();
    await trx.insertInto('model_events').values(eventRow(name, version, alias, action, reason)).execute();
  }

  private async requireModel(name: string): Promise<void> {
    assertModelName(name);
    const model = await this.db.selectFrom('registered_models').select('name').where('name', '=', name).executeTakeFirst();
    if (!model) throw new NotFoundError('model', name);
  }

  private async requireVersion(db: Kysely<Database>, name: string, version: number): Promise<VersionRow> {
    const row = await db
      .selectFrom('model_versions')
      .selectAll()
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('model version', `${name} v${version}`);
    return row;
  }

  private async aliasesOf(db: Kysely<Database>, name: string, version: number): Promise<string[]> {
    const rows = await db
      .selectFrom('model_aliases')
      .select('alias')
      .where('name', '=', name)
      .where('version', '=', version)
      .orderBy('alias')
      .execute();
    return rows.map((r) => r.alias);
  }
}

/**
 * Replays alias moves, oldest first: a promotion pushes its version (unless already on top); a rollback to v
 * pops back to v's last position (or pushes v if the history does not contain it).
 */
export function aliasStack(moves: ReadonlyArray<{ version: number; action: AliasAction }>): number[] {
  const stack: number[] = [];
  for (const { version, action } of moves) {
    const at = stack.lastIndexOf(version);
    if (action === 'rollback' && at >= 0) stack.length = at + 1;
    else if (stack[stack.length - 1] !== version) stack.push(version);
  }
  return stack;
}

function eventRow(name: string, version: number, alias: string | null, action: ModelEventAction, reason: string) {
  return { id: newId(), name, version, alias, action, reason, created_at: nowIso() };
}

function assertReason(reason: string): string {
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new InvalidInputError('a reason is required: say in a sentence why (it is kept in the audit trail)');
  }
  return reason;
}

function metricsToJson(metrics: Record<string, unknown>): string {
  if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) {
    throw new InvalidInputError('model version metrics must be an object, e.g. { test: { roc_auc: 0.95 } }');
  }
  try {
    return JSON.stringify(metrics);
  } catch (error) {
    throw new InvalidInputError(`model version metrics cannot be stored as JSON: ${(error as Error).message}`);
  }
}

function toModelVersion(row: VersionRow, aliases: string[]): ModelVersion {
  return {
    name: row.name,
    version: Number(row.version),
    runId: row.run_id,
    artifactKey: row.artifact_key,
    datasetSnapshotId: row.dataset_snapshot_id,
    metrics: JSON.parse(row.metrics_json) as Record<string, unknown>,
    createdAt: row.created_at,
    aliases,
  };
}

function toModelEvent(row: Selectable<Database['model_events']>): ModelEvent {
  return {
    id: row.id,
    name: row.name,
    version: Number(row.version),
    alias: row.alias,
    action: row.action,
    reason: row.reason,
    createdAt: row.created_at,
  };
}
