/**
 * Typed errors of the tracking layer, so callers (the API, the CLI) can map them to 404 / 400 / 409 without
 * parsing messages.
 */

/** A run, experiment, model, model version, alias or artifact that does not exist. */
export class NotFoundError extends Error {
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} not found: ${id}`);
    this.name = 'NotFoundError';
  }
}

export class ArtifactNotFoundError extends NotFoundError {
  /** `store`: the repository's URL (the folder or bucket looked in), so a misconfigured store shows where it looked. */
  constructor(
    readonly key: string,
    readonly store?: string,
  ) {
    super('artifact', key);
    this.name = 'ArtifactNotFoundError';
    if (store !== undefined) this.message = `artifact not found: ${key} in ${store}`;
  }
}

/** The artifact store cannot be used at all (no such bucket, a folder that cannot be written). */
export class ArtifactStoreError extends Error {
  constructor(
    readonly store: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`artifact store ${store} (MLDEPLOY_ARTIFACTS_URL): ${problem}`, options);
    this.name = 'ArtifactStoreError';
  }
}

/** Input that breaks a rule (a bad name, a non-finite metric, an unsafe artifact key). */
export class InvalidInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

export class InvalidArtifactKeyError extends InvalidInputError {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`invalid artifact key ${JSON.stringify(key)}: ${problem}`);
    this.name = 'InvalidArtifactKeyError';
  }
}

/** A request that contradicts stored state: re-logging a param with another value, nothing to roll back to. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
