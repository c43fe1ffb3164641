/**
 * References to a registered model version as people write them: `NAME` (its production version), `NAME@alias`,
 * `NAME:3`, and MLflow's URIs `models:/NAME@alias` and `models:/NAME/3`.
 */
import { PRODUCTION_ALIAS } from './aliases.js';
import { InvalidInputError, NotFoundError } from './errors.js';
import type { ModelRegistry } from './registry.js';
import type { ModelVersion } from './types.js';
import { assertAliasName, assertModelName, assertVersion } from './validate.js';

export type ModelRef = { name: string; alias: string } | { name: string; version: number };

const FORMS = 'NAME, NAME@ALIAS, NAME:VERSION, models:/NAME@ALIAS or models:/NAME/VERSION';

export function parseModelRef(text: string): ModelRef {
  const trimmed = text.trim();
  const uri = /^models:\/(.+)$/.exec(trimmed);
  const body = uri ? uri[1] : trimmed;
  const versioned = uri ? /^([^/@]+)\/(\d+)$/.exec(body) : /^([^:@]+):(\d+)$/.exec(body);
  try {
    if (versioned) return { name: assertModelName(versioned[1]), version: assertVersion(Number(versioned[2])) };
    const aliased = /^([^:@/]+)@([^:@/]+)$/.exec(body);
    if (aliased) return { name: assertModelName(aliased[1]), alias: assertAliasName(aliased[2]) };
    if (!uri && /^[^:@/]+$/.test(body)) return { name: assertModelName(body), alias: PRODUCTION_ALIAS };
  } catch (error) {
    throw new InvalidInputError(`invalid model reference "${text}": ${(error as Error).message} (write ${FORMS})`);
  }
  throw new InvalidInputError(`invalid model reference "${text}": write ${FORMS}`);
}

export function formatModelRef(ref: ModelRef): string {
  return 'version' in ref ? `${ref.name}:${ref.version}` : `${ref.name}@${ref.alias}`;
}

/** The version a reference points to now; NotFoundError naming the alias or version when there is none. */
export async function resolveModelRef(
  registry: Pick<ModelRegistry, 'getAlias' | 'getVersion'>,
  ref: ModelRef,
): Promise<ModelVersion> {
  if ('version' in ref) return registry.getVersion(ref.name, ref.version);
  const version = await registry.getAlias(ref.name, ref.alias);
  if (!version) throw new NotFoundError('model alias', `${ref.name}@${ref.alias} (no version has this alias)`);
  return version;
}
