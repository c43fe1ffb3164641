/** Name rules of the tracking layer, each failing with a message that names the field and the value. */
import { InvalidInputError } from './errors.js';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Experiment and run names: free text, 1-255 characters, no control characters. */
export function assertDisplayName(value: string, field: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 255 || CONTROL.test(value)) {
    throw new InvalidInputError(
      `invalid ${field} ${JSON.stringify(value)}: use 1-255 characters without control characters`,
    );
  }
  return value;
}

// MLflow's rule for param, metric and tag keys: letters, digits, _ - . / and spaces.
const DATA_KEY = /^[A-Za-z0-9_\-. /]{1,250}$/;

/** Param, metric and tag keys. */
export function assertDataKey(key: string, field: 'param' | 'metric' | 'tag'): string {
  if (!DATA_KEY.test(key) || key.startsWith('/') || key.split('/').includes('..')) {
    throw new InvalidInputError(
      `invalid ${field} key ${JSON.stringify(key)}: use letters, digits, _ - . / and spaces (at most 250 characters)`,
    );
  }
  return key;
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** Registered model names: letters, digits, _ - . (starting with a letter or digit), at most 255 characters. */
export function assertModelName(name: string): string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name)) {
    throw new InvalidInputError(
      `invalid model name ${JSON.stringify(name)}: use letters, digits, _ - . (starting with a letter or digit), at most 255 characters`,
    );
  }
  return name;
}

const ALIAS = /^[A-Za-z][A-Za-z0-9_-]{0,254}$/;

/**
 * Alias names: a letter, then letters, digits, _ or -. "latest" and "v<number>" are reserved, as in MLflow,
 * because they already mean "newest version" and "version <number>" when a model is looked up.
 */
export function assertAliasName(alias: string): string {
  if (typeof alias !== 'string' || !ALIAS.test(alias) || alias.toLowerCase() === 'latest' || /^v\d+$/i.test(alias)) {
    throw new InvalidInputError(
      `invalid alias ${JSON.stringify(alias)}: use a letter then letters, digits, _ or - ("latest" and "v<number>" are reserved)`,
    );
  }
  return alias;
}

export function assertVersion(version: number): number {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new InvalidInputError(`invalid model version ${JSON.stringify(version)}: use a whole number from 1`);
  }
  return version;
}
