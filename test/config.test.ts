/**
 * The configuration object: defaults, flags over variables, errors that name the variable or flag, the README's table
 * documenting exactly the variables it reads, and no other module reading settings from process.env.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';
import { REPO_ROOT } from './helpers/cli.js';

describe('loadConfig', () => {
  it('puts the embedded defaults under MLDEPLOY_HOME', () => {
    const config = loadConfig({ MLDEPLOY_HOME: '/srv/ml' });
    expect(config).toMatchObject({
      home: '/srv/ml',
      databaseUrl: 'sqlite:/srv/ml/mldeploy.db',
      artifactsUrl: pathToFileURL('/srv/ml/artifacts').href,
      queueUrl: undefined,
      queuePrefix: 'mldeploy',
      port: 8086,
      host: '127.0.0.1',
      modelName: 'clients_model',
      logLevel: 'info',
      s3: { region: 'us-east-1', forcePathStyle: false },
    });
    expect(loadConfig({}).home).toBe(resolve('.mldeploy'));
  });

  it('lets flags win over their variables, and PORT over MLDEPLOY_PORT', () => {
    const env = { MLDEPLOY_DATABASE_URL: 'postgres://db/x', PORT: '9000', MLDEPLOY_PORT: '9100', MLDEPLOY_HOST: '0.0.0.0' };
    expect(loadConfig(env)).toMatchObject({ databaseUrl: 'postgres://db/x', port: 9000, host: '0.0.0.0' });
    expect(loadConfig({ MLDEPLOY_PORT: '9100' }).port).toBe(9100);
    const flagged = loadConfig(env, { databaseUrl: 'mysql://db/y', port: '9200', host: '127.0.0.2', queueUrl: 'redis://q:6379' });
    expect(flagged).toMatchObject({ databaseUrl: 'mysql://db/y', port: 9200, host: '127.0.0.2', queueUrl: 'redis://q:6379' });
  });

  it('names the variable or flag of a bad value, and never prints a password', () => {
    const cases: Array<[Record<string, string>, Record<string, string>, string]> = [
      [{ PORT: 'http' }, {}, 'PORT: expected a port number from 0 to 65535, got "http"'],
      [{ MLDEPLOY_PORT: '70000' }, {}, 'MLDEPLOY_PORT: expected a port number'],
      [{}, { port: '-1' }, '--port: expected a port number'],
      [{ MLDEPLOY_QUEUE_URL: 'http://redis:6379' }, {}, 'MLDEPLOY_QUEUE_URL: expected redis://host:port or rediss://host:port, got "http://redis:6379"'],
      [{}, { queueUrl: 'localhost:6379' }, '--queue-url: expected redis://'],
      [{ MLDEPLOY_DATABASE_URL: 'oracle://u:hunter2@db/x' }, {}, 'MLDEPLOY_DATABASE_URL: expected sqlite:<file>, postgres://... or mysql://..., got "oracle://***@db/x"'],
      [{ MLDEPLOY_ARTIFACTS_URL: '/plain/path' }, {}, 'MLDEPLOY_ARTIFACTS_URL: expected file:<folder> or s3://bucket/prefix'],
      [{ LOG_LEVEL: 'verbose' }, {}, 'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
      [{ MLDEPLOY_MODEL_NAME: 'bad name' }, {}, 'MLDEPLOY_MODEL_NAME: invalid model name "bad name"'],
      [{ MLDEPLOY_S3_FORCE_PATH_STYLE: 'maybe' }, {}, 'MLDEPLOY_S3_FORCE_PATH_STYLE: expected true or false, got "maybe"'],
      [{ MLDEPLOY_S3_ENDPOINT: 'minio:9000' }, {}, 'MLDEPLOY_S3_ENDPOINT: expected an http:// or https:// URL'],
      [{ AWS_ACCESS_KEY_ID: 'id' }, {}, 'AWS_SECRET_ACCESS_KEY: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together'],
      [{ MLDEPLOY_QUEUE_PREFIX: 'a b' }, {}, 'MLDEPLOY_QUEUE_PREFIX: expected letters, digits'],
    ];
    for (const [env, flags, message] of cases) {
      let error: Error | undefined;
      try {
        loadConfig(env, flags);
      } catch (caught) {
        error = caught as Error;
      }
      expect(error?.message, JSON.stringify(env)).toContain(message);
      expect(error?.message).not.toContain('hunter2');
    }
  });

  it('is documented in the README: one table row names each variable it reads, and only those', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
    const documented = new Set<string>();
    for (const line of section.split('\n').filter((l) => l.startsWith('| `'))) {
      for (const match of line.split('|')[1].matchAll(/`([A-Z][A-Z0-9_]*)`/g)) documented.add(match[1]);
    }
    expect([...documented].sort()).toEqual(CONFIG_VARIABLES.map((v) => v.name).sort());
  });

  it('is the only reader of settings in process.env', () => {
    // What may still touch process.env: the config itself, the CLI handing it the environment, the debug switch for stack traces, and the API cluster
    // handing its admin token to the processes it forks.
    const allowed = new Set(['config.ts', 'cli/session.ts', 'cli/main.ts', 'serve/cluster.ts']);
    const offenders: string[] = [];
    const walk = (dir: string, prefix: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(join(dir, entry.name), rel);
        else if (entry.name.endsWith('.ts') && !allowed.has(rel) && /process\.env\b/.test(readFileSync(join(dir, entry.name), 'utf8'))) {
          offenders.push(rel);
        }
      }
    };
    walk(join(REPO_ROOT, 'src'), '');
    expect(offenders).toEqual([]);
  });
});
