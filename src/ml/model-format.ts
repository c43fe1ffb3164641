/**
 * The mldeploy model file (docs/MODEL_FORMAT.md): versioned, data-only JSON. `parseModelFile` is the one way a file
 * becomes a model again; it checks every field before anything is built and names the offending field on failure.
 */
import { InvalidInputError } from '../errors.js';
import { HGB_KIND, HGB_MULTICLASS_KIND, HGB_REGRESSOR_KIND, hgbScorerFromJSON } from './hgb/predictor.js';
import {
  expectArray,
  expectBoolean,
  expectFinite,
  expectInteger,
  expectObject,
  expectOneOf,
  expectString,
  expectStringArray,
  JsonShapeError,
} from './json-check.js';
import { MULTINOMIAL_KIND, MultinomialLogisticRegression, Ridge, RIDGE_KIND } from './linear.js';
import { LOGISTIC_KIND, LogisticRegression } from './logistic.js';
import { TabularPreprocessor, type PreprocessingJSON } from './preprocessing.js';
import { TabularModel, type ModelSignature } from './tabular-model.js';
import { TASKS, type BinaryScorer, type EstimatorJSON, type FeatureSpec, type FeatureType, type MulticlassScorer, type RegressionScorer, type Task } from './types.js';

export const MODEL_FORMAT = 'mldeploy-model';
/** Bumped on any change an older reader would misread; readers reject versions they do not know. */
export const MODEL_FORMAT_VERSION = 1;
/** Version 2 adds `task` (multi-class and regression models); binary models are still written as version 1. */
export const TASK_MODEL_FORMAT_VERSION = 2;
const READABLE_VERSIONS = [MODEL_FORMAT_VERSION, TASK_MODEL_FORMAT_VERSION];

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  formatVersion: typeof MODEL_FORMAT_VERSION | typeof TASK_MODEL_FORMAT_VERSION;
  /** Version 2 only: binary, multiclass or regression. Version 1 files are binary. */
  task?: Task;
  /** ISO 8601 time the model was built. */
  createdAt: string;
  signature: ModelSignature;
  preprocessing: PreprocessingJSON;
  estimator: EstimatorJSON;
  /** Binary models: probability at or above which the prediction is the positive label. */
  threshold?: number;
  metadata?: Record<string, unknown>;
}

type Scorer = BinaryScorer | MulticlassScorer | RegressionScorer;

/** A model file that cannot be used; the message starts with "model file:" and names the field. */
export class ModelFormatError extends InvalidInputError {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message, { code: 'invalid_model_file' });
  }
}

/** Builds a scorer from estimator JSON, one reader per kind, with the tasks it serves; each reader checks its own fields. */
const ESTIMATOR_READERS: Record<string, { tasks: readonly Task[]; read: (json: unknown, path: string) => Scorer }> = {
  [LOGISTIC_KIND]: { tasks: ['binary'], read: (json, path) => LogisticRegression.fromJSON(json, path) },
  [HGB_KIND]: { tasks: ['binary'], read: (json, path) => withPathRoot(path, 'model', () => hgbScorerFromJSON(json as EstimatorJSON)) },
  [HGB_MULTICLASS_KIND]: { tasks: ['multiclass'], read: (json, path) => withPathRoot(path, 'model', () => hgbScorerFromJSON(json as EstimatorJSON)) },
  [HGB_REGRESSOR_KIND]: { tasks: ['regression'], read: (json, path) => withPathRoot(path, 'model', () => hgbScorerFromJSON(json as EstimatorJSON)) },
  [MULTINOMIAL_KIND]: { tasks: ['multiclass'], read: (json, path) => MultinomialLogisticRegression.fromJSON(json, path) },
  [RIDGE_KIND]: { tasks: ['regression'], read: (json, path) => Ridge.fromJSON(json, path) },
};

/** Runs `read`, re-rooting the field paths of its JsonShapeErrors from `fromRoot` (e.g. "model.trees[0]") to `path`. */
function withPathRoot<T>(path: string, fromRoot: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof JsonShapeError && (error.path === fromRoot || error.path.startsWith(`${fromRoot}.`) || error.path.startsWith(`${fromRoot}[`))) {
      throw new JsonShapeError(path + error.path.slice(fromRoot.length), error.problem);
    }
    throw error;
  }
}

/** The estimator kinds this build can read. */
export const ESTIMATOR_KINDS: readonly string[] = Object.keys(ESTIMATOR_READERS);

const FEATURE_TYPES: readonly FeatureType[] = ['integer', 'float', 'boolean', 'categorical'];

/**
 * Checks a model file (parsed JSON, or the JSON text) and rebuilds the model. Throws ModelFormatError naming the first
 * field that is missing, of the wrong type, of the wrong length, not finite, or inconsistent with the rest.
 */
export function parseModelFile(json: unknown): TabularModel {
  try {
    return readModelFile(typeof json === 'string' ? parseJsonText(json) : json);
  } catch (error) {
    if (error instanceof JsonShapeError) throw new ModelFormatError(`model file: ${error.message}`, error.path);
    throw error;
  }
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ModelFormatError(`model file: not valid JSON (${(error as Error).message})`);
  }
}

function readModelFile(json: unknown): TabularModel {
  const o = expectObject(json, '(root)');
  if (o.format !== MODEL_FORMAT) {
    throw new JsonShapeError('format', `must be ${JSON.stringify(MODEL_FORMAT)}, got ${JSON.stringify(o.format) ?? 'nothing'}: not an mldeploy model file`);
  }
  const version = expectInteger(o.formatVersion, 'formatVersion', 1);
  if (!READABLE_VERSIONS.includes(version)) {
    throw new JsonShapeError('formatVersion', `${version} is not supported: this build reads versions ${READABLE_VERSIONS.join(' and ')}`);
  }
  const task: Task = version === MODEL_FORMAT_VERSION ? 'binary' : expectOneOf(o.task, 'task', TASKS);
  const createdAt = expectString(o.createdAt, 'createdAt');
  if (Number.isNaN(Date.parse(createdAt))) throw new JsonShapeError('createdAt', `must be an ISO 8601 date-time, got ${JSON.stringify(createdAt)}`);
  const signature = readSignature(o.signature, task);
  const preprocessor = TabularPreprocessor.fromJSON(o.preprocessing, 'preprocessing');
  checkSignatureMatches(signature, preprocessor);
  const estimator = readEstimator(o.estimator, preprocessor.nOutputs, task);
  if (task === 'multiclass') {
    const K = (estimator as MulticlassScorer).nClasses;
    if (signature.target.classes!.length !== K) {
      throw new JsonShapeError('signature.target.classes', `lists ${signature.target.classes!.length} classes but the estimator has ${K}`);
    }
  }
  const threshold = task === 'binary' ? expectFinite(o.threshold, 'threshold', { min: 0, max: 1 }) : undefined;
  const metadata = o.metadata === undefined ? undefined : expectObject(o.metadata, 'metadata');
  return new TabularModel({ task, signature, preprocessor, estimator, threshold, createdAt, metadata });
}

function readSignature(value: unknown, task: Task): ModelSignature {
  const s = expectObject(value, 'signature');
  const features = expectArray(s.features, 'signature.features').map((item, j): FeatureSpec => {
    const at = `signature.features[${j}]`;
    const f = expectObject(item, at);
    const spec: FeatureSpec = {
      name: expectString(f.name, `${at}.name`, { nonEmpty: true }),
      type: expectOneOf(f.type, `${at}.type`, FEATURE_TYPES),
      nullable: expectBoolean(f.nullable, `${at}.nullable`),
    };
    if (f.categories !== undefined) spec.categories = expectStringArray(f.categories, `${at}.categories`, { unique: true });
    return spec;
  });
  if (features.length === 0) throw new JsonShapeError('signature.features', 'must list at least one feature');
  const rowIdColumns = expectStringArray(s.rowIdColumns, 'signature.rowIdColumns', { unique: true });
  const t = expectObject(s.target, 'signature.target');
  const target: ModelSignature['target'] = { name: expectString(t.name, 'signature.target.name', { nonEmpty: true }) };
  if (task === 'binary') {
    target.positiveLabel = expectString(t.positiveLabel, 'signature.target.positiveLabel');
    if (t.negativeLabel !== undefined) target.negativeLabel = expectString(t.negativeLabel, 'signature.target.negativeLabel');
  } else if (task === 'multiclass') {
    target.classes = expectStringArray(t.classes, 'signature.target.classes', { unique: true });
    if (target.classes.length < 2) throw new JsonShapeError('signature.target.classes', 'must list at least two classes');
  }
  return { features, rowIdColumns, target };
}

/** The signature and the preprocessing must describe the same features, with the same types and categories. */
function checkSignatureMatches(signature: ModelSignature, preprocessor: TabularPreprocessor): void {
  const fitted = new Map(preprocessor.fittedFeatures().map((f) => [f.name, f]));
  const seen = new Set<string>();
  signature.features.forEach((f, j) => {
    const at = `signature.features[${j}]`;
    if (seen.has(f.name)) throw new JsonShapeError(`${at}.name`, `repeats feature ${JSON.stringify(f.name)}`);
    seen.add(f.name);
    const p = fitted.get(f.name);
    if (!p) throw new JsonShapeError(`${at}.name`, `names feature ${JSON.stringify(f.name)}, which preprocessing does not have`);
    if (p.type !== f.type) throw new JsonShapeError(`${at}.type`, `is ${f.type} but preprocessing treats ${JSON.stringify(f.name)} as ${p.type}`);
    if (f.categories && JSON.stringify(f.categories) !== JSON.stringify(p.categories)) {
      throw new JsonShapeError(`${at}.categories`, `differ from the categories in preprocessing for ${JSON.stringify(f.name)}`);
    }
  });
  for (const name of fitted.keys()) {
    if (!seen.has(name)) throw new JsonShapeError('signature.features', `lacks feature ${JSON.stringify(name)}, which preprocessing uses`);
  }
}

function readEstimator(value: unknown, nInputs: number, task: Task): Scorer {
  const e = expectObject(value, 'estimator');
  const kind = expectString(e.kind, 'estimator.kind');
  const reader = ESTIMATOR_READERS[kind];
  if (!reader) throw new JsonShapeError('estimator.kind', `${JSON.stringify(kind)} is not a known estimator (known: ${ESTIMATOR_KINDS.join(', ')})`);
  if (!reader.tasks.includes(task)) {
    throw new JsonShapeError('estimator.kind', `${JSON.stringify(kind)} is a ${reader.tasks.join(' or ')} estimator but the model's task is ${task}`);
  }
  let scorer: Scorer;
  try {
    scorer = reader.read(e, 'estimator');
  } catch (error) {
    if (error instanceof JsonShapeError || !(error instanceof Error)) throw error;
    throw new JsonShapeError('estimator', `is not a valid ${kind}: ${error.message}`);
  }
  if (typeof e.nFeatures === 'number' && e.nFeatures !== nInputs) {
    throw new JsonShapeError('estimator.nFeatures', `is ${e.nFeatures} but preprocessing produces ${nInputs} columns`);
  }
  return scorer;
}
