/**
 * The workflows' names and configuration, apart from their code (dags.ts) so the CLI can check a command line
 * without loading the data and ML layers.
 */
import { InvalidInputError, NotFoundError } from '../errors.js';
import { ESTIMATOR_NAMES, type EstimatorName } from '../ml/estimator-names.js';
import { assertIdentifier, datasetNameFromFile } from '../db/identifiers.js';
import { assertDisplayName, assertModelName } from '../tracking/validate.js';
import { TASKS, type Task } from '../ml/types.js';
import { checkCsvReadOptions, type CsvReadOptions } from '../data/read-options.js';

export const DAG_IDS = ['load_raw_data', 'preprocess_data', 'train_model', 'training'] as const;
export type DagId = (typeof DAG_IDS)[number];

/** What a DAG run is given: `mldeploy run <dag> --data FILE --target COL ...` or a schedule's stored conf. */
export interface TrainingConf {
  data?: string;
  dataset?: string;
  target?: string;
  positiveLabel?: string;
  /** binary, multiclass or regression; detected from the target when absent. */
  task?: Task;
  seed?: number;
  force?: boolean;
  modelName?: string;
  experiment?: string;
  estimators?: EstimatorName[];
  threshold?: 'fixed' | 'f1';
  snapshotId?: string;
  /** Tune gradient boosting by random search with k-fold cross-validation on the train split (default off). */
  search?: SearchConf;
  /** How to read `data` when sniffing is not enough (`--delimiter`, `--no-header`, `--columns`, `--na-values`, `--encoding`). */
  csv?: CsvReadOptions;
}

/** `--search-trials N --search-folds K [--search-seed S]`; the seed defaults to the run's seed. */
export interface SearchConf {
  trials: number;
  folds: number;
  seed?: number;
}

/** What each workflow needs in its conf, checked before a run is started so a missing flag fails fast. */
const REQUIRED: Record<DagId, Array<Array<[keyof TrainingConf, string]>>> = {
  load_raw_data: [[['data', '--data FILE']]],
  preprocess_data: [[['dataset', '--dataset NAME'], ['data', '--data FILE']], [['target', '--target COLUMN']]],
  train_model: [[['snapshotId', 'a snapshot id'], ['dataset', '--dataset NAME'], ['data', '--data FILE']]],
  training: [[['data', '--data FILE']], [['target', '--target COLUMN']]],
};

/** Throws naming the missing options, e.g. "training needs --target COLUMN". */
export function checkConf(dagId: string, conf: TrainingConf): void {
  const rules = REQUIRED[dagId as DagId];
  if (!rules) throw new NotFoundError('DAG', dagId, { message: `Unknown DAG "${dagId}": one of ${DAG_IDS.join(', ')}` });
  const missing = rules
    .filter((anyOf) => !anyOf.some(([key]) => conf[key] !== undefined && conf[key] !== ''))
    .map((anyOf) => anyOf.map(([, flag]) => flag).join(' or '));
  if (missing.length) throw new InvalidInputError(`${dagId} needs ${missing.join(' and ')}`);
  checkOptions(conf);
  if (conf.task !== undefined && !TASKS.includes(conf.task)) {
    throw new InvalidInputError(`--task must be one of ${TASKS.join(', ')}, got ${JSON.stringify(conf.task)}`);
  }
  if (conf.search !== undefined) checkSearchConf(conf);
  if (conf.csv !== undefined) checkCsvReadOptions(conf.csv);
}

/**
 * Each option against the rule the task that uses it applies, so a bad one is refused with its flag named before
 * any work starts (not after loading and training with it). Conf may come from JSON (a stored schedule): types too.
 */
function checkOptions(conf: TrainingConf): void {
  const c = conf as Record<keyof TrainingConf, unknown>;
  const text = (key: keyof TrainingConf, flag: string): string | undefined => {
    const value = c[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '' || value.includes('\u0000')) {
      throw new InvalidInputError(`${flag} must be a non-empty text without NUL characters, got ${JSON.stringify(value)}`);
    }
    return value;
  };
  const rule = (flag: string, check: () => unknown) => {
    try {
      check();
    } catch (error) {
      if (error instanceof InvalidInputError) throw new InvalidInputError(`${flag}: ${error.message}`);
      throw error;
    }
  };
  const data = text('data', '--data');
  const dataset = text('dataset', '--dataset');
  if (dataset !== undefined) rule('--dataset', () => assertIdentifier(dataset, 'dataset name'));
  else if (data !== undefined) rule('--data', () => datasetNameFromFile(data));
  text('target', '--target');
  text('positiveLabel', '--positive-label');
  text('snapshotId', '--snapshot');
  const modelName = text('modelName', '--model-name');
  if (modelName !== undefined) rule('--model-name', () => assertModelName(modelName));
  const experiment = text('experiment', '--experiment');
  if (experiment !== undefined) rule('--experiment', () => assertDisplayName(experiment, 'experiment name'));
  if (c.seed !== undefined && !(typeof c.seed === 'number' && Number.isSafeInteger(c.seed) && c.seed >= 0)) {
    throw new InvalidInputError(`--seed must be a whole number from 0, got ${JSON.stringify(c.seed)}`);
  }
  if (c.force !== undefined && typeof c.force !== 'boolean') throw new InvalidInputError(`force must be true or false, got ${JSON.stringify(c.force)}`);
  if (c.threshold !== undefined && c.threshold !== 'fixed' && c.threshold !== 'f1') {
    throw new InvalidInputError(`--threshold must be 'fixed' or 'f1', got ${JSON.stringify(c.threshold)}`);
  }
  if (c.estimators !== undefined) {
    const known = ESTIMATOR_NAMES as readonly unknown[];
    if (!Array.isArray(c.estimators) || c.estimators.length === 0 || !c.estimators.every((e) => known.includes(e))) {
      throw new InvalidInputError(`--estimators must list some of ${ESTIMATOR_NAMES.join(', ')}, got ${JSON.stringify(c.estimators)}`);
    }
  }
}

/** The flag each search field comes from, for errors that name it. */
const SEARCH_FLAGS = { trials: '--search-trials', folds: '--search-folds', seed: '--search-seed' } as const;

function checkSearchConf(conf: TrainingConf): void {
  const search = conf.search as Partial<Record<keyof SearchConf, unknown>>;
  if (typeof search !== 'object' || search === null) throw new InvalidInputError('search must be { trials, folds, seed? }');
  const atLeast = (key: keyof SearchConf, min: number) => {
    const value = search[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new InvalidInputError(`${SEARCH_FLAGS[key]} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    }
  };
  atLeast('trials', 1);
  atLeast('folds', 2);
  if (search.seed !== undefined) atLeast('seed', 0);
  if (conf.estimators && !conf.estimators.includes('hist_gradient_boosting')) {
    throw new InvalidInputError('--search-trials tunes hist_gradient_boosting, which --estimators leaves out');
  }
}
