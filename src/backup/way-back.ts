import semver from 'semver';
import type { BackupRecord } from '../ledger/ledger.js';
import type { ReleaseRef } from '../planner/plan.js';
import { nextCommand } from '../util/next-command.js';

/**
 * The way back after a green-light check went red behind schema (and data) changes: the
 * database already carries the new release's schema, so re-running the check is only one of
 * two ways out; the other is the pre-upgrade backup. `backups` are the rows of the database's
 * own ledger (so never another database's), `at` the release the hop started from: the newest
 * backup taken at that release or before is the state before this upgrade began.
 * Returns the sentence to add to the hint, or null when the ledger knows no such backup.
 */
export function wayBackAfterRedCheck(backups: readonly BackupRecord[], at: ReleaseRef): string | null {
  const backup = backups
    .filter((b) => semver.valid(b.version) !== null && semver.valid(at.version) !== null && semver.lte(b.version, at.version))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  if (backup === undefined) return null;
  return `or go back to ${backup.release} with the pre-upgrade backup ${backup.path}: \`${nextCommand('restore', backup.path, '--yes')}\``;
}

/** The hint's second half when no backup is recorded (taken with --no-backup, or by hand). */
export const NO_RECORDED_BACKUP = 'or go back by restoring the backup you took before the upgrade (the ledger records none)';
