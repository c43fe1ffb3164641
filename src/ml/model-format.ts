/**
 * The mldeploy model file (docs/MODEL_FORMAT.md): versioned, data-only JSON. `parseModelFile` is the one way a file
 * becomes a model again; it checks every field before anything is built and names the offending field on failure.
 */
import { InvalidInputError } from '../errors.js';
import { HGB_KIND, hgbScorerFromJSON } from './hgb/predictor.js';
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
import { LOGISTIC_KIND, LogisticRegression } from './logistic.js';
import { TabularPreprocessor, type PreprocessingJSON } from './preprocessing.js';
import { TabularModel, type ModelSignature } from './tabular-model.js';
import type { BinaryScorer, EstimatorJSON, FeatureSpec, FeatureType } from './types.js';

export const MODEL_FORMAT = 'mldeploy-model';
/** Bumped on any change an older reader would misread; readers reject versions they do not know. */
export const MODEL_FORMAT_VERSION = 1;

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  formatVersion: typeof MODEL_FORMAT_VERSION;
  /** ISO 8601 time the model was built. */
  createdAt: string;
  signature: ModelSignature;
  preprocessing: PreprocessingJSON;
  estimator: EstimatorJSON;
  /** Probability at or above which the prediction is the positive label. */
  threshold: number;
  metadata?: Record<string, unknown>;
}

/** A model file that cannot be used; the message starts with "model file:" and names the field. */
export class ModelFormatError extends InvalidInputError {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message, { code: 'invalid_model_file' });
  }
}

/** Builds a scorer from estimator JSON, one reader per kind; each reader checks its own fields. */
const ESTIMATOR_READERS: Record<string, (json: unknown, path: string) => BinaryScorer> = {
  [LOGISTIC_KIND]: (json, path) => LogisticRegression.fromJSON(json, path),
  [HGB_KIND]: (json, path) => withPathRoot(path, 'model', () => hgbScorerFromJSON(json as EstimatorJSON)),
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
  if (version !== MODEL_FORMAT_VERSION) {
    throw new JsonShapeError('formatVersion', `${version} is not supported: this build reads version ${MODEL_FORMAT_VERSION}`);
  }
  const createdAt = expectString(o.createdAt, 'createdAt');
  if (Number.isNaN(Date.parse(createdAt))) throw new JsonShapeError('createdAt', `must be an ISO 8601 date-time, got ${JSON.stringify(createdAt)}`);
  const signature = readSignature(o.signature);
  const preprocessor = TabularPreprocessor.fromJSON(o.preprocessing, 'preprocessing');
  checkSignatureMatches(signature, preprocessor);
  const estimator = readEstimator(o.estimator, preprocessor.nOutputs);
  const threshold = expectFinite(o.threshold, 'threshold', { min: 0, max: 1 });
  const metadata = o.metadata === undefined ? undefined : expectObject(o.metadata, 'metadata');
  return new TabularModel({ signature, preprocessor, estimator, threshold, createdAt, metadata });
}

function readSignature(value: unknown): ModelSignature {
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
  const target: ModelSignature['target'] = {
    name: expectString(t.name, 'signature.target.name', { nonEmpty: true }),
    positiveLabel: expectString(t.positiveLabel, 'signature.target.positiveLabel'),
  };
  if (t.negativeLabel !== undefined) target.negativeLabel = expectString(t.negativeLabel, 'signature.target.negativeLabel');
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

function readEstimator(value: unknown, nInputs: number): BinaryScorer {
  const e = expectObject(value, 'estimator');
  const kind = expectString(e.kind, 'estimator.kind');
  const read = ESTIMATOR_READERS[kind];
  if (!read) throw new JsonShapeError('estimator.kind', `${JSON.stringify(kind)} is not a known estimator (known: ${ESTIMATOR_KINDS.join(', ')})`);
  let scorer: BinaryScorer;
  try {
    scorer = read(e, 'estimator');
  } catch (error) {
    if (error instanceof JsonShapeError || !(error instanceof Error)) throw error;
    throw new JsonShapeError('estimator', `is not a valid ${kind}: ${error.message}`);
  }
  if (typeof e.nFeatures === 'number' && e.nFeatures !== nInputs) {
    throw new JsonShapeError('estimator.nFeatures', `is ${e.nFeatures} but preprocessing produces ${nInputs} columns`);
  }
  return scorer;
}
