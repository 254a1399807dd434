import type { DatabaseTarget } from '../pg/database-target.js';
import { listSidecars, type SkippedSidecar } from './backup-sidecar.js';
import { readDatabaseIdentity, sameDatabase, type DatabaseIdentity } from './database-identity.js';
import { mergeKnownBackups, type KnownBackup } from './known-backup.js';

export interface KnownBackups {
  /** The database's own backups, newest first; every backup found when no database was given. */
  backups: KnownBackup[];
  /** Backups in the folder of other databases (or of none leapfrog can tell): never offered. */
  others: KnownBackup[];
  /** Sidecars that could not be read or whose dump is gone: reported, never fatal. */
  skipped: SkippedSidecar[];
  /** The database's identity, when a database was given. */
  identity: DatabaseIdentity | null;
}

/**
 * Every backup leapfrog can find for a database: its ledger's rows (when a database is given
 * and has a ledger) and the sidecars in the backup folder (always, so that backups stay
 * findable when the database is gone). A backup folder is shared (several databases, tests),
 * so with a database only the backups of that database are its own (database-identity.ts);
 * rows of its own ledger always are.
 */
export async function knownBackupsOf(target: DatabaseTarget | undefined, schema: string, backupDir: string): Promise<KnownBackups> {
  const { records, skipped } = await listSidecars(backupDir);
  if (target === undefined) return { backups: mergeKnownBackups([], records), others: [], skipped, identity: null };
  const { openPostgresLedger } = await import('../ledger/open-ledger.js');
  const { withClient } = await import('../pg/with-client.js');
  const { ledgerSchemaName } = await import('../ledger/ledger-schema-name.js');
  const identity = await withClient(target, (client) => readDatabaseIdentity(client, ledgerSchemaName(schema)));
  const ledger = await openPostgresLedger(target, { schema, migrate: false });
  let rows: Awaited<ReturnType<NonNullable<typeof ledger>['backups']>> = [];
  if (ledger !== null) {
    await using opened = ledger;
    rows = await opened.backups();
  }
  const all = mergeKnownBackups(rows, records);
  const own = (b: KnownBackup) => b.inLedger || sameDatabase(b, identity);
  return { backups: all.filter(own), others: all.filter((b) => !own(b)), skipped, identity };
}
