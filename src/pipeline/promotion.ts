/**
 * Promotion: a candidate version gets the `production` alias only if the promotion gate says so, with the current
 * production version evaluated on the same test split. A forced promotion skips the gate and is recorded as such.
 */
import type { AppContext } from '../context.js';
import { getSnapshot, readSplit } from '../data/index.js';
import { evaluateBinary, rocAucConfidenceInterval } from '../ml/metrics.js';
import { parseModelFile } from '../ml/model-format.js';
import type { TabularModel } from '../ml/tabular-model.js';
import { decidePromotion } from '../tracking/promotion-gate.js';

export const PRODUCTION = 'production';

type Split = Awaited<ReturnType<typeof readSplit>>;

export interface PromotionOutcome {
  promoted: boolean;
  reason: string;
  /** The version that was production before, if any. */
  previousVersion?: number;
}

export async function loadModelVersion(ctx: AppContext, name: string, version: number): Promise<TabularModel> {
  const entry = await ctx.registry.getVersion(name, version);
  const bytes = await ctx.artifacts.get(entry.artifactKey);
  return parseModelFile(JSON.parse(bytes.toString('utf8')));
}

/** The features a model needs that the split does not have (then it cannot be scored on it). */
function missingFeatures(model: TabularModel, split: Split): string[] {
  return model.signature.features.map((f) => f.name).filter((name) => !(name in split.columns));
}

/** Runs the gate for a freshly registered version and moves the alias when it passes. */
export async function evaluateForPromotion(
  ctx: AppContext,
  args: { name: string; candidateVersion: number; candidate: TabularModel; test: Split },
): Promise<PromotionOutcome> {
  const { name, candidateVersion, candidate, test } = args;
  const ci = rocAucConfidenceInterval(test.y, candidate.predictProbaColumns(test.columns));
  const production = await ctx.registry.getAlias(name, PRODUCTION);
  let current: { version: number; rocAuc: number } | undefined;
  if (production) {
    const currentModel = await loadModelVersion(ctx, name, production.version);
    const missing = missingFeatures(currentModel, test);
    if (missing.length > 0) {
      const reason =
        `not promoted: production v${production.version} needs features this data set lacks ` +
        `(${missing.join(', ')}), so the two cannot be compared on the same test split; promote with --force if intended`;
      await ctx.registry.recordEvent(name, candidateVersion, 'refuse', reason, PRODUCTION);
      return { promoted: false, reason, previousVersion: production.version };
    }
    const currentMetrics = evaluateBinary(test.y, currentModel.predictProbaColumns(test.columns), currentModel.threshold);
    current = { version: production.version, rocAuc: currentMetrics.roc_auc };
  }
  const decision = decidePromotion({
    candidate: { version: candidateVersion, rocAuc: ci.auc, rocAucCiLower: ci.lower, rocAucCiUpper: ci.upper },
    current,
  });
  if (decision.promote) {
    await ctx.registry.setAlias(name, PRODUCTION, candidateVersion, { action: 'promote', reason: decision.reason });
  } else {
    await ctx.registry.recordEvent(name, candidateVersion, 'refuse', decision.reason, PRODUCTION);
  }
  return { promoted: decision.promote, reason: decision.reason, previousVersion: current?.version };
}

/** `mldeploy models promote NAME VERSION [--force]`: the gate on the version's own test split, or forced. */
export async function promoteVersion(
  ctx: AppContext,
  name: string,
  version: number,
  options: { force?: boolean; reason?: string } = {},
): Promise<PromotionOutcome> {
  const entry = await ctx.registry.getVersion(name, version);
  const previous = await ctx.registry.getAlias(name, PRODUCTION);
  if (options.force) {
    const reason = `forced promotion of v${version}${previous ? ` over v${previous.version}` : ''}, gate skipped` +
      (options.reason ? `: ${options.reason}` : '');
    await ctx.registry.setAlias(name, PRODUCTION, version, { action: 'force_promote', reason });
    return { promoted: true, reason, previousVersion: previous?.version };
  }
  if (!entry.datasetSnapshotId) {
    throw new Error(`${name} v${version} has no dataset snapshot to evaluate it on; use --force to promote it anyway`);
  }
  const snapshot = await getSnapshot(ctx.store, entry.datasetSnapshotId);
  const test = await readSplit(ctx.store, snapshot.id, 'test');
  const candidate = await loadModelVersion(ctx, name, version);
  return evaluateForPromotion(ctx, { name, candidateVersion: version, candidate, test });
}
