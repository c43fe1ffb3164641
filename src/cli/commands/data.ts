/** Data helpers: write the built-in sample data set. */
import { InvalidInputError } from '../../errors.js';
import type { Command } from 'commander';

export function registerDataCommands(program: Command): void {
  program
    .command('sample <file>')
    .description("write a synthetic loan data set with the original's schema (target Loan_Approval)")
    .option('--rows <n>', 'rows', '5000')
    .option('--seed <n>', 'seed', '42')
    .action(async (file: string, flags: { rows: string; seed: string }) => {
      const rows = Number(flags.rows);
      const seed = Number(flags.seed);
      if (!Number.isInteger(rows) || rows < 1) throw new InvalidInputError(`--rows must be a positive integer, got "${flags.rows}"`);
      if (!Number.isInteger(seed)) throw new InvalidInputError(`--seed must be an integer, got "${flags.seed}"`);
      const { writeLoanSample } = await import('../../data/sample.js');
      await writeLoanSample(file, { rows, seed });
      process.stdout.write(`wrote ${rows} rows to ${file}\n`);
    });
}
