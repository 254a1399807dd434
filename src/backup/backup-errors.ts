import { BadInputError, PhaseFailedError, RefusedError } from '../errors/index.js';
import type { DatabaseIdentity } from './database-identity.js';

/**
 * The backup domain's errors. Each carries its facts as typed fields (what a caller or a test
 * reads) and passes the same facts to `details`, which the CLI prints with `--output json`
 * under the keys it always had. The exit code is the base class's: DESIGN's table is the
 * contract, the class name says which part of leapfrog failed.
 */

/** How a pg_dump or pg_restore run failed; `exit` is null when it was killed. */
export interface PgToolFailure {
  tool: 'pg_dump' | 'pg_restore';
  exit: number | null;
}

/**
 * pg_dump or pg_restore failed, or the backup could not be written. Exit 1, like a failed phase
 * command (DESIGN's exit table): nothing the run had not already done was changed, and the
 * operator fixes the cause and runs the same command again. It extends PhaseFailedError so that
 * everything that treats "a command of the upgrade failed" as exit 1 keeps doing so.
 */
export class BackupFailedError extends PhaseFailedError {
  readonly failure: PgToolFailure | null;

  constructor(
    message: string,
    options: { hint: string; failure: PgToolFailure | null; cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, { hint: options.hint, cause: options.cause, details: options.details ?? {} });
    this.failure = options.failure;
  }
}

/** What a full backup folder had room for, and what the dump needed. */
export interface FolderFull {
  backupDir: string;
  writtenBytes: number;
  freeBytes: number | null;
  databaseBytes: number | null;
}

/** The backup folder filled while the dump or its sidecar was written; the partial dump is gone. */
export class BackupFolderFullError extends BackupFailedError {
  readonly folder: FolderFull;

  constructor(message: string, hint: string, folder: FolderFull, failure: PgToolFailure | null) {
    super(message, { hint, failure, details: { ...folder } });
    this.folder = folder;
  }
}

/** `--backup-dir` cannot be created or written: nothing ran. Exit 2. */
export class BackupDirUnusableError extends BadInputError {
  readonly backupDir: string;

  constructor(message: string, hint: string, backupDir: string, cause: unknown) {
    super(message, { hint, cause, details: { backupDir } });
    this.backupDir = backupDir;
  }
}

/** pg_dump is older than the server, so it cannot take the backup: nothing ran. Exit 2. */
export class PgDumpTooOldError extends BadInputError {
  readonly pgDump: string;
  readonly server: string;
  readonly pgDumpPath: string;

  constructor(message: string, hint: string, versions: { pgDump: string; server: string; pgDumpPath: string }) {
    super(message, { hint, details: { ...versions } });
    this.pgDump = versions.pgDump;
    this.server = versions.server;
    this.pgDumpPath = versions.pgDumpPath;
  }
}

/** The dump's sha256 is not the one recorded when it was taken: nothing was restored. Exit 2. */
export class BackupCorruptedError extends BadInputError {
  readonly path: string;
  readonly expected: string;
  readonly actual: string;

  constructor(message: string, hint: string, digests: { path: string; expected: string; actual: string }) {
    super(message, { hint, details: { ...digests } });
    this.path = digests.path;
    this.expected = digests.expected;
    this.actual = digests.actual;
  }
}

/** The backup a downgrade refusal names as the way back. */
export interface WayBackBackup {
  path: string;
  release: string | null;
  /** ISO 8601. */
  createdAt: string;
  sha256: string;
}

/** A sidecar that was skipped while looking for the way back (reported beside the refusal). */
export interface SkippedSidecarFact {
  sidecar: string;
  reason: string;
}

/** A request for an older release: leapfrog only moves forward. Exit 5. */
export class DowngradeRefusedError extends RefusedError {
  readonly current: string;
  readonly requested: string;
  /** The newest backup at the requested release or before; null when none is known. */
  readonly backup: WayBackBackup | null;
  /** `leapfrog restore <backup> --yes`, when there is a backup. */
  readonly restoreCommand: string | null;
  readonly skippedSidecars: readonly SkippedSidecarFact[];

  constructor(
    message: string,
    hint: string,
    facts: {
      current: string;
      requested: string;
      backup: WayBackBackup | null;
      restoreCommand: string | null;
      skippedSidecars: readonly SkippedSidecarFact[];
    },
  ) {
    // The JSON keys of before: `restoreCommand` only when there is a backup to restore.
    const { restoreCommand, ...rest } = facts;
    super(message, { hint, details: restoreCommand === null ? { ...rest } : { ...rest, restoreCommand } });
    this.current = facts.current;
    this.requested = facts.requested;
    this.backup = facts.backup;
    this.restoreCommand = facts.restoreCommand;
    this.skippedSidecars = facts.skippedSidecars;
  }
}

/** A client session of the database a restore would replace. */
export interface BlockingSession {
  pid: number;
  backendType: string;
  applicationName: string;
}

/** The database a restore would replace is in use: it was left as it was. Exit 5. */
export class DatabaseInUseError extends RefusedError {
  readonly sessions: readonly BlockingSession[];

  constructor(message: string, hint: string, sessions: readonly BlockingSession[], cause?: unknown) {
    super(message, { hint, cause, details: { sessions } });
    this.sessions = sessions;
  }
}

/** A restore would replace this database with a dump of another one. Exit 5. */
export class OtherDatabaseBackupError extends RefusedError {
  readonly backup: string;
  readonly backupDatabase: DatabaseIdentity;
  readonly targetDatabase: DatabaseIdentity;

  constructor(
    message: string,
    hint: string,
    facts: { backup: string; backupDatabase: DatabaseIdentity; targetDatabase: DatabaseIdentity },
  ) {
    super(message, { hint, details: { ...facts } });
    this.backup = facts.backup;
    this.backupDatabase = facts.backupDatabase;
    this.targetDatabase = facts.targetDatabase;
  }
}
