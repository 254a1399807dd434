import semver from 'semver';
import { RefusedError } from '../errors/index.js';
import type { ReleaseRef } from '../planner/plan.js';
import { nextCommand } from '../util/next-command.js';
import { skippedSidecarLine, type SkippedSidecar } from './backup-sidecar.js';
import type { KnownBackup } from './known-backup.js';

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
 * The forward-only rule of the OpenStack "no downward migrations" spec: a request to go to an
 * older release is refused before anything runs (exit 5), and the error names the way back,
 * which is a restore of the backup taken before the database passed that release.
 * Returns undefined when `to` is not older than `current`.
 */
export function downgradeRefusal(
  current: ReleaseRef,
  to: ReleaseRef,
  backups: readonly KnownBackup[],
  skipped: readonly SkippedSidecar[] = [],
): RefusedError | undefined {
  if (!semver.lt(to.version, current.version)) return undefined;
  const backup = newestBackupAtOrBefore(backups, to);
  // A broken sidecar of some other backup is reported beside the refusal, never instead of it.
  const warnings = skipped.map((s) => `\n${skippedSidecarLine(s)}`).join('');
  const message = `refusing to downgrade: the database is at ${current.release} and ${to.release} is older; leapfrog only moves forward (no release has down migrations), so nothing was run`;
  if (backup === undefined) {
    return new RefusedError(`${message}${warnings}`, {
      hint: `no backup of this database taken at ${to.release} or earlier is known (ledger or backup folder); restore one you took yourself, e.g. pg_restore, or list them with \`${nextCommand('backups', '--all')}\``,
      details: { current: current.release, requested: to.release, backup: null, skippedSidecars: skipped },
    });
  }
  const then = backup.release !== null && backup.release !== to.release ? ` then \`${nextCommand('apply', '--to', to.release)}\` (the backup is at ${backup.release})` : '';
  return new RefusedError(`${message}; the way back is the backup ${backup.path} taken ${backup.createdAt.toISOString()} at ${backup.release ?? 'an unknown release'}${warnings}`, {
    hint: `${restoreCommand(backup)}${then}`,
    details: {
      current: current.release,
      requested: to.release,
      backup: { path: backup.path, release: backup.release, createdAt: backup.createdAt.toISOString(), sha256: backup.sha256 },
      restoreCommand: restoreCommand(backup),
      skippedSidecars: skipped,
    },
  });
}
