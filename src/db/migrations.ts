/**
 * Schema migrations, in code so they ship inside the package. Each migration is written once for all three dialects
 * with Kysely's schema builder; types are the portable subset (varchar, text, bigint, double precision).
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const id = 'varchar(64)';
const name = 'varchar(255)';
const time = 'varchar(32)';

const initial: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('raw_loads')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('dataset', name, (c) => c.notNull())
      .addColumn('table_name', name, (c) => c.notNull())
      .addColumn('source', 'varchar(1024)', (c) => c.notNull())
      .addColumn('content_hash', id, (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('row_count', 'bigint', (c) => c.notNull())
      .addColumn('reject_count', 'bigint', (c) => c.notNull())
      .addColumn('columns_json', 'text', (c) => c.notNull())
      .addColumn('delimiter', 'varchar(4)', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('raw_loads_dataset_hash').on('raw_loads').columns(['dataset', 'content_hash']).execute();

    await db.schema
      .createTable('raw_rejects')
      .addColumn('load_id', id, (c) => c.notNull())
      .addColumn('line', 'bigint', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('content', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('raw_rejects_pk', ['load_id', 'line'])
      .execute();

    await db.schema
      .createTable('dataset_snapshots')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('dataset', name, (c) => c.notNull())
      .addColumn('raw_load_id', id, (c) => c.notNull())
      .addColumn('table_name', name, (c) => c.notNull())
      .addColumn('target', name, (c) => c.notNull())
      .addColumn('positive_label', name, (c) => c.notNull())
      .addColumn('features_json', 'text', (c) => c.notNull())
      .addColumn('row_id_columns_json', 'text', (c) => c.notNull())
      .addColumn('counts_json', 'text', (c) => c.notNull())
      .addColumn('content_hash', id, (c) => c.notNull())
      .addColumn('seed', 'bigint', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('experiments')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('name', name, (c) => c.notNull().unique())
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('runs')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('experiment_id', id, (c) => c.notNull())
      .addColumn('parent_run_id', id)
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('dataset_snapshot_id', id)
      .addColumn('dag_run_id', id)
      .addColumn('start_time', time, (c) => c.notNull())
      .addColumn('end_time', time)
      .execute();
    await db.schema.createIndex('runs_experiment').on('runs').columns(['experiment_id', 'start_time']).execute();
    await db.schema.createIndex('runs_parent').on('runs').column('parent_run_id').execute();

    await db.schema
      .createTable('run_params')
      .addColumn('run_id', id, (c) => c.notNull())
      .addColumn('key', name, (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_params_pk', ['run_id', 'key'])
      .execute();

    await db.schema
      .createTable('run_metrics')
      .addColumn('run_id', id, (c) => c.notNull())
      .addColumn('key', name, (c) => c.notNull())
      .addColumn('value', 'double precision', (c) => c.notNull())
      .addColumn('step', 'bigint', (c) => c.notNull())
      .addColumn('timestamp', time, (c) => c.notNull())
      .addPrimaryKeyConstraint('run_metrics_pk', ['run_id', 'key', 'step'])
      .execute();

    await db.schema
      .createTable('run_tags')
      .addColumn('run_id', id, (c) => c.notNull())
      .addColumn('key', name, (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('run_tags_pk', ['run_id', 'key'])
      .execute();

    await db.schema
      .createTable('registered_models')
      .addColumn('name', name, (c) => c.primaryKey())
      .addColumn('description', 'text')
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('model_versions')
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('run_id', id)
      .addColumn('artifact_key', 'varchar(1024)', (c) => c.notNull())
      .addColumn('dataset_snapshot_id', id)
      .addColumn('metrics_json', 'text', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addPrimaryKeyConstraint('model_versions_pk', ['name', 'version'])
      .execute();

    await db.schema
      .createTable('model_aliases')
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('alias', name, (c) => c.notNull())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', time, (c) => c.notNull())
      .addPrimaryKeyConstraint('model_aliases_pk', ['name', 'alias'])
      .execute();

    await db.schema
      .createTable('model_events')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('name', name, (c) => c.notNull())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .addColumn('alias', name)
      .addColumn('action', 'varchar(32)', (c) => c.notNull())
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('model_events_name').on('model_events').columns(['name', 'created_at']).execute();

    await db.schema
      .createTable('dag_runs')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('dag_id', name, (c) => c.notNull())
      .addColumn('status', 'varchar(16)', (c) => c.notNull())
      .addColumn('trigger', 'varchar(16)', (c) => c.notNull())
      .addColumn('conf_json', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('started_at', time)
      .addColumn('ended_at', time)
      .execute();
    await db.schema.createIndex('dag_runs_dag').on('dag_runs').columns(['dag_id', 'created_at']).execute();

    await db.schema
      .createTable('task_instances')
      .addColumn('dag_run_id', id, (c) => c.notNull())
      .addColumn('task_id', name, (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('try_number', 'bigint', (c) => c.notNull())
      .addColumn('max_tries', 'bigint', (c) => c.notNull())
      .addColumn('output_json', 'text')
      .addColumn('error', 'text')
      .addColumn('started_at', time)
      .addColumn('ended_at', time)
      .addPrimaryKeyConstraint('task_instances_pk', ['dag_run_id', 'task_id'])
      .execute();

    await db.schema
      .createTable('task_attempts')
      .addColumn('dag_run_id', id, (c) => c.notNull())
      .addColumn('task_id', name, (c) => c.notNull())
      .addColumn('try_number', 'bigint', (c) => c.notNull())
      .addColumn('state', 'varchar(16)', (c) => c.notNull())
      .addColumn('log', 'text', (c) => c.notNull())
      .addColumn('error', 'text')
      .addColumn('started_at', time, (c) => c.notNull())
      .addColumn('ended_at', time)
      .addPrimaryKeyConstraint('task_attempts_pk', ['dag_run_id', 'task_id', 'try_number'])
      .execute();

    await db.schema
      .createTable('schedules')
      .addColumn('dag_id', name, (c) => c.primaryKey())
      .addColumn('cron', name, (c) => c.notNull())
      .addColumn('conf_json', 'text', (c) => c.notNull())
      .addColumn('enabled', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', time, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('predictions')
      .addColumn('id', id, (c) => c.primaryKey())
      .addColumn('request_id', id, (c) => c.notNull())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('model_name', name, (c) => c.notNull())
      .addColumn('model_version', 'bigint', (c) => c.notNull())
      .addColumn('row_id', name)
      .addColumn('inputs_json', 'text', (c) => c.notNull())
      .addColumn('probability', 'double precision', (c) => c.notNull())
      .addColumn('prediction', 'bigint', (c) => c.notNull())
      .addColumn('threshold', 'double precision', (c) => c.notNull())
      .addColumn('label', 'bigint')
      .addColumn('label_at', time)
      .execute();
    await db.schema.createIndex('predictions_model').on('predictions').columns(['model_name', 'created_at']).execute();
  },
};

/** The label that maps to y = 0, when the target has exactly two values (else null: "anything but positive"). */
const snapshotNegativeLabel: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('dataset_snapshots').addColumn('negative_label', name).execute();
  },
};

/** When the process running a task attempt last said it was alive: recovery fails attempts whose process is gone. */
const taskHeartbeat: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('task_instances').addColumn('heartbeat_at', time).execute();
  },
};

/**
 * Multi-class and regression models. A snapshot records its task and class labels (null task: binary). A prediction
 * of a regression model stores its `value`, one of a multi-class model the probability of each class; their feedback
 * is a number (`label_value`) or a class code (`label`).
 */
const predictionTasks: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('dataset_snapshots').addColumn('task', name).execute();
    await db.schema.alterTable('dataset_snapshots').addColumn('task_reason', 'text').execute();
    await db.schema.alterTable('dataset_snapshots').addColumn('classes_json', 'text').execute();
    await db.schema.alterTable('predictions').addColumn('value', 'double precision').execute();
    await db.schema.alterTable('predictions').addColumn('probabilities_json', 'text').execute();
    await db.schema.alterTable('predictions').addColumn('label_value', 'double precision').execute();
  },
};

/** How a file was read (CSV read options and encoding): a reload of the same bytes with other options is not skipped. */
const rawLoadReadOptions: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('raw_loads').addColumn('read_options', 'text').execute();
    await db.schema.alterTable('raw_loads').addColumn('encoding', 'varchar(32)').execute();
  },
};

/**
 * Each prediction row's place in its request, and a unique index on (request_id, request_row): a client's retry with
 * the same request id (x-request-id or Idempotency-Key) cannot store a second row, whichever process or host takes it;
 * the database decides. Rows stored before this migration keep request_row null and are not unique-checked.
 */
const predictionRequestRow: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable('predictions').addColumn('request_row', 'bigint').execute();
    await db.schema.createIndex('predictions_request').on('predictions').columns(['request_id', 'request_row']).unique().execute();
  },
};

/**
 * Dashboard sessions, shared by every server process and host: the SHA-256 of the session id (never the id itself),
 * when it was made and ends, when it was revoked (logout, `mldeploy sessions revoke`), and which credential made it.
 */
const sessions: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('sessions')
      .addColumn('id_hash', id, (c) => c.primaryKey())
      .addColumn('created_at', time, (c) => c.notNull())
      .addColumn('expires_at', time, (c) => c.notNull())
      .addColumn('revoked_at', time)
      .addColumn('created_by', name, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('sessions_expires').on('sessions').column('expires_at').execute();
  },
};

/** Ordered by name; never edit a migration that has shipped, add the next one. */
const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_snapshot_negative_label': snapshotNegativeLabel,
  '0003_task_heartbeat': taskHeartbeat,
  '0004_prediction_tasks': predictionTasks,
  '0005_raw_load_read_options': rawLoadReadOptions,
  '0006_prediction_request_row': predictionRequestRow,
  '0007_sessions': sessions,
};

class StaticMigrationProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return migrations;
  }
}

/** Brings the schema up to date; safe to call at every start and from several processes at once. */
export async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new StaticMigrationProvider(),
    migrationTableName: 'mldeploy_migrations',
    migrationLockTableName: 'mldeploy_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`Database migration ${failed ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
}
