/** scikit-learn's HistGradientBoostingClassifier (binary and multi-class log loss) and HistGradientBoostingRegressor
 * (squared error, absolute error, Poisson) in TypeScript: fit on worker threads, score flat. */
export { HistGradientBoostingClassifier } from './classifier.js';
export { HistGradientBoostingRegressor } from './regressor.js';
export type { RegressionLoss } from './loss.js';
export type {
  HgbClassWeight,
  HgbOptions,
  HgbParams,
  HgbRegressorOptions,
  HgbRegressorParams,
  HgbRegressorScoring,
  HgbScoring,
  HgbTreeOptions,
} from './params.js';
export {
  HGB_FORMAT_VERSION,
  HGB_KIND,
  HGB_MULTICLASS_KIND,
  HGB_REGRESSOR_KIND,
  type HgbModelJSON,
  HgbScorer,
  hgbScorerFromJSON,
  type HgbTreeJSON,
  parseHgbModel,
} from './predictor.js';
export { setHgbScoringThreads } from './predict-pool.js';
