import type { DatabaseTarget } from '../pg/database-target.js';
import type { ReleaseRef } from '../planner/plan.js';
import { downgradeRefusal } from './forward-only-guard.js';
import { knownBackupsOf } from './known-backups-of.js';

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
    const { openPostgresLedger } = await import('../ledger/open-ledger.js');
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
