/** Tracking, artifacts and the model registry: mldeploy's replacement for MLflow and MinIO. */
export * from './errors.js';
export * from './types.js';
export * from './artifacts/index.js';
export { PRODUCTION_ALIAS } from './aliases.js';
export { TrackingStore, runArtifactKey } from './tracking-store.js';
export { ModelRegistry, aliasStack } from './registry.js';
export {
  decidePromotion,
  type PromotionCandidate,
  type PromotionIncumbent,
  type PromotionDecision,
} from './promotion-gate.js';
export { assertAliasName, assertModelName } from './validate.js';
