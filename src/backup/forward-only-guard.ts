import semver from 'semver';
import { RefusedError } from '../errors/index.js';
import type { ReleaseRef } from '../planner/plan.js';
import type { KnownBackup } from './known-backup.js';
import { nextCommand } from '../util/next-command.js';

/**
 * The newest backup taken while the database was at `target` or older: restoring it is the
 * only way back to `target`, since a downgrade is never run. Undefined when none was kept.
 */
export function newestBackupAtOrBefore(backups: readonly KnownBackup[], target: ReleaseRef): KnownBackup | undefined {
  return backups
    .filter((b) => b.version !== null && semver.valid(b.version) !== null && semver.lte(b.version, target.version))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
}

/** `leapfrog restore …` exactly as the operator should type it (the URL is never printed; nextCommand carries the flags given). */
export function restoreCommand(backup: KnownBackup): string {
  return nextCommand('restore', backup.path, '--yes');
}

/**
 * The forward-only rule of the OpenStack "no downward migrations" spec: a request to go to an
 * older release is refused before anything runs (exit 5), and the error names the way back,
 * which is a restore of the backup taken before the database passed that release.
 * Returns undefined when `to` is not older than `current`.
 */
export function downgradeRefusal(current: ReleaseRef, to: ReleaseRef, backups: readonly KnownBackup[]): RefusedError | undefined {
  if (!semver.lt(to.version, current.version)) return undefined;
  const backup = newestBackupAtOrBefore(backups, to);
  const message = `refusing to downgrade: the database is at ${current.release} and ${to.release} is older; leapfrog only moves forward (no release has down migrations), so nothing was run`;
  if (backup === undefined) {
    return new RefusedError(message, {
      hint: `no backup taken at ${to.release} or earlier is known (ledger or backup folder); restore one you took yourself, e.g. pg_restore, or list them with \`${nextCommand('backups')}\``,
      details: { current: current.release, requested: to.release, backup: null },
    });
  }
  const then = backup.release !== null && backup.release !== to.release ? ` then \`${nextCommand('apply', '--to', to.release)}\` (the backup is at ${backup.release})` : '';
  return new RefusedError(`${message}; the way back is the backup ${backup.path} taken ${backup.createdAt.toISOString()} at ${backup.release ?? 'an unknown release'}`, {
    hint: `${restoreCommand(backup)}${then}`,
    details: {
      current: current.release,
      requested: to.release,
      backup: { path: backup.path, release: backup.release, createdAt: backup.createdAt.toISOString(), sha256: backup.sha256 },
      restoreCommand: restoreCommand(backup),
    },
  });
}
