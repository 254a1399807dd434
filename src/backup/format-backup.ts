import { formatDuration } from '../util/duration.js';
import type { BackupRecord, KnownBackup, SkippedSidecar } from './backup-store.js';
import { describeIdentity } from './database-identity.js';

/** How backups are shown to people: sizes, the line `backup` prints, the `backups` table. */

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatBackupLine(record: BackupRecord): string {
  return [
    `backup of ${record.database} [${describeIdentity(record)}] at release ${record.release ?? '(unknown: no ledger)'} written to ${record.path}`,
    `  ${record.format} format, ${formatBytes(record.bytes)}, sha256 ${record.sha256}, took ${formatDuration(record.durationMs)} (pg_dump ${record.pgDumpVersion}, server ${record.serverVersion})`,
  ].join('\n');
}

/** `shop#4b1f2c3d`: the database's name and the start of its identity, to tell two `shop`s apart. */
export function formatBackupDatabase(backup: KnownBackup): string {
  const name = backup.databaseName ?? '?';
  if (backup.databaseId !== null) return `${name}#${backup.databaseId.slice(0, 8)}`;
  if (backup.systemIdentifier !== null) return `${name}@${backup.systemIdentifier}`;
  return `${name} (unknown identity)`;
}

/** The `leapfrog backups` table, newest first. */
export function formatBackupTable(backups: readonly KnownBackup[]): string {
  if (backups.length === 0) return 'no backups found';
  const header = ['TAKEN (UTC)', 'DATABASE', 'RELEASE', 'FORMAT', 'SIZE', 'SHA256', 'KNOWN FROM', 'PATH'];
  const rows = backups.map((b) => [
    b.createdAt.toISOString().replace('T', ' ').slice(0, 19),
    formatBackupDatabase(b),
    b.release ?? '?',
    b.format,
    formatBytes(b.bytes),
    b.sha256.slice(0, 12),
    [b.inLedger ? 'ledger' : '', b.hasSidecar ? 'sidecar' : ''].filter(Boolean).join('+'),
    b.path,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** One warning line per skipped sidecar, for the verbs to print. */
export function skippedSidecarLine(skipped: SkippedSidecar): string {
  return `warning: skipped ${skipped.sidecar}: ${skipped.reason}`;
}
