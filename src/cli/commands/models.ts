/** Registry commands: list models, show versions and history, promote through the gate (or force), roll back. */
import type { Command } from 'commander';
import { printTable } from '../output.js';
import { PRODUCTION_ALIAS } from '../../tracking/aliases.js';
import { parseVersion, withContext } from '../session.js';

/** Promotion pulls in the data and ML layers: loaded by the commands that run, not at start-up. */
const promotion = () => import('../../pipeline/promotion.js');

function headline(metrics: unknown): { val_auc?: number; test_auc?: number; estimator?: string } {
  const m = metrics as { estimator?: string; val?: { roc_auc?: number }; test?: { roc_auc?: number } };
  return { estimator: m?.estimator, val_auc: m?.val?.roc_auc, test_auc: m?.test?.roc_auc };
}

/** The reference profile `show` prints comes from monitoring, loaded when the command runs. */
const monitoring = () => import('../../monitor/index.js');

const fixed = (value: number | null) => (value === null ? 'n/a' : Number.isInteger(value) ? String(value) : value.toPrecision(5));

export function registerModelCommands(program: Command): void {
  const models = program.command('models').description('the model registry');
  models
    .command('list')
    .option('--json', 'JSON output')
    .action(async (flags: { json?: boolean }) => {
            await withContext(async (app) => {
        const list = await app.registry.listModels();
        if (flags.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else
          printTable(
            list.map((m) => ({
              name: m.name,
              latest: m.latestVersion?.version ?? '',
              production: m.aliases[PRODUCTION_ALIAS] ?? '',
              aliases: Object.entries(m.aliases).map(([a, v]) => `${a}=v${v}`).join(' '),
            })),
          );
      });
    });
  models
    .command('show <name>')
    .option('--json', 'JSON output')
    .action(async (name: string, flags: { json?: boolean }) => {
            await withContext(async (app) => {
        const [versions, events, production] = await Promise.all([
          app.registry.listVersions(name),
          app.registry.events(name),
          app.registry.getAlias(name, PRODUCTION_ALIAS),
        ]);
        // The reference profile monitoring compares live traffic with: the production version's, else the newest's.
        const profiled = production ?? versions[0];
        const { loadReferenceProfile, summariseProfile } = await monitoring();
        const profile = profiled ? await loadReferenceProfile(app, profiled) : null;
        const referenceProfile = profile ? { version: profiled.version, ...summariseProfile(profile) } : null;
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ name, production: production?.version ?? null, versions, events, referenceProfile }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${name}: production = ${production ? `v${production.version}` : 'none'}\n\nversions\n`);
        printTable(
          versions.map((v) => ({
            version: v.version,
            ...headline(v.metrics),
            run: v.runId,
            created: v.createdAt,
            production: production?.version === v.version ? '*' : '',
          })),
        );
        process.stdout.write('\nhistory\n');
        printTable(events.map((e) => ({ when: e.createdAt, action: e.action, version: e.version, reason: e.reason })));
        if (referenceProfile) {
          const { rows, createdAt, features, prediction } = referenceProfile;
          process.stdout.write(`\nreference profile of v${referenceProfile.version} (${rows} training rows, ${createdAt})\n`);
          printTable(
            [...features, prediction].map((f) => ({
              column: f === prediction ? `${f.name} (test split)` : f.name,
              kind: f.kind,
              rows: f.rows,
              missing: f.missing,
              summary:
                f.kind === 'numeric'
                  ? `mean ${fixed(f.mean)} sd ${fixed(f.std)} range ${fixed(f.min)} to ${fixed(f.max)}, ${f.bins} quantile bins`
                  : `${f.levels} levels: ${f.top.map(([level, n]) => `${level} ${n}`).join(', ')}`,
            })),
          );
        }
      });
    });
  models
    .command('promote <name> <version>')
    .description('give VERSION the production alias if it passes the promotion gate')
    .option('--force', 'skip the gate (recorded in the model history)')
    .option('--reason <text>', 'why, for the history')
    .action(async (name: string, versionText: string, flags: { force?: boolean; reason?: string }) => {
      const { promoteVersion } = await promotion();
      await withContext(async (app) => {
        const outcome = await promoteVersion(app, name, parseVersion(versionText), flags);
        process.stdout.write(`${outcome.reason}\n`);
        if (!outcome.promoted) process.exitCode = 1;
      });
    });
  models
    .command('rollback <name>')
    .description('move production back to the version it pointed to before')
    .action(async (name: string) => {
            await withContext(async (app) => {
        const version = await app.registry.rollback(name, PRODUCTION_ALIAS);
        process.stdout.write(`${name}: production is now v${version.version}\n`);
      });
    });
}
