import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { BadInputError } from '../errors/index.js';
import type { BackupRecord as LedgerBackupRow } from '../ledger/ledger.js';
import { ledgerSchemaName } from '../ledger/ledger-schema-name.js';
import { openPostgresLedger } from '../ledger/open-ledger.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { withClient } from '../pg/with-client.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import { BackupDirUnusableError } from './backup-errors.js';
import { readDatabaseIdentity, sameDatabase, type DatabaseIdentity } from './database-identity.js';

/**
 * The backup store: a folder of dumps, each with a sidecar `<dump>.leapfrog.json` that says what
 * it is, plus the rows the database's own ledger keeps. This module knows the one shape of a
 * backup, writes and reads sidecars, lists the folder, tells which backups are a database's own
 * (database-identity.ts) and finds the backup an operator names.
 */

const log = logger('backup');

export type BackupFormat = 'custom' | 'directory';

/**
 * One backup leapfrog took: what `takeBackup` returns, what its sidecar holds (so that a backup
 * can be found and verified without the database) and what `backup --output json` prints.
 * Never holds a secret: `database` is the display form (host:port/db).
 */
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

/**
 * A backup as `backups` lists it and the forward-only guard chooses it: the part of its record
 * that both the ledger's `backups` table and the sidecar hold (either may be missing: a restored
 * database's ledger predates later backups; a moved folder loses sidecars), and where it was found.
 */
export type KnownBackup = Pick<
  BackupRecord,
  'path' | 'release' | 'version' | 'format' | 'bytes' | 'sha256' | 'durationMs' | 'runId' | keyof DatabaseIdentity
> & {
  createdAt: Date;
  inLedger: boolean;
  hasSidecar: boolean;
};

/**
 * Creates the backup folder if needed and proves it writable, before anything runs: a backup
 * that cannot be written must stop the upgrade as bad input (exit 2), never halfway through it.
 */
export async function ensureBackupDir(dir: string): Promise<string> {
  const absolute = resolve(dir);
  try {
    await mkdir(absolute, { recursive: true });
    await access(absolute, constants.W_OK);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new BackupDirUnusableError(
      `--backup-dir ${dir} cannot hold backups (${reason})`,
      'pass --backup-dir with a writable folder (it is created when missing); nothing ran',
      absolute,
      cause,
    );
  }
  return absolute;
}

export interface BackupDigest {
  sha256: string;
  bytes: number;
}

/**
 * sha256 of a custom-format dump, or of a directory-format dump as the sorted lines
 * `<file name> <sha256 of file>\n`, so that a renamed, missing, extra or altered file all
 * change the digest. `sha256sum` of the file gives the same value for the custom format.
 */
export async function digestBackup(path: string, format: BackupFormat): Promise<BackupDigest> {
  if (format === 'custom') return digestFile(path);
  const names = (await readdir(path)).sort();
  const outer = createHash('sha256');
  let bytes = 0;
  for (const name of names) {
    const file = await digestFile(join(path, name));
    outer.update(`${name} ${file.sha256}\n`);
    bytes += file.bytes;
  }
  return { sha256: outer.digest('hex'), bytes };
}

async function digestFile(path: string): Promise<BackupDigest> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), bytes: (await stat(path)).size };
}

// ---------------------------------------------------------------------------------------------
// Sidecars

/** Next to every dump: `<dump>.leapfrog.json`. Found by `backups` and verified by `restore`. */
export const SIDECAR_SUFFIX = '.leapfrog.json';
/** A dump (or sidecar) still being written: never a finished backup. */
export const PARTIAL_SUFFIX = '.partial';

export function sidecarPathOf(backupPath: string): string {
  return `${backupPath.replace(/\/+$/, '')}${SIDECAR_SUFFIX}`;
}

/**
 * Writes the sidecar whole or not at all: into a temporary file, renamed into place. A disk that
 * fills halfway leaves no empty or truncated sidecar behind (the temporary file is removed).
 */
export async function writeSidecar(record: BackupRecord): Promise<string> {
  const path = sidecarPathOf(record.path);
  const { path: absolute, ...rest } = record;
  const body = { leapfrogBackup: 2, ...rest, file: basename(absolute) };
  const temporary = `${path}.${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`;
  log.debug(`writing sidecar ${path}`);
  try {
    await writeFile(temporary, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true }).catch((e: unknown) => log.suppressed(`removing ${temporary}`, e));
    throw error;
  }
  return path;
}

/** The sidecar of a backup path (or the sidecar itself); undefined when there is none. */
export async function readSidecar(pathOrSidecar: string): Promise<BackupRecord | undefined> {
  const sidecar = pathOrSidecar.endsWith(SIDECAR_SUFFIX) ? pathOrSidecar : sidecarPathOf(pathOrSidecar);
  let text: string;
  try {
    text = await readFile(sidecar, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new BadInputError(`${sidecar} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      cause: error,
      hint: 'fix its permissions or restore it from a copy, or pass --sha256 HEX to restore without it',
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new BadInputError(`${sidecar} is not valid JSON`, {
      cause,
      hint: `restore it from a copy, or pass --sha256 HEX to restore without it`,
    });
  }
  // zod loads only when a sidecar is actually read (backups, restore, a downgrade's way back).
  const { sidecarSchema } = await import('./sidecar-schema.js');
  const parsed = sidecarSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new BadInputError(
      `${sidecar}: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid'}`,
      {
        hint: 'the file is not a leapfrog backup sidecar; restore it from a copy, or pass --sha256 HEX',
      },
    );
  }
  const { leapfrogBackup: _v, file, databaseId, systemIdentifier, databaseName, ...rest } = parsed.data;
  const path = isAbsolute(file) ? file : resolve(dirname(sidecar), file);
  return {
    ...rest,
    databaseId: databaseId ?? null,
    systemIdentifier: systemIdentifier ?? null,
    databaseName: databaseName ?? null,
    path,
  };
}

/** A sidecar in the backup folder that does not describe a usable backup, and why. */
export interface SkippedSidecar {
  sidecar: string;
  reason: string;
}

export interface SidecarListing {
  /** Newest first. */
  records: BackupRecord[];
  /** Reported as warnings and skipped: one broken file must not hide every other backup. */
  skipped: SkippedSidecar[];
}

/** Every backup whose sidecar is in `dir` and whose dump is there too; a missing folder has none. */
export async function listSidecars(dir: string): Promise<SidecarListing> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], skipped: [] };
    throw error;
  }
  const records: BackupRecord[] = [];
  const skipped: SkippedSidecar[] = [];
  for (const name of names.filter((n) => n.endsWith(SIDECAR_SUFFIX))) {
    const sidecar = join(dir, name);
    let record: BackupRecord | undefined;
    try {
      record = await readSidecar(sidecar);
    } catch (error) {
      skipped.push({ sidecar, reason: error instanceof Error ? error.message : String(error) });
      continue;
    }
    if (record === undefined) continue;
    if (!(await exists(record.path))) {
      // The sidecar is written before the dump gets its final name, so a run stopped between
      // the two leaves the sidecar and `<dump>.partial`: an unfinished backup, never a way back.
      const unfinished = await exists(`${record.path}${PARTIAL_SUFFIX}`);
      skipped.push({
        sidecar,
        reason: unfinished
          ? `unfinished backup (leapfrog stopped while writing it): remove ${sidecar} and ${record.path}${PARTIAL_SUFFIX}`
          : `its dump ${record.path} is missing`,
      });
      continue;
    }
    records.push(record);
  }
  return { records: records.sort((a, b) => b.createdAt.localeCompare(a.createdAt)), skipped };
}

/** Whether a path exists; any failure to stat it (missing, unreadable) means it cannot be used. */
async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.suppressed(`reading ${path}`, error);
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Known backups of a database: ledger rows and sidecars

/** Ledger rows and sidecars merged by path, newest first. */
export function mergeKnownBackups(
  ledger: readonly LedgerBackupRow[],
  sidecars: readonly BackupRecord[],
): KnownBackup[] {
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
      // The ledger stores the format as text; leapfrog only ever writes these two.
      format: l.format === 'directory' ? 'directory' : 'custom',
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
export async function knownBackupsOf(
  target: DatabaseTarget | undefined,
  schema: string,
  backupDir: string,
): Promise<KnownBackups> {
  const { records, skipped } = await listSidecars(backupDir);
  if (target === undefined) return { backups: mergeKnownBackups([], records), others: [], skipped, identity: null };
  const identity = await withClient(target, (client) => readDatabaseIdentity(client, ledgerSchemaName(schema)));
  const ledger = await openPostgresLedger(target, { schema, migrate: false });
  let rows: LedgerBackupRow[] = [];
  if (ledger !== null) {
    await using opened = ledger;
    rows = await opened.backups();
  }
  const all = mergeKnownBackups(rows, records);
  const own = (b: KnownBackup) => b.inLedger || sameDatabase(b, identity);
  return { backups: all.filter(own), others: all.filter((b) => !own(b)), skipped, identity };
}

// ---------------------------------------------------------------------------------------------
// Locating the backup an operator names

export interface LocatedBackup {
  path: string;
  format: BackupFormat;
  /** From the sidecar next to the dump; undefined when the dump came without one. */
  record: BackupRecord | undefined;
}

/**
 * `restore` accepts a dump file, a dump folder, its sidecar, or a backup id from
 * `leapfrog backups` (looked up in --backup-dir), because operators copy whichever they see.
 */
export async function locateBackup(ref: string, backupDir: string): Promise<LocatedBackup> {
  if (ref.endsWith(SIDECAR_SUFFIX)) {
    const record = await readSidecar(ref);
    if (record) return { path: record.path, format: record.format, record };
  }
  const asPath = resolve(ref);
  const info = await stat(asPath).catch((error: unknown) => {
    // Not a path: the ref may still be a backup id.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.suppressed(`reading ${asPath}`, error);
    return undefined;
  });
  if (info) {
    const record = await readSidecar(asPath);
    return { path: asPath, format: info.isDirectory() ? 'directory' : 'custom', record };
  }
  const byId = (await listSidecars(backupDir)).records.find((r) => r.id === ref);
  if (byId) return { path: byId.path, format: byId.format, record: byId };
  throw new BadInputError(
    `no backup "${ref}": it is neither a file, a folder, nor a backup id in ${join(resolve(backupDir))}`,
    {
      hint: `list the backups with \`${nextCommand('backups')}\` and pass one of their paths`,
    },
  );
}
