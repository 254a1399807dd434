import type { Command } from 'commander';
import { action } from './action.js';
import { jobsArgument } from './backup.js';
import { withDatabase } from './common-options.js';
import { nextCommand } from '../util/next-command.js';

interface Options {
  databaseUrl?: string;
  ledgerSchema: string;
  backupDir: string;
  yes?: boolean;
  create?: boolean;
  otherDatabase?: boolean;
  sha256?: string;
  jobs?: number;
  pgBin?: string;
}

export function register(program: Command): void {
  const command = program
    .command('restore')
    .argument('<backup>', 'a dump file or folder, its .leapfrog.json sidecar, or a backup id from `leapfrog backups`')
    .description(
      "verify a backup's sha256 and restore it into the database (the same one or a new one); shows the release its ledger records",
    )
    .option('--yes', 'replace a database that is not empty (it is swapped only after the restore succeeded)')
    .option('--create', 'create the database named by --database-url when it does not exist')
    .option(
      '--other-database',
      'replace the database with a backup of another database (refused otherwise: see docs/restore.md)',
    )
    .option('--sha256 <hex>', 'expected digest, for a dump that has no sidecar')
    .option('--jobs <n>', 'pg_restore parallel jobs for a directory-format backup', jobsArgument)
    .option('--backup-dir <dir>', 'where to look up a backup id', 'backups')
    .option('--pg-bin <dir>', 'folder with pg_dump and pg_restore (default: $PG_BIN, then PATH)');
  withDatabase(command).action(
    action<Options>(async (options, cmd) => {
      const [ref] = cmd.args as [string];
      const { resolveDatabaseTarget } = await import('../pg/database-target.js');
      const { locateBackup } = await import('../backup/backup-store.js');
      const { verifyBackup, restoreBackup, restoredRelease } = await import('../backup/restore-backup.js');
      const { resolvePgTools } = await import('../backup/pg-tools.js');
      const { formatDuration } = await import('../util/duration.js');
      const { ledgerSchemaName } = await import('../ledger/ledger-schema-name.js');
      const target = resolveDatabaseTarget(options.databaseUrl);
      const schema = ledgerSchemaName(options.ledgerSchema);
      const tools = await resolvePgTools(options.pgBin);
      const backup = await locateBackup(ref, options.backupDir);
      const sha256 = await verifyBackup(backup, options.sha256);
      const outcome = await restoreBackup({
        backup,
        target,
        tools,
        yes: options.yes === true,
        create: options.create === true,
        jobs: options.jobs ?? 2,
        ledgerSchema: schema,
        otherDatabase: options.otherDatabase === true,
      });
      const release = await restoredRelease(target, schema);
      if (options.output === 'json') {
        process.stdout.write(
          `${JSON.stringify({ type: 'restore', backup: backup.path, sha256, database: outcome.database, action: outcome.action, durationMs: outcome.durationMs, release })}\n`,
        );
        return;
      }
      const how = {
        created: 'into the new database',
        replaced: 'replacing the database',
        'filled-empty': 'into the empty database',
      }[outcome.action];
      process.stdout.write(`sha256 verified: ${sha256}\n`);
      process.stdout.write(
        `restored ${backup.path} ${how} ${outcome.database} in ${formatDuration(outcome.durationMs)}\n`,
      );
      process.stdout.write(
        release === null
          ? `the restored database has no leapfrog ledger: adopt it with \`${nextCommand('baseline', '--release', 'X')}\`\n`
          : `the database is at release ${release.release} (${release.version}), as its restored ledger records; next: \`${nextCommand('status')}\`\n`,
      );
    }),
  );
}
