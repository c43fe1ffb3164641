/**
 * The ROC curve a training run stores as the artifact runs/<runId>/artifacts/roc.json = { fpr: number[], tpr: number[] }.
 * Missing is normal (older runs, parent runs); a malformed file is reported on the page rather than failing it.
 */
import { InvalidInputError, NotFoundError } from '../errors.js';

/** Reads an artifact; a missing one throws NotFoundError (the artifact repositories' ArtifactNotFoundError). */
export type ArtifactReader = (key: string) => Promise<Buffer>;

export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Area under the stored points (trapezoids), shown next to the logged AUC as a cross-check. */
  auc: number;
}

export type RocLookup =
  | { kind: 'absent' }
  | { kind: 'ok'; curve: RocCurve }
  /** The file exists but cannot be used, or the artifact store failed: the reason is shown. */
  | { kind: 'problem'; reason: string };

export function rocArtifactKey(runId: string): string {
  return `runs/${runId}/artifacts/roc.json`;
}

/** Area under a curve given as points sorted by fpr. */
export function trapezoidAuc(fpr: readonly number[], tpr: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < fpr.length; i++) area += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
  return area;
}

/** Validates roc.json; throws with the problem named. */
export function parseRoc(text: string): RocCurve {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`roc.json is not JSON (${(error as Error).message})`);
  }
  const { fpr, tpr } = (value ?? {}) as { fpr?: unknown; tpr?: unknown };
  for (const [name, arr] of [['fpr', fpr], ['tpr', tpr]] as const) {
    if (!Array.isArray(arr)) throw new InvalidInputError(`roc.json field "${name}" must be an array of numbers`);
    const bad = arr.findIndex((v) => typeof v !== 'number' || !(v >= 0 && v <= 1));
    if (bad >= 0) throw new InvalidInputError(`roc.json ${name}[${bad}] = ${JSON.stringify(arr[bad])} is not a rate in [0, 1]`);
  }
  const f = fpr as number[];
  const t = tpr as number[];
  if (f.length !== t.length) throw new InvalidInputError(`roc.json has ${f.length} fpr values but ${t.length} tpr values`);
  if (f.length < 2) throw new InvalidInputError('roc.json needs at least two points');
  const order = f.map((_, i) => i).sort((a, b) => f[a] - f[b] || t[a] - t[b]);
  const sortedF = order.map((i) => f[i]);
  const sortedT = order.map((i) => t[i]);
  return { fpr: sortedF, tpr: sortedT, auc: trapezoidAuc(sortedF, sortedT) };
}

export async function loadRoc(read: ArtifactReader | undefined, runId: string): Promise<RocLookup> {
  if (!read) return { kind: 'absent' };
  let bytes: Buffer;
  try {
    bytes = await read(rocArtifactKey(runId));
  } catch (error) {
    if (error instanceof NotFoundError) return { kind: 'absent' };
    return { kind: 'problem', reason: `could not read ${rocArtifactKey(runId)}: ${(error as Error).message}` };
  }
  try {
    return { kind: 'ok', curve: parseRoc(bytes.toString('utf8')) };
  } catch (error) {
    return { kind: 'problem', reason: (error as Error).message };
  }
}
