import type { Ledger } from '../ledger/ledger.js';
import type { BackupRecord } from './backup-record.js';
import { takeBackup, type PreparedBackup } from './take-backup.js';

/**
 * Takes a backup labelled with the database's current release (from its ledger, when it has
 * one) and records it in the ledger's `backups` table as well as in the sidecar. A database
 * without a ledger still gets its dump and sidecar: the release is then unknown.
 */
export async function takeRecordedBackup(prepared: PreparedBackup, ledger: Ledger | null, runId: string | null): Promise<BackupRecord> {
  const state = ledger === null ? null : await ledger.currentRelease();
  const record = await takeBackup(prepared, { release: state?.release ?? null, version: state?.version ?? null, runId });
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
    });
  }
  return record;
}
