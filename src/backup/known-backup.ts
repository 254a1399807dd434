import { resolve } from 'node:path';
import type { BackupRecord as LedgerBackupRecord } from '../ledger/ledger.js';
import type { BackupRecord } from './backup-record.js';
import type { DatabaseIdentity } from './database-identity.js';

/**
 * A backup as `backups` lists it and the forward-only guard chooses it: merged from the
 * ledger's `backups` table and the sidecars in the backup folder, because either may be
 * missing (a restored database's ledger predates later backups; a moved folder loses sidecars).
 */
export interface KnownBackup extends DatabaseIdentity {
  path: string;
  release: string | null;
  version: string | null;
  format: string;
  bytes: number;
  sha256: string;
  durationMs: number;
  createdAt: Date;
  runId: string | null;
  inLedger: boolean;
  hasSidecar: boolean;
}

export function mergeKnownBackups(ledger: readonly LedgerBackupRecord[], sidecars: readonly BackupRecord[]): KnownBackup[] {
  const byPath = new Map<string, KnownBackup>();
  for (const s of sidecars) {
    byPath.set(resolve(s.path), {
      path: resolve(s.path),
      release: s.release,
      version: s.version,
      format: s.format,
      bytes: s.bytes,
      sha256: s.sha256,
      durationMs: s.durationMs,
      createdAt: new Date(s.createdAt),
      runId: s.runId,
      databaseId: s.databaseId,
      systemIdentifier: s.systemIdentifier,
      databaseName: s.databaseName,
      inLedger: false,
      hasSidecar: true,
    });
  }
  for (const l of ledger) {
    const path = resolve(l.path);
    const known = byPath.get(path);
    if (known) {
      known.inLedger = true;
      // An older sidecar may lack the identity its ledger row was given by ledger migration 2.
      known.databaseId ??= l.databaseId;
      known.systemIdentifier ??= l.systemIdentifier;
      known.databaseName ??= l.databaseName;
      continue;
    }
    byPath.set(path, {
      path,
      release: l.release,
      version: l.version,
      format: l.format,
      bytes: l.bytes,
      sha256: l.sha256,
      durationMs: l.durationMs,
      createdAt: l.createdAt,
      runId: l.runId,
      databaseId: l.databaseId,
      systemIdentifier: l.systemIdentifier,
      databaseName: l.databaseName,
      inLedger: true,
      hasSidecar: false,
    });
  }
  return [...byPath.values()].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}
