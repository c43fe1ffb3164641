/**
 * The promotion gate: decides whether a newly trained model version replaces production. Pure, so the pipeline,
 * the CLI and tests all get the same answer from the same numbers.
 */
import { InvalidInputError } from './errors.js';

export interface PromotionCandidate {
  version: number;
  /** ROC AUC on the test split. */
  rocAuc: number;
  /** Lower bound of the 95% confidence interval of the test ROC AUC (e.g. bootstrap). */
  rocAucCiLower: number;
  /** Upper bound of that interval; shown in the reason when given. */
  rocAucCiUpper?: number;
}

export interface PromotionIncumbent {
  version: number;
  /** The production model's ROC AUC on the SAME test split as the candidate. */
  rocAuc: number;
}

export interface PromotionDecision {
  promote: boolean;
  /** A sentence with the numbers, kept in the registry's audit trail. */
  reason: string;
}

/** Chance level of ROC AUC: a model whose interval reaches it has not shown it can rank at all. */
const CHANCE = 0.5;

/**
 * Promote only when the candidate's test ROC AUC beats production's strictly (on the same split) and the lower bound
 * of its 95% CI is above 0.5. Without a production model, the chance test alone decides.
 */
export function decidePromotion(input: { candidate: PromotionCandidate; current?: PromotionIncumbent }): PromotionDecision {
  const { candidate, current } = input;
  checkScore(candidate.rocAuc, 'candidate.rocAuc');
  checkScore(candidate.rocAucCiLower, 'candidate.rocAucCiLower');
  if (candidate.rocAucCiUpper !== undefined) checkScore(candidate.rocAucCiUpper, 'candidate.rocAucCiUpper');
  if (current) checkScore(current.rocAuc, 'current.rocAuc');

  const ci = `95% CI ${interval(candidate)}`;
  if (!(candidate.rocAucCiLower > CHANCE)) {
    return { promote: false, reason: `not promoted: test ROC AUC ${fixed(candidate.rocAuc)} (${ci}) is not better than chance` };
  }
  if (!current) {
    return { promote: true, reason: `promoted: no production model yet; test ROC AUC ${fixed(candidate.rocAuc)} (${ci})` };
  }
  const [mine, theirs] = distinct(candidate.rocAuc, current.rocAuc);
  const production = `production v${current.version}'s ${theirs} on the same test split`;
  if (!(candidate.rocAuc > current.rocAuc)) {
    return { promote: false, reason: `not promoted: test ROC AUC ${mine} does not beat ${production}` };
  }
  return { promote: true, reason: `promoted: test ROC AUC ${mine} (${ci}) beats ${production}` };
}

function checkScore(value: number, field: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new InvalidInputError(`${field} must be a number between 0 and 1, got ${String(value)}`);
  }
}

function fixed(value: number): string {
  return value.toFixed(3);
}

/** CI bounds with at most 3 decimals and no trailing zeros: "0.43-0.55", "0.996-0.999". */
function interval(candidate: PromotionCandidate): string {
  const short = (value: number) => String(Number(value.toFixed(3)));
  return candidate.rocAucCiUpper === undefined
    ? `lower bound ${short(candidate.rocAucCiLower)}`
    : `${short(candidate.rocAucCiLower)}-${short(candidate.rocAucCiUpper)}`;
}

/** Formats two scores with 3 decimals, or more when 3 would print different scores as equal. */
function distinct(a: number, b: number): [string, string] {
  for (let digits = 3; digits < 10; digits++) {
    const pair: [string, string] = [a.toFixed(digits), b.toFixed(digits)];
    if (a === b || pair[0] !== pair[1]) return pair;
  }
  return [String(a), String(b)];
}

export interface MulticlassPromotionCandidate {
  version: number;
  /** Macro one-vs-rest ROC AUC on the test split. */
  macroAuc: number;
  /** Bootstrap 95% interval of that AUC. */
  ciLower: number;
  ciUpper: number;
}

/**
 * Multi-class: promote only when the candidate's test macro ROC AUC beats production's strictly (on the same split)
 * and the lower bound of its bootstrap 95% CI is above chance (0.5).
 */
export function decideMulticlassPromotion(input: {
  candidate: MulticlassPromotionCandidate;
  current?: { version: number; macroAuc: number };
}): PromotionDecision {
  const { candidate, current } = input;
  checkScore(candidate.macroAuc, 'candidate.macroAuc');
  checkScore(candidate.ciLower, 'candidate.ciLower');
  checkScore(candidate.ciUpper, 'candidate.ciUpper');
  if (current) checkScore(current.macroAuc, 'current.macroAuc');
  const ci = `bootstrap 95% CI ${bounds(candidate.ciLower, candidate.ciUpper)}`;
  const auc = `test macro ROC AUC ${fixed(candidate.macroAuc)} (${ci})`;
  if (!(candidate.ciLower > CHANCE)) return { promote: false, reason: `not promoted: ${auc} is not better than chance` };
  if (!current) return { promote: true, reason: `promoted: no production model yet; ${auc}` };
  const [mine, theirs] = distinct(candidate.macroAuc, current.macroAuc);
  const production = `production v${current.version}'s ${theirs} on the same test split`;
  if (!(candidate.macroAuc > current.macroAuc)) {
    return { promote: false, reason: `not promoted: test macro ROC AUC ${mine} does not beat ${production}` };
  }
  return { promote: true, reason: `promoted: test macro ROC AUC ${mine} (${ci}) beats ${production}` };
}

export interface RegressionPromotionCandidate {
  version: number;
  /** Root mean squared error on the test split. */
  rmse: number;
  r2: number;
  /** Bootstrap 95% interval of R^2. */
  r2CiLower: number;
  r2CiUpper: number;
}

/**
 * Regression: promote only when the candidate's test RMSE is strictly lower than production's (on the same split) and
 * the lower bound of its R^2's bootstrap 95% CI is above 0, i.e. it predicts better than the mean would.
 */
export function decideRegressionPromotion(input: {
  candidate: RegressionPromotionCandidate;
  current?: { version: number; rmse: number };
}): PromotionDecision {
  const { candidate, current } = input;
  for (const [field, value] of [['rmse', candidate.rmse], ['r2', candidate.r2], ['r2CiLower', candidate.r2CiLower], ['r2CiUpper', candidate.r2CiUpper]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidInputError(`candidate.${field} must be a finite number, got ${String(value)}`);
  }
  if (candidate.rmse < 0) throw new InvalidInputError(`candidate.rmse must be >= 0, got ${candidate.rmse}`);
  if (current && !(Number.isFinite(current.rmse) && current.rmse >= 0)) throw new InvalidInputError(`current.rmse must be a number >= 0, got ${current.rmse}`);
  const r2 = `test R^2 ${fixed(candidate.r2)} (bootstrap 95% CI ${bounds(candidate.r2CiLower, candidate.r2CiUpper)})`;
  if (!(candidate.r2CiLower > 0)) return { promote: false, reason: `not promoted: ${r2} is not better than predicting the mean` };
  const rmse = `test RMSE ${significant(candidate.rmse)}`;
  if (!current) return { promote: true, reason: `promoted: no production model yet; ${rmse}, ${r2}` };
  const [mine, theirs] = distinctSignificant(candidate.rmse, current.rmse);
  const production = `production v${current.version}'s ${theirs} on the same test split`;
  if (!(candidate.rmse < current.rmse)) return { promote: false, reason: `not promoted: test RMSE ${mine} does not beat ${production}` };
  return { promote: true, reason: `promoted: test RMSE ${mine} beats ${production}; ${r2}` };
}

function bounds(lower: number, upper: number): string {
  const short = (value: number) => String(Number(value.toFixed(3)));
  return `${short(lower)} to ${short(upper)}`;
}

/** An error in the target's own unit: 4 significant digits ("312.4", "0.04521"). */
function significant(value: number): string {
  return String(Number(value.toPrecision(4)));
}

function distinctSignificant(a: number, b: number): [string, string] {
  for (let digits = 4; digits < 15; digits++) {
    const pair: [string, string] = [String(Number(a.toPrecision(digits))), String(Number(b.toPrecision(digits)))];
    if (a === b || pair[0] !== pair[1]) return pair;
  }
  return [String(a), String(b)];
}
