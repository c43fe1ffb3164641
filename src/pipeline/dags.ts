/**
 * The workflows of mldeploy, as in the original stack's Airflow DAGs: load_raw_data, preprocess_data, train_model,
 * and `training`, which chains the three by dependency (the original only staggered their start times).
 */
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { AppContext } from '../context.js';
import {
  describeDelimiter,
  latestSnapshot,
  loadRawData,
  preprocessData,
  type DatasetSnapshot,
  type RawLoadResult,
} from '../data/index.js';
import { datasetNameFromFile } from '../db/identifiers.js';
import { defineDag, type Dag, type TaskContext, type TaskDef } from './dag.js';
import { canRunInThread, trainModelInThread } from './tasks/in-thread.js';
import { trainModel, type TrainModelOptions, type TrainModelResult } from './tasks/train-model.js';
import { checkConf, type DagId, type TrainingConf } from './workflows.js';

function conf(task: TaskContext): TrainingConf {
  return task.conf as TrainingConf;
}

function required<K extends keyof TrainingConf>(c: TrainingConf, key: K, flag: string): NonNullable<TrainingConf[K]> {
  const value = c[key];
  if (value === undefined || value === null || value === '') throw new InvalidInputError(`${String(key)} is required (${flag})`);
  return value as NonNullable<TrainingConf[K]>;
}

function datasetOf(c: TrainingConf): string {
  if (c.dataset) return c.dataset;
  return datasetNameFromFile(required(c, 'data', '--data FILE'));
}

/** Summaries kept small: task outputs are stored as JSON and read by downstream tasks. */
type LoadOutput = Omit<RawLoadResult, 'columns'> & { columns: number };
type PreprocessOutput = Pick<DatasetSnapshot, 'id' | 'dataset' | 'table' | 'counts' | 'target' | 'positiveLabel' | 'task' | 'classes'>;

function loadTask(app: AppContext): TaskDef {
  return {
    id: 'load_raw_data',
    retries: 2,
    run: async (task): Promise<LoadOutput> => {
      const c = conf(task);
      const file = required(c, 'data', '--data FILE');
      task.log.info(`loading ${file}`);
      const bar = app.progress?.(`load ${file}`);
      let result: RawLoadResult;
      try {
        result = await loadRawData(app.store, {
          file,
          dataset: datasetOf(c),
          force: c.force,
          csv: c.csv,
          onProgress: bar && ((p) => bar.update(p.bytesRead, p.totalBytes, p.rows)),
        });
      } finally {
        bar?.stop();
      }
      task.log.info(
        result.skipped
          ? `same bytes already loaded as ${result.table} (${result.rows} rows): nothing to do`
          : `loaded ${result.rows} rows into ${result.table} (${result.rejects} rejected; ` +
              `delimiter ${describeDelimiter(result.delimiter)}, ${result.encoding})`,
      );
      for (const note of result.notes) task.log.warn(note);
      return { ...result, columns: result.columns.length };
    },
  };
}

function preprocessTask(app: AppContext, upstream: string[]): TaskDef {
  return {
    id: 'preprocess_data',
    upstream,
    retries: 2,
    run: async (task): Promise<PreprocessOutput> => {
      const c = conf(task);
      const dataset = upstream.length ? task.input<LoadOutput>('load_raw_data').dataset : datasetOf(c);
      const snapshot = await preprocessData(app.store, {
        dataset,
        target: required(c, 'target', '--target COLUMN'),
        positiveLabel: c.positiveLabel,
        task: c.task,
        seed: c.seed,
        onNote: (note) => task.log.info(note),
      });
      const { counts } = snapshot;
      task.log.info(`task: ${snapshot.task}${snapshot.taskReason ? ` (${snapshot.taskReason})` : ''}`);
      task.log.info(
        `snapshot ${snapshot.id}: ${counts.train}/${counts.val}/${counts.test} train/val/test rows in ${snapshot.table}`,
      );
      const { id, table, target, positiveLabel, classes } = snapshot;
      return { id, dataset: snapshot.dataset, table, counts, target, positiveLabel, task: snapshot.task, ...(classes ? { classes } : {}) };
    },
  };
}

function trainTask(app: AppContext, upstream: string[]): TaskDef {
  return {
    id: 'train_model',
    upstream,
    // A failed fit is usually deterministic; one retry covers a transient store error.
    retries: 1,
    run: async (task): Promise<TrainModelResult> => {
      const c = conf(task);
      const snapshotId = upstream.length
        ? task.input<PreprocessOutput>('preprocess_data').id
        : (c.snapshotId ?? (await latestSnapshotId(app, datasetOf(c))));
      const options: TrainModelOptions = {
        snapshotId,
        modelName: c.modelName ?? app.config.modelName,
        experiment: c.experiment,
        estimators: c.estimators,
        threshold: c.threshold,
        seed: c.seed,
        search: c.search,
        dagRunId: task.dagRunId,
      };
      // Off this thread, so heartbeats and queue-lock renewals go on during the fits (see in-thread.ts).
      return canRunInThread(app)
        ? trainModelInThread(app, options, task.log, task.signal)
        : trainModel(app, options, task.log);
    },
  };
}

async function latestSnapshotId(app: AppContext, dataset: string): Promise<string> {
  const latest = await latestSnapshot(app.store, dataset);
  if (!latest) throw new NotFoundError('dataset snapshot', dataset, { message: `dataset ${dataset} has no snapshot yet: run preprocess_data first` });
  return latest.id;
}

export function buildDags(app: AppContext): Dag[] {
  // Every option is checked when a run is triggered (by hand or by a schedule), before any task runs.
  const check = (dagId: DagId) => (c: Record<string, unknown>) => checkConf(dagId, c as TrainingConf);
  return [
    defineDag({ id: 'load_raw_data', description: 'CSV file -> raw table', tasks: [loadTask(app)], checkConf: check('load_raw_data') }),
    defineDag({
      id: 'preprocess_data',
      description: 'raw table -> cleaned, stratified 70/10/20 split (dataset snapshot)',
      tasks: [preprocessTask(app, [])],
      checkConf: check('preprocess_data'),
    }),
    defineDag({
      id: 'train_model',
      description: 'fit, evaluate, track, register, and promote through the gate',
      tasks: [trainTask(app, [])],
      checkConf: check('train_model'),
    }),
    defineDag({
      id: 'training',
      description: 'load_raw_data -> preprocess_data -> train_model',
      tasks: [loadTask(app), preprocessTask(app, ['load_raw_data']), trainTask(app, ['preprocess_data'])],
      checkConf: check('training'),
    }),
  ];
}
