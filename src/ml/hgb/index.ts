/** scikit-learn's HistGradientBoostingClassifier (binary log loss) in TypeScript: fit on worker threads, score flat. */
export { HistGradientBoostingClassifier } from './classifier.js';
export type { HgbClassWeight, HgbOptions, HgbParams, HgbScoring } from './params.js';
export {
  HGB_FORMAT_VERSION,
  HGB_KIND,
  type HgbModelJSON,
  HgbScorer,
  hgbScorerFromJSON,
  type HgbTreeJSON,
  parseHgbModel,
} from './predictor.js';
export { setHgbScoringThreads } from './predict-pool.js';
