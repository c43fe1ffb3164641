/** Registry commands: list models, show versions and history, promote through the gate (or force), roll back. */
import type { Command } from 'commander';
import { printTable } from '../output.js';
import { randomUUID } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PRODUCTION_ALIAS } from '../../tracking/aliases.js';
import { InvalidInputError } from '../../tracking/errors.js';
import { assertModelName } from '../../tracking/validate.js';
import { parseVersion, withContext } from '../session.js';

/** Promotion and comparison pull in the data and ML layers: loaded by the commands that run, not at start-up. */
const promotion = () => import('../../pipeline/promotion.js');
const comparison = () => import('../../pipeline/model-compare.js');

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
            const { getSnapshot } = await import('../../data/index.js');
      await withContext(async (app) => {
        const models = await app.registry.listModels();
        // The data set a model learns from: its latest version's snapshot (a model trained on several shows the newest).
        const list = await Promise.all(
          models.map(async (m) => {
            const snapshotId = m.latestVersion?.datasetSnapshotId;
            const snapshot = snapshotId ? await getSnapshot(app.store, snapshotId).catch(() => undefined) : undefined;
            return { ...m, dataset: snapshot?.dataset ?? null, target: snapshot?.target ?? null };
          }),
        );
        if (flags.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else
          printTable(
            list.map((m) => ({
              name: m.name,
              dataset: m.dataset ?? '(imported)',
              target: m.target ?? '',
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
    .command('compare <name> <v1> <v2>')
    .description("score two versions on the newer one's test split (rows the older trained on left out), side by side, with DeLong's test")
    .option('--json', 'JSON output')
    .action(async (name: string, v1: string, v2: string, flags: { json?: boolean }) => {
      const { compareVersions } = await comparison();
      await withContext(async (app) => {
        const result = await compareVersions(app, name, parseVersion(v1), parseVersion(v2));
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          return;
        }
        const [older, newer] = result.versions;
        const { rows, excluded, snapshotId } = result.testSplit;
        process.stdout.write(
          `${name} v${older} vs v${newer} on ${rows} test rows of v${newer}'s snapshot ${snapshotId}` +
            `${excluded > 0 ? ` (${excluded} rows v${older} trained on left out)` : ''}\n\n`,
        );
        const keys = ['roc_auc', 'accuracy', 'precision', 'recall', 'f1', 'log_loss'] as const;
        printTable(
          keys.map((key) => {
            const a = result.metrics[0][key] as number;
            const b = result.metrics[1][key] as number;
            return { metric: key, [`v${older}`]: a, [`v${newer}`]: b, difference: b - a };
          }),
        );
        const d = result.rocAuc;
        process.stdout.write(
          `\nROC AUC difference v${newer} - v${older}: ${d.difference.toFixed(4)} (95% CI ${d.lower.toFixed(4)} to ${d.upper.toFixed(4)}), ` +
            `DeLong z = ${d.z.toFixed(2)}, p = ${d.pValue < 1e-4 ? d.pValue.toExponential(1) : d.pValue.toFixed(4)}` +
            `${d.pValue < 0.05 ? '' : ': not a significant difference at 5%'}\n`,
        );
      });
    });
  models
    .command('delete <name> <version>')
    .description('remove a version and its model file (refused while an alias points to it); its history stays')
    .option('--reason <text>', 'why, for the history')
    .action(async (name: string, versionText: string, flags: { reason?: string }) => {
      await withContext(async (app) => {
        const deleted = await app.registry.deleteVersion(name, parseVersion(versionText), flags.reason ?? 'deleted from the command line');
        // A run's model file may back other versions too (one registered twice): it goes with the last of them.
        const others = await app.registry.versionsWithArtifact(deleted.artifactKey);
        if (others.length === 0) await app.artifacts.delete(deleted.artifactKey);
        process.stdout.write(`${name}: v${deleted.version} deleted${others.length === 0 ? ` with its model file ${deleted.artifactKey}` : ''}\n`);
      });
    });
  models
    .command('export <name> <version>')
    .description('write a version\'s model file (JSON data: signature, preprocessing, estimator, threshold)')
    .requiredOption('--out <file>', 'where to write it')
    .option('--format <format>', 'mldeploy (the native JSON, docs/MODEL_FORMAT.md) or onnx (the whole pipeline as an ONNX graph)', 'mldeploy')
    .action(async (name: string, versionText: string, flags: { out: string; format: string }) => {
      if (flags.format !== 'mldeploy' && flags.format !== 'onnx') {
        throw new InvalidInputError(`--format must be mldeploy or onnx, got "${flags.format}"`);
      }
      await withContext(async (app) => {
        const entry = await app.registry.getVersion(name, parseVersion(versionText));
        const bytes = await app.artifacts.get(entry.artifactKey);
        if (flags.format === 'onnx') {
          const [{ parseModelFile }, { exportOnnx }] = await Promise.all([import('../../ml/model-format.js'), import('../../ml/export/onnx.js')]);
          const onnx = exportOnnx(parseModelFile(bytes.toString('utf8')), { modelName: name, modelVersion: entry.version });
          await writeFileAtomically(flags.out, Buffer.from(onnx.buffer, onnx.byteOffset, onnx.byteLength));
        } else {
          await writeFileAtomically(flags.out, bytes);
        }
        process.stdout.write(`${name} v${entry.version} -> ${flags.out} (${flags.format})\n`);
      });
    });
  models
    .command('import <file>')
    .description('register a model file (mldeploy format) as a new version; promote it with --force (it has no test split)')
    .option('--name <name>', 'the registered model (default: the default model name)')
    .action(async (file: string, flags: { name?: string }) => {
      const { parseModelFile } = await import('../../ml/model-format.js');
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new InvalidInputError(`cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
      });
      const model = parseModelFile(text);
      await withContext(async (app) => {
        const name = assertModelName(flags.name ?? app.config.modelName);
        const key = `models/${name}/imported/${randomUUID()}/model.json`;
        await app.artifacts.put(key, JSON.stringify(model.toJSON()), 'application/json');
        const version = await app.registry.registerVersion({
          name,
          artifactKey: key,
          metrics: { imported_from: basename(file), ...(model.metadata?.metrics ? { at_export: model.metadata.metrics } : {}) },
        });
        process.stdout.write(
          `${basename(file)} registered as ${name} v${version.version}; ` +
            `serve it with: mldeploy models promote ${name} ${version.version} --force --reason "..."\n`,
        );
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

/** The whole file or nothing under its name. */
async function writeFileAtomically(file: string, bytes: Buffer): Promise<void> {
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  await writeFile(temp, bytes);
  await rename(temp, file);
}
