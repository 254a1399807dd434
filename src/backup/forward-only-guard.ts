import { findRelease } from '../catalog/find-release.js';
import { loadCatalog } from '../catalog/load-catalog.js';
import { LeapfrogError } from '../errors/index.js';
import { openPostgresLedger } from '../ledger/open-ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { readPlanFile } from '../plan-file/plan-file.js';
import type { ReleaseRef } from '../planner/plan.js';
import { logger } from '../util/logger.js';
import { knownBackupsOf } from './backup-store.js';
import { downgradeRefusal } from './forward-only.js';

/**
 * The forward-only rule (forward-only.ts) applied to a database before anything runs: its
 * ledger's release against the requested one, and its own backups for the way back. Kept apart
 * from the rule because it reads the ledger, the backup folder, the plan and the catalog.
 */

const log = logger('backup');

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
export async function requestedTarget(
  catalogDir: string,
  planFile: string | undefined,
  to: string | undefined,
): Promise<ReleaseRef | undefined> {
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
