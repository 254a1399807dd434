import { chmod, readdir, rename, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PhaseFailedError } from '../errors/index.js';
import { databaseName, type DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../pg/redact.js';
import { digestBackup } from './backup-digest.js';
import { ensureBackupDir } from './backup-dir.js';
import type { BackupFormat, BackupRecord } from './backup-record.js';
import { PARTIAL_SUFFIX, writeSidecar } from './backup-sidecar.js';
import { identityOf } from './database-identity.js';
import { formatBytes } from './format-backup.js';
import { libpqConnection } from './libpq-connection.js';
import { assertPgDumpCanDump } from './pg-dump-guard.js';
import { pgToolVersion, serverVersionFromNum, type PgToolVersion, type PgTools } from './pg-tools.js';
import { withClient } from '../pg/with-client.js';
import type { RunnerEvent } from '../runner/events.js';

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
  const server = await withClient(target, async (client) => {
    const { rows } = await client.query<{ num: string; text: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
    );
    const row = rows[0];
    return serverVersionFromNum(Number(row?.num ?? 0), (row?.text ?? '').split(' ')[0] ?? '');
  });
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
export type BackupEvent = Extract<RunnerEvent, { type: 'backup-started' | 'backup-progress' | 'backup-finished' | 'backup-failed' }>;

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
  onEvent({ type: 'backup-started', path, database: target.display, release: label.release });
  let dumping = true;
  const progress = setInterval(() => {
    void sizeOf(partial).then((bytes) => {
      // A size read that finishes after pg_dump must not report progress after the outcome.
      if (dumping) onEvent({ type: 'backup-progress', path, bytes, elapsedMs: Math.round(performance.now() - started) });
    });
  }, PROGRESS_EVERY_MS);
  let sidecar: string | undefined;
  try {
    let result;
    try {
      result = await execa(settings.tools.pgDump, args, {
        env: { ...connection.env, PGAPPNAME: 'leapfrog-backup' },
        reject: false,
        stdin: 'ignore',
      });
    } finally {
      dumping = false;
      clearInterval(progress);
    }
    if (result.exitCode !== 0) {
      const output = redact(`${result.stderr}\n${result.stdout}`.trim(), target.secrets);
      if (/No space left on device/i.test(output)) throw await folderFullError(prepared, dir, partial, output);
      throw new PhaseFailedError(`pg_dump of ${target.display} failed (exit ${result.exitCode ?? 'killed'}): ${output.split('\n').slice(-5).join(' | ')}`, {
        hint: `fix the cause above and run again; to upgrade without leapfrog's backup (only if you took one yourself) pass --no-backup`,
      });
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
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') throw await folderFullError(prepared, dir, partial, 'writing the sidecar: ENOSPC');
      throw error;
    }
    await rename(partial, path);
    onEvent({ type: 'backup-finished', path, bytes: record.bytes, sha256: record.sha256, durationMs: record.durationMs });
    return record;
  } catch (error) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    if (sidecar !== undefined) await rm(sidecar, { force: true }).catch(() => undefined);
    onEvent({ type: 'backup-failed', path, message: error instanceof Error ? error.message : String(error) });
    throw error;
  }
}

/** Bytes written so far: the file, or the sum of a directory-format dump's files. */
async function sizeOf(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await readdir(path).catch(() => [] as string[])) {
    total += (await stat(join(path, name)).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

/**
 * A full backup folder is the operator's to fix (free space or another --backup-dir), so the
 * error names the folder, what the dump had written and how big the database is; the partial
 * file is removed by the caller, so the space it took is free again.
 */
async function folderFullError(prepared: PreparedBackup, dir: string, partial: string, output: string): Promise<PhaseFailedError> {
  const written = await sizeOf(partial);
  const free = await statfs(dir).then((s) => s.bavail * s.bsize).catch(() => undefined);
  const databaseBytes = await withClient(prepared.target, async (client) => {
    const { rows } = await client.query<{ bytes: string }>('SELECT pg_database_size(current_database())::text AS bytes');
    return Number(rows[0]?.bytes ?? 0);
  }).catch(() => undefined);
  const size = databaseBytes === undefined ? '' : `; the database is ${formatBytes(databaseBytes)} on disk (a custom-format dump is usually smaller, rarely larger)`;
  return new PhaseFailedError(
    `the backup folder ${dir} is full: the dump of ${prepared.target.display} needed more than the ${formatBytes(written)} it had written when the disk filled (${free === undefined ? 'free space unknown' : `${formatBytes(free)} free`})${size}; the partial dump was removed and nothing was changed (${output.split('\n').slice(-1).join('')})`,
    {
      hint: `free space in ${dir} (more than ${formatBytes(Math.max(written, databaseBytes ?? 0))}) or pass --backup-dir with a folder that has room, then run the same command again`,
      details: { backupDir: dir, writtenBytes: written, freeBytes: free ?? null, databaseBytes: databaseBytes ?? null },
    },
  );
}
/** `<db>-<release>-<YYYYMMDDTHHMMSSmmmZ>`, safe as a file name on every file system. */
export function backupId(database: string, release: string | null, now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.]+/g, '_');
  return `${safe(database)}-${safe(release ?? 'unknown')}-${stamp}`;
}
