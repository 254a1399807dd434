import { runTool } from '../util/run-tool.js';
import { chmod, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Release } from '../catalog/release.js';
import type { Ledger, PhaseKey } from '../ledger/ledger.js';
import { databaseName, type DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../util/redact.js';
import { withClient } from '../pg/with-client.js';
import type { ReleaseRef } from '../planner/plan.js';
import type { RunnerEvent } from '../runner/events.js';
import { stepPhases } from '../runner/step-phases.js';
import { logger } from '../util/logger.js';
import { BackupFailedError, BackupFolderFullError } from './backup-errors.js';
import {
  digestBackup,
  ensureBackupDir,
  PARTIAL_SUFFIX,
  writeSidecar,
  type BackupFormat,
  type BackupRecord,
} from './backup-store.js';
import { identityOf } from './database-identity.js';
import { formatBytes } from './format-backup.js';
import {
  assertPgDumpCanDump,
  libpqConnection,
  pgToolVersion,
  resolvePgTools,
  serverVersionOf,
  type PgToolVersion,
  type PgTools,
} from './pg-tools.js';

/**
 * Taking a backup: the settings from the flags, the checks before anything runs (prepare), the
 * dump itself with its progress, digest and sidecar, the ledger row, and the pre-upgrade policy
 * (when `step`/`apply` take one on their own).
 */

const log = logger('backup');

export interface BackupFlags {
  backupDir: string;
  backupJobs?: number;
  pgBin?: string;
}

/**
 * The CLI flags to settings. `--backup-jobs N` (N > 1) selects pg_dump's directory format,
 * the only one it can write in parallel; otherwise one custom-format file (see
 * docs/benchmarks.md for why that is the default).
 */
export async function backupSettingsFrom(flags: BackupFlags): Promise<BackupSettings> {
  const jobs = flags.backupJobs ?? 1;
  return {
    dir: resolve(flags.backupDir),
    format: jobs > 1 ? 'directory' : 'custom',
    jobs,
    tools: await resolvePgTools(flags.pgBin),
  };
}

export interface BackupSettings {
  /** Folder for dumps and sidecars; created when missing. */
  dir: string;
  format: BackupFormat;
  /** pg_dump --jobs for the directory format (ignored for custom). */
  jobs: number;
  tools: PgTools;
}

/** What `prepareBackup` learned: enough to take the backup later without asking again. */
export interface PreparedBackup {
  readonly target: DatabaseTarget;
  readonly settings: BackupSettings;
  readonly server: PgToolVersion;
  readonly pgDump: PgToolVersion;
}

/**
 * Checks, before anything runs, that a backup can be taken: pg_dump exists and is not older
 * than the server. `apply` calls this first and the dump itself only right before the first
 * schema command, so a refused backup never leaves a half-upgraded database.
 */
export async function prepareBackup(target: DatabaseTarget, settings: BackupSettings): Promise<PreparedBackup> {
  const pgDump = await pgToolVersion(settings.tools.pgDump, settings.tools.source);
  const server = await serverVersionOf(target);
  assertPgDumpCanDump(pgDump, server, settings.tools);
  await ensureBackupDir(settings.dir);
  return { target, settings, server, pgDump };
}

export interface BackupLabel {
  release: string | null;
  version: string | null;
  runId: string | null;
  /** The ledger schema holding the database identity (default `leapfrog`). */
  ledgerSchema?: string;
}

/** The runner's backup events (src/runner/events.ts): the UI shows the backup as its own task. */
export type BackupEvent = Extract<
  RunnerEvent,
  { type: 'backup-started' | 'backup-progress' | 'backup-finished' | 'backup-failed' }
>;

/** How often the size of the growing dump is reported while pg_dump runs. */
const PROGRESS_EVERY_MS = 500;

/**
 * Dumps the database, digests the dump and writes its sidecar. The ledger row is the caller's.
 *
 * Order matters for what a crash or a full disk can leave behind: pg_dump writes
 * `<dump>.partial`; its digest and the sidecar (written atomically) come next; only then does
 * the dump get its final name. So a finished-looking dump always has its sidecar, and a stop at
 * any point leaves at most a `.partial` file (plus, in the last instant, its sidecar), which
 * listing reports as unfinished and never offers as a way back.
 */
export async function takeBackup(
  prepared: PreparedBackup,
  label: BackupLabel,
  now: Date = new Date(),
  onEvent: (event: BackupEvent) => void = () => undefined,
): Promise<BackupRecord> {
  const { target, settings } = prepared;
  const dir = await ensureBackupDir(settings.dir);
  const identity = await identityOf(target, label.ledgerSchema ?? 'leapfrog');
  const id = backupId(databaseName(target), label.release, now);
  const path = join(dir, settings.format === 'custom' ? `${id}.dump` : `${id}.dir`);
  const partial = `${path}${PARTIAL_SUFFIX}`;
  const connection = libpqConnection(target);
  const args = [
    `--dbname=${connection.dbnameArg}`,
    settings.format === 'custom' ? '--format=custom' : '--format=directory',
    ...(settings.format === 'directory' ? [`--jobs=${settings.jobs}`] : []),
    `--file=${partial}`,
    '--no-password',
  ];
  const started = performance.now();
  log.debug(`running ${settings.tools.pgDump} into ${partial}`);
  onEvent({ type: 'backup-started', path, database: target.display, release: label.release });
  let dumping = true;
  const progress = setInterval(() => {
    void sizeOf(partial).then((bytes) => {
      // A size read that finishes after pg_dump must not report progress after the outcome.
      if (dumping)
        onEvent({ type: 'backup-progress', path, bytes, elapsedMs: Math.round(performance.now() - started) });
    });
  }, PROGRESS_EVERY_MS);
  let sidecar: string | undefined;
  try {
    let result;
    try {
      result = await runTool(settings.tools.pgDump, args, { env: { ...connection.env, PGAPPNAME: 'leapfrog-backup' } });
    } finally {
      dumping = false;
      clearInterval(progress);
    }
    if (result.exitCode !== 0) {
      const output = redact(`${result.stderr}\n${result.stdout}`.trim(), target.secrets);
      const failure = { tool: 'pg_dump', exit: result.exitCode ?? null } as const;
      if (/No space left on device/i.test(output)) throw await folderFullError(prepared, dir, partial, output, failure);
      throw new BackupFailedError(
        `pg_dump of ${target.display} failed (exit ${result.exitCode ?? 'killed'}): ${output.split('\n').slice(-5).join(' | ')}`,
        {
          hint: `fix the cause above and run again; to upgrade without leapfrog's backup (only if you took one yourself) pass --no-backup`,
          failure,
        },
      );
    }
    // A dump is a full copy of the database: readable by its owner only, like the sidecar.
    await chmod(partial, settings.format === 'custom' ? 0o600 : 0o700);
    const durationMs = Math.round(performance.now() - started);
    const digest = await digestBackup(partial, settings.format);
    const record: BackupRecord = {
      id,
      release: label.release,
      version: label.version,
      path,
      format: settings.format,
      bytes: digest.bytes,
      sha256: digest.sha256,
      durationMs,
      createdAt: now.toISOString(),
      runId: label.runId,
      database: target.display,
      ...identity,
      serverVersion: prepared.server.text,
      pgDumpVersion: prepared.pgDump.text,
    };
    try {
      sidecar = await writeSidecar(record);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC')
        throw await folderFullError(prepared, dir, partial, 'writing the sidecar: ENOSPC', null);
      throw error;
    }
    await rename(partial, path);
    onEvent({
      type: 'backup-finished',
      path,
      bytes: record.bytes,
      sha256: record.sha256,
      durationMs: record.durationMs,
    });
    return record;
  } catch (error) {
    await rm(partial, { recursive: true, force: true }).catch((e: unknown) => log.suppressed(`removing ${partial}`, e));
    if (sidecar !== undefined)
      await rm(sidecar, { force: true }).catch((e: unknown) => log.suppressed(`removing ${sidecar}`, e));
    onEvent({ type: 'backup-failed', path, message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

/** Bytes written so far: the file, or the sum of a directory-format dump's files. */
async function sizeOf(path: string): Promise<number> {
  // The dump may not exist yet, or be renamed or removed while it is measured: it then counts
  // as empty, since this only feeds progress and messages.
  const info = await stat(path).catch((e: unknown) => void log.suppressed(`measuring ${path}`, e));
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  const names = await readdir(path).catch((e: unknown): string[] => {
    log.suppressed(`listing ${path}`, e);
    return [];
  });
  for (const name of names) {
    total +=
      (await stat(join(path, name)).catch((e: unknown) => void log.suppressed(`measuring ${name}`, e)))?.size ?? 0;
  }
  return total;
}

/**
 * A full backup folder is the operator's to fix (free space or another --backup-dir), so the
 * error names the folder, what the dump had written and how big the database is; the partial
 * file is removed by the caller, so the space it took is free again.
 */
async function folderFullError(
  prepared: PreparedBackup,
  dir: string,
  partial: string,
  output: string,
  failure: { tool: 'pg_dump'; exit: number | null } | null,
): Promise<BackupFolderFullError> {
  // Each figure is optional in the message: a failure to learn one must not replace the error.
  const written = await sizeOf(partial);
  const free = await statfs(dir)
    .then((s) => s.bavail * s.bsize)
    .catch((e: unknown) => void log.suppressed(`reading the free space of ${dir}`, e));
  const databaseBytes = await withClient(prepared.target, async (client) => {
    const { rows } = await client.query<{ bytes: string }>(
      'SELECT pg_database_size(current_database())::text AS bytes',
    );
    return Number(rows[0]?.bytes ?? 0);
  }).catch((e: unknown) => void log.suppressed('reading the database size', e));
  const size =
    databaseBytes === undefined
      ? ''
      : `; the database is ${formatBytes(databaseBytes)} on disk (a custom-format dump is usually smaller, rarely larger)`;
  return new BackupFolderFullError(
    `the backup folder ${dir} is full: the dump of ${prepared.target.display} needed more than the ${formatBytes(written)} it had written when the disk filled (${free === undefined ? 'free space unknown' : `${formatBytes(free)} free`})${size}; the partial dump was removed and nothing was changed (${output.split('\n').slice(-1).join('')})`,
    `free space in ${dir} (more than ${formatBytes(Math.max(written, databaseBytes ?? 0))}) or pass --backup-dir with a folder that has room, then run the same command again`,
    { backupDir: dir, writtenBytes: written, freeBytes: free ?? null, databaseBytes: databaseBytes ?? null },
    failure,
  );
}

/** `<db>-<release>-<YYYYMMDDTHHMMSSmmmZ>`, safe as a file name on every file system. */
export function backupId(database: string, release: string | null, now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.]+/g, '_');
  return `${safe(database)}-${safe(release ?? 'unknown')}-${stamp}`;
}

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
  const record = await takeBackup(
    prepared,
    { release: state?.release ?? null, version: state?.version ?? null, runId, ledgerSchema },
    new Date(),
    options.onEvent,
  );
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

// ---------------------------------------------------------------------------------------------
// The pre-upgrade backup of step and apply

/**
 * When the automatic pre-upgrade backup is due. The backup that matters is the one taken
 * immediately before the upgrade began, so:
 * - `step` takes it only for the first step of a plan (the database is at the plan's `from`);
 * - `apply` takes one before its first schema command wherever the plan starts;
 * - a re-run that resumes a step an earlier run began (any of its schema, data or check phases
 *   is in the ledger) takes none: the database is half-migrated, and the backup of the state
 *   before that step was taken by the run that began it. `--backup` asks for one anyway.
 *   A recorded preflight does not count: it changes nothing and runs before the backup, so a
 *   run that stopped after it (a failed backup, Ctrl-C) has no backup yet.
 */
export async function isPreUpgradeBackupDue(
  ledger: Ledger,
  mode: 'step' | 'apply',
  current: ReleaseRef,
  planFrom: ReleaseRef,
  release: Release,
): Promise<boolean> {
  if (mode === 'step' && current.release !== planFrom.release) return false;
  for (const key of phaseKeys(current.release, release)) {
    if ((await ledger.phase(key)) !== null) return false;
  }
  return true;
}

function phaseKeys(fromRelease: string, release: Release): PhaseKey[] {
  return stepPhases(release)
    .filter((p) => p.phase !== 'preflight')
    .map((p) => ({ fromRelease, release: release.id, phase: p.phase, name: p.name }));
}
