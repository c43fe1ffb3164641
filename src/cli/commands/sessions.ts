/** Dashboard sessions: list them, revoke one or all (every server process and host sees it at once: they are rows). */
import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { SessionStore } from '../../serve/sessions.js';
import { printTable } from '../output.js';
import { withContext } from '../session.js';

export function registerSessionCommands(program: Command): void {
  const sessions = program.command('sessions').description('dashboard sessions: list, revoke');
  sessions
    .command('list')
    .description('live sessions, newest first')
    .option('--all', 'also expired and revoked sessions')
    .option('--json', 'JSON output')
    .action(async (flags: { all?: boolean; json?: boolean }) => {
      await withContext(async (app) => {
        const list = await new SessionStore(app.store.db).list({ all: flags.all });
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
          return;
        }
        printTable(
          list.map((s) => ({
            id: s.id,
            created: s.createdAt,
            expires: s.expiresAt,
            state: s.revokedAt ? `revoked ${s.revokedAt}` : s.active ? 'active' : 'expired',
            'logged in with': s.createdBy,
          })),
          ['id', 'created', 'expires', 'state', 'logged in with'],
        );
      });
    });
  sessions
    .command('revoke [id]')
    .description('end a session now (its id from `sessions list`, 8 or more digits), or every live one with --all')
    .option('--all', 'revoke every live session')
    .action(async (id: string | undefined, flags: { all?: boolean }) => {
      if ((id === undefined) === !flags.all) throw new InvalidInputError('give a session id (see: mldeploy sessions list) or --all, not both');
      await withContext(async (app) => {
        const store = new SessionStore(app.store.db);
        const revoked = await store.revoke(flags.all ? { all: true } : { prefix: id! });
        process.stdout.write(`revoked ${revoked} session${revoked === 1 ? '' : 's'}\n`);
      });
    });
}
