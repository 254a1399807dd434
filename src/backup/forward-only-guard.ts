import type { DatabaseTarget } from '../pg/database-target.js';
import type { ReleaseRef } from '../planner/plan.js';
import { knownBackupsOf } from './backup-store.js';
import { downgradeRefusal } from './forward-only.js';

/**
 * The forward-only rule (forward-only.ts) applied to a database before anything runs: its
 * ledger's release against the requested one, and its own backups for the way back. Kept apart
 * from the rule because it reads the ledger and the backup folder.
 */

export interface ForwardOnlyCheck {
  target: DatabaseTarget;
  ledgerSchema: string;
  backupDir: string;
  /** The release the verb was asked to reach. */
  to: ReleaseRef;
  /** The database's current release, as the caller read it from the ledger (null: none yet). */
  current: ReleaseRef | null;
}

/**
 * What `plan`, `step` and `apply` call, before anything runs, when a database is known: a
 * target older than the database's release is refused (exit 5) naming the backup to restore.
 * A database without a ledger has no known release, so there is nothing to refuse here.
 */
export async function assertForwardOnly(check: ForwardOnlyCheck): Promise<void> {
  const current = check.current;
  if (current === null) return;
  // Cheap check first: the backups are only looked up when the request is a downgrade.
  if (downgradeRefusal(current, check.to, []) === undefined) return;
  const known = await knownBackupsOf(check.target, check.ledgerSchema, check.backupDir);
  const refusal = downgradeRefusal(current, check.to, known.backups, known.skipped);
  if (refusal) throw refusal;
}
