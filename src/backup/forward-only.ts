import semver from 'semver';
import type { BackupRecord as LedgerBackupRow } from '../ledger/ledger.js';
import type { ReleaseRef } from '../planner/plan.js';
import { nextCommand } from '../util/next-command.js';
import { DowngradeRefusedError } from './backup-errors.js';
import type { KnownBackup, SkippedSidecar } from './backup-store.js';
import { skippedSidecarLine } from './format-backup.js';

/**
 * leapfrog only moves forward (the OpenStack "no downward migrations" rule): a request for an
 * older release is refused before anything runs, and every way back is a restore of the backup
 * taken before the database passed that release. This module chooses that backup and words the
 * refusal, and the way back after a green-light check went red behind schema changes. It reads
 * nothing (forward-only-guard.ts applies it to a database), so the runner can use it.
 */

/**
 * The newest backup taken while the database was at `target` or older: restoring it is the
 * only way back to `target`, since a downgrade is never run. Undefined when none was kept.
 * `backups` must be the database's own (knownBackupsOf): another database's dump is never a way back.
 */
export function newestBackupAtOrBefore(backups: readonly KnownBackup[], target: ReleaseRef): KnownBackup | undefined {
  return backups
    .filter((b) => b.version !== null && semver.valid(b.version) !== null && semver.lte(b.version, target.version))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
}

/** `leapfrog restore …` exactly as the operator should type it (the URL stays in the environment). */
export function restoreCommand(backup: Pick<KnownBackup, 'path'>): string {
  return nextCommand('restore', backup.path, '--yes');
}

/**
 * The refusal of a request to go to an older release (exit 5), naming the way back. Returns
 * undefined when `to` is not older than `current`.
 */
export function downgradeRefusal(
  current: ReleaseRef,
  to: ReleaseRef,
  backups: readonly KnownBackup[],
  skipped: readonly SkippedSidecar[] = [],
): DowngradeRefusedError | undefined {
  if (!semver.lt(to.version, current.version)) return undefined;
  const backup = newestBackupAtOrBefore(backups, to);
  // A broken sidecar of some other backup is reported beside the refusal, never instead of it.
  const warnings = skipped.map((s) => `\n${skippedSidecarLine(s)}`).join('');
  const message = `refusing to downgrade: the database is at ${current.release} and ${to.release} is older; leapfrog only moves forward (no release has down migrations), so nothing was run`;
  if (backup === undefined) {
    return new DowngradeRefusedError(
      `${message}${warnings}`,
      `no backup of this database taken at ${to.release} or earlier is known (ledger or backup folder); restore one you took yourself, e.g. pg_restore, or list them with \`${nextCommand('backups', '--all')}\``,
      { current: current.release, requested: to.release, backup: null, restoreCommand: null, skippedSidecars: skipped },
    );
  }
  const then =
    backup.release !== null && backup.release !== to.release
      ? ` then \`${nextCommand('apply', '--to', to.release)}\` (the backup is at ${backup.release})`
      : '';
  const command = restoreCommand(backup);
  return new DowngradeRefusedError(
    `${message}; the way back is the backup ${backup.path} taken ${backup.createdAt.toISOString()} at ${backup.release ?? 'an unknown release'}${warnings}`,
    `${command}${then}`,
    {
      current: current.release,
      requested: to.release,
      backup: {
        path: backup.path,
        release: backup.release,
        createdAt: backup.createdAt.toISOString(),
        sha256: backup.sha256,
      },
      restoreCommand: command,
      skippedSidecars: skipped,
    },
  );
}

/**
 * The way back after a green-light check went red behind schema (and data) changes: the
 * database already carries the new release's schema, so re-running the check is only one of
 * two ways out; the other is the pre-upgrade backup. `backups` are the rows of the database's
 * own ledger (so never another database's), `at` the release the hop started from: the newest
 * backup taken at that release or before is the state before this upgrade began.
 * Returns the sentence to add to the hint, or null when the ledger knows no such backup.
 */
export function wayBackAfterRedCheck(backups: readonly LedgerBackupRow[], at: ReleaseRef): string | null {
  const backup = backups
    .filter(
      (b) => semver.valid(b.version) !== null && semver.valid(at.version) !== null && semver.lte(b.version, at.version),
    )
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  if (backup === undefined) return null;
  return `or go back to ${backup.release} with the pre-upgrade backup ${backup.path}: \`${restoreCommand(backup)}\``;
}

/** The hint's second half when no backup is recorded (taken with --no-backup, or by hand). */
export const NO_RECORDED_BACKUP =
  'or go back by restoring the backup you took before the upgrade (the ledger records none)';
