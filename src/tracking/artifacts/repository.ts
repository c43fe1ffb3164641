/** The storage contract every artifact backend meets (a local folder, an S3 bucket), in MLflow's sense. */
export interface ArtifactRepository {
  /** Where the artifacts live, e.g. `file:///srv/mldeploy/artifacts` or `s3://bucket/prefix`; never holds secrets. */
  readonly url: string;
  /** Writes the whole object; readers never see a partial write. Replaces an existing object. */
  put(key: string, body: Buffer | string, contentType?: string): Promise<void>;
  /** The object's bytes; throws ArtifactNotFoundError when the key does not exist. */
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  /** Every key starting with `prefix` ('' for all), in UTF-8 byte order (S3's order). */
  list(prefix: string): Promise<string[]>;
  /** Removes the object; deleting a missing key is not an error (S3 semantics). */
  delete(key: string): Promise<void>;
  /**
   * Checks that the store can be used: the folder exists (or can be made) and is writable, or the bucket exists and
   * answers. Throws ArtifactStoreError naming the folder or bucket. Processes call it at start, before any task runs.
   */
  check(): Promise<void>;
  /** Releases connections (S3); optional because a folder holds none. */
  close?(): Promise<void>;
}
