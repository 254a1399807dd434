import { formatDuration } from '../util/duration.js';
import type { RunnerEvent } from '../runner/events.js';
import { CHECK_RESULT_NAMES, formatBackup, formatMigrated, formatProgress, phaseLabel } from './format.js';
import type { OutputSink, Renderer } from './renderer.js';

const PROGRESS_EVERY_MS = 1000;
/** pg_dump can run for an hour: a size line every few seconds says it is alive, not a log flood. */
const BACKUP_PROGRESS_EVERY_MS = 5000;

/**
 * Plain lines for logs and pipes (no TTY): one line per step and phase, the commands' output
 * indented, data progress at most once a second, the backup's path as soon as it starts.
 */
export class PlainRenderer implements Renderer {
  private lastProgress = 0;
  private lastBackupProgress = 0;
  /** The unit of the running data phase's progress lines, for its closing line. */
  private unit: string | undefined;

  constructor(private readonly sink: OutputSink) {}

  onEvent(event: RunnerEvent): void {
    const out = (line: string) => this.sink.out(`${line}\n`);
    switch (event.type) {
      case 'run-started':
        out(
          `run ${event.runId} (${event.mode}): ${event.from.release} -> ${event.to.release}; steps to run: ${event.pending.join(', ')}`,
        );
        return;
      case 'step-started':
        out(`==> ${event.release} (${event.version})`);
        return;
      case 'phase-started':
        out(`  ${phaseLabel(event)}: started${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`);
        this.lastProgress = 0;
        this.unit = undefined;
        return;
      case 'phase-output':
        out(`    | ${event.line}`);
        return;
      case 'progress': {
        this.unit = event.phaseUnit;
        const now = Date.now();
        if (now - this.lastProgress < PROGRESS_EVERY_MS) return;
        this.lastProgress = now;
        out(`    ${formatProgress(event)}`);
        return;
      }
      case 'check-result':
        out(
          `    check ${CHECK_RESULT_NAMES[event.result] ?? `result ${event.result}`}: ${event.check}${event.details ? ` — ${event.details}` : ''}`,
        );
        return;
      case 'phase-finished': {
        if (event.status === 'skipped') {
          out(`  ${phaseLabel(event)}: skipped (recorded as succeeded)`);
          return;
        }
        const rows = formatMigrated(event.rowsMigrated, this.unit);
        const why = event.message === null ? '' : ` — ${event.message}`;
        out(`  ${phaseLabel(event)}: ${event.status} in ${formatDuration(event.durationMs)}${rows}${why}`);
        return;
      }
      case 'step-finished':
        out(`<== ${event.result.release}: ${event.result.status} in ${formatDuration(event.result.durationMs)}`);
        return;
      case 'backup-progress': {
        const now = Date.now();
        if (now - this.lastBackupProgress < BACKUP_PROGRESS_EVERY_MS) return;
        this.lastBackupProgress = now;
        out(`  ${formatBackup(event)}`);
        return;
      }
      case 'backup-started':
        this.lastBackupProgress = Date.now();
        out(`  ${formatBackup(event)}`);
        return;
      case 'backup-finished':
      case 'backup-failed':
        out(`  ${formatBackup(event)}`);
        return;
      case 'run-finished':
        return;
    }
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
