/** What every dashboard route needs: the database, the optional artifact access, and the mount prefix for links. */
import type { Kysely } from 'kysely';
import type { Store } from '../db/index.js';
import type { Database } from '../db/schema.js';
import type { ArtifactReader } from './roc.js';
import type { DagShape } from './views/dag-graph.js';

export interface DashboardOptions {
  store: Store;
  /** Reads an artifact by key (relative to the artifact root); enables the ROC curve on run pages. */
  readArtifact?: ArtifactReader;
  /** Lists artifact keys under a prefix; enables the artifact list of a run. */
  listArtifacts?: (prefix: string) => Promise<string[]>;
  /** The tasks and dependencies of a DAG by id; enables arrows in the task graph. */
  dagShape?: (dagId: string) => DagShape | undefined;
}

export interface DashboardContext {
  db: Kysely<Database>;
  options: DashboardOptions;
  /** The prefix the plugin is mounted under ('' at the root), for links between pages. */
  base: string;
}
