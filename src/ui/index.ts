export { dashboardPlugin } from './plugin.js';
export type { DashboardOptions } from './context.js';
export type { DagShape } from './views/dag-graph.js';
export type { ArtifactReader } from './roc.js';
