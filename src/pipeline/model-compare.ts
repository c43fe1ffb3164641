/**
 * `mldeploy models compare NAME V1 V2`: two versions scored on the same rows (the newer version's test split, less
 * the rows the older one trained on), their metrics side by side, and DeLong's test of the AUC difference.
 */
import type { AppContext } from '../context.js';
import { readSplit } from '../data/index.js';
import { evaluateBinary, type BinaryEvaluation } from '../ml/metrics.js';
import { compareRocAuc, type RocComparison } from '../ml/roc-compare.js';
import { ConflictError, InvalidInputError } from '../errors.js';
import { loadModelVersion, unseenByProduction } from './promotion.js';

export interface VersionComparison {
  name: string;
  /** The versions, older first. */
  versions: [number, number];
  /** Whose test split both were scored on, and how many of its rows the older version never trained on. */
  testSplit: { snapshotId: string; rows: number; excluded: number };
  metrics: [BinaryEvaluation, BinaryEvaluation];
  /** DeLong's paired test; `difference` is newer minus older. */
  rocAuc: RocComparison;
}

export async function compareVersions(ctx: AppContext, name: string, a: number, b: number): Promise<VersionComparison> {
  if (a === b) throw new ConflictError(`compare two different versions of ${name}, not v${a} with itself`);
  const [older, newer] = await Promise.all([ctx.registry.getVersion(name, Math.min(a, b)), ctx.registry.getVersion(name, Math.max(a, b))]);
  if (!newer.datasetSnapshotId) {
    throw new ConflictError(`${name} v${newer.version} has no dataset snapshot (an imported model?): there is no test split to compare on`);
  }
  const [olderModel, newerModel] = await Promise.all([
    loadModelVersion(ctx, name, older.version),
    loadModelVersion(ctx, name, newer.version),
  ]);
  for (const [version, model] of [[older.version, olderModel], [newer.version, newerModel]] as const) {
    if (model.task !== 'binary') throw new InvalidInputError(`models compare covers binary models for now; ${name} v${version} is ${model.task}`);
  }
  const fullTest = await readSplit(ctx.store, newer.datasetSnapshotId, 'test');
  const missing = olderModel.signature.features.map((f) => f.name).filter((f) => !(f in fullTest.columns));
  if (missing.length > 0) {
    throw new ConflictError(
      `${name} v${older.version} needs features that v${newer.version}'s data set lacks (${missing.join(', ')}): ` +
        'the two cannot be scored on the same rows',
    );
  }
  const { split: test, excluded } = await unseenByProduction(ctx, olderModel, older.datasetSnapshotId, fullTest);
  let positives = 0;
  for (const label of test.y) positives += label;
  if (positives < 2 || test.nRows - positives < 2) {
    throw new ConflictError(
      `only ${test.nRows} of v${newer.version}'s test rows are unseen by v${older.version} (${positives} positive): too few to compare`,
    );
  }
  const pOlder = olderModel.predictProbaColumns(test.columns);
  const pNewer = newerModel.predictProbaColumns(test.columns);
  return {
    name,
    versions: [older.version, newer.version],
    testSplit: { snapshotId: newer.datasetSnapshotId, rows: test.nRows, excluded },
    metrics: [evaluateBinary(test.y, pOlder, olderModel.threshold), evaluateBinary(test.y, pNewer, newerModel.threshold)],
    rocAuc: compareRocAuc(test.y, pOlder, pNewer),
  };
}
