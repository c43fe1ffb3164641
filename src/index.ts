/**
 * mldeploy as a library: the ML core (models, preprocessing, metrics, the model file) without the database, HTTP or
 * CLI. Everything here takes numbers or plain records in and gives numbers or plain JSON out.
 */
export type {
  BinaryClassifier,
  BinaryScorer,
  EstimatorJSON,
  FeatureSpec,
  FeatureType,
  Frame,
  Matrix,
  MulticlassClassifier,
  MulticlassScorer,
  RegressionScorer,
  Regressor,
  Task,
} from './ml/types.js';
export { toFrame, takeRows } from './ml/frame.js';
export { createRng, shuffleInPlace, type Rng } from './ml/random.js';

export {
  LogisticRegression,
  type ClassWeight,
  type LogisticRegressionJSON,
  type LogisticRegressionOptions,
  type LogisticSolver,
} from './ml/logistic.js';
export {
  MultinomialLogisticRegression,
  Ridge,
  type MultinomialLogisticRegressionOptions,
  type RidgeOptions,
} from './ml/linear.js';
export { HistGradientBoostingClassifier } from './ml/hgb/index.js';
export type { HgbOptions } from './ml/hgb/index.js';
export {
  choice,
  HGB_SEARCH_SPACE,
  intRange,
  kFold,
  logUniform,
  randomSearchCV,
  sampleParams,
  stratifiedKFold,
  type ParamDistribution,
  type ParamSpace,
  type RandomSearchOptions,
  type RandomSearchResult,
  type SampledParams,
  type SearchTask,
  type SearchParamValue,
  type SearchTrial,
} from './ml/search.js';

export {
  accuracy,
  bestF1Threshold,
  confusionMatrix,
  evaluateBinary,
  f1,
  logLoss,
  normalQuantile,
  precision,
  recall,
  rocAuc,
  rocAucConfidenceInterval,
  rocCurve,
  bootstrapInterval,
  confusionMatrixMulticlass,
  evaluateMulticlass,
  evaluateRegression,
  f1Macro,
  logLossMulticlass,
  meanAbsoluteError,
  r2Score,
  rocAucOvr,
  rootMeanSquaredError,
  type BootstrapInterval,
  type BootstrapOptions,
  type MulticlassEvaluation,
  type RegressionEvaluation,
  type AucConfidenceInterval,
  type BinaryEvaluation,
  type ConfusionMatrix,
  type F1Threshold,
  type RocCurve,
} from './ml/metrics.js';
export {
  featurePermutationImportance,
  permutationImportance,
  type ImportanceMetric,
  type PermutationImportance,
  type PermutationImportanceOptions,
} from './ml/importance.js';

export { TabularPreprocessor, type Encoding, type PreprocessingJSON, type TabularColumns } from './ml/preprocessing.js';
export {
  fitTabularModel,
  TabularModel,
  type EncodedLayout,
  type FitTabularModelOptions,
  type ModelSignature,
  type Predictions,
} from './ml/tabular-model.js';
export {
  ESTIMATOR_KINDS,
  MODEL_FORMAT,
  MODEL_FORMAT_VERSION,
  ModelFormatError,
  parseModelFile,
  type ModelFile,
} from './ml/model-format.js';
export { JsonShapeError } from './ml/json-check.js';
// Gradient boosting for the other tasks (the binary classifier above fits K classes too).
export { HistGradientBoostingRegressor, type HgbRegressorOptions, type RegressionLoss } from './ml/hgb/index.js';
