import type { DatabaseIdentity } from './database-identity.js';

/**
 * One backup leapfrog took: what the ledger's `backups` table holds and what the sidecar file
 * next to the dump repeats, so that a backup can be found and verified without the database.
 * Never holds a secret: `database` is the display form (host:port/db).
 */
export type BackupFormat = 'custom' | 'directory';

export interface BackupRecord extends DatabaseIdentity {
  /** Unique id, also the file stem: `<db>-<release>-<UTC stamp>`. */
  id: string;
  /** The database's release when the backup was taken; null when its ledger knew none. */
  release: string | null;
  version: string | null;
  /** Absolute path of the dump file (custom) or folder (directory). */
  path: string;
  format: BackupFormat;
  bytes: number;
  /** Hex sha256 of the dump file; for a directory, of its sorted `name sha256` lines. */
  sha256: string;
  durationMs: number;
  /** ISO 8601, UTC. */
  createdAt: string;
  /** The ledger run that took it; null for `leapfrog backup` on demand. */
  runId: string | null;
  /** Display form of the URL it was taken through; for people only, never an identity. */
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
}
