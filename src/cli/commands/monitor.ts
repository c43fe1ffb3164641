/** `mldeploy monitor`: drift and live quality of a served model version, from its prediction log. */
import type { Command } from 'commander';
import { printTable } from '../output.js';
import { parseVersion, withContext } from '../session.js';
import type { MonitoringReport } from '../../monitor/types.js';

interface MonitorFlags {
  window?: string;
  from?: string;
  to?: string;
  version?: string;
  driftShare?: string;
  json?: boolean;
}

export function registerMonitorCommands(program: Command): void {
  program
    .command('monitor [name]')
    .description('drift per feature and of the predictions, dataset drift, realised and estimated quality of the served version')
    .option('--window <rows>', 'the newest N predictions (default 5000; not with --from/--to)')
    .option('--from <time>', 'a time range of the log instead (ISO-8601)')
    .option('--to <time>', 'end of the time range (ISO-8601)')
    .option('--version <n>', 'the version to watch (default: the production version)')
    .option('--drift-share <share>', 'dataset drift when at least this share of features drifts (default 0.5)')
    .option('--json', 'one JSON object')
    .action(async (nameArgument: string | undefined, flags: MonitorFlags) => {
      const window = flags.window === undefined ? undefined : wholeNumber(flags.window, '--window');
      const driftShare = flags.driftShare === undefined ? undefined : shareOf(flags.driftShare);
      const version = flags.version === undefined ? undefined : parseVersion(flags.version);
      const { computeMonitoringReport } = await import('../../monitor/report.js');
      await withContext(async (app) => {
        const name = nameArgument ?? app.config.modelName;
        const report = await computeMonitoringReport(app, name, { window, from: flags.from, to: flags.to, version, driftShare });
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else printReport(report);
      });
    });
}

function wholeNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a whole number of rows (1 or more), got "${text}"`);
  return n;
}

function shareOf(text: string): number {
  const n = Number(text);
  if (!(n > 0 && n <= 1)) throw new Error(`--drift-share must be a number in (0, 1], got "${text}"`);
  return n;
}

const fixed = (value: number | null | undefined, digits = 4) => (value === null || value === undefined ? 'n/a' : value.toFixed(digits));

function printReport(report: MonitoringReport): void {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const { model, window } = report;
  out(`${model.name} v${model.version}${model.alias ? ` (${model.alias})` : ''}`);
  if (report.message) {
    out(report.message);
    return;
  }
  out(`window: ${window.rows} predictions from ${window.from} to ${window.to}; reference: ${report.reference?.rows} training rows`);
  out();
  printTable(
    report.features.map((f) => ({
      feature: f.name,
      kind: f.kind,
      test: f.test ?? `none (${'reason' in f ? f.reason : ''})`,
      statistic: f.statistic === null ? '' : f.statistic.toPrecision(4),
      threshold: f.threshold ?? '',
      drifted: f.drifted ? 'DRIFT' : '',
      psi: f.test === null ? '' : f.psi.toFixed(4),
      missing: `${(f.missing.live * 100).toFixed(1)}% (train ${(f.missing.reference * 100).toFixed(1)}%)`,
    })),
  );
  out();
  const { drift } = report;
  out(`dataset drift: ${report.dataset_drift ? 'YES' : 'no'} (${drift.drifted} of ${drift.tested} features drifted; threshold share ${drift.threshold})`);
  if (report.prediction) {
    const p = report.prediction;
    out(`prediction drift: ${p.drifted ? 'YES' : 'no'} (${p.test} ${p.statistic.toPrecision(4)}, threshold ${p.threshold})`);
  }
  const { live, estimated, test } = report;
  const ci = live.roc_auc_ci ? ` (95% CI ${fixed(live.roc_auc_ci.lower, 3)}-${fixed(live.roc_auc_ci.upper, 3)})` : '';
  out(`live ROC AUC: ${fixed(live.roc_auc)}${ci} from ${live.labels} labels; accuracy ${fixed(live.accuracy)}; log loss ${fixed(live.log_loss)}`);
  out(`estimated ROC AUC (CBPE, no labels): ${fixed(estimated.roc_auc)}; test ROC AUC at training: ${fixed(test.roc_auc)}`);
}
