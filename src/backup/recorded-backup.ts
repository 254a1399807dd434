import type { Ledger } from '../ledger/ledger.js';
import type { BackupRecord } from './backup-record.js';
import { takeBackup, type BackupEvent, type PreparedBackup } from './take-backup.js';

/**
 * Takes a backup labelled with the database's current release (from its ledger, when it has
 * one) and records it, with the database identity, in the ledger's `backups` table as well as in
 * the sidecar. A database without a ledger still gets its dump and sidecar: the release is then
 * unknown and the server's system identifier and the database name identify it.
 */
export async function takeRecordedBackup(
  prepared: PreparedBackup,
  ledger: Ledger | null,
  runId: string | null,
  options: { ledgerSchema?: string; onEvent?: (event: BackupEvent) => void } = {},
): Promise<BackupRecord> {
  const state = ledger === null ? null : await ledger.currentRelease();
  const ledgerSchema = ledger?.schema ?? options.ledgerSchema ?? 'leapfrog';
  const record = await takeBackup(prepared, { release: state?.release ?? null, version: state?.version ?? null, runId, ledgerSchema }, new Date(), options.onEvent);
  if (ledger !== null && state !== null) {
    await ledger.recordBackup({
      release: state.release,
      version: state.version,
      path: record.path,
      format: record.format,
      bytes: record.bytes,
      sha256: record.sha256,
      durationMs: record.durationMs,
      runId,
      databaseId: record.databaseId,
      systemIdentifier: record.systemIdentifier,
      databaseName: record.databaseName,
    });
  }
  return record;
}
