import type { Ledger } from '../ledger/ledger.js';
import type { ReleaseRef } from '../planner/plan.js';

/**
 * When the automatic pre-upgrade backup is due. The backup that matters is the one taken
 * immediately before the upgrade began, so:
 * - `step` takes it only for the first step of a plan (the database is at the plan's `from`);
 * - `apply` takes one before its first schema command wherever the plan starts;
 * - a re-run that resumes after a failure does not take another: a backup taken by a run
 *   since the database arrived at its current release already is that state (the new one would
 *   capture a half-migrated database). `--backup` asks for one anyway.
 */
export async function isPreUpgradeBackupDue(ledger: Ledger, mode: 'step' | 'apply', current: ReleaseRef, planFrom: ReleaseRef): Promise<boolean> {
  if (mode === 'step' && current.release !== planFrom.release) return false;
  const state = await ledger.currentRelease();
  const arrived = state?.updatedAt.getTime() ?? 0;
  const backups = await ledger.backups();
  return !backups.some((b) => b.runId !== null && b.release === current.release && b.createdAt.getTime() >= arrived);
}
