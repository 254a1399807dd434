import { InvalidArgumentError, type Command } from 'commander';
import { action } from './action.js';
import { withDatabase } from './common-options.js';

export interface BackupCliOptions {
  backupDir: string;
  backupJobs?: number;
  pgBin?: string;
}

/** A positive integer flag; anything else is a usage error (exit 2). */
export function jobsArgument(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new InvalidArgumentError(`"${value}" is not a number of jobs from 1 to 64`);
  return n;
}

/** `--backup-dir`, `--backup-jobs`, `--pg-bin`: on backup, step and apply. */
export function withBackupOptions(command: Command): Command {
  return command
    .option('--backup-dir <dir>', 'folder for backups and their .leapfrog.json sidecars', 'backups')
    .option('--backup-jobs <n>', 'pg_dump parallel jobs; more than 1 writes the directory format', jobsArgument)
    .option('--pg-bin <dir>', 'folder with pg_dump and pg_restore (default: $PG_BIN, then PATH)');
}

interface Options extends BackupCliOptions {
  databaseUrl?: string;
  ledgerSchema: string;
}

export function register(program: Command): void {
  const command = program
    .command('backup')
    .description("take a backup now (pg_dump), recorded in the database's ledger and in a sidecar next to the dump");
  withBackupOptions(withDatabase(command)).action(
    action<Options>(async (options) => {
      const { resolveDatabaseTarget } = await import('../pg/database-target.js');
      const { backupSettingsFrom } = await import('../backup/take-backup.js');
      const { prepareBackup } = await import('../backup/take-backup.js');
      const { takeRecordedBackup } = await import('../backup/take-backup.js');
      const { openPostgresLedger } = await import('../ledger/open-ledger.js');
      const { formatBackupLine } = await import('../backup/format-backup.js');
      const target = resolveDatabaseTarget(options.databaseUrl);
      const prepared = await prepareBackup(target, await backupSettingsFrom(options));
      // Never creates a ledger; one that exists is brought up to date (as apply would), so an
      // older ledger gains its database identity before the backup records it.
      const existing = await openPostgresLedger(target, { schema: options.ledgerSchema, migrate: false });
      await existing?.[Symbol.asyncDispose]();
      const ledger =
        existing === null ? null : await openPostgresLedger(target, { schema: options.ledgerSchema, migrate: true });
      try {
        const record = await takeRecordedBackup(prepared, ledger, null);
        if (options.output === 'json') {
          process.stdout.write(
            `${JSON.stringify({ type: 'backup', ...record, inLedger: ledger !== null && record.release !== null })}\n`,
          );
        } else {
          process.stdout.write(`${formatBackupLine(record)}\n`);
          if (ledger === null)
            process.stdout.write(`  (the database has no leapfrog ledger: recorded in the sidecar only)\n`);
        }
      } finally {
        await ledger?.[Symbol.asyncDispose]();
      }
    }),
  );
}

/** `--backup` / `--no-backup` plus the backup flags, for step and apply. */
export function withPreUpgradeBackupOptions(command: Command): Command {
  return withBackupOptions(
    command
      .option('--backup', 'take the pre-upgrade backup even when resuming (default: automatic, see docs/restore.md)')
      .option('--no-backup', 'do not take the pre-upgrade backup (only if you took one yourself)'),
  );
}

export interface SafetyCliOptions extends BackupCliOptions {
  backup?: boolean;
  output: 'text' | 'json';
}
