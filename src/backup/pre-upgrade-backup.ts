import type { Release } from '../catalog/release.js';
import type { Ledger } from '../ledger/ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import type { ReleaseRef } from '../planner/plan.js';
import type { BackupRecord } from './backup-record.js';
import { backupSettingsFrom, type BackupFlags } from './backup-settings.js';
import { isPreUpgradeBackupDue } from './pre-upgrade-backup-policy.js';
import { takeRecordedBackup } from './recorded-backup.js';
import { prepareBackup, type BackupEvent } from './take-backup.js';

export interface PreUpgradeFlags extends BackupFlags {
  /** true: always (`--backup`); false: never (`--no-backup`); undefined: automatic. */
  backup: boolean | undefined;
}

/**
 * What the run hook knows when the first command that can change the database is about to run
 * (after a green preflight).
 */
export interface PreUpgradeContext {
  runId: string;
  ledger: Ledger;
  current: ReleaseRef;
  planFrom: ReleaseRef;
  /** The step whose first command is about to run. */
  release: Release;
  /** The runner's event listener: the backup's progress is shown as its own task. */
  emit: (event: BackupEvent) => void;
}

export type PreUpgradeHook = (context: PreUpgradeContext) => Promise<void>;

/**
 * Called by `step`/`apply` before anything runs: checks that a backup can be taken (pg_dump
 * present and not older than the server), so a refusal never comes after a schema command.
 * Returns the hook the runner calls after the preflight, right before the first command that can
 * change the database, or undefined with `--no-backup`.
 */
export async function preparePreUpgradeBackup(
  target: DatabaseTarget,
  mode: 'step' | 'apply',
  flags: PreUpgradeFlags,
  onBackup: (record: BackupRecord) => void,
): Promise<PreUpgradeHook | undefined> {
  if (flags.backup === false) return undefined;
  const prepared = await prepareBackup(target, await backupSettingsFrom(flags));
  return async (context) => {
    const take = flags.backup === true || (await isPreUpgradeBackupDue(context.ledger, mode, context.current, context.planFrom, context.release));
    if (!take) return;
    onBackup(await takeRecordedBackup(prepared, context.ledger, context.runId, { onEvent: context.emit }));
  };
}
