/**
 * The container and CI files, checked as far as a machine without Docker can: the Dockerfile's stages and runtime
 * settings, the compose file's services, ports, healthchecks and environment (every variable a documented, valid
 * setting; every interpolated value defined in .env.example, with no secret committed), and the GitHub workflows'
 * jobs and steps. The image itself is not built here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';
import { REPO_ROOT } from './helpers/cli.js';

const read = (file: string) => readFileSync(join(REPO_ROOT, file), 'utf8');
const yamlFile = (file: string) => parse(read(file), { merge: true }) as Record<string, any>;

/** Dockerfile instructions: [keyword, arguments], comments dropped and continuation lines joined. */
function dockerInstructions(text: string): Array<[string, string]> {
  const joined = text.replace(/\\\n/g, ' ').split('\n');
  return joined
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return [keyword.toUpperCase(), rest.join(' ')];
    });
}

/** The variables of the README's configuration table (the first column's `NAME`s). */
function readmeVariables(): Set<string> {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Configuration'));
  const names = new Set<string>();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.split('|')[1];
    for (const match of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(match[1]);
  }
  return names;
}

describe('Dockerfile', () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  const stages: Array<{ from: string; name?: string; lines: Array<[string, string]> }> = [];
  for (const [keyword, args] of instructions) {
    if (keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ from: match[1], name: match[2], lines: [] });
    } else stages.at(-1)?.lines.push([keyword, args]);
  }
  const runtime = stages.at(-1)!;
  const runs = (stage: (typeof stages)[number]) => stage.lines.filter(([k]) => k === 'RUN').map(([, a]) => a).join('\n');
  const stageBuilding = stages.find((s) => /npm run build/.test(runs(s)));

  it('builds with dev dependencies in one stage and runs with production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(stageBuilding, 'a stage runs npm run build').toBeDefined();
    expect(runs(stageBuilding!)).toMatch(/npm ci(?![^\n]*--omit=dev)/);
    const production = stages.find((s) => /npm ci[^\n]*--omit=dev/.test(runs(s)));
    expect(production, 'a stage installs with --omit=dev').toBeDefined();
    const copies = runtime.lines.filter(([k]) => k === 'COPY').map(([, a]) => a);
    expect(copies).toContainEqual(expect.stringMatching(new RegExp(`--from=${production!.name}\\s+/app/node_modules`)));
    expect(copies).toContainEqual(expect.stringMatching(new RegExp(`--from=${stageBuilding!.name}\\s+/app/dist`)));
    expect(copies.join('\n')).not.toMatch(new RegExp(`--from=${stageBuilding!.name}\\s+/app/node_modules`));
    expect(runtime.lines.some(([k]) => k === 'RUN' && /npm (ci|install)/.test(runtime.lines.map(([, a]) => a).join()))).toBe(false);
  });

  it('runs as a non-root user, checks /health, starts mldeploy and stops on SIGTERM', () => {
    const user = runtime.lines.filter(([k]) => k === 'USER').at(-1)?.[1];
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    const health = runtime.lines.find(([k]) => k === 'HEALTHCHECK')?.[1] ?? '';
    expect(health).toMatch(/\/health/);
    expect(runtime.lines.find(([k]) => k === 'ENTRYPOINT')?.[1]).toBe('["mldeploy"]');
    expect(runtime.lines.find(([k]) => k === 'STOPSIGNAL')?.[1]).toBe('SIGTERM');
    // The entrypoint's link points at the CLI the build writes.
    expect(runs(runtime)).toMatch(/ln -s \/app\/dist\/cli\/main\.js \/usr\/local\/bin\/mldeploy/);
    expect(JSON.parse(read('package.json')).bin.mldeploy).toBe('dist/cli/main.js');
  });

  it('copies only files that exist, and leaves secrets and local state out of the build context', () => {
    for (const stage of stages) {
      for (const [keyword, args] of stage.lines) {
        if (keyword !== 'COPY' || args.startsWith('--from')) continue;
        for (const source of args.split(/\s+/).slice(0, -1)) expect(existsSync(join(REPO_ROOT, source)), source).toBe(true);
      }
    }
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.env', '.mldeploy', 'dist']) expect(ignored).toContain(entry);
  });
});

describe('docker-compose.yaml', () => {
  const compose = yamlFile('docker-compose.yaml');
  const services = compose.services as Record<string, any>;
  const app = ['api', 'worker', 'scheduler'];
  const envExample = new Map(
    read('.env.example')
      .split('\n')
      .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  );

  it('has the engines, the bucket maker and the mldeploy roles with their replicas', () => {
    expect(Object.keys(services).sort()).toEqual(['api', 'minio', 'minio-bucket', 'postgres', 'redis', 'scheduler', 'worker']);
    expect(services.postgres.image).toMatch(/^postgres:/);
    expect(services.redis.image).toMatch(/^redis:/);
    expect(services.minio.image).toMatch(/^minio\/minio/);
    expect(services.api.deploy.replicas).toBe(2);
    expect(services.worker.deploy.replicas).toBe(2);
    expect(services.scheduler.deploy.replicas).toBe(1);
    expect(services.api.command.slice(0, 1)).toEqual(['serve']);
    expect(services.worker.command.slice(0, 1)).toEqual(['worker']);
    expect(services.scheduler.command).toEqual(['scheduler']);
  });

  it('starts mldeploy only once the database and Redis are healthy and the bucket exists', () => {
    for (const name of app) {
      expect(services[name].depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
        'minio-bucket': { condition: 'service_completed_successfully' },
      });
      expect(services[name].init, `${name} forwards SIGTERM`).toBe(true);
    }
    expect(services['minio-bucket'].depends_on).toEqual({ minio: { condition: 'service_healthy' } });
    const bucket = /s3:\/\/\$\{(\w+):-[^}]*\}/.exec(services.api.environment.MLDEPLOY_ARTIFACTS_URL)![1];
    expect(services['minio-bucket'].command.join(' ')).toMatch(new RegExp(`mc mb --ignore-existing "local/\\$\\$${bucket}"`));
  });

  it('checks the health of every long-running service that answers', () => {
    for (const name of ['postgres', 'redis', 'minio', 'api']) expect(services[name].healthcheck?.test, name).toBeDefined();
    expect(services.api.healthcheck.test.join(' ')).toContain('/health');
    // The API listens where its port mapping and its healthcheck point.
    const port = services.api.command[services.api.command.indexOf('--port') + 1];
    expect(services.api.ports).toEqual([`\${MLDEPLOY_API_PORTS:-8086-8087}:${port}`]);
    expect(services.api.healthcheck.test.join(' ')).toContain(`127.0.0.1:${port}/health`);
    expect(services.api.command).toContain('0.0.0.0');
  });

  it('gives mldeploy only documented settings, and a configuration that validates', () => {
    const documented = readmeVariables();
    for (const name of app) {
      for (const variable of Object.keys(services[name].environment)) {
        expect(documented.has(variable), `${variable} (service ${name}) is in the README's configuration table`).toBe(true);
        expect(CONFIG_VARIABLES.map((v) => v.name)).toContain(variable);
      }
    }
    // The values, with ${VAR:-default} and ${VAR:?error} filled from .env.example (placeholders for the secrets).
    const substitute = (value: string) =>
      value.replace(/\$\{(\w+)(?::[-?]([^}]*))?\}/g, (_, variable: string, fallback: string | undefined) => {
        const fromFile = envExample.get(variable);
        return fromFile ? fromFile : /PASSWORD/.test(variable) ? 'placeholder-secret' : (fallback ?? '');
      });
    const env = Object.fromEntries(Object.entries(services.api.environment as Record<string, string>).map(([k, v]) => [k, substitute(String(v))]));
    const config = loadConfig(env);
    expect(config.databaseUrl).toMatch(/^postgres:\/\/mldeploy:placeholder-secret@postgres:5432\/mldeploy$/);
    expect(config.queueUrl).toBe('redis://redis:6379');
    expect(config.artifactsUrl).toBe('s3://mldeploy/artifacts');
  });

  it('takes every interpolated value from .env.example, which commits no secret', () => {
    const text = read('docker-compose.yaml');
    const used = new Set([...text.matchAll(/\$\{(\w+)/g)].map((m) => m[1]));
    for (const variable of used) expect(envExample.has(variable), `${variable} is in .env.example`).toBe(true);
    for (const [variable, value] of envExample) {
      if (/PASSWORD|SECRET|KEYS?$|TOKEN/.test(variable)) expect(value, `${variable} is empty in .env.example`).toBe('');
    }
    expect(read('.gitignore').split('\n')).toContain('.env');
    // Secrets are required, with a message that says where to set them.
    expect(text).toMatch(/POSTGRES_PASSWORD:\?set POSTGRES_PASSWORD in \.env/);
    expect(text).toMatch(/MINIO_ROOT_PASSWORD:\?set MINIO_ROOT_PASSWORD in \.env/);
  });
});

describe('GitHub workflows', () => {
  it('tests on every push and pull request against PostgreSQL, MariaDB and Redis service containers', () => {
    const workflow = yamlFile('.github/workflows/test.yml');
    expect(Object.keys(workflow.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    const job = workflow.jobs.test;
    expect(job.services.postgres.image).toMatch(/^postgres:/);
    expect(job.services.mariadb.image).toMatch(/^mariadb:/);
    expect(job.services.redis.image).toMatch(/^redis:/);
    // The test URLs point at the ports the services publish.
    const published = (service: string) => job.services[service].ports.map((p: string) => p.split(':')[0]);
    expect(published('postgres')).toContain(new URL(job.env.MLDEPLOY_TEST_POSTGRES_URL).port);
    expect(published('mariadb')).toContain(new URL(job.env.MLDEPLOY_TEST_MYSQL_URL).port);
    expect(published('redis')).toContain(new URL(job.env.MLDEPLOY_TEST_REDIS_URL).port);
    expect(job.env.CI).toBe('true');
    const steps = job.steps as Array<{ uses?: string; run?: string; with?: Record<string, unknown> }>;
    expect(steps[0].uses).toMatch(/^actions\/checkout@/);
    const node = steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(Number(node?.with?.['node-version'])).toBeGreaterThanOrEqual(Number(/\d+/.exec(JSON.parse(read('package.json')).engines.node)![0]));
    const commands = steps.map((s) => s.run ?? '').join('\n');
    expect(commands).toMatch(/npm ci/);
    expect(commands).toMatch(/npm test/);
    expect(commands.indexOf('npm ci')).toBeLessThan(commands.indexOf('npm test'));
  });

  it('builds and publishes the image on a version tag with credentials from secrets', () => {
    const workflow = yamlFile('.github/workflows/release.yml');
    expect(workflow.on.push.tags).toEqual(['v*']);
    const steps = workflow.jobs.image.steps as Array<{ uses?: string; with?: Record<string, string> }>;
    const login = steps.find((s) => s.uses?.startsWith('docker/login-action@'));
    expect(login?.with?.username).toMatch(/^\$\{\{ secrets\.\w+ \}\}$/);
    expect(login?.with?.password).toMatch(/^\$\{\{ secrets\.\w+ \}\}$/);
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    expect(build?.with?.context).toBe('.');
    expect(build?.with?.push).toBe(true);
    expect(steps.findIndex((s) => s === login)).toBeLessThan(steps.findIndex((s) => s === build));
    expect(existsSync(join(REPO_ROOT, 'Dockerfile'))).toBe(true);
  });
});
