import { formatBytes } from '../backup/format-backup.js';
import { formatDuration } from '../util/duration.js';
import type { PhaseRef, RunnerEvent } from '../runner/events.js';

export function phaseLabel(ref: PhaseRef): string {
  return ref.phase === 'schema' ? `schema ${ref.name}` : ref.phase;
}

/**
 * "1,234,567": what `toLocaleString('en-US')` gives for an integer, without its cost: the first
 * Intl call loads ICU's number data, about 40 ms of a `step`/`apply` that prints one count
 * (issue 10's fixed cost). The rare cases (non-finite, -0, 1e21 and more) still go to Intl.
 */
export function formatCount(n: number): string {
  const rounded = Math.round(n);
  if (!Number.isFinite(rounded) || Object.is(rounded, -0) || Math.abs(rounded) >= 1e21) {
    return rounded.toLocaleString('en-US');
  }
  return String(rounded).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

type ProgressEvent = Extract<RunnerEvent, { type: 'progress' }>;

/**
 * ["backfill_b: 10,000 rows done, 390,000 left", "phase, 2 migrations: 160,000 rows done, 390,000
 * left · 14,315 rows/s · ETA 27.2s"]. With one migration so far the rate and ETA go on its line.
 * The ETA covers everything known to remain in the phase, not one migration.
 */
export function formatProgressLines(p: ProgressEvent): string[] {
  const own = `${p.migration}: ${formatCount(p.migrationDone)} ${p.unit} done, ${formatCount(p.migrationRemaining)} left`;
  const rate = p.rowsPerSecond === null ? '' : ` · ${formatCount(p.rowsPerSecond)} ${p.phaseUnit}/s`;
  const eta = p.etaMs === null ? '' : ` · ETA ${formatDuration(p.etaMs)}`;
  if (p.migrations.length <= 1) return [`${own}${rate}${eta}`];
  return [
    own,
    `phase, ${p.migrations.length} migrations: ${formatCount(p.phaseDone)} ${p.phaseUnit} done, ${formatCount(p.phaseRemaining)} left${rate}${eta}`,
  ];
}

/** The same on one line, for logs. */
export function formatProgress(p: ProgressEvent): string {
  return formatProgressLines(p).join(' · ');
}

/** ", 150,000 rows" after a data phase, in the unit its progress lines used. */
export function formatMigrated(count: number | null, unit: string | undefined): string {
  return count === null ? '' : `, ${formatCount(count)} ${unit ?? 'rows'}`;
}

type BackupEvent = Extract<
  RunnerEvent,
  { type: 'backup-started' | 'backup-progress' | 'backup-finished' | 'backup-failed' }
>;

/** One line about the pre-upgrade backup; the path is always in it, so a person can find the file. */
export function formatBackup(event: BackupEvent): string {
  switch (event.type) {
    case 'backup-started':
      return `${backupHead(event)}: writing ${event.path}`;
    case 'backup-progress':
      return `backup: ${formatBytes(event.bytes)} so far (${formatDuration(event.elapsedMs)}) → ${event.path}`;
    case 'backup-finished':
      return `backup: ${formatBytes(event.bytes)} in ${formatDuration(event.durationMs)} → ${event.path}`;
    case 'backup-failed':
      return `backup failed: ${event.message} (${event.path})`;
  }
}

/** "backup of shop at 2023.1" */
export function backupHead(event: Extract<RunnerEvent, { type: 'backup-started' }>): string {
  return `backup of ${event.database}${event.release === null ? '' : ` at ${event.release}`}`;
}

export const CHECK_RESULT_NAMES: Readonly<Record<number, string>> = { 0: 'success', 1: 'warning', 2: 'failure' };
