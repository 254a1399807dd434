import type { Command } from 'commander';
import { action } from './action.js';
import { withDatabase } from './common-options.js';

interface Options {
  databaseUrl?: string;
  ledgerSchema: string;
  backupDir: string;
  all?: boolean;
}

export function register(program: Command): void {
  const command = program
    .command('backups')
    .description(
      "list the database's backups, newest first: from its ledger and from the sidecars in the backup folder (without a database: every backup in the folder)",
    )
    .option('--backup-dir <dir>', 'folder of backups and their .leapfrog.json sidecars', 'backups')
    .option('--all', "also list the folder's backups of other databases (never offered as a way back)");
  withDatabase(command).action(
    action<Options>(async (options) => {
      const { resolveDatabaseTarget } = await import('../pg/database-target.js');
      const { knownBackupsOf } = await import('../backup/backup-store.js');
      const { formatBackupTable, skippedSidecarLine } = await import('../backup/format-backup.js');
      const { restoreCommand } = await import('../backup/forward-only.js');
      const { describeIdentity } = await import('../backup/database-identity.js');
      // No database configured is fine: the sidecars alone list the backups.
      const hasDatabase =
        options.databaseUrl !== undefined ||
        process.env['DATABASE_URL'] !== undefined ||
        process.env['PGHOST'] !== undefined ||
        process.env['PGDATABASE'] !== undefined;
      const target = hasDatabase ? resolveDatabaseTarget(options.databaseUrl) : undefined;
      const known = await knownBackupsOf(target, options.ledgerSchema, options.backupDir);
      const listed =
        options.all === true
          ? [...known.backups, ...known.others].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
          : known.backups;
      // Only a backup of this database (or any, when no database was given) gets a restore command.
      const own = new Set(known.backups);
      for (const s of known.skipped) process.stderr.write(`${skippedSidecarLine(s)}\n`);
      if (options.output === 'json') {
        for (const b of listed) {
          process.stdout.write(
            `${JSON.stringify({ type: 'backup', ...b, createdAt: b.createdAt.toISOString(), ownDatabase: own.has(b), restoreCommand: own.has(b) ? restoreCommand(b) : null })}\n`,
          );
        }
        process.stdout.write(
          `${JSON.stringify({ type: 'summary', count: listed.length, otherDatabases: known.others.length, skipped: known.skipped })}\n`,
        );
        return;
      }
      if (known.identity !== null)
        process.stdout.write(
          `backups of ${describeIdentity(known.identity)}${options.all === true ? ' and of other databases' : ''}:\n`,
        );
      process.stdout.write(`${formatBackupTable(listed)}\n`);
      if (known.others.length > 0 && options.all !== true) {
        process.stdout.write(
          `(${known.others.length} backup(s) of other databases in ${options.backupDir} not shown: add --all)\n`,
        );
      }
      const newest = known.backups[0];
      if (newest) process.stdout.write(`\nto restore the newest: ${restoreCommand(newest)}\n`);
    }),
  );
}
