/** The tracking layer's errors: the shared hierarchy (src/errors.ts), plus an invalid artifact key. */
import { InvalidInputError } from '../errors.js';

export { ArtifactNotFoundError, ConflictError, InvalidInputError, NotFoundError } from '../errors.js';

export class InvalidArtifactKeyError extends InvalidInputError {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`invalid artifact key ${JSON.stringify(key)}: ${problem}`, { code: 'invalid_artifact_key' });
  }
}
