import { chmod, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PhaseFailedError } from '../errors/index.js';
import { databaseName, type DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../pg/redact.js';
import { digestBackup } from './backup-digest.js';
import { ensureBackupDir } from './backup-dir.js';
import type { BackupFormat, BackupRecord } from './backup-record.js';
import { writeSidecar } from './backup-sidecar.js';
import { libpqConnection } from './libpq-connection.js';
import { assertPgDumpCanDump } from './pg-dump-guard.js';
import { pgToolVersion, serverVersionFromNum, type PgToolVersion, type PgTools } from './pg-tools.js';
import { withClient } from '../pg/with-client.js';

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
}

/** Dumps the database, digests the dump and writes its sidecar. The ledger row is the caller's. */
export async function takeBackup(prepared: PreparedBackup, label: BackupLabel, now: Date = new Date()): Promise<BackupRecord> {
  const { target, settings } = prepared;
  const dir = await ensureBackupDir(settings.dir);
  const id = backupId(databaseName(target), label.release, now);
  const path = join(dir, settings.format === 'custom' ? `${id}.dump` : `${id}.dir`);
  // Written under a temporary name and renamed when complete: a crash never leaves something
  // that looks like a finished backup.
  const partial = `${path}.partial`;
  const connection = libpqConnection(target);
  const args = [
    `--dbname=${connection.dbnameArg}`,
    settings.format === 'custom' ? '--format=custom' : '--format=directory',
    ...(settings.format === 'directory' ? [`--jobs=${settings.jobs}`] : []),
    `--file=${partial}`,
    '--no-password',
  ];
  const started = performance.now();
  try {
    const result = await execa(settings.tools.pgDump, args, {
      env: { ...connection.env, PGAPPNAME: 'leapfrog-backup' },
      reject: false,
      stdin: 'ignore',
    });
    if (result.exitCode !== 0) {
      const output = redact(`${result.stderr}\n${result.stdout}`.trim(), target.secrets);
      throw new PhaseFailedError(`pg_dump of ${target.display} failed (exit ${result.exitCode ?? 'killed'}): ${output.split('\n').slice(-5).join(' | ')}`, {
        hint: `fix the cause above and run again; to upgrade without leapfrog's backup (only if you took one yourself) pass --no-backup`,
      });
    }
    // A dump is a full copy of the database: readable by its owner only, like the sidecar.
    await chmod(partial, settings.format === 'custom' ? 0o600 : 0o700);
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  const durationMs = Math.round(performance.now() - started);
  const digest = await digestBackup(path, settings.format);
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
    serverVersion: prepared.server.text,
    pgDumpVersion: prepared.pgDump.text,
  };
  await writeSidecar(record);
  return record;
}

/** `<db>-<release>-<YYYYMMDDTHHMMSSmmmZ>`, safe as a file name on every file system. */
export function backupId(database: string, release: string | null, now: Date): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.]+/g, '_');
  return `${safe(database)}-${safe(release ?? 'unknown')}-${stamp}`;
}
