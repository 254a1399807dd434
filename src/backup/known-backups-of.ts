import type { DatabaseTarget } from '../pg/database-target.js';
import { listSidecars } from './backup-sidecar.js';
import { mergeKnownBackups, type KnownBackup } from './known-backup.js';

/**
 * Every backup leapfrog can find for a database: its ledger's rows (when a database is given
 * and has a ledger) and the sidecars in the backup folder (always, so that backups stay
 * findable when the database is gone).
 */
export async function knownBackupsOf(target: DatabaseTarget | undefined, schema: string, backupDir: string): Promise<KnownBackup[]> {
  const sidecars = await listSidecars(backupDir);
  if (target === undefined) return mergeKnownBackups([], sidecars);
  const { openPostgresLedger } = await import('../ledger/open-ledger.js');
  const ledger = await openPostgresLedger(target, { schema, migrate: false });
  if (ledger === null) return mergeKnownBackups([], sidecars);
  await using opened = ledger;
  return mergeKnownBackups(await opened.backups(), sidecars);
}
