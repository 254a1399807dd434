import type { Command } from 'commander';
import { action } from './action.js';
import { withDatabase } from './common-options.js';

interface Options {
  databaseUrl?: string;
  ledgerSchema: string;
  backupDir: string;
}

export function register(program: Command): void {
  const command = program
    .command('backups')
    .description("list backups, newest first: from the database's ledger and from the sidecars in the backup folder (works without a database)")
    .option('--backup-dir <dir>', 'folder of backups and their .leapfrog.json sidecars', 'backups');
  withDatabase(command).action(
    action<Options>(async (options) => {
      const { resolveDatabaseTarget } = await import('../pg/database-target.js');
      const { knownBackupsOf } = await import('../backup/known-backups-of.js');
      const { formatBackupTable } = await import('../backup/format-backup.js');
      const { restoreCommand } = await import('../backup/forward-only-guard.js');
      // No database configured is fine: the sidecars alone list the backups.
      const hasDatabase = options.databaseUrl !== undefined || process.env['DATABASE_URL'] !== undefined || process.env['PGHOST'] !== undefined || process.env['PGDATABASE'] !== undefined;
      const target = hasDatabase ? resolveDatabaseTarget(options.databaseUrl) : undefined;
      const backups = await knownBackupsOf(target, options.ledgerSchema, options.backupDir);
      if (options.output === 'json') {
        for (const b of backups) {
          process.stdout.write(`${JSON.stringify({ type: 'backup', ...b, createdAt: b.createdAt.toISOString(), restoreCommand: restoreCommand(b) })}\n`);
        }
        process.stdout.write(`${JSON.stringify({ type: 'summary', count: backups.length })}\n`);
        return;
      }
      process.stdout.write(`${formatBackupTable(backups)}\n`);
      const newest = backups[0];
      if (newest) process.stdout.write(`\nto restore the newest: ${restoreCommand(newest)}\n`);
    }),
  );
}
