import { ensureBackupDir } from '../backup/backup-store.js';
import type { BackupRecord } from '../backup/backup-store.js';
import { backupSettingsFrom, type BackupFlags } from '../backup/take-backup.js';
import { assertPgDumpCanDump } from '../backup/pg-tools.js';
import { pgToolVersion, serverVersionFromNum } from '../backup/pg-tools.js';
import { isPreUpgradeBackupDue } from '../backup/take-backup.js';
import { takeRecordedBackup } from '../backup/take-backup.js';
import type { PreparedBackup } from '../backup/take-backup.js';
import type { Ledger, RunMode } from '../ledger/ledger.js';
import type { LedgerSession } from '../ledger/open-ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import type { ReleaseRef } from '../planner/plan.js';
import type { PreUpgradeBackup } from '../runner/run-plan.js';

/** The pre-upgrade backup as `step`/`apply` ask for it (docs/restore.md). */
export interface BackupOption extends BackupFlags {
  /** true: always (`--backup`); undefined: when due (automatic); `--no-backup` passes no option at all. */
  always?: boolean;
  /** Told about each backup taken, after its ledger row is written (the CLI prints it). */
  onRecorded?: (record: BackupRecord) => void;
}

/**
 * The guard "pg_dump usable", before anything runs: pg_dump exists and is not older than the
 * server. The server's version is read on the run's ledger session: no connection of its own.
 */
export async function preparePreUpgradeBackup(
  target: DatabaseTarget,
  session: LedgerSession,
  option: BackupOption,
): Promise<PreparedBackup> {
  const prepared = await assertPgDumpUsable(target, session, option);
  await ensureBackupDir(prepared.settings.dir);
  return prepared;
}

/** The same guard without creating the backup folder: `apply --dry-run` checks, and writes nothing. */
export async function assertPgDumpUsable(
  target: DatabaseTarget,
  session: LedgerSession,
  option: BackupOption,
): Promise<PreparedBackup> {
  const settings = await backupSettingsFrom(option);
  const pgDump = await pgToolVersion(settings.tools.pgDump, settings.tools.source);
  const rows = await session.query<{ num: string; text: string }>(
    "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
  );
  const server = serverVersionFromNum(Number(rows[0]?.num ?? 0), (rows[0]?.text ?? '').split(' ')[0] ?? '');
  assertPgDumpCanDump(pgDump, server, settings.tools);
  return { target, settings, server, pgDump };
}

/**
 * The object the runner gets: it calls `takeIfDue` once, after a green preflight and before the
 * first command that can change the database; the policy (pre-upgrade-backup-policy.ts) says
 * whether this run's backup is due, and the dump is taken and recorded in the ledger.
 */
export function preUpgradeBackup(
  prepared: PreparedBackup,
  context: { ledger: Ledger; mode: RunMode; planFrom: ReleaseRef; option: BackupOption },
): PreUpgradeBackup {
  const { ledger, mode, planFrom, option } = context;
  return {
    async takeIfDue(moment) {
      const due =
        option.always === true || (await isPreUpgradeBackupDue(ledger, mode, moment.current, planFrom, moment.release));
      if (!due) return;
      const record = await takeRecordedBackup(prepared, ledger, moment.runId, { onEvent: moment.emit });
      option.onRecorded?.(record);
    },
  };
}
