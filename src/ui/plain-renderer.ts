import { formatDuration } from '../util/duration.js';
import type { RunnerEvent } from '../runner/events.js';
import { CHECK_RESULT_NAMES, formatCount, formatProgress, phaseLabel } from './format.js';
import type { OutputSink, Renderer } from './renderer.js';

const PROGRESS_EVERY_MS = 1000;

/**
 * Plain lines for logs and pipes (no TTY): one line per step and phase, the commands' output
 * indented, data progress at most once a second.
 */
export class PlainRenderer implements Renderer {
  private lastProgress = 0;

  constructor(private readonly sink: OutputSink) {}

  onEvent(event: RunnerEvent): void {
    const out = (line: string) => this.sink.out(`${line}\n`);
    switch (event.type) {
      case 'run-started':
        out(`run ${event.runId} (${event.mode}): ${event.from.release} -> ${event.to.release}; steps to run: ${event.pending.join(', ')}`);
        return;
      case 'step-started':
        out(`==> ${event.release} (${event.version})`);
        return;
      case 'phase-started':
        out(`  ${phaseLabel(event)}: started${event.attempt > 1 ? ` (attempt ${event.attempt})` : ''}`);
        this.lastProgress = 0;
        return;
      case 'phase-output':
        out(`    | ${event.line}`);
        return;
      case 'progress': {
        const now = Date.now();
        if (now - this.lastProgress < PROGRESS_EVERY_MS) return;
        this.lastProgress = now;
        out(`    ${event.migration}: ${formatProgress(event)}`);
        return;
      }
      case 'check-result':
        out(`    check ${CHECK_RESULT_NAMES[event.result] ?? `result ${event.result}`}: ${event.check}${event.details ? ` — ${event.details}` : ''}`);
        return;
      case 'phase-finished': {
        if (event.status === 'skipped') {
          out(`  ${phaseLabel(event)}: skipped (recorded as succeeded)`);
          return;
        }
        const rows = event.rowsMigrated === null ? '' : `, ${formatCount(event.rowsMigrated)} rows`;
        const why = event.message === null ? '' : ` — ${event.message}`;
        out(`  ${phaseLabel(event)}: ${event.status} in ${formatDuration(event.durationMs)}${rows}${why}`);
        return;
      }
      case 'step-finished':
        out(`<== ${event.result.release}: ${event.result.status} in ${formatDuration(event.result.durationMs)}`);
        return;
      case 'run-finished':
        return;
    }
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
