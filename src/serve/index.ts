/** The prediction API: build it (buildApp), run it (startServer, or serve with workers), or serve other model sources. */
export { buildApp, type AppOptions, type AppPlugin, type ServeContext } from './app.js';
export { serve, type ServeOptions } from './cluster.js';
export { startServer, type AppTuning, type RunningServer, type ServerOptions } from './server.js';
export { RegistryModelSource, type RegistryModelSourceOptions } from './registry-source.js';
export { type Keys } from './auth.js';
export { SessionStore, type SessionInfo } from './sessions.js';
export { errorAnswer, type FieldError } from './errors.js';
export { PredictionLog, PredictionLogUnavailable, type PredictionLogOptions, type PredictionRecord } from './prediction-log.js';
export { RowContract, rowSchemaOf, type ParsedRow, type UnknownFieldPolicy } from './row-contract.js';
export { ServedModels, type ModelStatus, type ServedModel } from './served-models.js';
export type { PredictionAnswer } from './routes/predict.js';
export type { ModelResolution, ModelSource, ServableModel, ServingSignature } from './types.js';
