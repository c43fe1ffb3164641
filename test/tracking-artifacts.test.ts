import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, win32 } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import {
  ArtifactNotFoundError,
  FileArtifactRepository,
  InvalidArtifactKeyError,
  S3ArtifactRepository,
  assertArtifactKey,
  openArtifacts,
  parseS3Url,
  type ArtifactRepository,
  type S3ArtifactOptions,
} from '../src/tracking/index.js';

// s3rver ships no type declarations; this is the part of its API the tests use.
interface S3rverServer {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => S3rverServer;

const HOSTILE_KEYS = [
  '',
  '/etc/passwd',
  '../outside.txt',
  'a/../../outside.txt',
  'a/..',
  '..',
  '.',
  './a',
  'a/./b',
  'a//b',
  'a/',
  '...',
  '.. ',
  'a\\..\\..\\outside.txt',
  '..\\outside.txt',
  'C:\\Windows\\win.ini',
  'c:/outside.txt',
  'a/C:outside.txt',
  'a\u0000b',
  'a\nb',
  'a\u007fb',
  '%2e%2e/outside.txt',
  '%2E%2E/outside.txt',
  'a/%2e%2e/%2e%2e/outside.txt',
  '%252e%252e/outside.txt',
  '%25252e%25252e/outside.txt',
  'a%2f..%2f..%2foutside.txt',
  'a%2fb',
  'a%5cb',
  '..%5coutside.txt',
  '%2fetc/passwd',
  'a/%00b',
  '.%2e/outside.txt',
  'x'.repeat(1025),
];

describe('artifact keys', () => {
  it('accepts ordinary relative keys unchanged', () => {
    for (const key of [
      'runs/0190/artifacts/model.json',
      'a b/c-d_e.f',
      'report%202024.txt',
      'données/é.csv',
      '.gitignore',
      'a/..b',
      'a/b..',
      'v1.2.3/model.tar.gz',
    ]) {
      expect(assertArtifactKey(key)).toBe(key);
    }
  });

  it('rejects every hostile key with an error naming it', () => {
    for (const key of HOSTILE_KEYS) {
      expect(() => assertArtifactKey(key), key).toThrow(InvalidArtifactKeyError);
      expect(() => assertArtifactKey(key)).toThrow(`invalid artifact key ${JSON.stringify(key)}`);
    }
    expect(() => assertArtifactKey('%2e%2e/x')).toThrow(/".." segment once percent-decoded/);
    expect(() => assertArtifactKey('a%2fb')).toThrow(/percent-encoded "\/"/);
  });

  it('never lets an accepted key resolve outside the root, on POSIX or Windows path rules', () => {
    // Random keys over the characters that matter for traversal; a seeded generator keeps failures reproducible.
    const alphabet = ['.', '.', '/', '\\', '%', '2', 'e', 'E', 'f', '5', 'c', ':', 'C', 'a', ' ', '\u0000'];
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let accepted = 0;
    const escaped: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const length = 1 + Math.floor(random() * 10);
      let key = '';
      for (let j = 0; j < length; j++) key += alphabet[Math.floor(random() * alphabet.length)];
      let ok = true;
      try {
        assertArtifactKey(key);
      } catch {
        ok = false;
      }
      if (!ok) continue;
      accepted++;
      const posixPath = posix.resolve('/root', ...key.split('/'));
      const windowsPath = win32.resolve('D:\\root', ...key.split('/'));
      if (!posixPath.startsWith('/root/') || !windowsPath.startsWith('D:\\root\\')) escaped.push(key);
    }
    expect(escaped).toEqual([]);
    expect(accepted).toBeGreaterThan(500);
  });
});

describe('openArtifacts', () => {
  it('opens folders from file: URLs and buckets from s3: URLs', () => {
    const abs = openArtifacts('file:///srv/mldeploy/artifacts');
    expect(abs).toBeInstanceOf(FileArtifactRepository);
    expect((abs as FileArtifactRepository).root).toBe('/srv/mldeploy/artifacts');
    expect(abs.url).toBe('file:///srv/mldeploy/artifacts');
    const rel = openArtifacts('file:some/dir') as FileArtifactRepository;
    expect(rel.root).toBe(join(process.cwd(), 'some/dir'));

    const s3 = openArtifacts('s3://my-bucket/team/models/', { region: 'eu-west-1' }) as S3ArtifactRepository;
    expect(s3).toBeInstanceOf(S3ArtifactRepository);
    expect([s3.bucket, s3.prefix, s3.url]).toEqual(['my-bucket', 'team/models/', 's3://my-bucket/team/models/']);
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
  });

  it('rejects unknown schemes, remote file hosts, bad buckets and unsafe prefixes', () => {
    expect(() => openArtifacts('/plain/path')).toThrow(/unsupported artifact URL "\/plain\/path"/);
    expect(() => openArtifacts('gs://bucket/x')).toThrow(/unsupported artifact URL/);
    expect(() => openArtifacts('file://server/share')).toThrow(/remote host/);
    expect(() => openArtifacts('s3://Bad_Bucket/x')).toThrow(/not a valid S3 bucket name/);
    expect(() => openArtifacts('s3://bucket/../x')).toThrow(InvalidArtifactKeyError);
  });

  it('reads S3 settings from the environment', () => {
    expect(
      loadConfig({
        MLDEPLOY_S3_ENDPOINT: 'http://minio:9000',
        MLDEPLOY_S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'id',
        AWS_SECRET_ACCESS_KEY: 'secret',
      }).s3,
    ).toEqual({
      endpoint: 'http://minio:9000',
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
    const aws = loadConfig({ AWS_ENDPOINT_URL_S3: 'https://s3.example', AWS_REGION: 'eu-west-3' }).s3;
    expect([aws.endpoint, aws.region, aws.forcePathStyle, aws.credentials]).toEqual([
      'https://s3.example',
      'eu-west-3',
      false,
      undefined,
    ]);
  });
});

/** Starts s3rver on a random local port with a fresh bucket; the contract suite runs against it. */
async function startS3(): Promise<{ options: S3ArtifactOptions; bucket: string; stop(): Promise<void> }> {
  const directory = mkdtempSync(join(tmpdir(), 'mldeploy-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
  const { port } = await server.run();
  const options: S3ArtifactOptions = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  };
  const bucket = 'mldeploy-artifacts';
  const admin = new S3Client(options);
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  admin.destroy();
  return {
    options,
    bucket,
    async stop() {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

interface Backend {
  name: string;
  open(): Promise<ArtifactRepository>;
}

let s3: Awaited<ReturnType<typeof startS3>>;
let fileRoots: string;
let repoCount = 0;
beforeAll(async () => {
  s3 = await startS3();
  fileRoots = mkdtempSync(join(tmpdir(), 'mldeploy-artifacts-'));
});
afterAll(async () => {
  await s3?.stop();
  rmSync(fileRoots, { recursive: true, force: true });
});

const repositories: Backend[] = [
  { name: 'file', open: async () => openArtifacts(pathToFileURL(join(fileRoots, `repo${++repoCount}`)).href) },
  // Each S3 repository gets its own prefix in the shared bucket, which also exercises prefix isolation.
  { name: 's3', open: async () => openArtifacts(`s3://${s3.bucket}/suite/repo${++repoCount}`, s3.options) },
];

describe.each(repositories)('artifact repository contract on $name', (backend) => {
  let repo: ArtifactRepository;
  beforeAll(async () => {
    repo = await backend.open();
  });
  afterAll(async () => {
    await repo.close?.();
  });

  it('stores bytes and text exactly and overwrites in place', async () => {
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await repo.put('roundtrip/bytes.bin', allBytes);
    await repo.put('roundtrip/text.json', '{"name":"modèle ✓"}', 'application/json');
    await repo.put('roundtrip/empty', Buffer.alloc(0));
    expect((await repo.get('roundtrip/bytes.bin')).equals(allBytes)).toBe(true);
    expect((await repo.get('roundtrip/text.json')).toString('utf8')).toBe('{"name":"modèle ✓"}');
    expect((await repo.get('roundtrip/empty')).length).toBe(0);
    await repo.put('roundtrip/text.json', 'v2');
    expect((await repo.get('roundtrip/text.json')).toString()).toBe('v2');
  });

  it('reports missing keys with a typed error and exists() = false', async () => {
    await expect(repo.get('missing/model.json')).rejects.toThrow(ArtifactNotFoundError);
    await expect(repo.get('missing/model.json')).rejects.toThrow('artifact not found: missing/model.json');
    expect(await repo.exists('missing/model.json')).toBe(false);
    await repo.put('present/x', 'x');
    expect(await repo.exists('present/x')).toBe(true);
    // A "folder" is not an artifact.
    expect(await repo.exists('present')).toBe(false);
  });

  it('lists by string prefix, in byte order, relative to the repository root', async () => {
    for (const key of ['runs/r1/b.txt', 'runs/r1/sub/a.txt', 'runs/r10/c.txt', 'models/m.json']) {
      await repo.put(`list/${key}`, key);
    }
    expect(await repo.list('list/runs/r1/')).toEqual(['list/runs/r1/b.txt', 'list/runs/r1/sub/a.txt']);
    expect(await repo.list('list/runs/r1')).toEqual([
      'list/runs/r1/b.txt',
      'list/runs/r1/sub/a.txt',
      'list/runs/r10/c.txt',
    ]);
    expect(await repo.list('list/')).toEqual([
      'list/models/m.json',
      'list/runs/r1/b.txt',
      'list/runs/r1/sub/a.txt',
      'list/runs/r10/c.txt',
    ]);
    expect(await repo.list('list/nothing/')).toEqual([]);
    const all = await repo.list('');
    expect(all).toContain('list/models/m.json');
    expect([...all].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))).toEqual(all);
  });

  it('deletes, and deleting a missing key is a no-op', async () => {
    await repo.put('del/a.txt', 'a');
    await repo.put('del/deep/b.txt', 'b');
    await repo.delete('del/deep/b.txt');
    await repo.delete('del/deep/b.txt');
    expect(await repo.exists('del/deep/b.txt')).toBe(false);
    expect(await repo.list('del/')).toEqual(['del/a.txt']);
  });

  it('refuses hostile keys in every method before touching storage', async () => {
    for (const key of HOSTILE_KEYS) {
      await expect(repo.put(key, 'x'), key).rejects.toThrow(InvalidArtifactKeyError);
      await expect(repo.get(key), key).rejects.toThrow(InvalidArtifactKeyError);
      await expect(repo.exists(key), key).rejects.toThrow(InvalidArtifactKeyError);
      await expect(repo.delete(key), key).rejects.toThrow(InvalidArtifactKeyError);
    }
    await expect(repo.list('../')).rejects.toThrow(InvalidArtifactKeyError);
    await expect(repo.list('/etc')).rejects.toThrow(InvalidArtifactKeyError);
  });

  it('leaves a whole value behind when writers race on one key', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * 1024, 65 + i));
    await Promise.all(bodies.map((body) => repo.put('race/model.bin', body)));
    const stored = await repo.get('race/model.bin');
    expect(bodies.some((body) => body.equals(stored))).toBe(true);
  });
});

describe('S3 prefixes', () => {
  it('keep repositories in one bucket apart', async () => {
    const a = openArtifacts(`s3://${s3.bucket}/iso/a`, s3.options);
    const b = openArtifacts(`s3://${s3.bucket}/iso/ab`, s3.options);
    await a.put('k.txt', 'from a');
    await b.put('k.txt', 'from b');
    expect(await a.list('')).toEqual(['k.txt']);
    expect((await a.get('k.txt')).toString()).toBe('from a');
    expect((await b.get('k.txt')).toString()).toBe('from b');
    await Promise.all([a.close?.(), b.close?.()]);
  });

  it('names the bucket when it does not exist', async () => {
    const repo = openArtifacts('s3://no-such-bucket/x', s3.options);
    await expect(repo.put('k', 'v')).rejects.toThrow(/S3 bucket "no-such-bucket" does not exist/);
    // The start-up check finds it before anything is written, and says where it looked.
    await expect(repo.check()).rejects.toThrow(
      `artifact store s3://no-such-bucket/x/ (MLDEPLOY_ARTIFACTS_URL): S3 bucket "no-such-bucket" does not exist at ${s3.options.endpoint}`,
    );
    await repo.close?.();
    const good = openArtifacts(`s3://${s3.bucket}/checked`, s3.options);
    await expect(good.check()).resolves.toBeUndefined();
    await expect(good.get('models/missing.json')).rejects.toThrow(`artifact not found: models/missing.json in s3://${s3.bucket}/checked/`);
    await good.close?.();
  });
});

describe('file repository', () => {
  it('names its folder when an artifact is missing, and checks that it can write there', async () => {
    const sandbox = mkdtempSync(join(tmpdir(), 'mldeploy-check-'));
    try {
      const repo = new FileArtifactRepository(join(sandbox, 'artifacts'));
      await expect(repo.check()).resolves.toBeUndefined();
      await expect(repo.get('runs/r1/model.json')).rejects.toThrow(`artifact not found: runs/r1/model.json in ${join(sandbox, 'artifacts')}`);
      writeFileSync(join(sandbox, 'a-file'), 'not a folder');
      await expect(new FileArtifactRepository(join(sandbox, 'a-file', 'artifacts')).check()).rejects.toThrow(
        `artifact store ${join(sandbox, 'a-file', 'artifacts')} (MLDEPLOY_ARTIFACTS_URL): cannot use the folder`,
      );
    } finally {
      rmSync(sandbox, { recursive: true, force: true });
    }
  });

  it('keeps every write inside its root, whatever the key', async () => {
    const sandbox = mkdtempSync(join(tmpdir(), 'mldeploy-escape-'));
    try {
      const root = join(sandbox, 'deep', 'root');
      mkdirSync(root, { recursive: true });
      writeFileSync(join(sandbox, 'outside.txt'), 'untouched');
      const repo = new FileArtifactRepository(root);
      for (const key of HOSTILE_KEYS) await expect(repo.put(key, 'pwned')).rejects.toThrow(InvalidArtifactKeyError);
      // Nothing was written anywhere: the root is still an empty folder and the file beside it is untouched.
      expect(listTree(sandbox)).toEqual(['deep/root/', 'outside.txt']);
      expect(readFileSync(join(sandbox, 'outside.txt'), 'utf8')).toBe('untouched');
    } finally {
      rmSync(sandbox, { recursive: true, force: true });
    }
  });

  it('writes atomically through a staging folder it hides and cleans', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mldeploy-file-'));
    try {
      const repo = new FileArtifactRepository(root);
      await repo.put('runs/r1/model.json', '{}');
      expect(readdirSync(join(root, '.mldeploy-staging'))).toEqual([]);
      expect(await repo.list('')).toEqual(['runs/r1/model.json']);
      await expect(repo.put('.mldeploy-staging/x', 'x')).rejects.toThrow(/reserved for temporary files/);
      await repo.delete('runs/r1/model.json');
      // Empty folders go with their last artifact.
      expect(readdirSync(root)).toEqual(['.mldeploy-staging']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('explains a key that collides with a folder or a file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'mldeploy-file-'));
    try {
      const repo = new FileArtifactRepository(root);
      await repo.put('a/b', 'x');
      await expect(repo.put('a', 'y')).rejects.toThrow(/already a folder of other artifacts/);
      await expect(repo.put('a/b/c', 'y')).rejects.toThrow(/a parent of this key is already stored as an artifact/);
      expect(readdirSync(join(root, '.mldeploy-staging'))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** Every file (and empty folder, with a trailing '/') under dir, relative and sorted. */
function listTree(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = listTree(path, base);
      out.push(...(inner.length ? inner : [`${relative(base, path)}/`]));
    } else out.push(relative(base, path));
  }
  return out.sort();
}
