/** Picks the artifact repository from a URL, as MLflow does with its artifact URIs. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidInputError } from '../errors.js';
import { FileArtifactRepository } from './file.js';
import type { ArtifactRepository } from './repository.js';
import { S3ArtifactRepository, type S3ArtifactOptions } from './s3.js';

/**
 * `file:///abs/dir`, `file:relative/dir` (from the working directory) or `s3://bucket/optional/prefix`.
 * For S3, `s3` says how to reach the server (the configuration's `s3`).
 */
export function openArtifacts(url: string, s3: S3ArtifactOptions = {}): ArtifactRepository {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file') return new FileArtifactRepository(filePath(url));
  if (scheme === 's3') return new S3ArtifactRepository(url, s3);
  throw new InvalidInputError(
    `unsupported artifact URL "${url}" (expected file:///absolute/dir, file:relative/dir or s3://bucket/prefix)`,
  );
}

function filePath(url: string): string {
  if (url.startsWith('file://')) {
    const host = url.slice('file://'.length).split('/')[0];
    if (host !== '' && host !== 'localhost') {
      throw new InvalidInputError(`artifact URL "${url}" names a remote host; use file:///absolute/dir`);
    }
    return fileURLToPath(url);
  }
  const rest = decodeURIComponent(url.slice('file:'.length));
  if (rest === '') throw new InvalidInputError(`artifact URL "${url}" names no folder (e.g. file:./artifacts)`);
  return resolve(rest);
}
