/**
 * Promotion: a candidate version gets the `production` alias only if the promotion gate says so, with the current
 * production version evaluated on the same test split. A forced promotion skips the gate and is recorded as such.
 */
import { ConflictError } from '../errors.js';
import type { AppContext } from '../context.js';
import { getSnapshot, readSplit } from '../data/index.js';
import { evaluateBinary, evaluateMulticlass, evaluateRegression, rocAucConfidenceInterval, rocAucOvr, rootMeanSquaredError } from '../ml/metrics.js';
import { parseModelFile } from '../ml/model-format.js';
import type { TabularModel } from '../ml/tabular-model.js';
import {
  decideMulticlassPromotion,
  decidePromotion,
  decideRegressionPromotion,
  type PromotionDecision,
} from '../tracking/promotion-gate.js';

import { PRODUCTION_ALIAS } from '../tracking/aliases.js';

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

/** Identical feature values and label: the same example, whichever snapshot or split it landed in. */
function rowKeys(split: Split, features: string[]): string[] {
  const keys: string[] = [];
  for (let i = 0; i < split.nRows; i++) {
    const values: unknown[] = features.map((name) => split.columns[name][i]);
    values.push(split.y[i]);
    keys.push(JSON.stringify(values));
  }
  return keys;
}

function selectRows(split: Split, keep: (i: number) => boolean): Split {
  const rows: number[] = [];
  for (let i = 0; i < split.nRows; i++) if (keep(i)) rows.push(i);
  const columns: Split['columns'] = {};
  for (const [name, column] of Object.entries(split.columns)) {
    columns[name] = column instanceof Float64Array ? Float64Array.from(rows, (i) => column[i]) : rows.map((i) => column[i]);
  }
  const y = split.y instanceof Float64Array ? Float64Array.from(rows, (i) => split.y[i]) : Uint8Array.from(rows, (i) => split.y[i]);
  return { nRows: rows.length, columns, y };
}

/**
 * The candidate's test rows that production never trained on. When production came from another snapshot (another
 * seed, or data that grew), some of the candidate's test rows were in production's train or validation split; scoring
 * production on them would flatter it.
 */
export async function unseenByProduction(ctx: AppContext, production: TabularModel, snapshotId: string | null, test: Split) {
  if (!snapshotId) return { split: test, excluded: 0 };
  const features = production.signature.features.map((f) => f.name);
  const seen = new Set<string>();
  for (const name of ['train', 'val'] as const) {
    for (const key of rowKeys(await readSplit(ctx.store, snapshotId, name), features)) seen.add(key);
  }
  const keys = rowKeys(test, features);
  const split = selectRows(test, (i) => !seen.has(keys[i]));
  return { split, excluded: test.nRows - split.nRows };
}

/** Runs the gate for a freshly registered version and moves the alias when it passes. */
export async function evaluateForPromotion(
  ctx: AppContext,
  args: { name: string; candidateVersion: number; candidate: TabularModel; test: Split; snapshotId: string },
): Promise<PromotionOutcome> {
  const { name, candidateVersion, candidate } = args;
  const refuse = async (reason: string, previousVersion?: number): Promise<PromotionOutcome> => {
    await ctx.registry.recordEvent(name, candidateVersion, 'refuse', reason, PRODUCTION_ALIAS);
    return { promoted: false, reason, previousVersion };
  };
  const production = await ctx.registry.getAlias(name, PRODUCTION_ALIAS);
  let test = args.test;
  let currentModel: TabularModel | undefined;
  let note = '';
  if (production) {
    if (production.version === candidateVersion) return refuse(`v${candidateVersion} is already production`, candidateVersion);
    currentModel = await loadModelVersion(ctx, name, production.version);
    const incomparable = incomparableTargets(currentModel, candidate);
    if (incomparable) {
      return refuse(
        `not promoted: production v${production.version} ${incomparable}, so the two cannot be compared on the same test ` +
          'split; promote with --force if intended',
        production.version,
      );
    }
    const missing = missingFeatures(currentModel, test);
    if (missing.length > 0) {
      return refuse(
        `not promoted: production v${production.version} needs features this data set lacks ` +
          `(${missing.join(', ')}), so the two cannot be compared on the same test split: a model for another data set ` +
          `needs its own name (mldeploy run training ... --model-name NAME), or promote with --force if this one replaces it`,
        production.version,
      );
    }
    if (production.datasetSnapshotId !== args.snapshotId) {
      const unseen = await unseenByProduction(ctx, currentModel, production.datasetSnapshotId, test);
      test = unseen.split;
      if (unseen.excluded > 0) note = ` (on the ${test.nRows} test rows v${production.version} never trained on)`;
      if (!canScore(candidate, test)) {
        return refuse(
          `not promoted: production v${production.version} trained on nearly all of this test split, so the two ` +
            'cannot be compared fairly; promote with --force if intended',
          production.version,
        );
      }
    }
  }
  const current = production && currentModel ? { version: production.version, model: currentModel } : undefined;
  const decision = gate(candidateVersion, candidate, current, test);
  const reason = `${decision.reason}${note}`;
  if (!decision.promote) return refuse(reason, current?.version);
  await ctx.registry.setAlias(name, PRODUCTION_ALIAS, candidateVersion, { action: 'promote', reason });
  return { promoted: true, reason, previousVersion: current?.version };
}

/** The gate of the candidate's task, with production scored on the same rows. */
function gate(version: number, candidate: TabularModel, current: { version: number; model: TabularModel } | undefined, test: Split): PromotionDecision {
  if (candidate.task === 'multiclass') {
    const evaluation = evaluateMulticlass(test.y, candidate.scoreColumns(test.columns));
    return decideMulticlassPromotion({
      candidate: { version, macroAuc: evaluation.roc_auc, ciLower: evaluation.roc_auc_ci_lower, ciUpper: evaluation.roc_auc_ci_upper },
      current: current && { version: current.version, macroAuc: rocAucOvr(test.y, current.model.scoreColumns(test.columns)) },
    });
  }
  if (candidate.task === 'regression') {
    const evaluation = evaluateRegression(test.y, candidate.scoreColumns(test.columns));
    return decideRegressionPromotion({
      candidate: { version, rmse: evaluation.rmse, r2: evaluation.r2, r2CiLower: evaluation.r2_ci_lower, r2CiUpper: evaluation.r2_ci_upper },
      current: current && { version: current.version, rmse: rootMeanSquaredError(test.y, current.model.scoreColumns(test.columns)) },
    });
  }
  const incumbent = current && {
    version: current.version,
    rocAuc: evaluateBinary(test.y, current.model.predictProbaColumns(test.columns), current.model.threshold).roc_auc,
  };
  const ci = rocAucConfidenceInterval(test.y, candidate.predictProbaColumns(test.columns));
  return decidePromotion({
    candidate: { version, rocAuc: ci.auc, rocAucCiLower: ci.lower, rocAucCiUpper: ci.upper },
    current: incumbent,
  });
}

/** Why production and the candidate cannot be scored against the same labels, if they cannot. */
function incomparableTargets(production: TabularModel, candidate: TabularModel): string | undefined {
  if (production.task !== candidate.task) return `is a ${production.task} model and this one is ${candidate.task}`;
  const { target } = production.signature;
  if (production.task !== 'binary' && target.name !== candidate.signature.target.name) return `predicts "${target.name}", not "${candidate.signature.target.name}"`;
  if (production.task === 'multiclass' && JSON.stringify(production.classes) !== JSON.stringify(candidate.classes)) {
    return `has classes ${production.classes.join(', ')}, not ${candidate.classes.join(', ')}`;
  }
  return undefined;
}

/** Enough rows left to score: two of each class for classifiers (an AUC needs both sides), two rows for regression. */
function canScore(model: TabularModel, test: Split): boolean {
  if (model.task === 'regression') return test.nRows >= 2;
  const nClasses = model.task === 'multiclass' ? model.classes.length : 2;
  const counts = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < test.nRows; i++) counts[test.y[i]]++;
  return counts.every((c) => c >= 2 && test.nRows - c >= 2);
}

/** `mldeploy models promote NAME VERSION [--force]`: the gate on the version's own test split, or forced. */
export async function promoteVersion(
  ctx: AppContext,
  name: string,
  version: number,
  options: { force?: boolean; reason?: string } = {},
): Promise<PromotionOutcome> {
  const entry = await ctx.registry.getVersion(name, version);
  const previous = await ctx.registry.getAlias(name, PRODUCTION_ALIAS);
  if (options.force) {
    const reason = `forced promotion of v${version}${previous ? ` over v${previous.version}` : ''}, gate skipped` +
      (options.reason ? `: ${options.reason}` : '');
    await ctx.registry.setAlias(name, PRODUCTION_ALIAS, version, { action: 'force_promote', reason });
    return { promoted: true, reason, previousVersion: previous?.version };
  }
  if (!entry.datasetSnapshotId) {
    throw new ConflictError(`${name} v${version} has no dataset snapshot to evaluate it on; use --force to promote it anyway`);
  }
  const snapshot = await getSnapshot(ctx.store, entry.datasetSnapshotId);
  const test = await readSplit(ctx.store, snapshot.id, 'test');
  const candidate = await loadModelVersion(ctx, name, version);
  return evaluateForPromotion(ctx, { name, candidateVersion: version, candidate, test, snapshotId: snapshot.id });
}
