/**
 * Artifacts in an S3 bucket (AWS S3, MinIO or any S3-compatible server), under an optional key prefix:
 * `s3://bucket/optional/prefix`. Connection settings come from options, then the environment.
 */
import { NotFoundError, UnavailableError } from '../../errors.js';
import { createRequire } from 'node:module';
import type * as S3Sdk from '@aws-sdk/client-s3';
import { ArtifactNotFoundError, InvalidInputError } from '../errors.js';
import { assertArtifactKey, assertArtifactPrefix, compareArtifactKeys } from './keys.js';
import type { ArtifactRepository } from './repository.js';

export interface S3ArtifactOptions {
  /** e.g. http://127.0.0.1:9000 for MinIO; unset means AWS. */
  endpoint?: string;
  region?: string;
  /** Path-style URLs (http://host/bucket/key), needed by MinIO and most self-hosted servers. */
  forcePathStyle?: boolean;
  /** Unset: the SDK's default chain (environment, shared config, instance or task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * Reads AWS_ENDPOINT_URL_S3 (or MLDEPLOY_S3_ENDPOINT), AWS_REGION (or AWS_DEFAULT_REGION, default us-east-1),
 * MLDEPLOY_S3_FORCE_PATH_STYLE=true and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.
 */
export function s3OptionsFromEnv(env: NodeJS.ProcessEnv = process.env): S3ArtifactOptions {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return {
    endpoint: env.AWS_ENDPOINT_URL_S3 || env.MLDEPLOY_S3_ENDPOINT || undefined,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: /^(true|1|yes)$/i.test(env.MLDEPLOY_S3_FORCE_PATH_STYLE ?? ''),
    credentials:
      accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined }
        : undefined,
  };
}

/** Bucket naming rules of S3 (lower case, 3-63 characters). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Splits `s3://bucket/optional/prefix` into the bucket and a prefix that is '' or ends in '/'. */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]*)\/?(.*)$/i.exec(url);
  if (!match) throw new InvalidInputError(`artifact URL "${url}" is not of the form s3://bucket/optional/prefix`);
  const [, bucket, rest] = match;
  if (!BUCKET.test(bucket)) {
    throw new InvalidInputError(`artifact URL "${url}": "${bucket}" is not a valid S3 bucket name`);
  }
  const trimmed = rest.replace(/\/+$/, '');
  if (trimmed !== '') assertArtifactKey(trimmed);
  return { bucket, prefix: trimmed === '' ? '' : `${trimmed}/` };
}

// The SDK is large and only S3 users need it: it loads with the first S3 repository, not with this module (which
// every process imports through the artifacts index). It ships CommonJS, so the constructor can stay synchronous.
let sdk: typeof S3Sdk | undefined;

function loadSdk(): typeof S3Sdk {
  sdk ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof S3Sdk;
  return sdk;
}

export class S3ArtifactRepository implements ArtifactRepository {
  readonly url: string;
  readonly bucket: string;
  /** '' or a key prefix ending in '/', prepended to every key. */
  readonly prefix: string;
  private readonly client: S3Sdk.S3Client;
  private readonly sdk = loadSdk();

  constructor(url: string, options: S3ArtifactOptions = s3OptionsFromEnv()) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Url(url));
    this.url = `s3://${this.bucket}/${this.prefix}`;
    this.client = new this.sdk.S3Client({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: options.credentials,
      // Checksums only where S3 requires them: the newer default (CRC32 on every upload) breaks several
      // S3-compatible servers, and TLS plus Content-Length already guard the transfer.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Buffer | string, contentType?: string): Promise<void> {
    const Key = this.objectKey(key);
    await this.call('put', key, () =>
      this.client.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: typeof body === 'string' ? Buffer.from(body) : body,
          ContentType: contentType ?? 'application/octet-stream',
        }),
      ),
    );
  }

  async get(key: string): Promise<Buffer> {
    const Key = this.objectKey(key);
    return this.call('get', key, async () => {
      const response = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key }));
      if (!response.Body) return Buffer.alloc(0);
      const bytes = await response.Body.transformToByteArray();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    });
  }

  async exists(key: string): Promise<boolean> {
    const Key = this.objectKey(key);
    try {
      await this.call('head', key, () =>
        this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key })),
      );
      return true;
    } catch (error) {
      if (error instanceof ArtifactNotFoundError) return false;
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    assertArtifactPrefix(prefix);
    const keys: string[] = [];
    await this.call('list', prefix, async () => {
      const pages = this.sdk.paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: this.prefix + prefix },
      );
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key) keys.push(object.Key.slice(this.prefix.length));
        }
      }
    });
    return keys.sort(compareArtifactKeys);
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    await this.call('delete', key, () =>
      this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key })),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private objectKey(key: string): string {
    return this.prefix + assertArtifactKey(key);
  }

  /** Runs one S3 call, turning "no such key" into ArtifactNotFoundError and naming the object in other errors. */
  private async call<T>(operation: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      const err = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      if (err.name === 'NoSuchBucket') {
        throw new NotFoundError('S3 bucket', this.bucket, { message: `S3 bucket "${this.bucket}" does not exist (artifact store ${this.url})`, cause: error });
      }
      if (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404) {
        throw new ArtifactNotFoundError(key);
      }
      throw new UnavailableError(`S3 ${operation} of "${key}" in ${this.url} failed: ${err.message ?? err.name}`, { cause: error });
    }
  }
}
