export type { ArtifactRepository } from './repository.js';
export { openArtifacts } from './open.js';
export { FileArtifactRepository } from './file.js';
export { S3ArtifactRepository, parseS3Url, type S3ArtifactOptions } from './s3.js';
export { assertArtifactKey, assertArtifactPrefix, joinArtifactKey, compareArtifactKeys } from './keys.js';
