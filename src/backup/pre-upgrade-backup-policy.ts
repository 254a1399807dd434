import type { Release } from '../catalog/release.js';
import type { Ledger, PhaseKey } from '../ledger/ledger.js';
import type { ReleaseRef } from '../planner/plan.js';
import { stepPhases } from '../runner/step-phases.js';

/**
 * When the automatic pre-upgrade backup is due. The backup that matters is the one taken
 * immediately before the upgrade began, so:
 * - `step` takes it only for the first step of a plan (the database is at the plan's `from`);
 * - `apply` takes one before its first schema command wherever the plan starts;
 * - a re-run that resumes a step an earlier run began (any of its schema, data or check phases
 *   is in the ledger) takes none: the database is half-migrated, and the backup of the state
 *   before that step was taken by the run that began it. `--backup` asks for one anyway.
 *   A recorded preflight does not count: it changes nothing and runs before the backup, so a
 *   run that stopped after it (a failed backup, Ctrl-C) has no backup yet.
 */
export async function isPreUpgradeBackupDue(
  ledger: Ledger,
  mode: 'step' | 'apply',
  current: ReleaseRef,
  planFrom: ReleaseRef,
  release: Release,
): Promise<boolean> {
  if (mode === 'step' && current.release !== planFrom.release) return false;
  for (const key of phaseKeys(current.release, release)) {
    if ((await ledger.phase(key)) !== null) return false;
  }
  return true;
}

function phaseKeys(fromRelease: string, release: Release): PhaseKey[] {
  return stepPhases(release).filter((p) => p.phase !== 'preflight').map((p) => ({ fromRelease, release: release.id, phase: p.phase, name: p.name }));
}
