/**
 * Artifacts in a local folder. Writes are atomic (temp file, fsync, rename, fsync of the folder) so a reader or a
 * crash never leaves half a model file behind a key.
 */
import { randomBytes } from 'node:crypto';
import { access, constants, mkdir, open, readFile, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ArtifactNotFoundError, ArtifactStoreError, InvalidArtifactKeyError } from '../errors.js';
import { assertArtifactKey, assertArtifactPrefix, compareArtifactKeys } from './keys.js';
import type { ArtifactRepository } from './repository.js';

/** Temp files are staged here, inside the root so the final rename stays on one file system. */
const STAGING = '.mldeploy-staging';

export class FileArtifactRepository implements ArtifactRepository {
  readonly url: string;
  /** Absolute path of the folder holding the artifacts. */
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  async put(key: string, body: Buffer | string, _contentType?: string): Promise<void> {
    const target = this.pathOf(key);
    const staging = join(this.root, STAGING);
    await mkdir(staging, { recursive: true });
    const temp = join(staging, `${randomBytes(8).toString('hex')}.partial`);
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await this.moveIntoPlace(key, temp, target);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async check(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
    } catch (error) {
      throw new ArtifactStoreError(this.root, `cannot use the folder: ${(error as Error).message}`, { cause: error });
    }
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      if (isMissing(error)) throw new ArtifactNotFoundError(key, this.root);
      throw error;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertArtifactPrefix(prefix);
    // Walk only the folder the prefix points into, then filter by the prefix as S3 does.
    const folder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const keys: string[] = [];
    await this.walk(folder, keys);
    return keys.filter((key) => key.startsWith(prefix)).sort(compareArtifactKeys);
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await this.pruneEmptyFolders(dirname(path));
  }

  private pathOf(key: string): string {
    assertArtifactKey(key);
    if (key === STAGING || key.startsWith(`${STAGING}/`)) {
      throw new InvalidArtifactKeyError(key, `"${STAGING}" is reserved for temporary files`);
    }
    const path = join(this.root, ...key.split('/'));
    // Belt and braces: the key rules already make this impossible.
    const rel = relative(this.root, path);
    if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
      throw new InvalidArtifactKeyError(key, 'resolves outside the artifact root');
    }
    return path;
  }

  private async moveIntoPlace(key: string, temp: string, target: string): Promise<void> {
    const folder = dirname(target);
    for (let attempt = 0; ; attempt++) {
      try {
        await mkdir(folder, { recursive: true });
        await rename(temp, target);
        break;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        // A concurrent delete() may prune the folder between mkdir and rename: make it again, once.
        if (code === 'ENOENT' && attempt === 0) continue;
        if (code === 'EEXIST' || code === 'ENOTDIR') {
          throw new InvalidArtifactKeyError(key, 'a parent of this key is already stored as an artifact');
        }
        if (code === 'EISDIR' || code === 'ENOTEMPTY') {
          throw new InvalidArtifactKeyError(key, 'this key is already a folder of other artifacts');
        }
        throw error;
      }
    }
    await syncFolder(folder);
  }

  private async walk(folder: string, keys: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(folder === '' ? this.root : join(this.root, ...folder.split('/')), { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const entry of entries) {
      const key = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (key === STAGING) continue;
      // Symbolic links are skipped: the repository never makes them, and following one could leave the root.
      if (entry.isDirectory()) await this.walk(key, keys);
      else if (entry.isFile()) keys.push(key);
    }
  }

  private async pruneEmptyFolders(folder: string): Promise<void> {
    let current = folder;
    while (current !== this.root && current.startsWith(this.root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
      current = dirname(current);
    }
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

/** Makes the rename durable; folders cannot be opened for fsync on Windows, where rename is already journaled. */
async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
