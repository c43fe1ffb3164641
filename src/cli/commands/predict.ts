/** `mldeploy predict`: score a CSV file with a registered model version, into a CSV file. */
import type { Command } from 'commander';
import { withContext } from '../session.js';

export function registerPredictCommand(program: Command): void {
  program
    .command('predict')
    .description('score a CSV file with a registered model, streaming (any size), into a CSV file')
    .requiredOption('--data <file>', 'the CSV file to score (a header line with the model\'s feature columns)')
    .requiredOption('--out <file>', 'where the predictions go (written whole or not at all)')
    .option('--model <ref>', 'NAME, NAME@ALIAS or NAME:VERSION (default: the default model\'s production version)')
    .option('--id-column <column>', 'input column copied to the output to identify rows (default: the model\'s row id column, else the line number)')
    .option('--rejects <file>', 'where rows that cannot be scored go, with the reason (default: OUT.rejects.csv)')
    .option('--json', 'print the summary as JSON')
    .action(async (flags: { data: string; out: string; model?: string; idColumn?: string; rejects?: string; json?: boolean }) => {
      const [{ parseModelRef, resolveModelRef, formatModelRef }, { parseModelFile }, { scoreCsvFile }] = await Promise.all([
        import('../../tracking/model-ref.js'),
        import('../../ml/model-format.js'),
        import('../../serve/score-file.js'),
      ]);
      await withContext(async (app) => {
        const ref = parseModelRef(flags.model ?? app.config.modelName);
        const version = await resolveModelRef(app.registry, ref);
        const model = parseModelFile((await app.artifacts.get(version.artifactKey)).toString('utf8'));
        const bar = app.progress?.(`scoring ${formatModelRef(ref)}`);
        const result = await scoreCsvFile({
          model,
          modelName: version.name,
          modelVersion: version.version,
          input: flags.data,
          output: flags.out,
          rejects: flags.rejects,
          idColumn: flags.idColumn,
          onProgress: (done, total, rows) => bar?.update(done, total, rows),
        }).finally(() => bar?.stop());
        const summary = { model: { name: version.name, version: version.version }, ...result };
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        } else {
          process.stdout.write(
            `scored ${result.rows.toLocaleString('en-US')} rows with ${version.name} v${version.version} -> ${result.output}\n` +
              (result.rejected > 0
                ? `${result.rejected.toLocaleString('en-US')} rows could not be scored -> ${result.rejects} (line, reason, record)\n`
                : ''),
          );
        }
        if (result.rows === 0 && result.rejected > 0) process.exitCode = 1;
      });
    });
}
