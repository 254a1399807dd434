import semver from 'semver';
import { findRelease } from '../catalog/find-release.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import { LeapfrogError } from '../errors/index.js';
import type { BackupRecord as LedgerBackupRow } from '../ledger/ledger.js';
import { openPostgresLedger } from '../ledger/open-ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { readPlanFile } from '../plan-file/plan-file.js';
import type { ReleaseRef } from '../planner/plan.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import { DowngradeRefusedError } from './backup-errors.js';
import { knownBackupsOf, skippedSidecarLine, type KnownBackup, type SkippedSidecar } from './backup-store.js';

/**
 * leapfrog only moves forward (the OpenStack "no downward migrations" rule): a request for an
 * older release is refused before anything runs, and every way back is a restore of the backup
 * taken before the database passed that release. This module chooses that backup and words the
 * refusal, and the way back after a green-light check went red behind schema changes.
 */

const log = logger('backup');

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
  const then = backup.release !== null && backup.release !== to.release ? ` then \`${nextCommand('apply', '--to', to.release)}\` (the backup is at ${backup.release})` : '';
  const command = restoreCommand(backup);
  return new DowngradeRefusedError(
    `${message}; the way back is the backup ${backup.path} taken ${backup.createdAt.toISOString()} at ${backup.release ?? 'an unknown release'}${warnings}`,
    `${command}${then}`,
    {
      current: current.release,
      requested: to.release,
      backup: { path: backup.path, release: backup.release, createdAt: backup.createdAt.toISOString(), sha256: backup.sha256 },
      restoreCommand: command,
      skippedSidecars: skipped,
    },
  );
}

export interface ForwardOnlyCheck {
  target: DatabaseTarget;
  ledgerSchema: string;
  backupDir: string;
  /** The release the verb was asked to reach. */
  to: ReleaseRef;
  /** The database's current release, when the caller already read it from the ledger. */
  current?: ReleaseRef | null;
}

/**
 * What `plan`, `step` and `apply` call, before anything runs, when a database is known: a
 * target older than the database's release is refused (exit 5) naming the backup to restore.
 * A database without a ledger has no known release, so there is nothing to refuse here.
 */
export async function assertForwardOnly(check: ForwardOnlyCheck): Promise<void> {
  let current = check.current;
  if (current === undefined) {
    const ledger = await openPostgresLedger(check.target, { schema: check.ledgerSchema, migrate: false });
    if (ledger === null) return;
    await using opened = ledger;
    const state = await opened.currentRelease();
    current = state === null ? null : { release: state.release, version: state.version };
  }
  if (current === null) return;
  // Cheap check first: the backups are only looked up when the request is a downgrade.
  if (downgradeRefusal(current, check.to, []) === undefined) return;
  const known = await knownBackupsOf(check.target, check.ledgerSchema, check.backupDir);
  const refusal = downgradeRefusal(current, check.to, known.backups, known.skipped);
  if (refusal) throw refusal;
}

/**
 * The release a step/apply was asked to reach, for the forward-only guard: `--to` resolved in
 * the catalog, or the saved plan's `to`. Undefined when neither is readable: the run itself then
 * reports that problem with its own message.
 */
export async function requestedTarget(catalogDir: string, planFile: string | undefined, to: string | undefined): Promise<ReleaseRef | undefined> {
  try {
    if (planFile !== undefined) return (await readPlanFile(planFile)).to;
    if (to !== undefined) {
      const release = findRelease(await loadCatalog(catalogDir), to);
      return { release: release.id, version: release.version };
    }
  } catch (error) {
    if (!(error instanceof LeapfrogError)) throw error;
    log.suppressed('reading the requested release for the forward-only guard (the run reports it)', error);
  }
  return undefined;
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
    .filter((b) => semver.valid(b.version) !== null && semver.valid(at.version) !== null && semver.lte(b.version, at.version))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
  if (backup === undefined) return null;
  return `or go back to ${backup.release} with the pre-upgrade backup ${backup.path}: \`${restoreCommand(backup)}\``;
}

/** The hint's second half when no backup is recorded (taken with --no-backup, or by hand). */
export const NO_RECORDED_BACKUP = 'or go back by restoring the backup you took before the upgrade (the ledger records none)';
