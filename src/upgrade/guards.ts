import { assertForwardOnly } from '../backup/forward-only-guard.js';
import type { PreparedBackup } from '../backup/take-backup.js';
import type { Catalog } from '../catalog/release.js';
import type { SqlProbe } from '../checks/sql-probe.js';
import { notBaselinedError } from '../ledger/read-baseline.js';
import type { LedgerSession } from '../ledger/open-ledger.js';
import type { ExecutorKind } from '../executors/create-executor.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import type { Plan, ReleaseRef } from '../planner/plan.js';
import { assertToolchainsForRun } from '../toolchains/toolchain-state.js';
import { logger } from '../util/logger.js';
import { appVersionDriftError, compareAppVersion, unfinishedSteps } from './app-version.js';
import { preparePreUpgradeBackup, type BackupOption } from './pre-upgrade-backup.js';

const log = logger('upgrade');

/** Everything the guards look at: read once (catalog, plan, the ledger's read-only reading). */
export interface GuardContext {
  target: DatabaseTarget;
  session: LedgerSession;
  /** The manifest's SQL (appVersion), read-only on the ledger session. */
  probe: SqlProbe;
  catalog: Catalog;
  /** The saved plan (`--plan`), or null for `--to` (planned under the lock). */
  plan: Plan | null;
  /** The release asked for (the plan's `to`, or `--to` found in the catalog); undefined when `--to` names nothing known. */
  to: ReleaseRef | undefined;
  /** The folder the forward-only guard looks for this database's backups in; undefined: no guard (rehearse, demo). */
  backupDir: string | undefined;
  backup: BackupOption | undefined;
  /** The process executor needs each release's local.install toolchain; the docker executor's images carry theirs. */
  executorKind: ExecutorKind;
}

/** What the guards hand on: the prepared backup when one may be taken. */
export interface GuardOutcome {
  prepared: PreparedBackup | null;
}

/**
 * The guards, in order, each a refusal with its own exit code. They run on the read-only
 * reading, before the lock and before the ledger's migrations: a refused command writes nothing
 * and waits for no other run. (The plan against the catalog and images was checked when the
 * plan was read; the plan against the database's release is the runner's `pendingSteps`, under
 * the lock, where that release cannot move any more.)
 */
export async function runGuards(context: GuardContext): Promise<GuardOutcome> {
  const { session, target } = context;
  // 1. baselined (exit 2): the one "not baselined" refusal.
  const current = session.reading.current;
  if (current === null) throw notBaselinedError(session.schema, context.plan?.from.release, target.display);
  // 2. the application agrees with the ledger (exit 6): when it moved without leapfrog, the ledger's
  //    release is not where the database is, and every decision below would start from the wrong place.
  const recorded = context.catalog.releases.find((r) => r.id === current.release);
  if (recorded?.appVersion !== undefined) {
    const comparison = await compareAppVersion(context.probe, context.catalog, recorded, () =>
      unfinishedSteps(session, current),
    );
    if (comparison?.drift === true) throw appVersionDriftError(comparison, target.display, recorded.file);
    log.debug(`appVersion of ${current.release}: the application says ${comparison?.says ?? 'nothing'}`);
  }
  // 3. forward-only, with THIS database's backups as the way back (exit 5).
  if (context.backupDir !== undefined && context.to !== undefined) {
    await assertForwardOnly({
      target,
      ledgerSchema: session.schema,
      backupDir: context.backupDir,
      to: context.to,
      current: { release: current.release, version: current.version },
    });
  }
  // 4. the toolchains of the releases still to run, process executor only (missing exit 2, stale exit 6).
  assertToolchainsForRun({ ...context, current: { release: current.release, version: current.version } });
  // 5. pg_dump usable against this server (exit 2), only when a backup may be taken.
  const prepared = context.backup === undefined ? null : await preparePreUpgradeBackup(target, session, context.backup);
  log.debug(
    `guards passed: at ${current.release}${context.to === undefined ? '' : `, to ${context.to.release}`}${prepared === null ? ', no backup' : ''}`,
  );
  return { prepared };
}
